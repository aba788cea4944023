// The token tensors both kernel families read, as kernel parameters (trivially copyable, passed by value).
// Filled once from AttentionParams; each family adds its own fields by deriving from it.
#pragma once

#include <cstdint>
#include <string>

#include "encexport/params.h"
#include "fault_injection.h"

namespace encexport::kernels {

struct TokenTensors {
  const void* q;
  const void* k;
  const void* v;
  void* out;
  const int32_t* seq_lens;
  const int32_t* cu_seqlens;  // non-null selects the packed layout
  int64_t total_tokens;       // rows of q/out
  int64_t q_stride, k_stride, v_stride, o_stride;  // elements between token rows
  int32_t batch, seq_len, num_heads, group;        // group = num_heads / num_kv_heads
  // Additive bias (padded layout only; nullptr = none): element [b, h, i, j] at
  // b*bias_batch_stride + h*bias_head_stride + i*bias_row_stride + j (strides 0 along broadcast dimensions).
  const void* bias;
  int64_t bias_batch_stride, bias_head_stride, bias_row_stride;
  int32_t fault;  // faults::selected(): always faults::kNone outside the fault-injection test library
};

inline TokenTensors token_tensors(const AttentionParams& p) {
  TokenTensors t;
  t.q = p.q; t.k = p.k; t.v = p.v; t.out = p.out;
  t.seq_lens = p.layout == Layout::kPadded ? p.seq_lens : nullptr;
  t.cu_seqlens = p.layout == Layout::kPacked ? p.cu_seqlens : nullptr;
  t.total_tokens = p.total_tokens;
  t.q_stride = p.q_row_stride; t.k_stride = p.k_row_stride; t.v_stride = p.v_row_stride; t.o_stride = p.o_row_stride;
  t.batch = p.batch; t.seq_len = p.seq_len; t.num_heads = p.num_heads; t.group = p.num_heads / p.num_kv_heads;
  t.bias = p.layout == Layout::kPadded ? p.bias : nullptr;
  t.bias_batch_stride = p.bias_batch_stride; t.bias_head_stride = p.bias_head_stride;
  t.bias_row_stride = p.bias_row_stride;
  t.fault = faults::selected();
  return t;
}

// Why the token rows cannot be moved in 16-byte chunks (flash's cp.async, cuDNN's vector loads), or "" when
// they can: every row of q, k, v and out must start on a 16-byte boundary (16-bit elements).
inline std::string unaligned_rows(const AttentionParams& p) {
  auto aligned16 = [](const void* ptr) { return (reinterpret_cast<uintptr_t>(ptr) & 15u) == 0; };
  if (!aligned16(p.q) || !aligned16(p.k) || !aligned16(p.v) || !aligned16(p.out))
    return "q/k/v/out pointers not 16-byte aligned";
  if (p.q_row_stride % 8 || p.k_row_stride % 8 || p.v_row_stride % 8 || p.o_row_stride % 8)
    return "row strides not a multiple of 8 elements";
  return {};
}

}  // namespace encexport::kernels
