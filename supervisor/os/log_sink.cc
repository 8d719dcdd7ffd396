#include "supervisor/os/log_sink.h"

#include <unistd.h>

#include <cerrno>

#include "supervisor/os/program_thread.h"

namespace nmr {

void MainThreadSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t formatted;
  formatter_->format(msg, formatted);
  if (std::this_thread::get_id() == program_thread_->thread_id()) {
    pending_.append(formatted.data(), formatted.size());
    program_thread_->Ring();
    return;
  }
  WriteAll(formatted.data(), formatted.size());
}

void MainThreadSink::Drain() {
  std::string lines;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    lines.swap(pending_);
  }
  WriteAll(lines.data(), lines.size());
}

void MainThreadSink::WriteAll(const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd_, data, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;  // nowhere to log to: nothing better to do
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

}  // namespace nmr
