// run_attention_cuda: validate, choose a kernel family, launch on the caller's stream.
//
// The choice is table-driven: instantiations/flash_instances.inc (written by generate.py) lists every
// compiled (dtype, head size) of the tensor-core kernel, so adding a head size is one line in the
// generator and nothing here. No allocation, no host synchronisation: the only host-side CUDA calls are
// attribute queries (cached per device) and the launch itself.
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "encexport/params.h"
#include "launchers.h"

namespace encexport {
namespace {

using FlashLauncher = cudaError_t (*)(const AttentionParams&, cudaStream_t);

struct FlashInstance {
  DType dtype;
  int head_size;
  FlashLauncher launch;
};

constexpr FlashInstance kFlashInstances[] = {
#define ENCEXPORT_FLASH_INSTANCE(Element, dtype_enum, head_dim) \
  {dtype_enum, head_dim, &kernels::launch_flash<Element, head_dim>},
#include "instantiations/flash_instances.inc"
#undef ENCEXPORT_FLASH_INSTANCE
};

const FlashInstance* find_flash_instance(DType dtype, int head_size) {
  for (const FlashInstance& f : kFlashInstances)
    if (f.dtype == dtype && f.head_size == head_size) return &f;
  return nullptr;
}

std::string flash_head_sizes() {
  std::string s;
  for (const FlashInstance& f : kFlashInstances) {
    if (f.dtype != DType::kFloat16) continue;
    if (!s.empty()) s += ", ";
    s += std::to_string(f.head_size);
  }
  return s;
}

// Compute capability major of the current device, cached: the attribute query is cheap but not free,
// and this runs on every call.
int current_device_major() {
  static std::atomic<int> cache[64];  // 0 = unknown
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess) return 0;
  if (dev < 0 || dev >= 64) {
    int major = 0;
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
    return major;
  }
  int major = cache[dev].load(std::memory_order_relaxed);
  if (major == 0) {
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
    cache[dev].store(major, std::memory_order_relaxed);
  }
  return major;
}

bool aligned16(const void* ptr) { return (reinterpret_cast<uintptr_t>(ptr) & 15u) == 0; }

// Why the tensor-core kernel cannot take p (empty string: it can).
std::string flash_refusal(const AttentionParams& p) {
  if (p.dtype != DType::kFloat16 && p.dtype != DType::kBFloat16)
    return std::string("dtype ") + to_string(p.dtype) + " (flash runs float16 and bfloat16)";
  if (find_flash_instance(p.dtype, p.head_size) == nullptr)
    return "head_size " + std::to_string(p.head_size) + " (flash head sizes: " + flash_head_sizes() + ")";
  if (current_device_major() < 8) return "a GPU of compute capability < 8.0 (flash needs sm_80 or newer)";
  // cp.async moves 16-byte chunks: every row must start on a 16-byte boundary.
  if (!aligned16(p.q) || !aligned16(p.k) || !aligned16(p.v) || !aligned16(p.out))
    return "q/k/v/out pointers not 16-byte aligned";
  if (p.q_row_stride % 8 || p.k_row_stride % 8 || p.v_row_stride % 8 || p.o_row_stride % 8)
    return "row strides not a multiple of 8 elements";
  return {};
}

Status cuda_status(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::Ok();
  return Status::Error(std::string("EncoderOnlyAttention: ") + what + " kernel launch failed: " +
                       cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

}  // namespace

Backend resolve_backend_cuda(const AttentionParams& p) {
  if (p.backend == Backend::kReference || p.backend == Backend::kFlash) return p.backend;
  return flash_refusal(p).empty() ? Backend::kFlash : Backend::kReference;
}

Status run_attention_cuda(const AttentionParams& p, void* stream_ptr) {
  Status s = validate(p);
  if (!s) return s;
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  const bool empty = p.batch == 0 || p.total_tokens == 0 || (p.layout == Layout::kPadded && p.seq_len == 0);

  Backend backend = p.backend;
  if (backend == Backend::kFlash) {
    const std::string why = flash_refusal(p);
    if (!why.empty())
      return Status::Error("EncoderOnlyAttention: backend 'flash' does not support " + why +
                           "; use backend 'auto' (falls back to 'reference') or 'reference'");
  } else if (backend == Backend::kAuto) {
    backend = resolve_backend_cuda(p);
  }
  if (empty) return Status::Ok();

  if (backend == Backend::kFlash)
    return cuda_status(find_flash_instance(p.dtype, p.head_size)->launch(p, stream), "flash");
  return cuda_status(kernels::launch_reference(p, stream), "reference");
}

}  // namespace encexport
