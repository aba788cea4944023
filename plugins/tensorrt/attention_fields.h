// The plugin's fields: the names and types the creator advertises (the contract's attributes, from
// encexport/contract.h), how a PluginFieldCollection is read (both the ONNX parser's build-time fields and the
// fields TensorRT hands back when it deserializes an engine) before the shared validator
// (encexport/node_attributes.h) checks them, and how the attributes are written back out by
// getFieldsToSerialize(). Serialization replays the same named fields plus a format version, so there is no
// hand-packed byte layout to keep in sync.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "NvInferRuntime.h"
#include "encexport/contract.h"
#include "encexport/params.h"

namespace encexport::trt {

// TensorRT finds the plugin by the node's op_type, plugin_version and plugin_namespace: the contract's.
inline constexpr const char* kPluginName = contract::kOpType;
inline constexpr const char* kPluginVersion = contract::kPluginVersion;
inline constexpr const char* kPluginNamespace = contract::kPluginNamespace;

// Version of the serialized field set. Bump it when a field's meaning changes; engines carrying another
// version are rejected at deserialization with a message asking for a rebuild.
inline constexpr int32_t kSerializationVersion = 1;
inline constexpr const char* kSerializationVersionField = "serialization_version";

inline constexpr int32_t kMaxStringField = 64;  // longer kCHAR fields are malformed, not names we know

using AttentionAttributes = NodeAttributes;  // the contract's attributes, shared with the ORT op

// The names getFieldNames() advertises: the contract's attributes (contract.h). The parser forwards only these.
const nvinfer1::PluginFieldCollection* advertised_fields();

// Reads fields matched by name and validates them with the shared validator (encexport/node_attributes.h).
// kBUILD: the ONNX attributes (the contract's required ones, the rest defaulted). kRUNTIME: the fields
// getFieldsToSerialize() wrote, all required, with serialization_version == kSerializationVersion. Never
// throws; the message names the field and the fix.
Status parse_attributes(const nvinfer1::PluginFieldCollection* fc, nvinfer1::TensorRTPhase phase,
                        AttentionAttributes* out);

// Owns the storage behind the PluginField pointers returned by getFieldsToSerialize().
class SerializedFields {
 public:
  const nvinfer1::PluginFieldCollection* build(const AttentionAttributes& a);

 private:
  int32_t num_heads_ = 0, num_kv_heads_ = 0, head_size_ = 0, causal_ = 0, version_ = kSerializationVersion;
  float scale_ = 0.f;
  std::string backend_, layout_;
  std::vector<nvinfer1::PluginField> fields_;
  nvinfer1::PluginFieldCollection collection_{};
};

}  // namespace encexport::trt
