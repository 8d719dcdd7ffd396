#include "supervisor/os/forensics.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <vector>

extern char** environ;

namespace nmr {

std::optional<std::string> FindGcore() {
  const char* path = getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/gcore";
    if (access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return std::nullopt;
}

Result<Ok> WriteCore(const std::string& gcore, pid_t pid, const std::string& path) {
  // gcore -o PREFIX writes PREFIX.PID.
  std::string log = path + ".log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::string pid_text = std::to_string(pid);
  std::vector<char*> argv = {const_cast<char*>(gcore.c_str()), const_cast<char*>("-o"),
                             const_cast<char*>(path.c_str()), pid_text.data(), nullptr};
  pid_t child = -1;
  int rc = posix_spawn(&child, gcore.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return MakeError("cannot run " + gcore + ": " + std::strerror(rc), rc);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  std::error_code ec;
  std::filesystem::rename(path + "." + pid_text, path, ec);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || ec) {
    return MakeError("gcore failed for pid " + pid_text + " (see " + log + ")", EIO);
  }
  std::filesystem::remove(log, ec);
  return Ok{};
}

std::optional<user_regs_struct> ReadRegisters(pid_t pid) {
  if (ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) != 0) {
    return std::nullopt;
  }
  std::optional<user_regs_struct> out;
  if (ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr) == 0) {
    int status = 0;
    if (waitpid(pid, &status, __WALL) == pid && WIFSTOPPED(status)) {
      user_regs_struct regs;
      if (ptrace(PTRACE_GETREGS, pid, nullptr, &regs) == 0) {
        out = regs;
      }
    }
  }
  ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
  return out;
}

}  // namespace nmr
