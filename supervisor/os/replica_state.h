// Reading a live replica's state from outside: its stack pointer while it waits in the shim,
// and a digest of its writable memory (what scrubbing and the donor check compare). Uses
// /proc/PID/syscall, /proc/PID/maps and process_vm_readv; no ptrace, so the replica need not
// be stopped, only waiting for its reply.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "supervisor/core/result.h"
#include "supervisor/core/vote_engine.h"

namespace nmr {

// A replica waiting at a vote, as the state readers need it: its pid, where the kernel's
// signal frame of that vote ends (its channel's sigframe_end, untrusted), and the inode of
// its channel's memfd (never part of its state).
struct LiveReplica {
  pid_t pid = -1;
  uint64_t sigframe_end = 0;
  uint64_t channel_inode = 0;
};

struct StateDigest {
  VoteValue digest;
  // Per range (start, end, xxh3-64 of its bytes): what a person compares when two
  // replicas' digests differ (logged at trace level).
  std::vector<std::tuple<uint64_t, uint64_t, uint64_t>> ranges;
  uint64_t bytes = 0;  // how many bytes were digested
  double ms = 0;       // how long it took
};

// The stack pointer of a replica blocked in a syscall (or stopped), from /proc/PID/syscall;
// a replica still running (polling for its reply) is waited for, up to `wait_ms`.
Result<uint64_t> BlockedStackPointer(pid_t pid, int wait_ms);

// xxh3-128 over the replica's state (core/memory_map.h StateRanges). The replica must be
// waiting for a reply, so that its memory does not change while it is read.
// The stack is digested from `sigframe_end` when it lies within kMaxSigframe bytes above the
// stack pointer (see interface/channel.h), else from the stack pointer.
Result<StateDigest> DigestReplicaState(const LiveReplica& replica);

}  // namespace nmr

namespace nmr {

// A vfork child ended without exec'ing (posix_spawn of a missing program): natively it
// shared its parent's memory, and what it wrote there (posix_spawn's error code) is what the
// parent reads next. Copies every byte of the parent's state ranges (core/memory_map.h, the
// stack cut at the parent's signal frame) that differs in the child into the parent, except
// [skip_begin, skip_end) (the shim's own state). Both must wait at a vote. Returns the number
// of bytes copied.
Result<size_t> CopyVforkWrites(const LiveReplica& child, const LiveReplica& parent,
                               uint64_t skip_begin, uint64_t skip_end);

// Start-up repair: makes `to`'s state byte-identical to `from`'s where they differ, if they
// differ in at most `max_bytes` bytes. Both must wait at the same vote. Before the shim is
// in, ld.so reads the time stamp counter (rdtsc, which cannot be trapped that early) and
// keeps the reading in its .bss (`relocate_time`, for LD_DEBUG=statistics), so replicas are
// born differing in those bytes and nothing else. Returns the number of bytes copied, or an
// error if the states differ in layout or in more than `max_bytes` bytes (then nothing is
// written). `where` gets each differing range's "address (mapping)".
// With `dry_run`, nothing is written: `where` only says where the two differ (for logs).
Result<size_t> EqualizeState(const LiveReplica& from, const LiveReplica& to, size_t max_bytes,
                             std::vector<std::string>* where, bool dry_run = false);

}  // namespace nmr
