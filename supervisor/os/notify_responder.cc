#include "supervisor/os/notify_responder.h"

#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "interface/syscall_table.h"

namespace nmr {

NotifyResponder::NotifyResponder(std::vector<int> listeners, uint64_t seed)
    : listeners_(std::move(listeners)), getrandom_calls_(listeners_.size()), seed_(seed) {
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] { Loop(); });
}

NotifyResponder::~NotifyResponder() {
  uint64_t one = 1;
  if (write(stop_fd_, &one, sizeof one) == sizeof one && thread_.joinable()) {
    thread_.join();
  } else if (thread_.joinable()) {
    thread_.detach();
  }
  close(stop_fd_);
  for (int fd : listeners_) {
    if (fd >= 0) {
      close(fd);
    }
  }
}

void NotifyResponder::Forget(int) {
  // Listeners stay open until the end: closing one under the polling thread would race.
  // A dead replica's listener reports POLLHUP, which Loop() skips.
}

namespace {

// Fills `length` bytes that depend only on the seed and the call's position.
void DeterministicBytes(uint64_t seed, uint64_t call, uint8_t* out, size_t length) {
  for (size_t done = 0; done < length; done += 8) {
    uint64_t word = XXH3_64bits_withSeed(&call, sizeof call, seed + done);
    std::memcpy(out + done, &word, std::min<size_t>(8, length - done));
  }
}

}  // namespace

void NotifyResponder::Loop() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  std::vector<pollfd> fds;
  for (int fd : listeners_) {
    fds.push_back({fd, POLLIN, 0});
  }
  fds.push_back({stop_fd_, POLLIN, 0});
  for (;;) {
    if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) {
      return;
    }
    if (fds.back().revents != 0) {
      return;
    }
    for (size_t r = 0; r < listeners_.size(); ++r) {
      if ((fds[r].revents & POLLHUP) != 0) {
        fds[r].fd = -1;  // the replica is gone, or exec'd out of the filter's reach
        continue;
      }
      if ((fds[r].revents & POLLIN) == 0) {
        continue;
      }
      seccomp_notif request{};
      if (ioctl(listeners_[r], SECCOMP_IOCTL_NOTIF_RECV, &request) != 0) {
        continue;  // the target died before we looked
      }
      seccomp_notif_resp response{};
      response.id = request.id;
      if (request.data.nr == SYS_getrandom) {
        size_t length = std::min<uint64_t>(request.data.args[1], 4096);
        uint8_t bytes[4096];
        DeterministicBytes(seed_, getrandom_calls_[r]++, bytes, length);
        iovec local{bytes, length};
        iovec remote{reinterpret_cast<void*>(request.data.args[0]), length};
        ssize_t n = process_vm_writev(static_cast<pid_t>(request.pid), &local, 1, &remote, 1, 0);
        response.val = n;
        response.error = n < 0 ? -EFAULT : 0;
      } else {
        spdlog::debug("replica {}: {} before the shim: passed", r, SyscallName(request.data.nr));
        response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      }
      ioctl(listeners_[r], SECCOMP_IOCTL_NOTIF_SEND, &response);
    }
  }
}

}  // namespace nmr
