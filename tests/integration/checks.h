// GoogleTest checks shared by the integration tests.
#pragma once

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "harness.h"

namespace nmr::test {

// No process of ours is left (every orphan reaped within a deadline) and no /dev/shm name
// containing "nmr" appeared since `shm_before`.
void ExpectNothingLeftBehind(const std::set<std::string>& shm_before);

// Reads nmr-run's report; a failure (missing or malformed) is reported and gives null.
nlohmann::json LoadReport(const fs::path& path);

// The report says what happened: N replicas, the program's own ending (same as `native`),
// some votes. Divergences are checked by the callers.
void ExpectReportMatches(const nlohmann::json& report, int replicas, const ExitStatus& native);

// Same bytes, with a readable explanation when not.
void ExpectSameBytes(const std::string& what, const std::string& native, const std::string& nmr);

}  // namespace nmr::test
