// Cases that start processes (issue "Process trees"): shells, pipelines, make and gcc,
// Python's subprocess, git, signals and timers between processes. Each runs natively and
// under nmr-run like every case of the table (parity_test.cc).
#include "cases.h"

#include <gtest/gtest.h>

namespace nmr::test {
namespace {

std::string Prog(const std::string& name) { return TestProgram(name).string(); }

const std::string kMakefile = R"(CFLAGS = -O2
prog: main.o util.o
	$(CC) -o $@ main.o util.o
%.o: %.c util.h
	$(CC) $(CFLAGS) -c -o $@ $<
)";
const std::string kMain = "#include <stdio.h>\n#include \"util.h\"\n"
                          "int main(void) { printf(\"%d\\n\", square(7)); return 0; }\n";
const std::string kUtil = "#include \"util.h\"\nint square(int x) { return x * x; }\n";

// A repository with one commit at a fixed date by a fixed author: the same hashes every time.
const std::string kGit = R"(export GIT_AUTHOR_DATE=2026-01-01T00:00:00Z GIT_COMMITTER_DATE=2026-01-01T00:00:00Z
export GIT_AUTHOR_NAME=nmr GIT_AUTHOR_EMAIL=nmr@example.com GIT_COMMITTER_NAME=nmr GIT_COMMITTER_EMAIL=nmr@example.com
export GIT_CONFIG_NOSYSTEM=1 HOME=$PWD
git init -q -b main repo && cd repo && cp ../in.txt . && git add in.txt && git commit -q -m first &&
git log --format='%H %s' && git status --short && git cat-file -p HEAD^{tree} &&
rm .git/index  # holds the file's inode and ctime, which differ from run to run
)";

// Python's socket.send_fds/recv_fds (sendmsg/recvmsg with SCM_RIGHTS) between two processes.
const std::string kSendFds = R"(import os, socket
a, b = socket.socketpair()
r, w = os.pipe()
if os.fork() == 0:
    msg, fds, flags, addr = socket.recv_fds(b, 100, 4)
    os.write(fds[0], b"through a passed pipe: " + msg)
    os._exit(0)
socket.send_fds(a, [b"hello"], [w])
os.close(w)
os.wait()
print(os.read(r, 100).decode())
)";

}  // namespace

std::vector<Case> TreeCases(const std::pair<std::string, std::string>& in,
                            const std::pair<std::string, std::string>& bin_in) {
  auto bash = [](const std::string& script) { return std::vector<std::string>{"bash", "-c", script}; };
  return {
      {.name = "bash_pipeline", .argv = bash("sort in.txt | cut -c1-3 | uniq -c | sort -rn | head -5"), .files = {in}},
      {.name = "bash_substitution_subshell_and_or",
       .argv = bash("echo \"lines: $(wc -l < in.txt)\"; (cd nowhere 2>/dev/null || echo no dir) && echo ok; "
                    "false || echo alternative; (exit 3); echo \"subshell $?\""),
       .files = {in}},
      {.name = "bash_background_and_wait",
       .argv = bash("sleep 0.2 & echo started; (echo from the background job; exit 5) & wait $!; echo \"job $?\"; wait")},
      {.name = "bash_trap_exit_and_signal",
       .argv = bash("trap 'echo bye' EXIT; trap 'echo got USR1' USR1; kill -USR1 $$; echo after; exit 4")},
      {.name = "bash_set_e_failing_child", .argv = bash("set -e; echo a; ls nowhere; echo never")},
      {.name = "bash_loop_of_processes", .argv = bash("for i in 1 2 3 4 5 6 7 8; do /bin/echo $i; done | tac")},
      {.name = "sh_exit_7", .argv = {"sh", "-c", "exit 7"}},
      {.name = "xargs_p2", .argv = bash("printf '%s\\n' d a c b | xargs -P2 -n1 echo | sort")},
      {.name = "find_exec", .argv = {"find", ".", "-name", "*.txt", "-exec", "wc", "-l", "{}", ";"}, .files = {in}},
      {.name = "tar_czf_runs_gzip", .argv = {"tar", "-czf", "out.tgz", "in.txt", "bin.dat"}, .files = {in, bin_in}},
      {.name = "timeout_kills_its_child", .argv = {"timeout", "1", "sleep", "5"}},
      {.name = "make_j2_gcc",
       .argv = {"make", "-j2"},
       .files = {{"Makefile", kMakefile}, {"main.c", kMain}, {"util.h", "int square(int x);\n"}, {"util.c", kUtil}}},
      {.name = "python_subprocesses", .argv = {"/usr/bin/python3", "subprocesses.py"},
       .files = {{"subprocesses.py", ReadFile(TestData("scripts/subprocesses.py"))}}},
      {.name = "git_init_add_commit", .argv = {"bash", "git.sh"}, .files = {in, {"git.sh", kGit}}},
      {.name = "sigchld_siginfo_and_wait", .argv = {Prog("sigchld_info")}},
      {.name = "itimer_counting", .argv = {Prog("itimer_count")}},
      {.name = "sigchld_into_a_masked_wait", .argv = {Prog("masked_wait")}},
      {.name = "sigwait_timer_timeout_and_child", .argv = {Prog("sigwait")}},
      {.name = "fd_passed_over_a_unix_socket", .argv = {Prog("pass_fd")}},
      {.name = "clone3_fork_vfork_and_refusals", .argv = {Prog("clone3")}},
      {.name = "posix_timers_and_sigqueue", .argv = {Prog("posix_timer")}},
      {.name = "clock_mqueue_sched_and_more", .argv = {Prog("more_calls")}},
      {.name = "rusage_of_children_and_self", .argv = {Prog("rusage")}},
      {.name = "job_control_stop_and_continue", .argv = {Prog("job_control")}},
      {.name = "timerfd_and_eventfd", .argv = {Prog("event_fds")}},
      {.name = "signalfd_read_poll_epoll", .argv = {Prog("signal_fds")}},
      {.name = "mmsg_fd_and_credentials_over_a_datagram_pair", .argv = {Prog("mmsg")}},
      {.name = "sysv_semaphores_and_message_queues", .argv = {Prog("sysv_ipc")}},
      {.name = "posix_spawn_and_a_missing_program", .argv = {Prog("spawn")},
       .extra = [](const RunResult&, const RunResult& nmr, const nlohmann::json& report) {
         EXPECT_NE(nmr.out.find("missing: posix_spawn 2 (No such file or directory)"), std::string::npos);
         if (report.is_object()) {
           EXPECT_EQ(report["divergences"].size(), 0u) << report["divergences"].dump();
         }
       }},
      {.name = "python_send_fds", .argv = {"/usr/bin/python3", "-c", kSendFds}},
  };
}

}  // namespace nmr::test
