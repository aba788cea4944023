// A C entry point into the CUDA kernels for tests: raw device pointers in, a status out. It lets the
// Python GPU tests drive every kernel on torch tensors through ctypes, and the sanitizer driver run the
// same path, without ONNX Runtime in between.
#include "../c_buffer.h"
#include "../launchers.h"
#include "encexport/params.h"

// dtype/layout/backend take the integer values of encexport::DType / Layout / Backend. `lengths` is
// seq_lens [batch] (padded; may be null) or cu_seqlens [batch+1] (packed), on the device. Dense rows.
// Returns 0 on success, else 1 with the message in err_buf. *backend_used (if non-null) receives the
// family the dispatcher chose, as an encexport::Backend value.
extern "C" __attribute__((visibility("default"))) int encexport_test_attention(
    const void* q, const void* k, const void* v, void* out, const int32_t* lengths, int dtype, int layout,
    int backend, int batch, int seq_len, long long total_tokens, int num_heads, int num_kv_heads, int head_size,
    float scale, void* stream, int* backend_used, char* err_buf, int err_buf_len) {
  using namespace encexport;
  AttentionParams p;
  p.q = q; p.k = k; p.v = v; p.out = out;
  p.dtype = static_cast<DType>(dtype);
  p.layout = static_cast<Layout>(layout);
  p.backend = static_cast<Backend>(backend);
  (p.layout == Layout::kPacked ? p.cu_seqlens : p.seq_lens) = lengths;
  p.batch = batch;
  p.seq_len = seq_len;
  p.total_tokens = total_tokens;
  p.num_heads = num_heads;
  p.num_kv_heads = num_kv_heads;
  p.head_size = head_size;
  p.scale = scale;
  set_dense_strides(p);
  Status s = validate(p);
  if (s) {
    Backend used = p.backend;
    s = run_attention_cuda(p, stream, &used);
    if (backend_used) *backend_used = static_cast<int>(used);
  }
  copy_to_c_buffer(s.message, err_buf, err_buf_len);
  return s ? 0 : 1;
}

// Benchmarks only: force the flash tiling process-wide (1: 64-row tiles, 2: 128-row tiles, 0: the rule).
extern "C" __attribute__((visibility("default"))) void encexport_test_force_flash_rows(int row_blocks) {
  encexport::testing::force_flash_row_blocks(row_blocks);
}
