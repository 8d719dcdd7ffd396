// signalfd, emulated (docs/design.md "Signals, timers and job control across the tree"). A
// real signalfd made by nmr-run would also see nmr-run's own process-directed signals (the
// SIGCHLD of every replica that ends), so the program's signalfd is a pipe instead: its read
// end is the fd in the process's table, nmr-run keeps both ends in its own table, and keeps
// one byte in the pipe while a signal the signalfd covers is pending for the process. Such a
// signal, if the program blocks it, stays with the supervisor (HeldSignals) instead of going
// to the replicas; poll, select and epoll see the pipe readable, and a read of the fd is
// answered here with signalfd_siginfo records, taken out of the process's pending signals.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "supervisor/control.h"

namespace nmr {
namespace {


signalfd_siginfo SignalfdRecord(int sig, const SignalInfo& info) {
  signalfd_siginfo record = {};
  record.ssi_signo = static_cast<uint32_t>(sig);
  record.ssi_code = info.code;
  if (info.code == SI_TIMER) {
    record.ssi_tid = static_cast<uint32_t>(info.pid);
    record.ssi_overrun = static_cast<uint32_t>(info.uid);
  } else {
    record.ssi_pid = static_cast<uint32_t>(info.pid);
    record.ssi_uid = static_cast<uint32_t>(info.uid);
  }
  if (info.code >= CLD_EXITED && info.code <= CLD_CONTINUED && sig == SIGCHLD) {
    record.ssi_status = static_cast<int32_t>(info.value);
  } else {
    record.ssi_int = static_cast<int32_t>(info.value);
    record.ssi_ptr = static_cast<uint64_t>(info.value);
  }
  return record;
}

}  // namespace

// The signals the program blocks that one of its signalfds covers: they wait here.
uint64_t Group::SignalfdSignals() const {
  return SignalfdMask() & signals_for_program_ & executing_mask_;
}

// What its signalfds cover, together.
uint64_t Group::SignalfdMask() const {
  uint64_t covered = 0;
  for (const auto& [inode, fd] : signalfds_) {
    covered |= fd.mask;
  }
  return covered;
}

// Signals the program sent itself (raise, sigqueue, SIGPIPE) that a signalfd covers and it
// blocks: they wait here too, instead of going back with the reply.
void Group::KeepSignalfdSignals(Outcome& outcome) {
  uint64_t kept = outcome.signals & SignalfdMask() & executing_mask_;
  for (int sig = 1; sig <= 64 && kept != 0; ++sig) {
    uint64_t bit = 1ULL << (sig - 1);
    if ((kept & bit) == 0) {
      continue;
    }
    kept &= ~bit;
    auto known = outcome.signal_info.find(sig);
    signal_info_.emplace(sig, known != outcome.signal_info.end() ? known->second : OwnSignalInfo());
    signals_for_program_ |= bit;
    outcome.signals &= ~bit;
  }
  UpdateSignalfds();
}

// One byte in each signalfd's pipe while a signal it covers is pending, none otherwise.
void Group::UpdateSignalfds() {
  for (auto& [inode, fd] : signalfds_) {
    bool pending = (fd.mask & signals_for_program_) != 0;
    if (pending == fd.readable) {
      continue;
    }
    // Both ends are in nmr-run's own table, the main thread's.
    ssize_t done = 0;
    int error = 0;
    program_thread_.RunOnMain([&, &fd = fd] {
      char byte = 0;
      done = pending ? write(fd.write_end, "s", 1) : read(fd.read_end, &byte, 1);
      error = errno;
    });
    errno = error;
    if (done == 1) {
      fd.readable = pending;
    } else {
      spdlog::warn("process {}: cannot {} its signalfd's pipe: {}", vpid_,
                   pending ? "mark" : "drain", strerror(errno));
    }
  }
}

// signalfd(fd, mask, size) and signalfd4(..., flags): a new one, or a new mask for one.
Group::TreeCall Group::StartSignalfd(const Call& call) {
  const uint64_t* a = call.args;
  Outcome& outcome = performer_->BeginAnswer(call);
  uint64_t flags = call.nr == SYS_signalfd4 ? a[3] : 0;
  if (a[2] != sizeof(uint64_t) || call.in[1].size() != sizeof(uint64_t) ||
      (flags & ~static_cast<uint64_t>(SFD_CLOEXEC | SFD_NONBLOCK)) != 0) {
    outcome.value = -EINVAL;
    return TreeCall::kReady;
  }
  uint64_t mask = 0;
  std::memcpy(&mask, call.in[1].data(), sizeof mask);
  mask &= ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));
  if (static_cast<int>(a[0]) != -1) {
    std::optional<ino_t> inode = SignalfdInode(static_cast<int>(a[0]));
    if (!inode) {
      outcome.value = -EINVAL;  // not a signalfd (or not open: EBADF natively)
      return TreeCall::kReady;
    }
    signalfds_[*inode].mask = mask;
    UpdateSignalfds();
    outcome.value = static_cast<int64_t>(a[0]);
    return TreeCall::kReady;
  }
  int pipe_flags = ((flags & SFD_CLOEXEC) != 0 ? O_CLOEXEC : 0) |
                   ((flags & SFD_NONBLOCK) != 0 ? O_NONBLOCK : 0);
  std::optional<NewSignalfd> made = MakeSignalfdPipe(pipe_flags, mask, &outcome.value);
  if (!made) {
    return TreeCall::kReady;
  }
  UpdateSignalfds();
  outcome.value = made->table_fd;
  return TreeCall::kReady;
}

// A pipe for a signalfd: its read end in the process's table (returned), both ends in
// nmr-run's own table (opened through /proc), recorded by the pipe's inode.
std::optional<Group::NewSignalfd> Group::MakeSignalfdPipe(int pipe_flags, uint64_t mask,
                                                          int64_t* error_out) {
  int ends[2] = {-1, -1};
  int error = 0;
  InTable([&] { error = pipe2(ends, pipe_flags) == 0 ? 0 : errno; });
  if (error != 0) {
    *error_out = -error;
    return std::nullopt;
  }
  Signalfd fd{.mask = mask};
  std::string base = "/proc/self/task/" + std::to_string(TableTid()) + "/fd/";
  ino_t inode = 0;
  program_thread_.RunOnMain([&] {
    fd.read_end = open((base + std::to_string(ends[0])).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    fd.write_end = open((base + std::to_string(ends[1])).c_str(), O_WRONLY | O_CLOEXEC);
    struct stat st;
    if (fd.read_end >= 0 && fstat(fd.read_end, &st) == 0) {
      inode = st.st_ino;
    }
  });
  InTable([&] { close(ends[1]); });
  if (fd.read_end < 0 || fd.write_end < 0 || inode == 0) {
    InTable([&] { close(ends[0]); });
    program_thread_.RunOnMain([&] {
      close(fd.read_end);
      close(fd.write_end);
    });
    *error_out = -EMFILE;
    return std::nullopt;
  }
  signalfds_[inode] = fd;
  return NewSignalfd{ends[0], inode};
}

// A forked child's copies of its parent's signalfds read its own signals: each gets a pipe
// of its own, put where the inherited fd was (same number, same flags).
void Group::InheritSignalfds(const Group& parent) {
  if (parent.signalfds_.empty()) {
    return;
  }
  std::vector<std::pair<int, uint64_t>> inherited;  // fd number, mask
  InTable([&] {
    DIR* dir = opendir("/proc/thread-self/fd");
    if (dir == nullptr) {
      return;
    }
    while (dirent* entry = readdir(dir)) {
      int number = std::atoi(entry->d_name);
      struct stat st;
      if (entry->d_name[0] == '.' || number == dirfd(dir) || fstat(number, &st) != 0) {
        continue;
      }
      auto found = parent.signalfds_.find(st.st_ino);
      if (S_ISFIFO(st.st_mode) && found != parent.signalfds_.end()) {
        inherited.emplace_back(number, found->second.mask);
      }
    }
    closedir(dir);
  });
  for (const auto& [number, mask] : inherited) {
    int status_flags = 0;
    int fd_flags = 0;
    InTable([&, number = number] {
      status_flags = fcntl(number, F_GETFL);
      fd_flags = fcntl(number, F_GETFD);
    });
    int cloexec = (fd_flags & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0;
    int64_t error = 0;
    std::optional<NewSignalfd> made =
        MakeSignalfdPipe((status_flags & O_NONBLOCK) | cloexec, mask, &error);
    if (!made) {
      spdlog::warn("process {}: cannot give it signalfd {} of its own: {}", vpid_, number,
                   strerror(static_cast<int>(-error)));
      continue;
    }
    InTable([&, number = number] {
      dup3(made->table_fd, number, cloexec);
      close(made->table_fd);
    });
  }
}

std::optional<ino_t> Group::SignalfdInode(int fd) {
  if (signalfds_.empty()) {
    return std::nullopt;
  }
  struct stat st;
  int rc = -1;
  InTable([&] { rc = fstat(fd, &st); });
  if (rc != 0 || !S_ISFIFO(st.st_mode) || !signalfds_.contains(st.st_ino)) {
    return std::nullopt;
  }
  return st.st_ino;
}

// A read of a signalfd: the pending signals it covers, lowest first, as records.
Group::TreeCall Group::StartSignalfdRead(const Call& call) {
  std::optional<ino_t> inode = SignalfdInode(static_cast<int>(call.args[0]));
  if (!inode) {
    return TreeCall::kNotMine;
  }
  performer_->BeginAnswer(call);
  signalfd_read_ = *inode;
  tree_waiting_ = true;
  if (PollSignalfdRead()) {
    tree_waiting_ = false;
    return TreeCall::kReady;
  }
  return TreeCall::kWaiting;
}

bool Group::PollSignalfdRead() {
  const Call& call = executing_call_;
  Outcome& outcome = performer_->outcome_to_fill();
  auto found = signalfds_.find(signalfd_read_);
  uint64_t covered = found != signalfds_.end() ? found->second.mask & signals_for_program_ : 0;
  size_t room = call.args[2] / sizeof(signalfd_siginfo);
  if (room == 0) {
    outcome.value = -EINVAL;
    return true;
  }
  if (covered == 0) {
    int flags = 0;
    InTable([&] { flags = fcntl(static_cast<int>(call.args[0]), F_GETFL); });
    if (flags >= 0 && (flags & O_NONBLOCK) != 0) {
      outcome.value = -EAGAIN;
      return true;
    }
    if (interrupting_) {
      outcome.value = -EINTR;
      return true;
    }
    return false;  // it waits for one
  }
  std::vector<uint8_t> records;
  for (int sig = 1; sig <= 64 && records.size() < room * sizeof(signalfd_siginfo); ++sig) {
    uint64_t bit = 1ULL << (sig - 1);
    if ((covered & bit) == 0) {
      continue;
    }
    auto info = signal_info_.find(sig);
    std::vector<uint8_t> record =
        Bytes(SignalfdRecord(sig, info != signal_info_.end() ? info->second : SignalInfo{}));
    records.insert(records.end(), record.begin(), record.end());
    signals_for_program_ &= ~bit;
    if (info != signal_info_.end()) {
      signal_info_.erase(info);
    }
  }
  outcome.writes.emplace_back(call.args[1], records);
  outcome.value = static_cast<int64_t>(records.size());
  UpdateSignalfds();
  return true;
}

}  // namespace nmr
