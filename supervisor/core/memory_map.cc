#include "supervisor/core/memory_map.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace nmr {

std::vector<MemoryRegion> ParseMaps(std::string_view text) {
  std::vector<MemoryRegion> out;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string line(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    MemoryRegion region;
    char perms[5] = {};
    uint64_t offset = 0;
    unsigned major = 0;
    unsigned minor = 0;
    int path_at = 0;
    if (std::sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %n",
                    &region.start, &region.end, perms, &offset, &major, &minor, &region.inode,
                    &path_at) < 7 ||
        region.end <= region.start) {
      continue;
    }
    region.readable = perms[0] == 'r';
    region.writable = perms[1] == 'w';
    region.shared = perms[3] == 's';
    if (path_at > 0 && static_cast<size_t>(path_at) <= line.size()) {
      region.path = line.substr(static_cast<size_t>(path_at));
    }
    out.push_back(std::move(region));
  }
  return out;
}

namespace {

bool IsChannel(const MemoryRegion& r, uint64_t channel_inode) {
  if (channel_inode != 0) {
    return r.shared && r.inode == channel_inode;
  }
  return r.path.rfind(kChannelMemfdName, 0) == 0;
}

bool IsFile(const MemoryRegion& r) { return !r.path.empty() && r.path[0] == '/'; }

// Anonymous memory right after a file's mapping: that file's .bss.
bool IsBss(const std::vector<MemoryRegion>& map, size_t i) {
  return i > 0 && map[i].path.empty() && map[i - 1].end == map[i].start && IsFile(map[i - 1]);
}

bool IsState(const MemoryRegion& r, uint64_t channel_inode) {
  return r.readable && r.writable && !IsChannel(r, channel_inode) && r.path != "[vvar]" &&
         r.path != "[vdso]";
}

}  // namespace

bool InRegion(const std::vector<MemoryRegion>& map, size_t i, FaultRegion region,
              uint64_t channel_inode) {
  const MemoryRegion& r = map[i];
  if (!IsState(r, channel_inode) || r.shared) {
    return false;
  }
  switch (region) {
    case FaultRegion::kHeap:
      return r.path == "[heap]" || (r.path.empty() && !IsBss(map, i));
    case FaultRegion::kStack:
      return r.path == "[stack]";
    case FaultRegion::kData:
      return IsFile(r) || IsBss(map, i);
    case FaultRegion::kAny:
      return true;
  }
  return false;
}

std::vector<StateRange> StateRanges(const std::vector<MemoryRegion>& map, uint64_t stack_pointer,
                                    uint64_t channel_inode) {
  std::vector<StateRange> out;
  for (const MemoryRegion& r : map) {
    if (!IsState(r, channel_inode)) {
      continue;
    }
    StateRange range{r.start, r.end};
    if (r.Contains(stack_pointer)) {
      if (r.path == "[stack]") {
        range.start = stack_pointer;
      } else {
        // An alternate signal stack: leave out what lies just below the stack pointer.
        uint64_t cut = stack_pointer - std::min(kAltStackSlack, stack_pointer - r.start);
        if (cut > r.start) {
          out.push_back({r.start, cut});
        }
        range.start = stack_pointer;
      }
    }
    if (range.end > range.start) {
      out.push_back(range);
    }
  }
  return out;
}

std::optional<uint64_t> PickFlipAddress(const std::vector<MemoryRegion>& map, FaultRegion region,
                                        uint64_t stack_pointer, std::mt19937_64& random,
                                        uint64_t channel_inode) {
  std::vector<StateRange> candidates;
  uint64_t total = 0;
  for (size_t i = 0; i < map.size(); ++i) {
    if (!InRegion(map, i, region, channel_inode)) {
      continue;
    }
    StateRange range{map[i].start, map[i].end};
    if (map[i].path == "[stack]" && map[i].Contains(stack_pointer)) {
      range.start = stack_pointer;  // the live stack only
    }
    if (range.end > range.start) {
      candidates.push_back(range);
      total += range.end - range.start;
    }
  }
  if (total == 0) {
    return std::nullopt;
  }
  uint64_t pick = std::uniform_int_distribution<uint64_t>(0, total - 1)(random);
  for (const StateRange& range : candidates) {
    if (pick < range.end - range.start) {
      return range.start + pick;
    }
    pick -= range.end - range.start;
  }
  return std::nullopt;
}

}  // namespace nmr
