// The table of programs that must behave under nmr-run exactly as they do natively.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness.h"

namespace nmr::test {

struct Case {
  std::string name;               // [A-Za-z0-9_]: part of the test's name
  std::vector<std::string> argv;  // argv[0] looked up in PATH unless it has a '/'
  std::vector<std::pair<std::string, std::string>> files;  // name, contents: the inputs
  std::vector<std::vector<std::string>> setup;  // run natively over the inputs, before copying
  std::string stdin_file;                       // a name in `files`; empty: see stdin_pipe
  std::optional<std::string> stdin_pipe;        // else /dev/null
  bool stdout_is_file = false;                  // stdout a regular file instead of a pipe
  // Non-empty: nmr-run is known to get this case wrong for the replica counts in
  // `known_failing_for`; the test is skipped with this note (see the report of the change).
  std::string known_failing;
  std::set<int> known_failing_for = {1, 3, 5};
  // Checks beyond "same as native", given the native and nmr runs and nmr-run's report.
  std::function<void(const RunResult& native, const RunResult& nmr, const nlohmann::json& report)> extra;

  bool KnownFailing(int replicas) const {
    return !known_failing.empty() && known_failing_for.contains(replicas);
  }
};

inline void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

const std::vector<Case>& Cases();
// Cases that start processes (tree_cases.cc), over the table's inputs.
std::vector<Case> TreeCases(const std::pair<std::string, std::string>& in,
                            const std::pair<std::string, std::string>& bin_in);

}  // namespace nmr::test
