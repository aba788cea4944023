// Names of the enums as they appear in ONNX attributes and error messages. The backend and layout names are the
// contract's (contract.h, generated from encexport/contract.py): enumerator value i is named kBackendNames[i] /
// kLayoutNames[i].
#include "encexport/contract.h"
#include "encexport/params.h"

namespace encexport {

static_assert(contract::kBackendCount == static_cast<int32_t>(Backend::kHopper) + 1 &&
                  contract::kLayoutCount == static_cast<int32_t>(Layout::kPacked) + 1,
              "contract.py's BACKENDS / LAYOUTS must match the Backend / Layout enums of params.h, in order");
static_assert(kMaxHeadSize == contract::kMaxHeadSize,
              "the kernels' head-size bound (params.h) must equal contract.py's MAX_HEAD_SIZE");

const char* to_string(DType d) {
  switch (d) {
    case DType::kFloat32: return "float32";
    case DType::kFloat16: return "float16";
    case DType::kBFloat16: return "bfloat16";
  }
  return "unknown";
}

const char* to_string(Layout l) {
  const auto i = static_cast<int32_t>(l);
  return i >= 0 && i < contract::kLayoutCount ? contract::kLayoutNames[i] : "unknown";
}

const char* to_string(Backend b) {
  return is_known_backend(b) ? contract::kBackendNames[static_cast<int32_t>(b)] : "unknown";
}

const char* known_backends() { return contract::kBackendList; }

bool is_known_backend(Backend b) {
  const auto i = static_cast<int32_t>(b);
  return i >= 0 && i < contract::kBackendCount;
}

bool parse_layout(const std::string& s, Layout* out) {
  for (int32_t i = 0; i < contract::kLayoutCount; ++i) {
    if (s == contract::kLayoutNames[i]) { *out = static_cast<Layout>(i); return true; }
  }
  return false;
}

bool parse_backend(const std::string& s, Backend* out) {
  for (int32_t i = 0; i < contract::kBackendCount; ++i) {
    if (s == contract::kBackendNames[i]) { *out = static_cast<Backend>(i); return true; }
  }
  return false;
}

void set_dense_strides(AttentionParams& p) {
  p.q_row_stride = p.o_row_stride = static_cast<int64_t>(p.num_heads) * p.head_size;
  p.k_row_stride = p.v_row_stride = static_cast<int64_t>(p.num_kv_heads) * p.head_size;
}

void apply_attributes(const NodeAttributes& a, AttentionParams* p) {
  p->num_heads = a.num_heads;
  p->num_kv_heads = a.num_kv_heads;
  p->head_size = a.head_size;
  p->scale = a.scale;
  p->layout = a.layout;
  p->backend = a.backend;
  set_dense_strides(*p);
}

}  // namespace encexport
