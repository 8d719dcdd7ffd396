// Containment: whatever a replica puts in its channel and its memory, marshalling it, and
// describing, re-digesting and flipping the result, holds the properties in
// tests/fuzz/channel_properties.h. Fixed seeds, so the same records every run; the same
// checks run under libFuzzer in `make fuzz` (tests/fuzz/README.md). A failure prints the
// record; an input file under tests/fuzz/corpus/ (a fuzzer's find) is replayed here too.
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "supervisor/core/marshal.h"
#include "tests/fuzz/channel_properties.h"

namespace nmr::fuzz {
namespace {

constexpr int kRecords = 100'000;
constexpr int kMapsCases = 20'000;

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) {
    out += line + "\n";
  }
  return out;
}

TEST(ChannelRandomTest, MarshalHoldsItsPropertiesOverRandomRecords) {
  RandomChoices choices(0x6e6d722d66757a7aULL);  // "nmr-fuzz"
  int failed = 0;
  for (int k = 0; k < kRecords && failed < 5; ++k) {
    Scenario s = MakeScenario(choices);
    std::vector<std::string> failures = CheckScenario(s);
    if (!failures.empty()) {
      ++failed;
      ADD_FAILURE() << "record " << k << ":\n" << Join(failures) << DescribeScenario(s);
    }
  }
}

TEST(ChannelRandomTest, MapsHoldTheirPropertiesOverRandomText) {
  RandomChoices choices(0x6d6170732d66757aULL);  // "maps-fuz"
  int failed = 0;
  for (int k = 0; k < kMapsCases && failed < 5; ++k) {
    MapsCase m = MakeMapsCase(choices);
    std::vector<std::string> failures = CheckMapsCase(m);
    if (!failures.empty()) {
      ++failed;
      ADD_FAILURE() << "maps case " << k << ":\n" << Join(failures) << "text:\n" << m.text;
    }
  }
}

TEST(ChannelRandomTest, MapsHoldTheirPropertiesOverRawBytes) {
  RandomChoices choices(0x726177);
  for (int k = 0; k < 2000; ++k) {
    MapsCase m;
    m.stack_pointer = choices.Bits(64);
    m.seed = choices.Bits(64);
    static const char kAlphabet[] = "0123456789abcdef- rwxps:/[]\n\t";
    size_t n = choices.Below(400);
    for (size_t j = 0; j < n; ++j) {
      m.text += choices.OneIn(8) ? static_cast<char>(choices.Bits(8))
                                 : kAlphabet[choices.Below(sizeof kAlphabet - 1)];
    }
    std::vector<std::string> failures = CheckMapsCase(m);
    ASSERT_TRUE(failures.empty()) << "raw case " << k << ":\n" << Join(failures);
  }
}

// The fuzzer's finds, kept as regression inputs.
TEST(ChannelRandomTest, CorpusInputsHoldTheProperties) {
  std::filesystem::path corpus =
      std::filesystem::path(__FILE__).parent_path().parent_path() / "fuzz" / "corpus";
  if (!std::filesystem::is_directory(corpus)) {
    GTEST_SKIP() << corpus << " not found";
  }
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    if (!entry.is_regular_file()) {
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> failures =
        CheckFuzzInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    EXPECT_TRUE(failures.empty()) << entry.path() << ":\n" << Join(failures);
  }
}

// ---- What the randomized checks found, pinned ----------------------------------------------

constexpr uint64_t kIov = 0x7fff'fffe'0000;
constexpr uint64_t kBuf = 0x5555'5555'a000;

Request MakeRequest(long nr, std::initializer_list<uint64_t> args) {
  Request r{};
  r.nr = static_cast<int32_t>(nr);
  std::copy(args.begin(), args.end(), std::begin(r.args));
  return r;
}

std::vector<uint8_t> IovecBytes(const std::vector<std::pair<uint64_t, uint64_t>>& entries) {
  std::vector<uint8_t> bytes(entries.size() * sizeof(iovec));
  for (size_t k = 0; k < entries.size(); ++k) {
    iovec v{reinterpret_cast<void*>(entries[k].first), entries[k].second};
    std::memcpy(bytes.data() + k * sizeof v, &v, sizeof v);
  }
  return bytes;
}

// readv's iovec entries say where the result is written, and how much: the leader's call is
// executed and its entries are used for every member. A replica whose entries differ (a
// longer length would overflow the others' buffers) must be outvoted, not agree.
TEST(ChannelRandomTest, ReadvDigestCoversTheIovecEntries) {
  FakeMemory healthy;
  healthy.Map(kIov, IovecBytes({{kBuf, 100}, {kBuf + 200, 28}}));
  FakeMemory faulty;
  faulty.Map(kIov, IovecBytes({{kBuf, 100}, {kBuf + 200, 28 + 4096}}));
  Call a = Marshal(MakeRequest(SYS_readv, {0, kIov, 2}), healthy);
  Call b = Marshal(MakeRequest(SYS_readv, {0, kIov, 2}), faulty);
  ASSERT_EQ(a.unreadable_arg, -1);
  ASSERT_EQ(b.unreadable_arg, -1);
  EXPECT_NE(a.capacity[1], b.capacity[1]);
  EXPECT_NE(a.digest, b.digest);
  std::string text = DescribeDifference(b, a);
  EXPECT_NE(text.find("iovec"), std::string::npos) << text;
}

// Path bytes come from the replica; descriptions go to the log and the JSON report, which
// cannot hold invalid UTF-8 (nlohmann::json::dump throws): they are escaped.
TEST(ChannelRandomTest, DescribeCallEscapesPathBytes) {
  FakeMemory memory;
  const std::string path = "/tmp/\xff\xfe\n\"x\\";
  std::vector<uint8_t> bytes(path.begin(), path.end());
  bytes.push_back(0);
  memory.Map(kBuf, bytes);
  Call call = Marshal(MakeRequest(SYS_openat, {static_cast<uint64_t>(-100), kBuf, 0, 0}), memory);
  ASSERT_EQ(call.unreadable_arg, -1);
  EXPECT_EQ(DescribeCall(call),
            "openat(-100, 0x55555555a000 \"/tmp/\\xff\\xfe\\x0a\\x22x\\x5c\", 0, 0)");
}

// Two calls that differ only in whether an argument could be read (the copy is the same:
// what was read, then zeros) are described as such, not as "differing in nothing visible".
TEST(ChannelRandomTest, DescribeDifferenceNamesAnUnreadableArgument) {
  FakeMemory whole;
  whole.Map(kBuf, std::vector<uint8_t>{'h', 'i', 0, 0});
  FakeMemory cut;
  cut.Map(kBuf, std::vector<uint8_t>{'h', 'i'});
  Call a = Marshal(MakeRequest(SYS_write, {1, kBuf, 4}), whole);
  Call b = Marshal(MakeRequest(SYS_write, {1, kBuf, 4}), cut);
  ASSERT_EQ(a.unreadable_arg, -1);
  ASSERT_EQ(b.unreadable_arg, 1);
  ASSERT_EQ(a.in[1], b.in[1]);
  EXPECT_NE(a.digest, b.digest);
  std::string text = DescribeDifference(b, a);
  EXPECT_NE(text.find("unreadable"), std::string::npos) << text;
}

}  // namespace
}  // namespace nmr::fuzz
