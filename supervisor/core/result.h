// Result<T>: a value, or an error (errno, when an OS call failed, plus a message for people).
// The supervisor's pure and OS code returns these; exceptions stay at the edges.
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace nmr {

struct Error {
  int errno_value = 0;  // 0 when the error is not an OS error (bad input, a policy mistake)
  std::string message;  // complete, for a person: names the file, line, key or flag
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};

inline Error MakeError(std::string message, int errno_value = 0) {
  return Error{errno_value, std::move(message)};
}

}  // namespace nmr

// Impossible states abort, in release builds too (STYLE.md).
#define NMR_CHECK(cond)                              \
  do {                                               \
    if (!(cond)) {                                   \
      ::nmr::CheckFailed(#cond, __FILE__, __LINE__); \
    }                                                \
  } while (0)

namespace nmr {
[[noreturn]] void CheckFailed(const char* what, const char* file, int line);
}
