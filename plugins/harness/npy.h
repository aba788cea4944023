// Minimal .npy reader/writer (C-order, little-endian, any dtype as raw bytes) for the GPU mode's inputs
// and outputs. bfloat16 has no numpy dtype: the Python side stores it as '<u2' and names the dtype on the
// command line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace harness {

struct NpyArray {
  std::string descr;  // e.g. "<f2", "<u2", "<f4", "<i4"
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
  int64_t elements() const;
};

// Throws std::runtime_error with the path and the reason.
NpyArray read_npy(const std::string& path);
void write_npy(const std::string& path, const NpyArray& a);

}  // namespace harness
