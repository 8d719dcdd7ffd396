// The run report's JSON form (supervisor/core/report.h).
#include "supervisor/core/report.h"

#include <gtest/gtest.h>

#include <string>

namespace nmr {
namespace {

using nlohmann::json;

Report SampleReport() {
  Report r;
  r.replicas = 3;
  r.program = {"/bin/echo", "hi"};
  r.outcome = "exit";
  r.exit_code = 0;
  r.votes_total = 7;
  r.votes_by_syscall = {{"write", 1}, {"openat", 4}, {"exit_group", 2}};
  r.divergences.push_back({100, 12, 1, 2, "write", "diverged", "write differs from the majority"});
  r.divergences.push_back({101, 30, 2, 0, "death", "crashed", "killed by SIGSEGV"});
  r.views.push_back({100, 0, {0, 1, 2}});
  r.views.push_back({100, 1, {0, 1}});
  r.processes.push_back({100, 0, {"bash", "-c", "sort | head"}, 0, {}, 40, 0});
  r.processes.push_back({101, 100, {"sort"}, {}, 11, 12, 1});
  r.restarts = 1;
  r.injected = {"corrupt-vote: replica 2, vote 12 (write)"};
  r.wall_s = 0.25;
  r.cpu_s = {0.01, 0.02, 0.03};
  return r;
}

TEST(ReportTest, HasEveryKeyWithItsShape) {
  json j = ToJson(SampleReport());
  for (const char* key : {"replicas", "program", "outcome", "exit", "votes", "divergences", "views",
                          "restarts", "execs", "injected", "wall_s", "cpu_s"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["replicas"], 3);
  EXPECT_EQ(j["program"], json::array({"/bin/echo", "hi"}));
  EXPECT_EQ(j["outcome"], "exit");
  EXPECT_EQ(j["votes"]["total"], 7);
  EXPECT_EQ(j["votes"]["by_syscall"]["openat"], 4);
  EXPECT_EQ(j["votes"]["by_syscall"].size(), 3u);
  EXPECT_EQ(j["restarts"], 1);
  EXPECT_EQ(j["injected"], json::array({"corrupt-vote: replica 2, vote 12 (write)"}));
  EXPECT_DOUBLE_EQ(j["wall_s"].get<double>(), 0.25);
  ASSERT_TRUE(j["cpu_s"].is_array());
  EXPECT_EQ(j["cpu_s"].size(), 3u);
  EXPECT_DOUBLE_EQ(j["cpu_s"][2].get<double>(), 0.03);
}

TEST(ReportTest, DivergencesAreAListOfRecords) {
  json j = ToJson(SampleReport());
  ASSERT_TRUE(j["divergences"].is_array());
  ASSERT_EQ(j["divergences"].size(), 2u);
  const json& d = j["divergences"][0];
  EXPECT_EQ(d["seq"], 12);
  EXPECT_EQ(d["view"], 1);
  EXPECT_EQ(d["replica"], 2);
  EXPECT_EQ(d["syscall"], "write");
  EXPECT_EQ(d["reason"], "diverged");
  EXPECT_EQ(d["detail"], "write differs from the majority");
  EXPECT_EQ(d["process"], 100);
  EXPECT_EQ(j["divergences"][1]["process"], 101);
  EXPECT_EQ(j["divergences"][1]["syscall"], "death");
  EXPECT_EQ(j["divergences"][1]["reason"], "crashed");
}

TEST(ReportTest, ProcessesFormTheTree) {
  json j = ToJson(SampleReport());
  ASSERT_EQ(j["processes"].size(), 2u);
  EXPECT_EQ(j["processes"][0],
            (json{{"pid", 100}, {"parent", 0}, {"argv", {"bash", "-c", "sort | head"}},
                  {"exit", {{"code", 0}}}, {"votes", 40}, {"execs", 0}}));
  EXPECT_EQ(j["processes"][1]["parent"], 100);
  EXPECT_EQ(j["processes"][1]["exit"], (json{{"signal", 11}}));
  EXPECT_EQ(j["processes"][1]["execs"], 1);
}

TEST(ReportTest, ViewsListTheirMembers) {
  json j = ToJson(SampleReport());
  ASSERT_EQ(j["views"].size(), 2u);
  EXPECT_EQ(j["views"][0]["view"], 0);
  EXPECT_EQ(j["views"][0]["process"], 100);
  EXPECT_EQ(j["views"][0]["members"], json::array({0, 1, 2}));
  EXPECT_EQ(j["views"][1]["members"], json::array({0, 1}));
}

TEST(ReportTest, AnExitHasACode) {
  Report r = SampleReport();
  r.exit_code = 3;
  json exit = ToJson(r)["exit"];
  EXPECT_EQ(exit, (json{{"code", 3}}));
  EXPECT_FALSE(exit.contains("signal"));
}

TEST(ReportTest, ADeathBySignalHasASignal) {
  Report r = SampleReport();
  r.outcome = "signal";
  r.exit_code.reset();
  r.exit_signal = 11;
  json exit = ToJson(r)["exit"];
  EXPECT_EQ(exit, (json{{"signal", 11}}));
  EXPECT_FALSE(exit.contains("code"));
}

TEST(ReportTest, NoExitIsNull) {
  Report r = SampleReport();
  r.outcome = "no-majority";
  r.exit_code.reset();
  EXPECT_TRUE(ToJson(r)["exit"].is_null());
}

TEST(ReportTest, AnEmptyReportStillHasListsNotNulls) {
  json j = ToJson(Report{});
  EXPECT_TRUE(j["divergences"].is_array());
  EXPECT_TRUE(j["divergences"].empty());
  EXPECT_TRUE(j["views"].is_array());
  EXPECT_TRUE(j["program"].is_array());
  EXPECT_TRUE(j["injected"].is_array());
  EXPECT_TRUE(j["cpu_s"].is_array());
  EXPECT_TRUE(j["votes"]["by_syscall"].is_object());
  EXPECT_EQ(j["votes"]["total"], 0);
}

TEST(ReportTest, SurvivesARoundTripThroughText) {
  json j = ToJson(SampleReport());
  EXPECT_EQ(json::parse(j.dump()), j);
}

}  // namespace
}  // namespace nmr
