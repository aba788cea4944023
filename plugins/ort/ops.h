// What each execution-provider file contributes to the custom-op domain. register.cc owns the domain and
// keeps these objects alive for as long as the library is loaded (sessions refer to them).
#pragma once

#include <memory>
#include <vector>

#include "encexport/contract.h"
#include "onnxruntime_cxx_api.h"

namespace encexport::ort {

// shared_ptr, not unique_ptr<OrtCustomOp>: OrtCustomOp is a C struct without a virtual destructor, so deleting an
// op through it (when the library unloads) would skip the derived op's destructor and free the wrong size. A
// shared_ptr made from the derived op keeps the derived type's deleter.
using OpList = std::vector<std::shared_ptr<OrtCustomOp>>;

inline constexpr const char* kDomain = contract::kDomain;
inline constexpr const char* kOpType = contract::kOpType;

// fp32, fp16 and bf16 kernels for the CPU execution provider.
void append_cpu_ops(OpList& ops);
// fp16, bf16 and fp32 kernels for the CUDA execution provider (defined when built with CUDA).
void append_cuda_ops(OpList& ops);

}  // namespace encexport::ort
