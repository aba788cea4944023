#include "check.h"

#include <cstdio>

namespace harness {

bool Tally::expect(bool ok, const std::string& section, const std::string& what) {
  Section& s = sections_[section];
  if (ok) {
    ++s.passed;
  } else {
    ++s.failed;
    ++failures_;
    std::printf("FAIL [%s] %s\n", section.c_str(), what.c_str());
  }
  return ok;
}

void Tally::print_summary() const {
  std::printf("== summary ==\n");
  for (const auto& [name, s] : sections_)
    std::printf("section %s: passed=%lld failed=%lld\n", name.c_str(), static_cast<long long>(s.passed),
                static_cast<long long>(s.failed));
  for (const auto& [key, n] : counters_) std::printf("count %s: %lld\n", key.c_str(), static_cast<long long>(n));
  std::printf("failures: %lld\n", static_cast<long long>(failures_));
}

}  // namespace harness
