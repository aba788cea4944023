// AttentionParams of dense token rows from the integer arguments the C test entry points take (the test API's
// encexport_test_attention and the fault-injection library's CPU entry point): one translation for both.
#pragma once

#include <cstdint>

#include "encexport/params.h"

namespace encexport {

// dtype/layout take the integer values of DType / Layout. `lengths` is seq_lens [batch] (padded; may be null) or
// cu_seqlens [batch+1] (packed). The backend stays `auto`; rows are dense (set_dense_strides).
inline AttentionParams dense_params(const void* q, const void* k, const void* v, void* out, const int32_t* lengths,
                                    int dtype, int layout, int batch, int seq_len, long long total_tokens,
                                    int num_heads, int num_kv_heads, int head_size, float scale) {
  AttentionParams p;
  p.q = q; p.k = k; p.v = v; p.out = out;
  p.dtype = static_cast<DType>(dtype);
  p.layout = static_cast<Layout>(layout);
  (p.layout == Layout::kPacked ? p.cu_seqlens : p.seq_lens) = lengths;
  p.batch = batch;
  p.seq_len = seq_len;
  p.total_tokens = total_tokens;
  p.num_heads = num_heads;
  p.num_kv_heads = num_kv_heads;
  p.head_size = head_size;
  p.scale = scale;
  set_dense_strides(p);
  return p;
}

}  // namespace encexport
