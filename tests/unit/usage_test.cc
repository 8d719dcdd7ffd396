#include "supervisor/core/usage.h"

#include <gtest/gtest.h>

namespace nmr {
namespace {

rusage Usage(long user_us, long system_us, long maxrss, long minflt) {
  rusage u = {};
  u.ru_utime = {user_us / 1'000'000, user_us % 1'000'000};
  u.ru_stime = {system_us / 1'000'000, system_us % 1'000'000};
  u.ru_maxrss = maxrss;
  u.ru_minflt = minflt;
  return u;
}

TEST(UsageTest, AddingSumsTimesAndCountsAndKeepsThePeak) {
  rusage total = Usage(900'000, 10, 500, 3);
  AddUsage(total, Usage(200'000, 20, 300, 4));
  EXPECT_EQ(total.ru_utime.tv_sec, 1);  // carries into seconds
  EXPECT_EQ(total.ru_utime.tv_usec, 100'000);
  EXPECT_EQ(total.ru_stime.tv_usec, 30);
  EXPECT_EQ(total.ru_maxrss, 500);
  EXPECT_EQ(total.ru_minflt, 7);
}

TEST(UsageTest, TheMedianIgnoresOneOutlierFieldByField) {
  // The third replica looped (CPU) and bloated (RSS); the first faulted more pages.
  rusage m = MedianUsage({Usage(100, 5, 1000, 90), Usage(110, 6, 1010, 10), Usage(9'000'000, 7, 99999, 11)});
  EXPECT_EQ(m.ru_utime.tv_usec, 110);
  EXPECT_EQ(m.ru_utime.tv_sec, 0);
  EXPECT_EQ(m.ru_stime.tv_usec, 6);
  // User and system time come from one replica, the one with the median total.
  rusage split = MedianUsage({Usage(100, 50, 0, 0), Usage(140, 0, 0, 0), Usage(10, 300, 0, 0)});
  EXPECT_EQ(split.ru_utime.tv_usec, 100);
  EXPECT_EQ(split.ru_stime.tv_usec, 50);
  EXPECT_EQ(m.ru_maxrss, 1010);
  EXPECT_EQ(m.ru_minflt, 11);
  // Even counts take the lower middle; none gives zeros.
  EXPECT_EQ(MedianUsage({Usage(4, 0, 0, 0), Usage(2, 0, 0, 0)}).ru_utime.tv_usec, 2);
  EXPECT_EQ(MedianUsage({}).ru_maxrss, 0);
}

TEST(UsageTest, ProcFilesGiveFaultsPeakAndSwitchesAndTheClockSplitByTicks) {
  // A command name with spaces and a parenthesis; utime 30 ticks, stime 10.
  const char* stat =
      "1234 (a b) c) S 1 1234 1234 0 -1 4194304 77 0 5 0 30 10 0 0 20 0 1 0 100 1000 50";
  const char* status = "Name:\ta b) c\nVmHWM:\t    2048 kB\nvoluntary_ctxt_switches:\t12\n"
                       "nonvoluntary_ctxt_switches:\t3\n";
  std::optional<rusage> u = ParseProcUsage(stat, status, 400'000'000);  // 0.4 s of CPU
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->ru_minflt, 77);
  EXPECT_EQ(u->ru_majflt, 5);
  EXPECT_EQ(u->ru_utime.tv_usec, 300'000);  // three quarters of the clock's 0.4 s
  EXPECT_EQ(u->ru_stime.tv_usec, 100'000);
  EXPECT_EQ(u->ru_maxrss, 2048);
  EXPECT_EQ(u->ru_nvcsw, 12);
  EXPECT_EQ(u->ru_nivcsw, 3);
  EXPECT_FALSE(ParseProcUsage("", "", 0).has_value());
  EXPECT_FALSE(ParseProcUsage("1 (x) S 1 2", "", 0).has_value());  // cut short
}

}  // namespace
}  // namespace nmr
