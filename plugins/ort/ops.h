// What each execution-provider file contributes to the custom-op domain. register.cc owns the domain and
// keeps these objects alive for as long as the library is loaded (sessions refer to them).
#pragma once

#include <memory>
#include <vector>

#include "encexport/contract.h"
#include "onnxruntime_cxx_api.h"

namespace encexport::ort {

using OpList = std::vector<std::unique_ptr<OrtCustomOp>>;

inline constexpr const char* kDomain = contract::kDomain;
inline constexpr const char* kOpType = contract::kOpType;

// fp32, fp16 and bf16 kernels for the CPU execution provider.
void append_cpu_ops(OpList& ops);
// fp16, bf16 and fp32 kernels for the CUDA execution provider (defined when built with CUDA).
void append_cuda_ops(OpList& ops);

}  // namespace encexport::ort
