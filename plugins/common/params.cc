// Names of the enums as they appear in ONNX attributes and error messages.
#include "encexport/params.h"

namespace encexport {

const char* to_string(DType d) {
  switch (d) {
    case DType::kFloat32: return "float32";
    case DType::kFloat16: return "float16";
    case DType::kBFloat16: return "bfloat16";
  }
  return "unknown";
}

const char* to_string(Layout l) {
  switch (l) {
    case Layout::kPadded: return "padded";
    case Layout::kPacked: return "packed";
  }
  return "unknown";
}

const char* to_string(Backend b) {
  switch (b) {
    case Backend::kAuto: return "auto";
    case Backend::kReference: return "reference";
    case Backend::kFlash: return "flash";
    case Backend::kCudnn: return "cudnn";
  }
  return "unknown";
}

namespace {
constexpr Backend kBackends[] = {Backend::kAuto, Backend::kReference, Backend::kFlash, Backend::kCudnn};
}  // namespace

const char* known_backends() {
  static const std::string names = [] {
    std::string s;
    for (Backend b : kBackends) s += std::string(s.empty() ? "" : ", ") + to_string(b);
    return s;
  }();
  return names.c_str();
}

bool is_known_backend(Backend b) {
  for (Backend known : kBackends)
    if (b == known) return true;
  return false;
}

bool parse_layout(const std::string& s, Layout* out) {
  if (s == "padded") { *out = Layout::kPadded; return true; }
  if (s == "packed") { *out = Layout::kPacked; return true; }
  return false;
}

bool parse_backend(const std::string& s, Backend* out) {
  for (Backend b : kBackends) {
    if (s == to_string(b)) { *out = b; return true; }
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
