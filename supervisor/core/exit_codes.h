// nmr-run's own exit codes, in the env(1)/timeout(1) tradition. A program can exit with
// these too; the report's "outcome" and the log line say which it was.
#pragma once

namespace nmr {

inline constexpr int kExitNoMajority = 122;  // the replicas disagreed and no majority is left
inline constexpr int kExitOwnError = 125;  // nmr-run's own error: bad flag, bad policy, OS failure
inline constexpr int kExitCannotExecute = 126;  // program found but not executable (or static)
inline constexpr int kExitNotFound = 127;       // program not found

}  // namespace nmr
