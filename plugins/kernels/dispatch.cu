// run_attention_cuda: validate, choose a kernel family, launch on the caller's stream.
//
// The flash choice is table-driven: instantiations/flash_instances.inc (written by generate.py) lists every
// compiled (dtype, head size) of the tensor-core kernel, so adding a head size is one line in the
// generator and nothing here. No host synchronisation: the only host-side CUDA calls are attribute queries
// (cached per device) and the launches. The flash and reference families allocate nothing; cuDNN takes
// its small scratch from the stream-ordered allocator (cudnn/cudnn_attention.cc).
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "cudnn/cudnn_attention.h"
#include "encexport/params.h"
#include "launchers.h"
#include "token_tensors.h"

namespace encexport {
namespace {

using FlashLauncher = cudaError_t (*)(const AttentionParams&, cudaStream_t);

struct FlashInstance {
  DType dtype;
  int head_size;
  int row_blocks;  // m16 row blocks per warp: 2 = 128-row tiles, 1 = 64-row tiles
  FlashLauncher launch;
};

constexpr FlashInstance kFlashInstances[] = {
#define ENCEXPORT_FLASH_INSTANCE(Element, dtype_enum, head_dim, rows) \
  {dtype_enum, head_dim, rows, &kernels::launch_flash<Element, head_dim, rows>},
#include "instantiations/flash_instances.inc"
#undef ENCEXPORT_FLASH_INSTANCE
};

// Sequences at most this long on average (S when padded: the lengths are on the device) run the 64-row
// tiling: a 128-row tile would leave many of its rows (and its registers, hence resident CTAs) idle.
// Longer ones keep 128 rows for the halved shared-memory traffic per MMA (1.15-1.25x faster from S = 512).
// The benchmark times both tilings per shape against this rule.
constexpr int64_t kShortTileMaxMeanLength = 256;

std::atomic<int> g_forced_row_blocks{0};  // testing::force_flash_row_blocks; 0 = the rule above

int64_t mean_sequence_length(const AttentionParams& p) {
  if (p.layout == Layout::kPadded) return p.seq_len;
  return p.batch > 0 ? p.total_tokens / p.batch : 0;
}

// The compiled instance for (dtype, head size, tiling), or nullptr. The long tiling
// (kernels::long_row_blocks) exists for every compiled head size.
const FlashInstance* find_flash_instance(DType dtype, int head_size, int row_blocks) {
  for (const FlashInstance& f : kFlashInstances)
    if (f.dtype == dtype && f.head_size == head_size && f.row_blocks == row_blocks) return &f;
  return nullptr;
}

const FlashInstance* find_long_flash_instance(DType dtype, int head_size) {
  return find_flash_instance(dtype, head_size, kernels::long_row_blocks(head_size));
}

// The short tiling by the rule above (or as forced), where compiled; else the long one.
const FlashInstance* choose_flash_instance(const AttentionParams& p) {
  int rows = g_forced_row_blocks.load(std::memory_order_relaxed);
  if (rows == 0) rows = mean_sequence_length(p) <= kShortTileMaxMeanLength ? 1 : kernels::long_row_blocks(p.head_size);
  const FlashInstance* f = find_flash_instance(p.dtype, p.head_size, rows);
  return f != nullptr ? f : find_long_flash_instance(p.dtype, p.head_size);
}

std::string flash_head_sizes() {
  std::string s;
  for (const FlashInstance& f : kFlashInstances) {
    if (f.dtype != DType::kFloat16 || f.row_blocks != kernels::long_row_blocks(f.head_size)) continue;
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

// Why the tensor-core kernel cannot take p (empty string: it can).
std::string flash_refusal(const AttentionParams& p) {
  if (p.dtype != DType::kFloat16 && p.dtype != DType::kBFloat16)
    return std::string("dtype ") + to_string(p.dtype) + " (flash runs float16 and bfloat16)";
  if (find_long_flash_instance(p.dtype, p.head_size) == nullptr)
    return "head_size " + std::to_string(p.head_size) + " (flash head sizes: " + flash_head_sizes() + ")";
  if (current_device_major() < 8) return "a GPU of compute capability < 8.0 (flash needs sm_80 or newer)";
  return kernels::unaligned_rows(p);  // cp.async moves 16-byte chunks
}

Status cuda_status(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::Ok();
  return Status::Error(std::string("EncoderOnlyAttention: ") + what + " kernel launch failed: " +
                       cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

// Where `auto` prefers cuDNN over flash, given that both can run p. cuDNN's Hopper engines (wgmma + TMA)
// reach about twice flash's tensor-core rate once there is enough work per (sequence, head); with the
// padding mask that real batches need, its per-call costs make it 3x slower than flash at S = 128 and
// faster from S = 257 (ViT-L) on the H100 (docs/performance.md; the benchmark checks this rule against
// every family forced). Heavily padded batches are the exception the host cannot see (the lengths live
// on the device): they belong in the packed layout.
constexpr int kCudnnMinSeqLen = 257;

bool cudnn_preferred(const AttentionParams& p) {
  return p.layout == Layout::kPadded && p.seq_len >= kCudnnMinSeqLen && current_device_major() >= 9;
}

Backend fallback_of_flash(const AttentionParams& p) {
  return flash_refusal(p).empty() ? Backend::kFlash : Backend::kReference;
}

Status launch(Backend backend, const AttentionParams& p, cudaStream_t stream) {
  if (backend == Backend::kFlash) return cuda_status(choose_flash_instance(p)->launch(p, stream), "flash");
  return cuda_status(kernels::launch_reference(p, stream), "reference");
}

}  // namespace

namespace testing {
void force_flash_row_blocks(int row_blocks) { g_forced_row_blocks.store(row_blocks, std::memory_order_relaxed); }
}  // namespace testing

Backend resolve_backend_cuda(const AttentionParams& p) {
  if (p.backend != Backend::kAuto) return p.backend;
  if (cudnn_preferred(p) && cudnn::refusal(p).empty()) return Backend::kCudnn;
  return fallback_of_flash(p);
}

Status run_attention_cuda(const AttentionParams& p, void* stream_ptr, Backend* used) {
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
  } else if (backend == Backend::kCudnn) {
    const std::string why = cudnn::refusal(p);
    if (!why.empty())
      return Status::Error("EncoderOnlyAttention: backend 'cudnn' does not support " + why +
                           "; use backend 'auto' (falls back to 'flash') or 'flash'");
  } else if (backend == Backend::kAuto) {
    backend = resolve_backend_cuda(p);
  }
  if (used) *used = backend;
  if (empty) return Status::Ok();

  if (backend == Backend::kCudnn) {
    bool unsupported = false;
    s = cudnn::run(p, stream, &unsupported);
    // `auto` asked cuDNN first; a shape cuDNN rejects (its own support check, cached) runs on flash.
    if (s || !unsupported || p.backend != Backend::kAuto) return s;
    backend = fallback_of_flash(p);
    if (used) *used = backend;
  }
  return launch(backend, p, stream);
}

}  // namespace encexport
