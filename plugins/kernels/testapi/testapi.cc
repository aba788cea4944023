// A C entry point into the CUDA kernels for tests: raw device pointers in, a status out. It lets the
// Python GPU tests drive every kernel on torch tensors through ctypes, and the sanitizer driver run the
// same path, without ONNX Runtime in between.
#include "../c_buffer.h"
#include "../dense_params.h"
#include "../launchers.h"
#include "encexport/params.h"

namespace {

struct Bias {
  const void* data;
  long long batch_stride, head_stride, row_stride;
};

int run(const void* q, const void* k, const void* v, void* out, const int32_t* lengths, int dtype, int layout,
        int backend, int batch, int seq_len, long long total_tokens, int num_heads, int num_kv_heads, int head_size,
        float scale, const Bias& bias, void* stream, int* backend_used, char* err_buf, int err_buf_len) {
  using namespace encexport;
  AttentionParams p = dense_params(q, k, v, out, lengths, dtype, layout, batch, seq_len, total_tokens, num_heads,
                                   num_kv_heads, head_size, scale);
  p.backend = static_cast<Backend>(backend);
  p.bias = bias.data;
  p.bias_batch_stride = bias.batch_stride;
  p.bias_head_stride = bias.head_stride;
  p.bias_row_stride = bias.row_stride;
  Status s = validate(p);
  if (s) {
    Backend used = p.backend;
    s = run_attention_cuda(p, stream, &used);
    if (backend_used) *backend_used = static_cast<int>(used);
  }
  copy_to_c_buffer(s.message, err_buf, err_buf_len);
  return s ? 0 : 1;
}

}  // namespace

// dtype/layout/backend take the integer values of encexport::DType / Layout / Backend. `lengths` is
// seq_lens [batch] (padded; may be null) or cu_seqlens [batch+1] (packed), on the device. Dense rows.
// Returns 0 on success, else 1 with the message in err_buf. *backend_used (if non-null) receives the
// family the dispatcher chose, as an encexport::Backend value.
extern "C" __attribute__((visibility("default"))) int encexport_test_attention(
    const void* q, const void* k, const void* v, void* out, const int32_t* lengths, int dtype, int layout,
    int backend, int batch, int seq_len, long long total_tokens, int num_heads, int num_kv_heads, int head_size,
    float scale, void* stream, int* backend_used, char* err_buf, int err_buf_len) {
  return run(q, k, v, out, lengths, dtype, layout, backend, batch, seq_len, total_tokens, num_heads, num_kv_heads,
             head_size, scale, Bias{nullptr, 0, 0, 0}, stream, backend_used, err_buf, err_buf_len);
}

// The same with an additive attn_bias on the device, element [b, h, i, j] at
// b*bias_batch_stride + h*bias_head_stride + i*bias_row_stride + j (0 strides broadcast; params.h).
extern "C" __attribute__((visibility("default"))) int encexport_test_attention_bias(
    const void* q, const void* k, const void* v, void* out, const int32_t* lengths, int dtype, int layout,
    int backend, int batch, int seq_len, long long total_tokens, int num_heads, int num_kv_heads, int head_size,
    float scale, const void* bias, long long bias_batch_stride, long long bias_head_stride,
    long long bias_row_stride, void* stream, int* backend_used, char* err_buf, int err_buf_len) {
  return run(q, k, v, out, lengths, dtype, layout, backend, batch, seq_len, total_tokens, num_heads, num_kv_heads,
             head_size, scale, Bias{bias, bias_batch_stride, bias_head_stride, bias_row_stride}, stream,
             backend_used, err_buf, err_buf_len);
}

// Benchmarks only: force the flash tiling process-wide (1: 64-row tiles, 2: 128-row tiles, 0: the rule).
extern "C" __attribute__((visibility("default"))) void encexport_test_force_flash_rows(int row_blocks) {
  encexport::testing::force_flash_row_blocks(row_blocks);
}
