#include "supervisor/core/paths.h"

#include <string_view>

namespace nmr {
namespace {

bool Consume(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) {
    return false;
  }
  s.remove_prefix(prefix.size());
  return true;
}

// What the executor owns for the program: its fd table and its filesystem context.
bool IsExecutorPath(std::string_view rest) {
  return rest == "fd" || rest == "fdinfo" || rest.substr(0, 3) == "fd/" ||
         rest.substr(0, 7) == "fdinfo/" || rest == "cwd" || rest.substr(0, 4) == "cwd/" ||
         rest == "root" || rest.substr(0, 5) == "root/";
}

}  // namespace

std::string RewriteProgramPath(const std::string& path, pid_t replica_pid, pid_t virtual_pid) {
  // /proc/<the program's pid> is /proc/self: the program sees the virtual pid as its own.
  if (virtual_pid > 0) {
    std::string own = "/proc/" + std::to_string(virtual_pid);
    if (path == own || path.rfind(own + "/", 0) == 0) {
      return RewriteProgramPath("/proc/self" + path.substr(own.size()), replica_pid, 0);
    }
  }
  std::string_view rest = path;
  if (Consume(rest, "/dev/fd/") || (rest == "/dev/fd" && Consume(rest, "/dev/fd"))) {
    return "/proc/thread-self/fd/" + std::string(rest);
  }
  if (rest == "/dev/stdin") {
    return "/proc/thread-self/fd/0";
  }
  if (rest == "/dev/stdout") {
    return "/proc/thread-self/fd/1";
  }
  if (rest == "/dev/stderr") {
    return "/proc/thread-self/fd/2";
  }
  if (Consume(rest, "/proc/self/") || Consume(rest, "/proc/thread-self/")) {
    if (IsExecutorPath(rest)) {
      return "/proc/thread-self/" + std::string(rest);
    }
    return "/proc/" + std::to_string(replica_pid) + "/" + std::string(rest);
  }
  if (rest == "/proc/self" || rest == "/proc/thread-self") {
    return "/proc/" + std::to_string(replica_pid);
  }
  return path;
}

}  // namespace nmr
