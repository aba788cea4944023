// Generated from encexport/contract.py by `python -m encexport.contract_files`; do not edit.
// contract.py sha256 bf12d39341582249d4a930cff46dc48213fcd3a3baeb2f75c3649e34a33938d1
//
// The ONNX contract of encexport::EncoderOnlyAttention as C++ constants. The ONNX Runtime op, the TensorRT
// plugin and the shared attribute validator (plugins/common/node_attributes.cc) take every contract fact from
// here; tests/core/test_contract_doc.py fails when this file differs from what the generator writes, and
// plugins/CMakeLists.txt refuses to configure when the digest above is not contract.py's.
#pragma once

#include <cstdint>

namespace encexport::contract {

inline constexpr char kDomain[] = "encexport";
inline constexpr int32_t kDomainVersion = 1;
inline constexpr char kOpType[] = "EncoderOnlyAttention";
// The contract version: TensorRT's plugin version, and the value of the plugin_version attribute.
inline constexpr char kPluginVersion[] = "1";
inline constexpr char kPluginNamespace[] = "";

inline constexpr int32_t kMaxNumHeads = 65536;
inline constexpr int32_t kMaxHeadSize = 256;

// The ONNX attribute types the contract uses.
enum class AttributeType : int32_t { kInt, kFloat, kString };

// Where an optional attribute's value comes from when the node omits it.
enum class DefaultRule : int32_t {
  kNone,                 // required attribute: no default
  kValue,                // default_int (INT) or default_string (STRING)
  kNumHeads,             // the value of num_heads
  kInverseSqrtHeadSize,  // 1/sqrt(head_size)
};

struct AttributeSpec {
  const char* name;
  AttributeType type;
  bool required;
  DefaultRule default_rule;
  int64_t default_int;
  const char* default_string;
};

// The attributes in contract order; an Attribute is an index into kAttributes.
enum class Attribute : int32_t {
  kNumHeads = 0,
  kNumKvHeads = 1,
  kHeadSize = 2,
  kScale = 3,
  kCausal = 4,
  kBackend = 5,
  kLayout = 6,
  kPluginVersion = 7,
  kPluginNamespace = 8
};
inline constexpr int32_t kAttributeCount = 9;
inline constexpr AttributeSpec kAttributes[kAttributeCount] = {
    {"num_heads", AttributeType::kInt, /*required=*/true, DefaultRule::kNone, 0, nullptr},
    {"num_kv_heads", AttributeType::kInt, /*required=*/false, DefaultRule::kNumHeads, 0, nullptr},
    {"head_size", AttributeType::kInt, /*required=*/true, DefaultRule::kNone, 0, nullptr},
    {"scale", AttributeType::kFloat, /*required=*/false, DefaultRule::kInverseSqrtHeadSize, 0, nullptr},
    {"causal", AttributeType::kInt, /*required=*/false, DefaultRule::kValue, 0, nullptr},
    {"backend", AttributeType::kString, /*required=*/false, DefaultRule::kValue, 0, "auto"},
    {"layout", AttributeType::kString, /*required=*/false, DefaultRule::kValue, 0, "padded"},
    {"plugin_version", AttributeType::kString, /*required=*/false, DefaultRule::kValue, 0, "1"},
    {"plugin_namespace", AttributeType::kString, /*required=*/false, DefaultRule::kValue, 0, ""},
};
inline constexpr const AttributeSpec& spec(Attribute a) { return kAttributes[static_cast<int32_t>(a)]; }

// Accepted values of the backend and layout attributes. Name i is the encexport::Backend / encexport::Layout
// enumerator of value i (params.h).
inline constexpr int32_t kBackendCount = 5;
inline constexpr const char* kBackendNames[kBackendCount] = {"auto", "reference", "flash", "cudnn", "hopper"};
inline constexpr char kBackendList[] = "auto, reference, flash, cudnn, hopper";
inline constexpr int32_t kLayoutCount = 2;
inline constexpr const char* kLayoutNames[kLayoutCount] = {"padded", "packed"};
inline constexpr char kLayoutList[] = "padded, packed";

// The node's inputs in order (docs/onnx-contract.md); all but the first are optional.
inline constexpr int32_t kInputCount = 5;
inline constexpr const char* kInputNames[kInputCount] = {"query", "key", "value", "lengths", "attn_bias"};
// The optional additive attention bias: its input index and rank ([B or 1, H or 1, S, S]).
inline constexpr int32_t kBiasInput = 4;
inline constexpr int32_t kBiasRank = 4;
// The CUDA op's checked mode: this environment variable set to 1 checks device lengths before each launch.
inline constexpr char kCheckedLengthsEnv[] = "ENCEXPORT_CHECKED_LENGTHS";

}  // namespace encexport::contract
