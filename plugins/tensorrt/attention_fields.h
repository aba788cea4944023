// The plugin's attribute schema, written once: the field names the creator advertises, how a
// PluginFieldCollection is parsed into AttentionAttributes (both the ONNX parser's build-time fields and
// the fields TensorRT hands back when it deserializes an engine), and how the attributes are written back
// out by getFieldsToSerialize(). Serialization replays the same named fields plus a format version, so
// there is no hand-packed byte layout to keep in sync.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "NvInferRuntime.h"
#include "encexport/params.h"

namespace encexport::trt {

inline constexpr const char* kPluginName = "EncoderOnlyAttention";
inline constexpr const char* kPluginVersion = "1";
inline constexpr const char* kPluginNamespace = "";

// Version of the serialized field set. Bump it when a field's meaning changes; engines carrying another
// version are rejected at deserialization with a message asking for a rebuild.
inline constexpr int32_t kSerializationVersion = 1;
inline constexpr const char* kSerializationVersionField = "serialization_version";

inline constexpr int32_t kMaxNumHeads = 1 << 16;  // same bound as the ONNX Runtime op
inline constexpr int32_t kMaxStringField = 64;     // longer kCHAR fields are malformed, not names we know

using AttentionAttributes = NodeAttributes;  // the contract's attributes, shared with the ORT op

// The names getFieldNames() advertises: the ONNX node's attributes. The parser forwards only these.
const nvinfer1::PluginFieldCollection* advertised_fields();

// Parses and range-checks fields matched by name. kBUILD: the ONNX attributes (num_heads and head_size
// required, the rest defaulted). kRUNTIME: the fields getFieldsToSerialize() wrote, all required, with
// serialization_version == kSerializationVersion. Never throws; the message names the field and the fix.
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
