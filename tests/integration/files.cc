// The file helpers of harness.h: temporary directories, reading and writing, snapshots of a
// directory, readable differences, deterministic inputs.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "harness.h"

namespace nmr::test {

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "nmr-it-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string ReadFd(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

nlohmann::json ReadJson(const fs::path& path) { return nlohmann::json::parse(ReadFile(path)); }

void CopyTree(const fs::path& from, const fs::path& to) {
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  const timespec fixed[2] = {{1577836800, 0}, {1577836800, 0}};  // 2020-01-01 00:00:00 UTC
  for (const auto& entry : fs::recursive_directory_iterator(to)) {
    utimensat(AT_FDCWD, entry.path().c_str(), fixed, AT_SYMLINK_NOFOLLOW);
  }
  utimensat(AT_FDCWD, to.c_str(), fixed, 0);
}

std::map<std::string, std::string> Snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    std::string name = fs::relative(entry.path(), dir).string();
    if (entry.is_symlink()) {
      out[name] = "symlink -> " + fs::read_symlink(entry.path()).string();
    } else if (entry.is_directory()) {
      out[name] = "dir";
    } else if (entry.is_regular_file()) {
      out[name] = "file:" + ReadFile(entry.path());
    } else {
      out[name] = "other";
    }
  }
  return out;
}

namespace {
unsigned Next(unsigned& state) { return state = state * 1103515245u + 12345u; }

const char* const kWords[] = {"apple", "pear", "fig",   "plum",  "kiwi",  "lime",   "date",
                              "nmr",   "vote", "quorum", "view", "seq",   "replica", "shim",
                              "alpha", "beta", "gamma", "delta", "omega", "zeta"};

}  // namespace

std::string Lines(int count, unsigned seed) {
  std::string out;
  std::string previous;
  for (int i = 0; i < count; i++) {
    std::string line;
    if (i % 13 == 7 && !previous.empty()) {
      line = previous;  // some duplicates, for sort -u and friends
    } else {
      line = std::string(kWords[(Next(seed) >> 16) % 20]) + " " + std::to_string((Next(seed) >> 8) % 100000);
      for (unsigned k = (Next(seed) >> 20) % 4; k > 0; k--) line += std::string(" ") + kWords[(Next(seed) >> 16) % 20];
    }
    out += line + "\n";
    previous = line;
  }
  return out;
}

std::string Binary(size_t bytes, unsigned seed) {
  std::string out(bytes, '\0');
  for (char& c : out) c = static_cast<char>(Next(seed) >> 16);
  return out;
}

namespace {
std::string Excerpt(const std::string& s, size_t at) {
  size_t from = at > 40 ? at - 40 : 0;
  std::string raw = s.substr(from, 80), out;
  for (unsigned char c : raw) {
    if (c == '\n') {
      out += "\\n";
    } else if (c < 32 || c > 126) {
      char hex[8];
      snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return "\"" + out + "\"";
}
}  // namespace

std::string Diff(const std::string& expected, const std::string& actual) {
  if (expected == actual) return "";
  size_t at = 0;
  while (at < expected.size() && at < actual.size() && expected[at] == actual[at]) at++;
  size_t line = 1 + static_cast<size_t>(std::count(expected.begin(), expected.begin() + at, '\n'));
  std::ostringstream os;
  os << "expected " << expected.size() << " bytes (" << std::count(expected.begin(), expected.end(), '\n')
     << " lines), got " << actual.size() << " bytes (" << std::count(actual.begin(), actual.end(), '\n')
     << " lines); first difference at byte " << at << " (line " << line << ")\n  expected: "
     << Excerpt(expected, at) << "\n  actual:   " << Excerpt(actual, at);
  return os.str();
}

std::string Diff(const std::map<std::string, std::string>& expected,
                 const std::map<std::string, std::string>& actual) {
  std::ostringstream os;
  for (const auto& [name, content] : expected) {
    auto it = actual.find(name);
    if (it == actual.end()) {
      os << "  missing: " << name << "\n";
    } else if (it->second != content) {
      os << "  differs: " << name << ": " << Diff(content, it->second) << "\n";
    }
  }
  for (const auto& [name, content] : actual) {
    if (!expected.contains(name)) os << "  unexpected: " << name << "\n";
  }
  return os.str();
}

}  // namespace nmr::test
