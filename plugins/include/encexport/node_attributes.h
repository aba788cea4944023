// The node's attributes, checked once for every runtime. Each adapter turns its runtime's representation
// (ONNX Runtime's kernel info, TensorRT's PluginFieldCollection) into RawAttributes, checking only what is
// specific to that representation (the value types it can hold), and validate_node_attributes() applies every
// rule of the contract (encexport/contract.py, via contract.h): required attributes, bounds, defaults,
// cross-field rules, version and namespace.
#pragma once

#include <cstdint>
#include <string>

#include "encexport/contract.h"
#include "encexport/params.h"

namespace encexport {

// One attribute as the node holds it. Only the member of the attribute's contract type is read. Values are
// kept wide (int64, double) so that a bound check sees what the node holds, not a truncated copy.
struct RawAttribute {
  bool present = false;
  int64_t int_value = 0;
  double float_value = 0.0;
  std::string string_value;
};

// The node's attributes indexed by contract::Attribute, all absent until an adapter fills them.
struct RawAttributes {
  RawAttribute values[contract::kAttributeCount];

  RawAttribute& operator[](contract::Attribute a) { return values[static_cast<int32_t>(a)]; }
  const RawAttribute& operator[](contract::Attribute a) const { return values[static_cast<int32_t>(a)]; }
  void set_int(contract::Attribute a, int64_t v);
  void set_float(contract::Attribute a, double v);
  void set_string(contract::Attribute a, std::string v);
};

// The contract attribute called `name`; false for a name outside the contract.
bool find_attribute(const std::string& name, contract::Attribute* out);

// Validates raw and resolves the defaults (num_kv_heads = num_heads, scale = 1/sqrt(head_size), ...). On failure
// the message names the attribute and the fix. Rules apply in contract order, as contract.validate_attributes
// does in Python, so both report the same attribute first.
Status validate_node_attributes(const RawAttributes& raw, NodeAttributes* out);

// The cross-field rule between backend and layout, also applied to AttentionParams by validate().
Status check_backend_layout(Backend backend, Layout layout);

}  // namespace encexport
