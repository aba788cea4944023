// Reference attention on CUDA cores: the exact-math fallback for every dtype (fp32 too) and every head
// size up to 256, and the GPU oracle the tensor-core kernel is tested against in the same process.
//
// One warp per (query row, head). The 32 lanes split the head dimension (lane l holds elements l, l+32,
// ...), so every key row is read with coalesced loads and the dot product is a 5-step shuffle reduction.
// Keys are visited once in order with an online softmax (running max, rescaled sum and accumulator),
// all in fp32, so memory use is O(D) per warp whatever the sequence length. An additive bias is read in place,
// one element per key (the same address for the 32 lanes: one broadcast load).
#include <cuda_runtime.h>

#include <cstdint>

#include "encexport/params.h"
#include "fault_injection.h"
#include "launchers.h"
#include "mma_primitives.cuh"
#include "sequence_span.cuh"
#include "token_tensors.h"

namespace encexport::kernels {
namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kMaxPerLane = kMaxHeadSize / 32;

struct ReferenceArgs : TokenTensors {
  int32_t head_size;
  float scale;
};

template <typename T>
__global__ void __launch_bounds__(kWarpsPerBlock * 32) reference_attention_kernel(const ReferenceArgs a) {
  using Traits = ElementTraits<T>;
  const int lane = threadIdx.x % 32;
  const int64_t work = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  if (work >= a.total_tokens * a.num_heads) return;
  const int64_t token = work / a.num_heads;
  const int h = static_cast<int>(work % a.num_heads);

  SequenceSpan span;
  int32_t b = 0;
  if (a.cu_seqlens == nullptr) {
    b = static_cast<int32_t>(token / a.seq_len);
    span = padded_span(b, a.seq_len, a.seq_lens);
  } else {
    span = packed_span_warp(packed_token_owner(token, a.cu_seqlens, a.batch, a.total_tokens), a.cu_seqlens, a.batch,
                            a.total_tokens);
  }
  T* out = static_cast<T*>(a.out) + token * a.o_stride + static_cast<int64_t>(h) * a.head_size;
  if (!span.valid) {  // lengths out of range: NaN, never a plausible row (with valid cu_seqlens every token has its span)
    for (int d = lane; d < a.head_size; d += 32) out[d] = Traits::from_float(__int_as_float(0x7fc00000));
    return;
  }
  const int64_t pos = token - span.first_token;
  if (pos >= span.length) {  // padded query row: zeros
    if (!faults::active(a.fault, faults::kKeepPaddingRows))
      for (int d = lane; d < a.head_size; d += 32) out[d] = Traits::from_float(0.f);
    return;
  }
  // Keys attended: span.length, except in the fault-injection test library (fault_injection.h).
  const int32_t keys = faults::keys(a.fault, span.length, a.total_tokens - (span.first_token + span.length));

  const int kv_head = h / a.group;
  const T* q = static_cast<const T*>(a.q) + token * a.q_stride + static_cast<int64_t>(h) * a.head_size;
  const T* k = static_cast<const T*>(a.k) + span.first_token * a.k_stride + static_cast<int64_t>(kv_head) * a.head_size;
  const T* v = static_cast<const T*>(a.v) + span.first_token * a.v_stride + static_cast<int64_t>(kv_head) * a.head_size;

  // This (sequence, head, query row)'s bias row (padded layout only), or nullptr.
  const T* bias = a.bias == nullptr ? nullptr
                                    : static_cast<const T*>(a.bias) + b * a.bias_batch_stride +
                                          static_cast<int64_t>(h) * a.bias_head_stride + pos * a.bias_row_stride;

  float qv[kMaxPerLane], acc[kMaxPerLane];
#pragma unroll
  for (int r = 0; r < kMaxPerLane; ++r) {
    const int d = lane + 32 * r;
    qv[r] = d < a.head_size ? Traits::to_float(q[d]) : 0.f;
    acc[r] = 0.f;
  }
  float running_max = -INFINITY, running_sum = 0.f;
  for (int32_t j = 0; j < keys; ++j) {
    const T* kr = k + j * a.k_stride;
    float dot = 0.f;
#pragma unroll
    for (int r = 0; r < kMaxPerLane; ++r) {
      const int d = lane + 32 * r;
      if (d < a.head_size) dot += qv[r] * Traits::to_float(kr[d]);
    }
#pragma unroll
    for (int off = 16; off > 0; off /= 2) dot += __shfl_xor_sync(0xffffffffu, dot, off);
    const float x = dot * a.scale + (bias != nullptr && j < span.length ? Traits::to_float(bias[j]) : 0.f);
    const float new_max = fmaxf(running_max, x);
    if (new_max == -INFINITY) continue;  // a bias of -inf on every key so far: no weight yet (warp-uniform)
    const float correction = expf(running_max - new_max);  // 0 on the first key
    const float p = expf(x - new_max);
    running_sum = running_sum * correction + p;
    running_max = new_max;
    const T* vr = v + j * a.v_stride;
#pragma unroll
    for (int r = 0; r < kMaxPerLane; ++r) {
      const int d = lane + 32 * r;
      if (d < a.head_size) acc[r] = acc[r] * correction + p * Traits::to_float(vr[d]);
    }
  }
  const float inv = running_sum > 0.f ? 1.f / running_sum : 0.f;
#pragma unroll
  for (int r = 0; r < kMaxPerLane; ++r) {
    const int d = lane + 32 * r;
    if (d < a.head_size) out[d] = Traits::from_float(acc[r] * inv);
  }
}

template <typename T>
cudaError_t launch_typed(const ReferenceArgs& a, cudaStream_t stream) {
  const int64_t warps = a.total_tokens * a.num_heads;
  const int64_t blocks = (warps + kWarpsPerBlock - 1) / kWarpsPerBlock;
  if (blocks <= 0) return cudaSuccess;
  if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
  reference_attention_kernel<T><<<static_cast<unsigned>(blocks), kWarpsPerBlock * 32, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_reference(const AttentionParams& p, cudaStream_t stream) {
  ReferenceArgs a;
  static_cast<TokenTensors&>(a) = token_tensors(p);
  a.head_size = p.head_size;
  a.scale = faults::scale(a.fault, p.scale);
  if (p.batch <= 0 || (p.layout == Layout::kPadded && p.seq_len <= 0)) return cudaSuccess;
  switch (p.dtype) {
    case DType::kFloat32: return launch_typed<float>(a, stream);
    case DType::kFloat16: return launch_typed<__half>(a, stream);
    case DType::kBFloat16: return launch_typed<__nv_bfloat16>(a, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace encexport::kernels
