// The capability query's C entry points (encexport/capabilities.h), in every build: the answers come from
// the CUDA dispatcher's family table (dispatch.cu) or, without CUDA, from dispatch_absent.cc.
#include "encexport/capabilities.h"

#include <cstdint>

#include "c_buffer.h"

namespace encexport {

Status capability_probe(int dtype, int layout, int num_heads, int num_kv_heads, int head_size, int seq_len,
                        bool has_bias, AttentionParams* p) {
  if (dtype < static_cast<int>(DType::kFloat32) || dtype > static_cast<int>(DType::kBFloat16))
    return Status::Error("EncoderOnlyAttention: unknown dtype " + std::to_string(dtype) +
                         " (0 float32, 1 float16, 2 bfloat16)");
  if (seq_len < 0) return Status::Error("EncoderOnlyAttention: seq_len must be >= 0, got " + std::to_string(seq_len));
  static const int32_t kPlaceholderLengths[2] = {0, 0};  // never read: the query launches nothing
  AttentionParams probe;
  probe.dtype = static_cast<DType>(dtype);
  probe.layout = static_cast<Layout>(layout);
  probe.num_heads = num_heads;
  probe.num_kv_heads = num_kv_heads;
  probe.head_size = head_size;
  probe.scale = 1.f;
  probe.batch = 1;
  probe.seq_len = probe.layout == Layout::kPadded ? seq_len : 0;
  probe.total_tokens = seq_len;
  probe.cu_seqlens = probe.layout == Layout::kPacked ? kPlaceholderLengths : nullptr;
  // 16-byte aligned and non-null: the query answers for tensors as the runtimes allocate them.
  probe.q = probe.k = probe.v = probe.out = reinterpret_cast<void*>(uintptr_t{256});
  set_dense_strides(probe);
  if (has_bias) {  // [1, 1, S, S]: the broadcast form does not change what a family runs
    const int64_t dims[4] = {1, 1, probe.seq_len, probe.seq_len};
    probe.bias = probe.q;
    set_bias_strides(dims, &probe);
  }
  if (Status s = validate(probe); !s) return s;
  *p = probe;
  return Status::Ok();
}

}  // namespace encexport

using namespace encexport;

extern "C" __attribute__((visibility("default"))) int encexport_supports(const char* backend, int dtype, int layout,
                                                                       int num_heads, int num_kv_heads,
                                                                       int head_size, int has_bias, int device,
                                                                       char* reason, int reason_len) {
  Capability answer;
  Backend b = Backend::kAuto;
  AttentionParams p;
  if (backend == nullptr || !parse_backend(backend, &b)) {
    answer = {Support::kInvalid, std::string("EncoderOnlyAttention: unknown backend '") + (backend ? backend : "") +
                                     "'; known: " + known_backends()};
  } else if (Status s = capability_probe(dtype, layout, num_heads, num_kv_heads, head_size, 0, has_bias != 0, &p); !s) {
    answer = {Support::kInvalid, s.message};
  } else {
    answer = supports(b, p, device);  // p.backend stays `auto`: the family's own limits answer, not validate()'s
  }
  copy_to_c_buffer(answer.reason, reason, reason_len);
  return static_cast<int>(answer.support);
}

extern "C" __attribute__((visibility("default"))) int encexport_auto_backend(int dtype, int layout, int num_heads,
                                                                           int num_kv_heads, int head_size,
                                                                           int seq_len, int has_bias, int device,
                                                                           char* why, int why_len) {
  AttentionParams p;
  Status s = capability_probe(dtype, layout, num_heads, num_kv_heads, head_size, seq_len, has_bias != 0, &p);
  if (!s) {
    copy_to_c_buffer(s.message, why, why_len);
    return static_cast<int>(Support::kInvalid);
  }
  Backend family = Backend::kReference;
  std::string line;
  s = auto_choice(p, device, &family, &line);
  copy_to_c_buffer(s ? line : s.message, why, why_len);
  return s ? static_cast<int>(family) : static_cast<int>(Support::kUnavailable);
}
