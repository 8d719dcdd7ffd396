#include "checks.h"

#include <gtest/gtest.h>

#include <chrono>

namespace nmr::test {

void ExpectNothingLeftBehind(const std::set<std::string>& shm_before) {
  ReapResult reap = ReapAll(In(std::chrono::seconds(20)));
  std::string survivors;
  for (const std::string& s : reap.survivors) survivors += "\n  " + s;
  EXPECT_TRUE(reap.survivors.empty()) << "processes still alive after nmr-run ended:" << survivors;
  std::set<std::string> left = LeftoverShm(shm_before, In(std::chrono::seconds(5)));
  std::string names;
  for (const std::string& s : left) names += " " + s;
  EXPECT_TRUE(left.empty()) << "left in /dev/shm:" << names;
}

nlohmann::json LoadReport(const fs::path& path) {
  try {
    return ReadJson(path);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "no usable report at " << path << ": " << e.what();
    return nullptr;
  }
}

void ExpectReportMatches(const nlohmann::json& report, int replicas, const ExitStatus& native) {
  if (!report.is_object()) return;  // LoadReport already failed the test
  EXPECT_EQ(report.value("replicas", -1), replicas);
  const nlohmann::json exit = report.value("exit", nlohmann::json::object());
  if (native.signaled) {
    EXPECT_EQ(report.value("outcome", ""), "signal") << report.dump(2);
    EXPECT_EQ(exit.is_object() ? exit.value("signal", -1) : -1, native.value) << report.dump(2);
  } else {
    EXPECT_EQ(report.value("outcome", ""), "exit") << report.dump(2);
    EXPECT_EQ(exit.is_object() ? exit.value("code", -1) : -1, native.value) << report.dump(2);
  }
  EXPECT_GT(report.value("votes", nlohmann::json::object()).value("total", 0), 0);
}

void ExpectSameBytes(const std::string& what, const std::string& native, const std::string& nmr) {
  EXPECT_TRUE(native == nmr) << what << " differs from the native run: " << Diff(native, nmr);
}

}  // namespace nmr::test
