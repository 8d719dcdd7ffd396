#include "supervisor/core/usage.h"

#include <algorithm>
#include <charconv>
#include <string>

namespace nmr {
namespace {

int64_t Micros(const timeval& tv) { return tv.tv_sec * 1'000'000LL + tv.tv_usec; }

timeval FromMicros(int64_t us) {
  return {static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
}

// The rusage fields that are counts (long), in order, for field-wise arithmetic.
constexpr long rusage::*kCounts[] = {
    &rusage::ru_ixrss,  &rusage::ru_idrss,    &rusage::ru_isrss,  &rusage::ru_minflt,
    &rusage::ru_majflt, &rusage::ru_nswap,    &rusage::ru_inblock, &rusage::ru_oublock,
    &rusage::ru_msgsnd, &rusage::ru_msgrcv,   &rusage::ru_nsignals, &rusage::ru_nvcsw,
    &rusage::ru_nivcsw};

template <typename T, typename Get>
T Median(const std::vector<rusage>& samples, Get get) {
  std::vector<T> values;
  values.reserve(samples.size());
  for (const rusage& s : samples) {
    values.push_back(get(s));
  }
  auto middle = values.begin() + static_cast<long>((values.size() - 1) / 2);
  std::nth_element(values.begin(), middle, values.end());
  return *middle;
}

// The value after "KEY:" on its line of a /proc status file, or 0.
long StatusField(std::string_view status, std::string_view key) {
  for (size_t at = 0; at < status.size();) {
    size_t end = status.find('\n', at);
    std::string_view line = status.substr(at, end == std::string_view::npos ? end : end - at);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      std::string_view rest = line.substr(key.size() + 1);
      size_t digit = rest.find_first_not_of(" \t");
      long value = 0;
      if (digit != std::string_view::npos) {
        std::from_chars(rest.data() + digit, rest.data() + rest.size(), value);
      }
      return value;
    }
    if (end == std::string_view::npos) {
      break;
    }
    at = end + 1;
  }
  return 0;
}

}  // namespace

void AddUsage(rusage& into, const rusage& more) {
  into.ru_utime = FromMicros(Micros(into.ru_utime) + Micros(more.ru_utime));
  into.ru_stime = FromMicros(Micros(into.ru_stime) + Micros(more.ru_stime));
  into.ru_maxrss = std::max(into.ru_maxrss, more.ru_maxrss);
  for (long rusage::*field : kCounts) {
    into.*field += more.*field;
  }
}

rusage MedianUsage(const std::vector<rusage>& samples) {
  rusage out = {};
  if (samples.empty()) {
    return out;
  }
  // The times of the replica with the median total CPU time, so that user + system is that
  // median (each field's own median would not add up to it).
  std::vector<const rusage*> by_cpu;
  for (const rusage& s : samples) {
    by_cpu.push_back(&s);
  }
  auto cpu = [](const rusage* s) { return Micros(s->ru_utime) + Micros(s->ru_stime); };
  auto middle = by_cpu.begin() + static_cast<long>((by_cpu.size() - 1) / 2);
  std::nth_element(by_cpu.begin(), middle, by_cpu.end(),
                   [&](const rusage* a, const rusage* b) { return cpu(a) < cpu(b); });
  out.ru_utime = (*middle)->ru_utime;
  out.ru_stime = (*middle)->ru_stime;
  out.ru_maxrss = Median<long>(samples, [](const rusage& s) { return s.ru_maxrss; });
  for (long rusage::*field : kCounts) {
    out.*field = Median<long>(samples, [field](const rusage& s) { return s.*field; });
  }
  return out;
}

std::optional<rusage> ParseProcUsage(std::string_view stat, std::string_view status,
                                     int64_t cpu_ns) {
  // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses; the fields after the
  // last ')' start at the third. minflt is the 10th, majflt the 12th, utime and stime the
  // 14th and 15th (proc_pid_stat(5)).
  size_t paren = stat.rfind(')');
  if (paren == std::string_view::npos) {
    return std::nullopt;
  }
  std::vector<long> fields;  // from the third on
  std::string_view rest = stat.substr(paren + 1);
  for (size_t at = 0; at < rest.size() && fields.size() < 13;) {
    size_t begin = rest.find_first_not_of(' ', at);
    if (begin == std::string_view::npos) {
      break;
    }
    size_t end = std::min(rest.find(' ', begin), rest.size());
    long value = 0;
    std::from_chars(rest.data() + begin, rest.data() + end, value);  // STATE reads as 0
    fields.push_back(value);
    at = end;
  }
  if (fields.size() < 13) {
    return std::nullopt;
  }
  auto field = [&](int number) { return fields[static_cast<size_t>(number - 3)]; };
  rusage out = {};
  out.ru_minflt = field(10);
  out.ru_majflt = field(12);
  long user_ticks = field(14);
  long system_ticks = field(15);
  int64_t cpu_us = cpu_ns / 1000;
  int64_t ticks = user_ticks + system_ticks;
  int64_t user_us = ticks > 0 ? cpu_us * user_ticks / ticks : cpu_us;
  out.ru_utime = FromMicros(user_us);
  out.ru_stime = FromMicros(cpu_us - user_us);
  out.ru_maxrss = StatusField(status, "VmHWM");  // kB, as ru_maxrss
  out.ru_nvcsw = StatusField(status, "voluntary_ctxt_switches");
  out.ru_nivcsw = StatusField(status, "nonvoluntary_ctxt_switches");
  return out;
}

}  // namespace nmr
