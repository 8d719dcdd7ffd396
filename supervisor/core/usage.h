// Resource usage as a process of the program sees it (getrusage, times, wait4's rusage).
// A process is N replicas, each with its own figures; what the program is told is one
// agreed figure: the median of each field over the replicas, so that one faulty replica
// (hung, looping, bloated) does not move it. Pure logic: the figures come from /proc or from
// wait4 (supervisor/os/proc.h).
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace nmr {

// Adds `more` into `into`: times and counts add up, the peak resident size is the larger, as
// the kernel adds a collected child's figures to its parent's RUSAGE_CHILDREN.
void AddUsage(rusage& into, const rusage& more);

// Each field's median over `samples` (the lower middle one for an even count); zeros if none.
// User and system time are those of the sample with the median total CPU time.
rusage MedianUsage(const std::vector<rusage>& samples);

// A live process's figures from the text of its /proc/PID/stat and /proc/PID/status, with its
// CPU time from its CPU clock (`cpu_ns`, nanoseconds: stat's ticks are too coarse), split
// between user and system time as stat's ticks are. nullopt if the text is not a stat file.
std::optional<rusage> ParseProcUsage(std::string_view stat, std::string_view status,
                                     int64_t cpu_ns);

}  // namespace nmr
