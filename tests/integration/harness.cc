#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace nmr::test {

fs::path NmrRun() { return NMR_RUN; }
fs::path TestProgram(const std::string& name) { return fs::path(NMR_TEST_PROGRAMS_DIR) / name; }
fs::path TestData(const std::string& name) { return fs::path(NMR_TEST_DATA_DIR) / name; }

ExitStatus ExitStatus::FromWait(int wstatus) {
  if (WIFSIGNALED(wstatus)) return {true, WTERMSIG(wstatus)};
  return {false, WEXITSTATUS(wstatus)};
}

std::ostream& operator<<(std::ostream& os, const ExitStatus& s) {
  if (s.signaled) return os << "signal " << s.value << " (" << strsignal(s.value) << ")";
  return os << "exit " << s.value;
}

namespace {

constexpr const char* kPath = "/usr/local/bin:/usr/bin:/bin";

[[noreturn]] void Fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::string Resolve(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  std::stringstream dirs(kPath);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    fs::path candidate = fs::path(dir) / program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return program;  // execve fails: 127, like a shell
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Waits for SIGCHLD until the deadline, at most 250 ms at a time (a child whose exit signal
// is not SIGCHLD still gets noticed by the caller's next waitpid). False at the deadline.
bool AwaitChildEvent(Deadline deadline) {
  auto left = deadline - Clock::now();
  if (left <= Clock::duration::zero()) return false;
  auto slice = std::min<Clock::duration>(left, std::chrono::milliseconds(250));
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(slice).count();
  timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigtimedwait(&chld, nullptr, &ts);
  return true;
}

int PollTimeoutMs(Deadline deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
}

// Our children as "PID (comm) state S", from /proc/*/stat; their pids into `pids`.
std::vector<std::string> DescribeChildren(std::vector<pid_t>& pids) {
  std::vector<std::string> out;
  const std::string self = std::to_string(getpid());
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state, ppid;
    rest >> state >> ppid;
    if (ppid != self) continue;
    out.push_back(stat.substr(0, close + 1) + " state " + state);
    pids.push_back(std::stoi(pid));
  }
  return out;
}

}  // namespace

std::vector<std::string> TestEnvironment(const fs::path& dir) {
  return {std::string("PATH=") + kPath, "HOME=" + dir.string(), "TMPDIR=" + dir.string(),
          "LC_ALL=C", "LANG=C", "TZ=UTC", "PYTHONDONTWRITEBYTECODE=1"};
}

void InitProcess() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int fd = 0; fd <= 2; fd++) {  // so that no pipe of ours can get a number below 3
      if (fcntl(fd, F_GETFD) < 0) open("/dev/null", O_RDWR);
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) Fail("PR_SET_CHILD_SUBREAPER");
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &chld, nullptr) != 0) Fail("sigprocmask");
    signal(SIGPIPE, SIG_IGN);  // a program that stops reading its stdin pipe
  });
}

pid_t Spawn(const std::vector<std::string>& argv, const fs::path& dir, int in, int out, int err) {
  InitProcess();
  std::vector<std::string> args = argv;
  std::vector<std::string> env = TestEnvironment(dir);
  const std::string path = Resolve(argv.at(0));
  std::vector<char*> c_args = CStrings(args), c_env = CStrings(env);
  pid_t pid = fork();
  if (pid < 0) Fail("fork");
  if (pid == 0) {  // only async-signal-safe calls from here on
    setpgid(0, 0);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(125);
    close_range(3, ~0U, 0);
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);  // a native crash must not leave a core file behind
    if (chdir(dir.c_str()) != 0) _exit(125);
    execve(path.c_str(), c_args.data(), c_env.data());
    const char msg[] = "harness: execve failed\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(errno == ENOENT ? 127 : 126);
  }
  setpgid(pid, pid);
  return pid;
}

std::optional<ExitStatus> WaitFor(pid_t pid, Deadline deadline) {
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG | __WALL);
    if (r == pid) return ExitStatus::FromWait(status);
    if (r < 0 && errno != EINTR) Fail("waitpid " + std::to_string(pid));
    if (!AwaitChildEvent(deadline)) return std::nullopt;
  }
}

ReapResult ReapAll(Deadline deadline) {
  ReapResult result;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(-1, &status, WNOHANG | __WALL);
    if (r > 0) {
      result.reaped++;
      continue;
    }
    if (r < 0 && errno == ECHILD) return result;
    if (r < 0 && errno != EINTR) Fail("waitpid -1");
    if (r == 0 && !AwaitChildEvent(deadline)) {
      std::vector<pid_t> pids;
      result.survivors = DescribeChildren(pids);
      for (pid_t pid : pids) kill(pid, SIGKILL);  // the test fails; leave nothing behind
      for (pid_t pid : pids) WaitFor(pid, In(std::chrono::seconds(10)));
      return result;
    }
  }
}

std::string ReadUntil(int fd, const std::string& needle, Deadline deadline) {
  std::string got;
  while (got.find(needle) == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    int timeout = PollTimeoutMs(deadline);
    if (timeout == 0 || poll(&p, 1, timeout) <= 0) break;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

RunResult RunProgram(const std::vector<std::string>& argv, const RunOptions& options) {
  InitProcess();
  auto start = Clock::now();
  Deadline deadline = start + options.timeout;
  int in = -1, in_writer = -1, out_pipe[2] = {-1, -1}, err_pipe[2];
  switch (options.stdin_kind) {
    case StdinKind::kDevNull: in = open("/dev/null", O_RDONLY | O_CLOEXEC); break;
    case StdinKind::kFile: in = open(options.stdin_path.c_str(), O_RDONLY | O_CLOEXEC); break;
    case StdinKind::kFd: in = dup(options.stdin_fd); break;
    case StdinKind::kPipe: {
      int p[2];
      if (pipe2(p, O_CLOEXEC) != 0) Fail("pipe2");
      in = p[0];
      in_writer = p[1];
      fcntl(in_writer, F_SETFL, O_NONBLOCK);
      break;
    }
  }
  if (in < 0) Fail("stdin for " + argv.at(0));
  int out = -1;
  if (options.stdout_is_file) {
    out = memfd_create("harness-stdout", MFD_CLOEXEC);
  } else if (pipe2(out_pipe, O_CLOEXEC) == 0) {
    out = out_pipe[1];
  }
  if (out < 0 || pipe2(err_pipe, O_CLOEXEC) != 0) Fail("stdout/stderr");

  pid_t pid = Spawn(argv, options.dir, in, out, err_pipe[1]);
  close(in);
  close(err_pipe[1]);
  if (!options.stdout_is_file) close(out_pipe[1]);

  RunResult result;
  // Pump: feed stdin, drain stdout and stderr until both reach EOF (every holder is gone).
  std::string* sinks[2] = {&result.out, &result.err};
  int sources[2] = {options.stdout_is_file ? -1 : out_pipe[0], err_pipe[0]};
  size_t fed = 0;
  if (in_writer >= 0 && options.stdin_data.empty()) in_writer = (close(in_writer), -1);
  while (sources[0] >= 0 || sources[1] >= 0) {
    pollfd fds[3] = {{sources[0], POLLIN, 0}, {sources[1], POLLIN, 0}, {in_writer, POLLOUT, 0}};
    int timeout = PollTimeoutMs(deadline);
    int ready = timeout == 0 ? 0 : poll(fds, 3, timeout);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) Fail("poll");
    if (ready == 0) {
      result.timed_out = true;
      break;
    }
    for (int i = 0; i < 2; i++) {
      if (sources[i] < 0 || fds[i].revents == 0) continue;
      char buf[65536];
      ssize_t n = read(sources[i], buf, sizeof buf);
      if (n > 0) sinks[i]->append(buf, static_cast<size_t>(n));
      if (n == 0 || (n < 0 && errno != EINTR)) sources[i] = (close(sources[i]), -1);
    }
    if (in_writer >= 0 && fds[2].revents != 0) {
      ssize_t n = write(in_writer, options.stdin_data.data() + fed, options.stdin_data.size() - fed);
      if (n > 0) fed += static_cast<size_t>(n);
      if ((n < 0 && errno != EAGAIN) || fed == options.stdin_data.size()) in_writer = (close(in_writer), -1);
    }
  }
  for (int fd : {sources[0], sources[1], in_writer}) {
    if (fd >= 0) close(fd);
  }
  std::optional<ExitStatus> status = result.timed_out ? std::nullopt : WaitFor(pid, deadline);
  if (!status) {
    result.timed_out = true;
    kill(-pid, SIGKILL);
    status = WaitFor(pid, In(std::chrono::seconds(30)));
  }
  result.status = status.value_or(ExitStatus{});
  if (options.stdout_is_file) {
    lseek(out, 0, SEEK_SET);
    result.out = ReadFd(out);
    close(out);
  }
  result.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

std::vector<std::string> UnderNmr(int replicas, const fs::path& report,
                                  const std::vector<std::string>& program,
                                  const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {NmrRun(), "-n", std::to_string(replicas), "--log-level",
                                   "error", "--report", report};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("--");
  argv.insert(argv.end(), program.begin(), program.end());
  return argv;
}

std::set<std::string> NmrShmEntries() {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/dev/shm", ec)) {
    std::string name = entry.path().filename();
    if (name.find("nmr") != std::string::npos) names.insert(name);
  }
  return names;
}

std::set<std::string> LeftoverShm(const std::set<std::string>& before, Deadline deadline) {
  int watch = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  inotify_add_watch(watch, "/dev/shm", IN_DELETE | IN_MOVED_FROM);
  std::set<std::string> left;
  for (;;) {
    left.clear();
    for (const std::string& name : NmrShmEntries()) {
      if (!before.contains(name)) left.insert(name);
    }
    pollfd p{watch, POLLIN, 0};
    int timeout = PollTimeoutMs(deadline);
    if (left.empty() || timeout == 0 || poll(&p, 1, timeout) <= 0) break;
    char buf[4096];
    while (read(watch, buf, sizeof buf) > 0) {
    }
  }
  close(watch);
  return left;
}

}  // namespace nmr::test
