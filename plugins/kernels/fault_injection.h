// Deliberate kernel faults, for the test libraries only: they prove that the tests' tolerance checks can fail.
// Compiled in only with ENCEXPORT_FAULT_INJECTION (plugins/faults/, never the shipped libraries). Elsewhere
// active() is a constant false and the compiler drops every injected branch, so the kernels are unchanged.
//
// Each fault is a plausible slip in an attention kernel, small enough to hide inside a loose tolerance:
//   kDropKey           the last key of every sequence gets no weight
//   kScaleOff          the softmax scale is 1 % too large
//   kReadPastRow       one key row past the sequence's end is attended (only where that row exists in the tensor,
//                      so the fault stays in bounds: padding of the padded layout, the next sequence when packed)
//   kKeepPaddingRows   padded query rows are left as they were instead of being written as zeros
// The fault is chosen at run time (encexport_fault_select in plugins/faults/fault_select.cc), so one build
// covers every fault.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define ENCEXPORT_HOST_DEVICE __host__ __device__
#else
#define ENCEXPORT_HOST_DEVICE
#endif

namespace encexport::faults {

enum Fault : int32_t { kNone = 0, kDropKey = 1, kScaleOff = 2, kReadPastRow = 3, kKeepPaddingRows = 4 };

#if defined(ENCEXPORT_FAULT_INJECTION)
constexpr bool kCompiled = true;
int32_t selected();  // the fault chosen for this process (plugins/faults/fault_select.cc)
#else
constexpr bool kCompiled = false;
inline int32_t selected() { return kNone; }
#endif

// Whether fault f is on, given the selection a kernel received (faults::selected() read on the host).
ENCEXPORT_HOST_DEVICE constexpr bool active(int32_t chosen, Fault f) { return kCompiled && chosen == f; }

// The scale the kernels use: the given one, or 1 % off under kScaleOff.
ENCEXPORT_HOST_DEVICE constexpr float scale(int32_t chosen, float s) {
  return active(chosen, kScaleOff) ? s * 1.01f : s;
}

// How many keys a sequence of `length` keys attends: one fewer under kDropKey, one more under kReadPastRow when
// the row after the sequence exists (`rows_after` rows of the tensor follow its last key).
ENCEXPORT_HOST_DEVICE constexpr int32_t keys(int32_t chosen, int32_t length, int64_t rows_after) {
  return active(chosen, kDropKey) && length > 0       ? length - 1
         : active(chosen, kReadPastRow) && rows_after > 0 ? length + 1
                                                      : length;
}

}  // namespace encexport::faults
