// The contract's attribute rules, written once for both runtimes (see node_attributes.h). The same rules, in
// the same order, are encexport/contract.py's validate_attributes; tests/encexport/test_contract_doc.py runs a
// grid of nodes through the ONNX Runtime op and checks that both sides accept and refuse the same ones.
#include "encexport/node_attributes.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "encexport/status_format.h"

namespace encexport {
namespace {

using contract::Attribute;
using contract::DefaultRule;

template <typename... Args>
Status fail(Args&&... parts) {
  return format_error(contract::kOpType, std::forward<Args>(parts)...);
}

const char* type_name(contract::AttributeType t) {
  switch (t) {
    case contract::AttributeType::kInt: return "INT";
    case contract::AttributeType::kFloat: return "FLOAT";
    case contract::AttributeType::kString: return "STRING";
  }
  return "?";
}

// raw with the literal defaults of absent optional attributes filled in, and num_kv_heads defaulted to num_heads.
// scale's default needs a valid head_size, so the caller derives it after the checks.
RawAttributes with_defaults(const RawAttributes& raw) {
  RawAttributes v = raw;
  for (int32_t i = 0; i < contract::kAttributeCount; ++i) {
    const contract::AttributeSpec& spec = contract::kAttributes[i];
    if (v.values[i].present || spec.default_rule != DefaultRule::kValue) continue;
    if (spec.type == contract::AttributeType::kString)
      v.set_string(static_cast<Attribute>(i), spec.default_string);
    else
      v.set_int(static_cast<Attribute>(i), spec.default_int);
  }
  static_assert(contract::spec(Attribute::kNumKvHeads).default_rule == DefaultRule::kNumHeads);
  if (!v[Attribute::kNumKvHeads].present) v.set_int(Attribute::kNumKvHeads, v[Attribute::kNumHeads].int_value);
  return v;
}

Status check_heads(int64_t num_heads, int64_t num_kv_heads, int64_t head_size) {
  if (num_heads < 1 || num_heads > contract::kMaxNumHeads)
    return fail("attribute 'num_heads' = ", num_heads, " is outside [1, ", contract::kMaxNumHeads, "]");
  if (num_kv_heads < 1 || num_kv_heads > num_heads)
    return fail("attribute 'num_kv_heads' = ", num_kv_heads, " is outside [1, num_heads = ", num_heads,
                "]: num_kv_heads must divide num_heads (each key/value head serves num_heads/num_kv_heads query "
                "heads)");
  if (num_heads % num_kv_heads != 0)
    return fail("attribute 'num_kv_heads' = ", num_kv_heads, " must divide num_heads = ", num_heads,
                " (each key/value head serves num_heads/num_kv_heads query heads)");
  if (head_size < 1 || head_size > contract::kMaxHeadSize)
    return fail("attribute 'head_size' = ", head_size, " is outside [1, ", contract::kMaxHeadSize, "]");
  return Status::Ok();
}

}  // namespace

void RawAttributes::set_int(Attribute a, int64_t v) {
  (*this)[a].present = true;
  (*this)[a].int_value = v;
}
void RawAttributes::set_float(Attribute a, double v) {
  (*this)[a].present = true;
  (*this)[a].float_value = v;
}
void RawAttributes::set_string(Attribute a, std::string v) {
  (*this)[a].present = true;
  (*this)[a].string_value = std::move(v);
}

bool find_attribute(const std::string& name, Attribute* out) {
  for (int32_t i = 0; i < contract::kAttributeCount; ++i) {
    if (name == contract::kAttributes[i].name) {
      *out = static_cast<Attribute>(i);
      return true;
    }
  }
  return false;
}

Status check_backend_layout(Backend backend, Layout layout) {
  if (backend == Backend::kCudnn && layout != Layout::kPadded)
    return fail("backend 'cudnn' takes the padded layout only; use backend 'auto' or 'flash' for packed tokens");
  return Status::Ok();
}

Status validate_node_attributes(const RawAttributes& raw, NodeAttributes* out) {
  // Required attributes first: without them no other rule can be judged.
  for (int32_t i = 0; i < contract::kAttributeCount; ++i) {
    const contract::AttributeSpec& spec = contract::kAttributes[i];
    if (spec.required && !raw.values[i].present)
      return fail("missing attribute '", spec.name, "' (", type_name(spec.type),
                  ", required); re-export the model (docs/onnx-contract.md)");
  }

  const RawAttributes v = with_defaults(raw);
  NodeAttributes a;
  const int64_t num_heads = v[Attribute::kNumHeads].int_value, num_kv_heads = v[Attribute::kNumKvHeads].int_value;
  const int64_t head_size = v[Attribute::kHeadSize].int_value;
  if (Status s = check_heads(num_heads, num_kv_heads, head_size); !s) return s;
  a.num_heads = static_cast<int32_t>(num_heads);
  a.num_kv_heads = static_cast<int32_t>(num_kv_heads);
  a.head_size = static_cast<int32_t>(head_size);

  static_assert(contract::spec(Attribute::kScale).default_rule == DefaultRule::kInverseSqrtHeadSize);
  if (v[Attribute::kScale].present) {
    const double scale = v[Attribute::kScale].float_value;
    if (!std::isfinite(scale) || std::fabs(scale) > std::numeric_limits<float>::max())
      return fail("attribute 'scale' = ", scale, " must be a finite float32 value");
    a.scale = static_cast<float>(scale);
  } else {
    a.scale = 1.f / std::sqrt(static_cast<float>(a.head_size));
  }

  if (const int64_t causal = v[Attribute::kCausal].int_value; causal != 0)
    return fail("attribute 'causal' = ", causal,
                " is not supported: the node is encoder-only (bidirectional attention, no causal mask); export with "
                "causal=0, or use a decoder attention op for causal masking");

  const std::string& backend = v[Attribute::kBackend].string_value;
  if (!parse_backend(backend, &a.backend))
    return fail("unknown backend '", backend, "'; accepted: ", contract::kBackendList);
  const std::string& layout = v[Attribute::kLayout].string_value;
  if (!parse_layout(layout, &a.layout))
    return fail("unknown layout '", layout, "'; accepted: ", contract::kLayoutList);

  const std::string& version = v[Attribute::kPluginVersion].string_value;
  if (version != contract::kPluginVersion)
    return fail("plugin_version '", version, "' is not supported by this library (it implements version ",
                contract::kPluginVersion, "); upgrade encexport or re-export the model");
  const std::string& ns = v[Attribute::kPluginNamespace].string_value;
  if (ns != contract::kPluginNamespace)
    return fail("plugin_namespace '", ns, "' does not match this library's namespace '", contract::kPluginNamespace,
                "'; re-export the model with plugin_namespace '", contract::kPluginNamespace, "'");

  if (Status s = check_backend_layout(a.backend, a.layout); !s) return s;
  *out = a;
  return Status::Ok();
}

}  // namespace encexport
