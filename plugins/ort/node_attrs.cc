#include "node_attrs.h"

#include <sstream>
#include <utility>

#include "encexport/contract.h"
#include "encexport/node_attributes.h"

namespace encexport::ort {
namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

Status err(const std::string& m) { return Status::Error(std::string(contract::kOpType) + ": " + m); }

// The C API returns a status for a missing attribute; we turn that into "absent" and keep the message.
bool read_int(const OrtApi& api, const OrtKernelInfo* info, const char* name, int64_t* v) {
  OrtStatus* s = api.KernelInfoGetAttribute_int64(info, name, v);
  if (s) { api.ReleaseStatus(s); return false; }
  return true;
}
bool read_float(const OrtApi& api, const OrtKernelInfo* info, const char* name, float* v) {
  OrtStatus* s = api.KernelInfoGetAttribute_float(info, name, v);
  if (s) { api.ReleaseStatus(s); return false; }
  return true;
}
bool read_string(const OrtApi& api, const OrtKernelInfo* info, const char* name, std::string* v) {
  size_t size = 0;
  OrtStatus* s = api.KernelInfoGetAttribute_string(info, name, nullptr, &size);
  if (s) { api.ReleaseStatus(s); return false; }
  std::string buf(size, '\0');
  s = api.KernelInfoGetAttribute_string(info, name, buf.data(), &size);
  if (s) { api.ReleaseStatus(s); return false; }
  buf.resize(size > 0 ? size - 1 : 0);  // size counts the terminating NUL
  *v = std::move(buf);
  return true;
}

// The attribute types of docs/onnx-contract.md. The kernel-info getters fail alike for "absent" and for "present
// with another type", so without this check a node carrying e.g. causal=1.0 (FLOAT), scale=3 (INT) or
// plugin_version=2 (INT) was read as if the attribute were absent and ran with the default: a causal or
// foreign-version node silently ran bidirectional, and a wrongly typed scale silently changed the numbers.
enum class AttrKind { kAbsent, kInt, kFloat, kString, kInts, kFloats, kTensor, kOther };

const char* kind_name(AttrKind k) {
  switch (k) {
    case AttrKind::kAbsent: return "nothing";
    case AttrKind::kInt: return "INT";
    case AttrKind::kFloat: return "FLOAT";
    case AttrKind::kString: return "STRING";
    case AttrKind::kInts: return "INTS";
    case AttrKind::kFloats: return "FLOATS";
    case AttrKind::kTensor: return "TENSOR";
    case AttrKind::kOther: return "a list, tensor or graph";
  }
  return "?";
}

// Which type `name` holds, found by probing the typed getters (the C API has no "type of attribute" query for
// kernels). The scalar getters check the type; the list getters (ORT 1.32) succeed with an empty list for an
// attribute of any type, which makes them a presence test: a non-empty list tells INTS/FLOATS, the tensor
// getter tells TENSOR, and anything else present (STRINGS, GRAPH, an empty list) is kOther.
AttrKind attribute_kind(const OrtApi& api, const OrtKernelInfo* info, const char* name) {
  auto ok = [&](OrtStatus* s) {
    if (s == nullptr) return true;
    api.ReleaseStatus(s);
    return false;
  };
  int64_t i = 0;
  float f = 0.f;
  size_t n = 0, n_ints = 0, n_floats = 0;
  if (ok(api.KernelInfoGetAttribute_int64(info, name, &i))) return AttrKind::kInt;
  if (ok(api.KernelInfoGetAttribute_float(info, name, &f))) return AttrKind::kFloat;
  if (ok(api.KernelInfoGetAttribute_string(info, name, nullptr, &n))) return AttrKind::kString;
  const bool ints = ok(api.KernelInfoGetAttributeArray_int64(info, name, nullptr, &n_ints));
  const bool floats = ok(api.KernelInfoGetAttributeArray_float(info, name, nullptr, &n_floats));
  if (ints && n_ints > 0) return AttrKind::kInts;
  if (floats && n_floats > 0) return AttrKind::kFloats;
  OrtAllocator* alloc = nullptr;
  if (ok(api.GetAllocatorWithDefaultOptions(&alloc))) {
    OrtValue* t = nullptr;
    if (ok(api.KernelInfoGetAttribute_tensor(info, name, alloc, &t))) {
      api.ReleaseValue(t);
      return AttrKind::kTensor;
    }
  }
  return ints || floats ? AttrKind::kOther : AttrKind::kAbsent;
}

AttrKind kind_of(contract::AttributeType t) {
  switch (t) {
    case contract::AttributeType::kInt: return AttrKind::kInt;
    case contract::AttributeType::kFloat: return AttrKind::kFloat;
    case contract::AttributeType::kString: return AttrKind::kString;
  }
  return AttrKind::kOther;
}

Status check_attribute_types(const OrtApi& api, const OrtKernelInfo* info) {
  for (const contract::AttributeSpec& spec : contract::kAttributes) {
    const AttrKind want = kind_of(spec.type);
    const AttrKind got = attribute_kind(api, info, spec.name);
    if (got != AttrKind::kAbsent && got != want)
      return err(std::string("attribute '") + spec.name + "' must be " + kind_name(want) + " but the node holds " +
                 kind_name(got) + " (wrong attribute type); re-export the model (docs/onnx-contract.md)");
  }
  return Status::Ok();
}

// Shapes of the separate form: query [.., H*D], key and value [.., Hkv*D], one token set.
Status check_separate_qkv(const NodeAttributes& a, const InputShapes& in, size_t rank, const char* layout_shape) {
  const int64_t q_width = static_cast<int64_t>(a.num_heads) * a.head_size;
  const int64_t kv_width = static_cast<int64_t>(a.num_kv_heads) * a.head_size;
  const std::pair<const char*, const std::vector<int64_t>*> named[] = {{"key", &in.k}, {"value", &in.v}};
  for (const auto& [name, shape] : named) {
    if (shape->size() != rank)
      return err(std::string(name) + " has shape " + shape_str(*shape) + "; the " + to_string(a.layout) +
                 " layout expects rank " + std::to_string(rank) + " " + layout_shape);
  }
  if (in.q.back() != q_width)
    return err("query's last dimension is " + std::to_string(in.q.back()) + " but num_heads*head_size = " +
               std::to_string(q_width));
  if (in.k.back() != kv_width || in.v.back() != kv_width)
    return err("key/value last dimensions " + shape_str(in.k) + " / " + shape_str(in.v) +
               " must equal num_kv_heads*head_size = " + std::to_string(kv_width));
  for (size_t d = 0; d + 1 < rank; ++d) {
    if (in.k[d] != in.q[d] || in.v[d] != in.q[d])
      return err("query " + shape_str(in.q) + ", key " + shape_str(in.k) + " and value " + shape_str(in.v) +
                 " must agree on every dimension but the last (encoder self-attention: one token set)");
  }
  return Status::Ok();
}

// The packed q|k|v form: key and value empty, query rows [q | k | v] of (H + 2*Hkv)*D elements.
Status check_packed_qkv(const NodeAttributes& a, const InputShapes& in) {
  const int64_t qkv_width = packed_value_offset(a) + static_cast<int64_t>(a.num_kv_heads) * a.head_size;
  if (in.q.back() != qkv_width)
    return err("query's last dimension is " + std::to_string(in.q.back()) +
               ", but with key and value empty the query holds packed q|k|v rows of (num_heads + 2*num_kv_heads)"
               "*head_size = (" + std::to_string(a.num_heads) + " + 2*" + std::to_string(a.num_kv_heads) + ")*" +
               std::to_string(a.head_size) + " = " + std::to_string(qkv_width) +
               " elements; fix num_heads/num_kv_heads/head_size, or pass key and value as separate inputs");
  return Status::Ok();
}

}  // namespace

Status read_node_attributes(const OrtApi& api, const OrtKernelInfo* info, NodeAttributes* a) {
  if (Status s = check_attribute_types(api, info); !s) return s;
  RawAttributes raw;
  for (int32_t i = 0; i < contract::kAttributeCount; ++i) {
    const contract::AttributeSpec& spec = contract::kAttributes[i];
    const auto attribute = static_cast<contract::Attribute>(i);
    int64_t int_value = 0;
    float float_value = 0.f;
    std::string string_value;
    switch (spec.type) {
      case contract::AttributeType::kInt:
        if (read_int(api, info, spec.name, &int_value)) raw.set_int(attribute, int_value);
        break;
      case contract::AttributeType::kFloat:
        if (read_float(api, info, spec.name, &float_value)) raw.set_float(attribute, float_value);
        break;
      case contract::AttributeType::kString:
        if (read_string(api, info, spec.name, &string_value)) raw.set_string(attribute, std::move(string_value));
        break;
    }
  }
  return validate_node_attributes(raw, a);
}

Status make_params(const NodeAttributes& a, const InputShapes& in, AttentionParams* p) {
  const size_t rank = a.layout == Layout::kPadded ? 3 : 2;
  const char* layout_shape = a.layout == Layout::kPadded ? "[batch, seq, heads*head_size]" : "[tokens, heads*head_size]";
  if (in.has_key != in.has_value)
    return err(std::string("only ") + (in.has_key ? "key" : "value") +
               " is given; pass both key and value (separate q, k, v), or neither (query holding packed q|k|v rows)");
  if (in.q.size() != rank)
    return err("query has shape " + shape_str(in.q) + "; the " + to_string(a.layout) + " layout expects rank " +
               std::to_string(rank) + " " + layout_shape + (in.packed_qkv() ? " (last dimension: packed q|k|v)" : ""));
  if (Status s = in.packed_qkv() ? check_packed_qkv(a, in) : check_separate_qkv(a, in, rank, layout_shape); !s)
    return s;
  apply_attributes(a, p);
  if (in.packed_qkv()) p->q_row_stride = p->k_row_stride = p->v_row_stride = in.q.back();  // rows read in place
  if (a.layout == Layout::kPadded) {
    if (in.q[0] > INT32_MAX || in.q[1] > INT32_MAX) return err("batch or sequence length exceeds int32");
    p->batch = static_cast<int32_t>(in.q[0]);
    p->seq_len = static_cast<int32_t>(in.q[1]);
    p->total_tokens = in.q[0] * in.q[1];
    if (in.has_lengths && (in.lengths.size() != 1 || in.lengths[0] != in.q[0]))
      return err("seq_lens has shape " + shape_str(in.lengths) + "; expected [" + std::to_string(in.q[0]) +
                 "] (one valid length per sequence)");
    if (in.has_bias) {
      if (Status s = check_bias_shape(in.bias.data(), static_cast<int32_t>(in.bias.size()), a.layout, in.q[0],
                                      a.num_heads, in.q[1], /*allow_unknown=*/false);
          !s)
        return s;
      set_bias_strides(in.bias.data(), p);
    }
  } else {
    if (in.has_bias)  // the shared rule words the refusal
      return check_bias_shape(in.bias.data(), static_cast<int32_t>(in.bias.size()), a.layout, -1, a.num_heads, -1,
                              /*allow_unknown=*/false);
    if (!in.has_lengths)
      return err("the packed layout needs input 3, cu_seqlens [batch+1] int32 (prefix sums of the lengths)");
    if (in.lengths.size() != 1 || in.lengths[0] < 1)
      return err("cu_seqlens has shape " + shape_str(in.lengths) + "; expected [batch+1] with batch >= 0");
    if (in.lengths[0] - 1 > INT32_MAX) return err("batch exceeds int32");
    p->batch = static_cast<int32_t>(in.lengths[0] - 1);
    p->seq_len = 0;
    p->total_tokens = in.q[0];
  }
  return Status::Ok();
}

OrtStatus* to_ort_status(const OrtApi& api, const Status& s, OrtErrorCode code) {
  return s ? nullptr : api.CreateStatus(code, s.message.c_str());
}

}  // namespace encexport::ort
