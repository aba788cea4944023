// The CPU kernel behind a C entry point, for the fault-injection tests (tests/plugins/test_fault_injection.py):
// host pointers in, a status out, exactly the run_attention_cpu the ONNX Runtime CPU op calls.
#include "../kernels/c_buffer.h"
#include "../kernels/dense_params.h"
#include "encexport/params.h"

// dtype/layout take the integer values of encexport::DType / Layout. `lengths` is seq_lens [batch] (padded; may
// be null) or cu_seqlens [batch+1] (packed), on the host. Dense rows. Returns 0, or 1 with the message in err_buf.
extern "C" __attribute__((visibility("default"))) int encexport_fault_cpu_attention(
    const void* q, const void* k, const void* v, void* out, const int32_t* lengths, int dtype, int layout, int batch,
    int seq_len, long long total_tokens, int num_heads, int num_kv_heads, int head_size, float scale, char* err_buf,
    int err_buf_len) {
  using namespace encexport;
  AttentionParams p = dense_params(q, k, v, out, lengths, dtype, layout, batch, seq_len, total_tokens, num_heads,
                                   num_kv_heads, head_size, scale);
  p.backend = Backend::kReference;
  const Status s = run_attention_cpu(p);
  copy_to_c_buffer(s.message, err_buf, err_buf_len);
  return s ? 0 : 1;
}
