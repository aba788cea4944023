// What each kernel family can run, answered by the code that runs it. The CUDA dispatcher
// (kernels/dispatch.cu) answers from its family table, so the answer and the run-time choice cannot
// disagree; a build without CUDA answers from kernels/dispatch_absent.cc. The C entry points below
// (kernels/capabilities.cc) are what Python asks (encexport/capabilities.py).
#pragma once

#include <string>

#include "encexport/params.h"

namespace encexport {

// The `device` argument of the queries: a CUDA device index, or one of these.
constexpr int kAnyDevice = -1;      // build facts only: assume a device that has what each family needs
constexpr int kCurrentDevice = -2;  // the calling thread's current CUDA device

// The answer's kind. The values cross the C ABI (encexport_supports' return value).
enum class Support : int {
  kRuns = 1,          // the family runs these parameters
  kOutside = 0,       // the parameters are outside the family (dtype, head size, layout, alignment)
  kUnavailable = -1,  // the family is missing from this build or this device (no CUDA, no cuDNN, old GPU)
  kInvalid = -2,      // the parameters are invalid for every family (validate()'s message)
};

struct Capability {
  Support support = Support::kRuns;
  std::string reason;  // why not, and the fix; empty when it runs
  explicit operator bool() const { return support == Support::kRuns; }
};

// Parameters that stand for a node rather than a call: one sequence of `seq_len` tokens (it matters only to
// `auto`), dense rows and aligned placeholder pointers that are never dereferenced, and an attn_bias [1, 1, S, S]
// when has_bias. dtype and layout are the integer values of DType and Layout. An error carries validate()'s
// message (a bias with the packed layout is one).
Status capability_probe(int dtype, int layout, int num_heads, int num_kv_heads, int head_size, int seq_len,
                        bool has_bias, AttentionParams* p);

// Whether `backend` runs p (valid, e.g. from capability_probe) on `device`. `auto` runs every valid p.
Capability supports(Backend backend, const AttentionParams& p, int device);

// The family `auto` runs for p on `device`, with a line saying why each family before it in the table did
// not take p (what ENCEXPORT_LOG_DISPATCH prints). An error when the device cannot be queried.
Status auto_choice(const AttentionParams& p, int device, Backend* family, std::string* why);

}  // namespace encexport

extern "C" {
// Whether the kernel family named `backend` ("auto", "reference", "flash", "cudnn", "hopper") runs attention with
// these parameters on CUDA device `device` (-1: build facts only). dtype: 0 float32, 1 float16, 2 bfloat16;
// layout: 0 padded, 1 packed; has_bias: the node has an attn_bias input (0 or 1). Returns an encexport::Support value (1 runs, 0 outside the family, -1 unavailable
// in this build or on this device, -2 invalid parameters); `reason` receives why not and the fix.
int encexport_supports(const char* backend, int dtype, int layout, int num_heads, int num_kv_heads, int head_size,
                       int has_bias, int device, char* reason, int reason_len);

// The family `auto` runs for these parameters and padded length (packed: mean length) `seq_len` on `device`
// (-1: build facts only), as an encexport::Backend value; `why` receives the dispatch line. Returns -2 for
// invalid parameters and -1 when the device cannot be queried, with the message in `why`.
int encexport_auto_backend(int dtype, int layout, int num_heads, int num_kv_heads, int head_size, int seq_len,
                           int has_bias, int device, char* why, int why_len);
}
