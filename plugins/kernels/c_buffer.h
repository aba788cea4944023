// Copying a message into a caller's C buffer (the extern "C" entry points report errors this way).
#pragma once

#include <algorithm>
#include <cstring>
#include <string>

namespace encexport {

// Copies as much of m as fits, always NUL-terminated; nothing when there is no buffer.
inline void copy_to_c_buffer(const std::string& m, char* buf, int buf_len) {
  if (buf == nullptr || buf_len <= 0) return;
  const size_t n = std::min(m.size(), static_cast<size_t>(buf_len - 1));
  std::memcpy(buf, m.data(), n);
  buf[n] = '\0';
}

}  // namespace encexport
