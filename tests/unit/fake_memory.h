// Fake replica memory for unit tests of what the supervisor reads from a replica.
#pragma once

#include <sys/uio.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "supervisor/core/marshal.h"

namespace nmr {

// A replica's address space as a few mapped ranges. Reads behave like process_vm_readv with
// one iovec: they copy up to the first unmapped byte, and fail with EFAULT if none is mapped.
class FakeMemory : public ReplicaMemory {
 public:
  void Map(uint64_t address, std::vector<uint8_t> bytes) { ranges_[address] = std::move(bytes); }
  void Map(uint64_t address, const std::string& text) {
    Map(address, std::vector<uint8_t>(text.begin(), text.end()));
  }
  // A NUL-terminated string, ending exactly at the end of what is mapped.
  void MapString(uint64_t address, const std::string& text) {
    std::vector<uint8_t> bytes(text.begin(), text.end());
    bytes.push_back(0);
    Map(address, std::move(bytes));
  }
  void MapIovec(uint64_t address, const std::vector<std::pair<uint64_t, uint64_t>>& entries) {
    std::vector<uint8_t> bytes(entries.size() * sizeof(iovec));
    for (size_t k = 0; k < entries.size(); ++k) {
      iovec v{reinterpret_cast<void*>(entries[k].first), entries[k].second};
      std::memcpy(bytes.data() + k * sizeof v, &v, sizeof v);
    }
    Map(address, std::move(bytes));
  }

  ssize_t Read(uint64_t address, void* out, size_t length) override {
    size_t done = 0;
    while (done < length) {
      const uint8_t* byte = Find(address + done);
      if (byte == nullptr) {
        break;
      }
      static_cast<uint8_t*>(out)[done++] = *byte;
    }
    if (done == 0 && length > 0) {
      return -EFAULT;
    }
    return static_cast<ssize_t>(done);
  }
  ssize_t Write(uint64_t, const void*, size_t) override { return -EFAULT; }

 private:
  const uint8_t* Find(uint64_t address) const {
    auto it = ranges_.upper_bound(address);
    if (it == ranges_.begin()) {
      return nullptr;
    }
    --it;
    uint64_t offset = address - it->first;
    return offset < it->second.size() ? &it->second[offset] : nullptr;
  }

  std::map<uint64_t, std::vector<uint8_t>> ranges_;
};

}  // namespace nmr
