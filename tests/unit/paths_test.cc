// RewriteProgramPath (supervisor/core/paths.h): what a path means when the executor opens it.
#include "supervisor/core/paths.h"

#include <gtest/gtest.h>

#include <string>

namespace nmr {
namespace {

constexpr pid_t kReplica = 4242;

std::string Rewrite(const std::string& path) { return RewriteProgramPath(path, kReplica); }

TEST(PathsTest, FdPathsMeanTheExecutorsFdTable) {
  EXPECT_EQ(Rewrite("/proc/self/fd/3"), "/proc/thread-self/fd/3");
  EXPECT_EQ(Rewrite("/proc/self/fd/12"), "/proc/thread-self/fd/12");
  EXPECT_EQ(Rewrite("/proc/self/fd"), "/proc/thread-self/fd");
  EXPECT_EQ(Rewrite("/proc/self/fdinfo/3"), "/proc/thread-self/fdinfo/3");
  EXPECT_EQ(Rewrite("/proc/thread-self/fd/4"), "/proc/thread-self/fd/4");
  EXPECT_EQ(Rewrite("/dev/fd/3"), "/proc/thread-self/fd/3");
  EXPECT_EQ(Rewrite("/dev/fd/63"), "/proc/thread-self/fd/63");  // bash's <(...)
}

TEST(PathsTest, StandardStreamsMeanTheExecutorsFds) {
  EXPECT_EQ(Rewrite("/dev/stdin"), "/proc/thread-self/fd/0");
  EXPECT_EQ(Rewrite("/dev/stdout"), "/proc/thread-self/fd/1");
  EXPECT_EQ(Rewrite("/dev/stderr"), "/proc/thread-self/fd/2");
}

TEST(PathsTest, TheWorkingDirectoryIsTheExecutors) {
  // chdir runs in the executor (unshare(CLONE_FS)): the replica's own cwd never moves.
  EXPECT_EQ(Rewrite("/proc/self/cwd"), "/proc/thread-self/cwd");
  EXPECT_EQ(Rewrite("/proc/self/cwd/notes.txt"), "/proc/thread-self/cwd/notes.txt");
  EXPECT_EQ(Rewrite("/proc/self/root"), "/proc/thread-self/root");
}

TEST(PathsTest, OtherProcSelfPathsMeanTheReplica) {
  EXPECT_EQ(Rewrite("/proc/self/exe"), "/proc/4242/exe");
  EXPECT_EQ(Rewrite("/proc/self/maps"), "/proc/4242/maps");
  EXPECT_EQ(Rewrite("/proc/self/status"), "/proc/4242/status");
  EXPECT_EQ(Rewrite("/proc/self/auxv"), "/proc/4242/auxv");
  EXPECT_EQ(Rewrite("/proc/self"), "/proc/4242");
  EXPECT_EQ(Rewrite("/proc/thread-self/maps"), "/proc/4242/maps");
  // Names that only start like the fd table's are not it.
  EXPECT_EQ(Rewrite("/proc/self/fdx"), "/proc/4242/fdx");
  EXPECT_EQ(Rewrite("/proc/self/cwdx"), "/proc/4242/cwdx");
  EXPECT_EQ(RewriteProgramPath("/proc/self/exe", 7), "/proc/7/exe");
}

TEST(PathsTest, LookAlikesAndEverythingElseAreUnchanged) {
  for (const char* path : {"/proc/selfish", "/proc/selfish/fd/3", "/proc/1/fd/3", "/proc/cpuinfo",
                           "/proc", "/dev/stdinx", "/dev/fdx/3", "/dev/null", "/dev/tty", "/tmp/x",
                           "/", "", "relative/path", "fd/3", "dev/stdin", "proc/self/exe",
                           "./proc/self/exe", "/tmp/proc/self/exe", "/tmp/dev/fd/3"}) {
    EXPECT_EQ(Rewrite(path), path);
  }
}

}  // namespace
}  // namespace nmr

namespace nmr {
namespace {

TEST(PathsTest, TheVirtualPidMeansSelf) {
  EXPECT_EQ(RewriteProgramPath("/proc/4242/exe", 7, 4242), "/proc/7/exe");
  EXPECT_EQ(RewriteProgramPath("/proc/4242/fd/3", 7, 4242), "/proc/thread-self/fd/3");
  EXPECT_EQ(RewriteProgramPath("/proc/4242", 7, 4242), "/proc/7");
  EXPECT_EQ(RewriteProgramPath("/proc/42420/exe", 7, 4242), "/proc/42420/exe");
}

}  // namespace
}  // namespace nmr
