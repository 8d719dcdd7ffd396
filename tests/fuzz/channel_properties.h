// Containment properties of the code that reads replica-controlled data (marshal.h,
// memory_map.h), shared by the libFuzzer target (channel_fuzz.cc, clang only) and the
// fixed-seed randomized gtest (tests/unit/channel_random_test.cc, every build).
//
// A scenario is a replica's request (number, six registers, ip: anything at all) and its
// memory (a few byte ranges at addresses of its choosing, with holes, and optionally short
// reads). Both are built from a stream of choices: bytes from the fuzzer, or a seeded PRNG.
// The builder biases towards what matters: real syscall numbers, lengths that fit or straddle
// a range, pointers at strings, iovec arrays and pointer arrays in the fake memory.
//
// The checks (CheckScenario) must hold whatever the replica wrote:
//  - Marshal is deterministic: the same request over the same memory gives the same call and
//    the same digest; Redigest reproduces it.
//  - The digest covers everything the supervisor acts on: two calls with the same digest have
//    the same number, arguments, spec, input bytes, capacities, iovec entries and verdict.
//    (Checked by flipping one bit of a byte Marshal read and marshalling again.)
//  - Every copy is bounded (kMaxPath, kMaxTransfer, IOV_MAX), and the length the kernel will
//    see (perform.cc clamps counts to the copy) never exceeds the copy.
//  - The copy is faithful, and unreadable_arg is set exactly when the memory was unreadable
//    (or a documented limit was hit): compared with a plain model of the fake memory.
//  - Marshal only reads, in bounded reads (no hang), into buffers as large as it says.
//  - DescribeCall/DescribeDifference/FlipOneBit never fail; descriptions are bounded printable
//    ASCII (they go to logs and the JSON report); FlipOneBit always changes the digest and is
//    undone by a second flip; calls with different digests are never described as equal.
//  - ParseMaps/StateRanges/PickFlipAddress on any text: regions are non-empty, state ranges
//    lie in writable non-channel regions and leave out the dead stack, a flip lands in an
//    eligible region, and well-formed maps text round-trips.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "interface/channel.h"
#include "supervisor/core/marshal.h"
#include "supervisor/core/memory_map.h"

namespace nmr::fuzz {

// Where a scenario's choices come from.
class Choices {
 public:
  virtual ~Choices() = default;
  // Up to 64 bits.
  virtual uint64_t Bits(int n) = 0;
  // Uniform enough in [0, bound); 0 if bound is 0.
  uint64_t Below(uint64_t bound);
  bool OneIn(uint64_t n) { return Below(n) == 0; }
  // Picks an element of a non-empty list.
  template <typename T>
  const T& Pick(const std::vector<T>& list) {
    return list[Below(list.size())];
  }
};

// Bytes from the fuzzer, consumed from the front; zeros once they run out.
class ByteChoices : public Choices {
 public:
  ByteChoices(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint64_t Bits(int n) override;
  // What is left, consumed.
  std::string Rest();

 private:
  const uint8_t* data_;
  size_t size_;
};

// A seeded PRNG: the same seed, the same scenarios.
class RandomChoices : public Choices {
 public:
  explicit RandomChoices(uint64_t seed) : random_(seed) {}
  uint64_t Bits(int n) override;

 private:
  std::mt19937_64 random_;
};

// A replica's address space as disjoint byte ranges, all below kUserTop (above it lies what
// no process can map: non-canonical and kernel addresses, unreadable for process_vm_readv,
// so that no read can wrap around 2^64 into mapped memory). Read behaves like
// process_vm_readv with one iovec: it copies up to the first unreadable byte, fails with
// EFAULT if there is none; with `max_read`, it also stops after that many bytes (a short
// read the interface allows). It checks how it is called: no writes, no read longer than
// kMaxTransfer, no more reads than a marshalling can need, and (under AddressSanitizer) an
// output buffer as long as the length asked for; and it logs what it served.
class FakeMemory : public ReplicaMemory {
 public:
  static constexpr uint64_t kUserTop = uint64_t{1} << 63;
  // Adds a range. The caller keeps ranges disjoint (Room says how much fits); the part at or
  // above kUserTop is dropped. Returns false if nothing was added.
  bool Map(uint64_t address, std::vector<uint8_t> bytes);
  // How many bytes from `address` on are free (0 if it is inside a range), at most `want`.
  uint64_t Room(uint64_t address, uint64_t want) const;
  // The byte at `address`, if readable.
  const uint8_t* Find(uint64_t address) const;
  uint8_t* FindMutable(uint64_t address) { return const_cast<uint8_t*>(Find(address)); }

  ssize_t Read(uint64_t address, void* out, size_t length) override;
  ssize_t Write(uint64_t address, const void* data, size_t length) override;

  // Forgets the log and the counters (before each Marshal).
  void ResetLog();

  struct Served {
    uint64_t address;
    size_t length;
  };
  const std::vector<Served>& served() const { return served_; }
  bool short_read() const { return short_read_; }  // a read stopped at max_read
  const std::vector<std::string>& misuse() const { return misuse_; }
  const std::map<uint64_t, std::vector<uint8_t>>& ranges() const { return ranges_; }

  size_t max_read = 0;  // 0: no limit

 private:
  std::map<uint64_t, std::vector<uint8_t>> ranges_;
  std::vector<Served> served_;
  bool short_read_ = false;
  uint64_t reads_ = 0;
  std::vector<std::string> misuse_;
};

struct Scenario {
  Request request{};
  Request second{};  // the call DescribeDifference compares with
  FakeMemory memory;
  uint64_t flip_choice = 0;  // which served byte and bit the digest check flips
};

// Builds a scenario from choices (biased towards interesting values).
Scenario MakeScenario(Choices& choices);
// The scenario, for a failure message.
std::string DescribeScenario(const Scenario& scenario);
// Runs every check; returns what failed (empty: all held).
std::vector<std::string> CheckScenario(Scenario& scenario);

// Maps text, with the stack pointer and the seed to pick flips with.
struct MapsCase {
  std::string text;
  uint64_t stack_pointer = 0;
  uint64_t seed = 0;
  // Set when the text was generated well-formed: the regions it must parse to.
  bool well_formed = false;
  std::vector<MemoryRegion> expected;
};
// Well-formed lines (kernel format, odd names, padding) mixed with garbage lines.
MapsCase MakeMapsCase(Choices& choices);
std::vector<std::string> CheckMapsCase(const MapsCase& maps);

// The fuzzer's entry: the first byte picks channel (mostly), generated maps, or raw maps
// text; the rest are the choices (or the text). Returns the failures.
std::vector<std::string> CheckFuzzInput(const uint8_t* data, size_t size);

}  // namespace nmr::fuzz
