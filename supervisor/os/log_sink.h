// Where nmr-run's log lines go. The control loop runs on the program thread, whose fd table
// is the program's: its fd 2 may be closed or be one of the program's files. So lines logged
// there are queued, and the main thread (nmr-run's own fds) writes them when it wakes
// (ProgramThread rings it); lines logged on any other thread are written at once.
// Without a logging thread of its own: spdlog's asynchronous pool cost 12 ms at every exit
// (joining its thread), a third of a short run's overhead.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <mutex>
#include <string>
#include <thread>

namespace nmr {

class ProgramThread;

class MainThreadSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // `fd` is in nmr-run's own table (2, or the log file); owned by the caller.
  MainThreadSink(int fd, ProgramThread* program_thread)
      : fd_(fd), program_thread_(program_thread) {}
  // Writes what the program thread queued. Main thread only.
  void Drain();

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  void WriteAll(const char* data, size_t size);

  int fd_;
  ProgramThread* program_thread_;
  std::string pending_;
};

}  // namespace nmr
