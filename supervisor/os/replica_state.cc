#include "supervisor/os/replica_state.h"

#include <sys/uio.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "interface/channel.h"
#include "supervisor/core/memory_map.h"
#include "supervisor/os/proc.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace nmr {
namespace {

// How long a member that has voted may take to fall asleep in its shim (it polls first when
// it has a core of its own; on a loaded machine it may wait for a CPU to get there).
constexpr int kBlockWaitMs = 2000;

}  // namespace

Result<uint64_t> BlockedStackPointer(pid_t pid, int wait_ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    // "NR ARG1 ... ARG6 SP PC" in a syscall, "-1 SP PC" stopped outside one, "running".
    std::string text = ReadProcFile(pid, "syscall");
    if (text.empty()) {
      return MakeError("replica " + std::to_string(pid) + " is gone", ESRCH);
    }
    if (text.rfind("running", 0) != 0) {
      std::istringstream words(text);
      std::vector<std::string> fields;
      for (std::string w; words >> w;) {
        fields.push_back(w);
      }
      if (fields.size() >= 3) {
        return std::stoull(fields[fields.size() - 2], nullptr, 16);
      }
      return MakeError("unexpected /proc/" + std::to_string(pid) + "/syscall: " + text, EPROTO);
    }
    if (std::chrono::steady_clock::now() >= until) {
      return MakeError("replica " + std::to_string(pid) + " keeps running", EBUSY);
    }
    timespec pause{0, 200'000};
    nanosleep(&pause, nullptr);
  }
}

namespace {

uint64_t StackCut(uint64_t sp, uint64_t sigframe_end) {
  return sigframe_end > sp && sigframe_end - sp <= kMaxSigframe ? sigframe_end : sp;
}

}  // namespace

Result<StateDigest> DigestReplicaState(const LiveReplica& replica) {
  auto started = std::chrono::steady_clock::now();
  pid_t pid = replica.pid;
  Result<uint64_t> sp = BlockedStackPointer(pid, kBlockWaitMs);
  if (!sp) {
    return sp.error();
  }
  *sp = StackCut(*sp, replica.sigframe_end);
  std::vector<MemoryRegion> map = ParseMaps(ReadProcFile(pid, "maps"));
  if (map.empty()) {
    return MakeError("cannot read the memory map of " + std::to_string(pid), ESRCH);
  }
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  StateDigest out;
  std::vector<uint8_t> buffer(4 << 20);
  for (const StateRange& range : StateRanges(map, *sp, replica.channel_inode)) {
    XXH3_128bits_update(state, &range, sizeof range);
    XXH64_hash_t range_hash = 0;
    for (uint64_t at = range.start; at < range.end;) {
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(buffer.size(), range.end - at));
      iovec local{buffer.data(), chunk};
      iovec remote{reinterpret_cast<void*>(at), chunk};
      ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
      if (n <= 0) {
        // Unreadable (a file mapping past its end): the same in identical replicas. Say
        // where, and go on with the next range.
        XXH3_128bits_update(state, &at, sizeof at);
        break;
      }
      XXH3_128bits_update(state, buffer.data(), static_cast<size_t>(n));
      range_hash ^= XXH3_64bits_withSeed(buffer.data(), static_cast<size_t>(n), at);
      out.bytes += static_cast<uint64_t>(n);
      at += static_cast<uint64_t>(n);
    }
    out.ranges.emplace_back(range.start, range.end, range_hash);
  }
  XXH128_hash_t hash = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  out.digest = {hash.low64, hash.high64};
  out.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
               .count();
  return out;
}

Result<size_t> CopyVforkWrites(const LiveReplica& child, const LiveReplica& parent,
                               uint64_t skip_begin, uint64_t skip_end) {
  Result<uint64_t> sp = BlockedStackPointer(parent.pid, kBlockWaitMs);
  if (!sp) {
    return MakeError("the parent is not waiting at a vote", EBUSY);
  }
  std::vector<MemoryRegion> map = ParseMaps(ReadProcFile(parent.pid, "maps"));
  size_t copied = 0;
  std::vector<uint8_t> a(1 << 20);
  std::vector<uint8_t> b(1 << 20);
  for (const StateRange& range :
       StateRanges(map, StackCut(*sp, parent.sigframe_end), parent.channel_inode)) {
    for (uint64_t at = range.start; at < range.end;) {
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(a.size(), range.end - at));
      iovec la{a.data(), chunk};
      iovec lb{b.data(), chunk};
      iovec remote{reinterpret_cast<void*>(at), chunk};
      ssize_t na = process_vm_readv(child.pid, &la, 1, &remote, 1, 0);
      ssize_t nb = process_vm_readv(parent.pid, &lb, 1, &remote, 1, 0);
      ssize_t n = std::min(na, nb);
      if (n <= 0) {
        break;  // not in the child (it unmapped it) or past a file's end: nothing to copy
      }
      for (size_t i = 0; i < static_cast<size_t>(n);) {
        uint64_t address = at + i;
        if (a[i] == b[i] || (address >= skip_begin && address < skip_end)) {
          ++i;
          continue;
        }
        size_t begin = i;
        while (i < static_cast<size_t>(n) && a[i] != b[i] &&
               !(at + i >= skip_begin && at + i < skip_end)) {
          ++i;
        }
        iovec from{a.data() + begin, i - begin};
        iovec to{reinterpret_cast<void*>(at + begin), i - begin};
        if (process_vm_writev(parent.pid, &from, 1, &to, 1, 0) != static_cast<ssize_t>(i - begin)) {
          return MakeError("cannot write into the parent's memory", errno);
        }
        copied += i - begin;
      }
      at += static_cast<uint64_t>(n);
    }
  }
  return copied;
}

Result<size_t> EqualizeState(const LiveReplica& from_replica, const LiveReplica& to_replica,
                             size_t max_bytes, std::vector<std::string>* where, bool dry_run) {
  pid_t from = from_replica.pid;
  pid_t to = to_replica.pid;
  Result<uint64_t> sp_from = BlockedStackPointer(from, kBlockWaitMs);
  Result<uint64_t> sp_to = BlockedStackPointer(to, kBlockWaitMs);
  if (!sp_from || !sp_to) {
    return MakeError("a replica is not waiting at the vote", EBUSY);
  }
  *sp_from = StackCut(*sp_from, from_replica.sigframe_end);
  *sp_to = StackCut(*sp_to, to_replica.sigframe_end);
  std::vector<MemoryRegion> map_from = ParseMaps(ReadProcFile(from, "maps"));
  std::vector<MemoryRegion> map_to = ParseMaps(ReadProcFile(to, "maps"));
  std::vector<StateRange> ranges = StateRanges(map_from, *sp_from, from_replica.channel_inode);
  std::vector<StateRange> other = StateRanges(map_to, *sp_to, to_replica.channel_inode);
  bool same_layout = ranges.size() == other.size();
  for (size_t i = 0; same_layout && i < ranges.size(); ++i) {
    same_layout = ranges[i].start == other[i].start && ranges[i].end == other[i].end;
  }
  if (!same_layout) {
    return MakeError("the replicas' memory maps differ", EPROTO);
  }
  // (address, bytes of `from`) for each differing run of bytes.
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> patches;
  size_t differing = 0;
  std::vector<uint8_t> a(1 << 20);
  std::vector<uint8_t> b(1 << 20);
  for (const StateRange& range : ranges) {
    for (uint64_t at = range.start; at < range.end;) {
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(a.size(), range.end - at));
      iovec la{a.data(), chunk};
      iovec lb{b.data(), chunk};
      iovec remote{reinterpret_cast<void*>(at), chunk};
      ssize_t na = process_vm_readv(from, &la, 1, &remote, 1, 0);
      ssize_t nb = process_vm_readv(to, &lb, 1, &remote, 1, 0);
      if (na != nb) {
        return MakeError("the replicas' memory differs in what can be read", EPROTO);
      }
      if (na <= 0) {
        break;
      }
      for (size_t i = 0; i < static_cast<size_t>(na);) {
        if (a[i] == b[i]) {
          ++i;
          continue;
        }
        size_t begin = i;
        while (i < static_cast<size_t>(na) && a[i] != b[i]) {
          ++i;
        }
        differing += i - begin;
        if (differing > max_bytes) {
          return MakeError("the replicas differ in more than " + std::to_string(max_bytes) +
                               " bytes of memory",
                           EPROTO);
        }
        patches.emplace_back(at + begin, std::vector<uint8_t>(a.begin() + begin, a.begin() + i));
      }
      at += static_cast<uint64_t>(na);
    }
  }
  for (const auto& [address, bytes] : patches) {
    iovec local{const_cast<uint8_t*>(bytes.data()), bytes.size()};
    iovec remote{reinterpret_cast<void*>(address), bytes.size()};
    if (!dry_run &&
        process_vm_writev(to, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(bytes.size())) {
      return MakeError("cannot write replica memory: " + std::string(std::strerror(errno)), errno);
    }
    std::string mapping = "?";
    for (const MemoryRegion& r : map_from) {
      if (r.Contains(address)) {
        mapping = r.path.empty() ? "anonymous" : r.path;
      }
    }
    char text[64];
    std::snprintf(text, sizeof text, "%#lx", static_cast<unsigned long>(address));
    where->push_back(std::string(text) + " (" + std::to_string(bytes.size()) + " bytes, " +
                     mapping + ")");
  }
  return differing;
}

}  // namespace nmr
