#include "supervisor/core/report.h"

namespace nmr {

nlohmann::json ToJson(const Report& report) {
  nlohmann::json j;
  j["replicas"] = report.replicas;
  j["program"] = report.program;
  j["outcome"] = report.outcome;
  if (report.exit_signal) {
    j["exit"] = {{"signal", *report.exit_signal}};
  } else if (report.exit_code) {
    j["exit"] = {{"code", *report.exit_code}};
  } else {
    j["exit"] = nullptr;
  }
  j["votes"] = {{"total", report.votes_total}, {"by_syscall", report.votes_by_syscall}};
  j["divergences"] = nlohmann::json::array();
  for (const DivergenceRecord& d : report.divergences) {
    j["divergences"].push_back({{"process", d.process},
                                {"seq", d.seq},
                                {"view", d.view},
                                {"replica", d.replica},
                                {"syscall", d.syscall},
                                {"reason", d.reason},
                                {"detail", d.detail}});
  }
  j["views"] = nlohmann::json::array();
  for (const ViewRecord& v : report.views) {
    j["views"].push_back({{"process", v.process}, {"view", v.view}, {"members", v.members}});
  }
  j["restarts"] = report.restarts;
  j["recoveries"] = nlohmann::json::array();
  for (const RecoveryRecord& r : report.recoveries) {
    j["recoveries"].push_back({{"process", r.process},
                               {"seq", r.seq},
                               {"view_before", r.view_before},
                               {"view_after", r.view_after},
                               {"slot", r.slot},
                               {"donor", r.donor},
                               {"reason", r.reason},
                               {"verified_with", r.verified_with},
                               {"bytes_compared", r.bytes_compared},
                               {"digest_ms", r.digest_ms},
                               {"ms", r.ms},
                               {"completed", r.completed}});
  }
  j["scrubs"] = nlohmann::json::array();
  for (const ScrubRecord& r : report.scrubs) {
    j["scrubs"].push_back({{"seq", r.seq},
                           {"view", r.view},
                           {"members", r.members},
                           {"differing", r.differing},
                           {"bytes", r.bytes},
                           {"ms", r.ms}});
  }
  j["forensics"] = report.forensics;
  j["degraded"] = report.degraded ? nlohmann::json(*report.degraded) : nlohmann::json(nullptr);
  j["execs"] = report.execs;
  j["injected"] = report.injected;
  j["refused"] = report.refused;
  j["processes"] = nlohmann::json::array();
  for (const ProcessRecord& p : report.processes) {
    nlohmann::json exit = nullptr;
    if (p.exit_signal) {
      exit = {{"signal", *p.exit_signal}};
    } else if (p.exit_code) {
      exit = {{"code", *p.exit_code}};
    }
    j["processes"].push_back({{"pid", p.pid},
                              {"parent", p.parent},
                              {"argv", p.argv},
                              {"exit", exit},
                              {"votes", p.votes},
                              {"execs", p.execs}});
  }
  j["wall_s"] = report.wall_s;
  j["cpu_s"] = report.cpu_s;
  return j;
}

}  // namespace nmr
