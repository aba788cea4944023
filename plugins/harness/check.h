// Pass/fail bookkeeping for the harness: every expectation is counted per section, failures are printed
// with their context, and the process exit code is non-zero when any failed.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace harness {

class Tally {
 public:
  // Records one expectation; prints "FAIL [section] what" when !ok. Returns ok.
  bool expect(bool ok, const std::string& section, const std::string& what);
  void count(const std::string& key, int64_t n = 1) { counters_[key] += n; }
  int64_t failures() const { return failures_; }
  // One "key: value" line per counter and per section, then "failures: N".
  void print_summary() const;

 private:
  struct Section {
    int64_t passed = 0, failed = 0;
  };
  std::map<std::string, Section> sections_;
  std::map<std::string, int64_t> counters_;
  int64_t failures_ = 0;
};

}  // namespace harness
