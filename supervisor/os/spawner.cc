#include "supervisor/os/spawner.h"

#include <elf.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "supervisor/core/exit_codes.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace nmr {
namespace {

std::string Errno(int e) { return std::strerror(e); }

// Reads the ELF header and program headers; true if it has a PT_INTERP (dynamically linked).
enum class ElfKind { kDynamic, kStatic, kNotElf, kScript };
ElfKind Classify(const std::string& path, std::string* interpreter) {
  std::ifstream in(path, std::ios::binary);
  char head[128] = {};
  in.read(head, sizeof head);
  if (in.gcount() >= 2 && head[0] == '#' && head[1] == '!') {
    std::string line(head + 2, static_cast<size_t>(in.gcount() - 2));
    line = line.substr(0, line.find('\n'));
    std::istringstream words(line);
    words >> *interpreter;
    return ElfKind::kScript;
  }
  Elf64_Ehdr ehdr;
  if (in.gcount() < static_cast<std::streamsize>(sizeof ehdr)) {
    return ElfKind::kNotElf;
  }
  std::memcpy(&ehdr, head, sizeof ehdr);
  if (std::memcmp(ehdr.e_ident, ELFMAG, SELFMAG) != 0 || ehdr.e_ident[EI_CLASS] != ELFCLASS64) {
    return ElfKind::kNotElf;
  }
  for (int i = 0; i < ehdr.e_phnum; ++i) {
    Elf64_Phdr phdr;
    in.seekg(static_cast<std::streamoff>(ehdr.e_phoff + i * sizeof phdr));
    in.read(reinterpret_cast<char*>(&phdr), sizeof phdr);
    if (!in) {
      return ElfKind::kNotElf;
    }
    if (phdr.p_type == PT_INTERP) {
      return ElfKind::kDynamic;
    }
  }
  return ElfKind::kStatic;
}

// The checks execve would make, with nmr's own: a static program cannot load the shim.
bool CheckRunnable(const std::string& path, const std::string& shown, ResolveError* error,
                   int depth = 0) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    *error = {kExitNotFound, shown + ": " + Errno(errno)};
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    *error = {kExitCannotExecute, shown + ": Is a directory"};
    return false;
  }
  if (access(path.c_str(), X_OK) != 0) {
    *error = {kExitCannotExecute, shown + ": " + Errno(errno)};
    return false;
  }
  std::string interpreter;
  switch (Classify(path, &interpreter)) {
    case ElfKind::kDynamic:
      return true;
    case ElfKind::kStatic:
      *error = {kExitCannotExecute, shown +
                                        ": statically linked; nmr runs dynamically linked "
                                        "programs only (the shim is loaded with LD_PRELOAD)"};
      return false;
    case ElfKind::kScript:
      if (depth > 0 || interpreter.empty()) {
        *error = {kExitCannotExecute, shown + ": bad interpreter"};
        return false;
      }
      return CheckRunnable(interpreter, shown + ": interpreter " + interpreter, error, 1);
    case ElfKind::kNotElf:
      *error = {kExitCannotExecute, shown + ": Exec format error"};
      return false;
  }
  return false;
}

}  // namespace

std::optional<ResolveError> CheckExecutable(const std::string& path) {
  ResolveError error;
  if (CheckRunnable(path, path, &error)) {
    return std::nullopt;
  }
  return error;
}

ResolvedProgram ResolveProgram(const std::string& name, const std::string& path_env,
                               ResolveError* error) {
  *error = {};
  if (name.empty()) {
    *error = {kExitNotFound, "nmr-run: '': No such file or directory"};
    return {};
  }
  if (name.find('/') != std::string::npos) {
    return CheckRunnable(name, name, error) ? ResolvedProgram{name} : ResolvedProgram{};
  }
  std::string dirs = path_env.empty() ? "/usr/local/bin:/usr/bin:/bin" : path_env;
  ResolveError first_problem{kExitNotFound, name + ": command not found"};
  std::istringstream split(dirs);
  std::string dir;
  while (std::getline(split, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    struct stat st;
    if (stat(candidate.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) {
      continue;
    }
    ResolveError problem;
    if (CheckRunnable(candidate, name, &problem)) {
      return {candidate};
    }
    if (first_problem.exit_code == kExitNotFound) {
      first_problem = problem;
    }
  }
  *error = first_problem;
  return {};
}

namespace {

struct Prepared {
  std::vector<char*> argv;
  std::vector<char*> envp;
  BpfProgram base_filter;
};

long RawFutex(void* word, int op, uint32_t value, const timespec* timeout = nullptr) {
  return syscall(SYS_futex, word, op, value, timeout, nullptr, 0);
}

// The child between fork and execve: async-signal-safe calls only (nmr-run has threads).
[[noreturn]] void BecomeReplica(const SpawnPlan& plan, const Prepared& prepared, Channel* channel,
                                int channel_fd, int out_w, int err_w, int null_fd, pid_t parent) {
  auto fail = [channel](int e) {
    channel->spawn_errno = e;
    _exit(kExitNotFound);
  };
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
    _exit(kExitOwnError);
  }
  if (plan.cwd_fd >= 0 && fchdir(plan.cwd_fd) != 0) {
    fail(errno);
  }
  personality(ADDR_NO_RANDOMIZE);
  setpgid(0, 0);
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  if (dup2(null_fd, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0 ||
      dup2(channel_fd, kChannelFd) < 0) {
    fail(errno);
  }
  syscall(SYS_close_range, 3, kChannelFd - 1, 0);
  syscall(SYS_close_range, kChannelFd + 1, ~0U, 0);
  for (const auto& [sig, action] : plan.original_actions) {
    sigaction(sig, &action, nullptr);
  }
  sigprocmask(SIG_SETMASK, &plan.original_mask, nullptr);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) {
    fail(errno);
  }
  sock_fprog prog{static_cast<unsigned short>(prepared.base_filter.size()),
                  const_cast<sock_filter*>(prepared.base_filter.data())};
  long listener =
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (listener < 0) {
    fail(errno);
  }
  // From here on only the base filter's passing syscalls: futex, close, execve (this one).
  channel->spawn_listener_fd.store(static_cast<int32_t>(listener), std::memory_order_release);
  RawFutex(&channel->spawn_listener_fd, FUTEX_WAKE, 1);
  while (channel->spawn_go.load(std::memory_order_acquire) == 0) {
    RawFutex(&channel->spawn_go, FUTEX_WAIT, 0);
  }
  close(static_cast<int>(listener));
  execve(plan.path.c_str(), prepared.argv.data(), prepared.envp.data());
  fail(errno);
  _exit(kExitNotFound);
}

// The bytes from the stack pointer to the top of the [stack] mapping at the exec stop: what
// the kernel put there (argv, envp, auxv, the strings, AT_RANDOM's bytes). 0 if unreadable.
uint64_t DigestInitialStack(pid_t pid) {
  user_regs_struct regs;
  if (ptrace(PTRACE_GETREGS, pid, nullptr, &regs) != 0) {
    return 0;
  }
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  uint64_t top = 0;
  while (std::getline(maps, line)) {
    if (line.find("[stack]") != std::string::npos) {
      top = std::stoull(line.substr(line.find('-') + 1), nullptr, 16);
    }
  }
  if (top <= regs.rsp || top - regs.rsp > (8u << 20)) {
    return 0;
  }
  std::vector<uint8_t> bytes(top - regs.rsp);
  iovec local{bytes.data(), bytes.size()};
  iovec remote{reinterpret_cast<void*>(regs.rsp), bytes.size()};
  if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(bytes.size())) {
    return 0;
  }
  return XXH3_64bits(bytes.data(), bytes.size()) ^ regs.rsp;
}

uint64_t FindAtRandom(pid_t pid) {
  std::ifstream auxv("/proc/" + std::to_string(pid) + "/auxv", std::ios::binary);
  uint64_t pair[2];
  while (auxv.read(reinterpret_cast<char*>(pair), sizeof pair)) {
    if (pair[0] == AT_RANDOM) {
      return pair[1];
    }
  }
  return 0;
}

// Waits for the child's listener, takes it, lets the child exec, and fixes AT_RANDOM at the
// exec stop before ld.so runs.
Result<Ok> CompleteSpawn(const SpawnPlan& plan, ReplicaProcess& replica) {
  Channel* channel = replica.channel;
  for (;;) {
    int32_t fd = channel->spawn_listener_fd.load(std::memory_order_acquire);
    if (fd >= 0) {
      break;
    }
    int status;
    if (waitpid(replica.pid, &status, WNOHANG) == replica.pid) {
      replica.pid = -1;
      return MakeError("cannot start the program: " + Errno(channel->spawn_errno),
                       channel->spawn_errno);
    }
    timespec tick{0, 10'000'000};
    RawFutex(&channel->spawn_listener_fd, FUTEX_WAIT, static_cast<uint32_t>(-1), &tick);
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, replica.pid, 0));
  if (pidfd < 0) {
    return MakeError("pidfd_open: " + Errno(errno), errno);
  }
  replica.listener =
      static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, channel->spawn_listener_fd.load(), 0));
  int getfd_errno = errno;
  close(pidfd);
  if (replica.listener < 0) {
    return MakeError("pidfd_getfd (seccomp listener): " + Errno(getfd_errno), getfd_errno);
  }
  fcntl(replica.listener, F_SETFD, FD_CLOEXEC);
  channel->spawn_go.store(1, std::memory_order_release);
  RawFutex(&channel->spawn_go, FUTEX_WAKE, 1);

  int status;
  if (waitpid(replica.pid, &status, 0) != replica.pid) {
    return MakeError("waitpid: " + Errno(errno), errno);
  }
  if (!WIFSTOPPED(status)) {
    replica.pid = -1;
    return MakeError("cannot execute " + plan.path + ": " + Errno(channel->spawn_errno),
                     channel->spawn_errno);
  }
  uint64_t at_random = FindAtRandom(replica.pid);
  iovec local{const_cast<uint8_t*>(plan.at_random.data()), plan.at_random.size()};
  iovec remote{reinterpret_cast<void*>(at_random), plan.at_random.size()};
  if (at_random == 0 || process_vm_writev(replica.pid, &local, 1, &remote, 1, 0) != 16) {
    return MakeError("cannot set AT_RANDOM in the replica: " + Errno(errno), errno);
  }
  replica.initial_stack_digest = DigestInitialStack(replica.pid);
  if (ptrace(PTRACE_DETACH, replica.pid, nullptr, nullptr) != 0) {
    return MakeError("ptrace detach: " + Errno(errno), errno);
  }
  return Ok{};
}

Result<ReplicaProcess> SpawnOne(const SpawnPlan& plan, int r, Prepared& prepared, int null_fd) {
  int channel_fd = -1;
  Result<Channel*> channel = CreateChannel(plan, r, &channel_fd);
  if (!channel) {
    return channel.error();
  }
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    return MakeError("pipe: " + Errno(errno), errno);
  }
  ReplicaProcess replica;
  replica.channel = *channel;
  replica.channel_inode = ChannelInode(channel_fd);
  replica.stdout_pipe = out[0];
  replica.stderr_pipe = err[0];
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    return MakeError("fork: " + Errno(errno), errno);
  }
  if (pid == 0) {
    BecomeReplica(plan, prepared, *channel, channel_fd, out[1], err[1], null_fd, parent);
  }
  replica.pid = pid;
  close(out[1]);
  close(err[1]);
  close(channel_fd);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  Result<Ok> done = CompleteSpawn(plan, replica);
  if (!done) {
    if (replica.pid > 0) {
      kill(replica.pid, SIGKILL);
      waitpid(replica.pid, nullptr, __WALL);
    }
    return done.error();
  }
  return replica;
}

}  // namespace

Result<std::vector<ReplicaProcess>> SpawnReplicas(const SpawnPlan& plan) {
  Prepared prepared;
  for (const std::string& a : plan.argv) {
    prepared.argv.push_back(const_cast<char*>(a.c_str()));
  }
  prepared.argv.push_back(nullptr);
  for (const std::string& e : plan.envp) {
    prepared.envp.push_back(const_cast<char*>(e.c_str()));
  }
  prepared.envp.push_back(nullptr);
  prepared.base_filter = BuildBaseFilter(reinterpret_cast<uint64_t>(plan.path.c_str()));

  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    return MakeError("/dev/null: " + Errno(errno), errno);
  }
  std::vector<ReplicaProcess> replicas;
  for (int r = 0; r < plan.replicas; ++r) {
    Result<ReplicaProcess> one = SpawnOne(plan, r, prepared, null_fd);
    if (!one) {
      for (ReplicaProcess& started : replicas) {
        kill(started.pid, SIGKILL);
        waitpid(started.pid, nullptr, __WALL);
      }
      close(null_fd);
      return one.error();
    }
    replicas.push_back(*one);
  }
  close(null_fd);
  for (size_t r = 0; r < replicas.size(); ++r) {
    spdlog::debug("replica {}: pid {}, initial stack digest {:#x}", r, replicas[r].pid,
                  replicas[r].initial_stack_digest);
    if (replicas[r].initial_stack_digest != replicas[0].initial_stack_digest) {
      for (ReplicaProcess& started : replicas) {
        kill(started.pid, SIGKILL);
        waitpid(started.pid, nullptr, __WALL);
      }
      return MakeError("the replicas' initial stacks differ (replica " + std::to_string(r) +
                       " from replica 0): they could never agree");
    }
  }
  return replicas;
}

uint64_t ChannelInode(int channel_fd) {
  struct stat st;
  return fstat(channel_fd, &st) == 0 ? st.st_ino : 0;
}

Result<Channel*> CreateChannel(const SpawnPlan& plan, int replica, int* fd_out) {
  int fd =
      static_cast<int>(syscall(SYS_memfd_create, "nmr-channel", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (fd < 0) {
    return MakeError("memfd_create: " + Errno(errno), errno);
  }
  // Sealed at its size: a replica cannot shrink it under the supervisor (SIGBUS). There is
  // no name anywhere, so nothing can be left behind however nmr-run ends.
  if (ftruncate(fd, kChannelSize) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    int e = errno;
    close(fd);
    return MakeError("sealing the channel: " + Errno(e), e);
  }
  void* map = mmap(nullptr, kChannelSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    int e = errno;
    close(fd);
    return MakeError("mapping the channel: " + Errno(e), e);
  }
  auto* channel = static_cast<Channel*>(map);
  ChannelSetup& setup = channel->setup;
  setup.magic = kChannelMagic;
  setup.version = kProtocolVersion;
  setup.replica = static_cast<uint32_t>(replica);
  setup.virtual_pid = plan.virtual_pid;
  setup.supervisor_pid = getpid();
  setup.executor_tid = plan.executor_tid;
  setup.filter_length = static_cast<uint32_t>(plan.shim_filter.size());
  setup.fast_path = plan.fast_path ? 1 : 0;
  setup.spin_iterations = plan.spin_iterations;
  std::memcpy(setup.filter, plan.shim_filter.data(), plan.shim_filter.size() * sizeof(sock_filter));
  channel->spawn_listener_fd.store(-1);
  *fd_out = fd;
  return channel;
}

}  // namespace nmr
