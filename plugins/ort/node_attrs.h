// The node's attributes (docs/onnx-contract.md), read once per kernel instance and validated so that a
// malformed node fails at session creation with a message, not at run time.
#pragma once

#include <string>

#include "encexport/params.h"
#include "onnxruntime_cxx_api.h"

namespace encexport::ort {

// Reads every contract attribute (refusing a value of the wrong ONNX type) and validates them with the shared
// validator (encexport/node_attributes.h); returns an error naming the attribute and the fix.
Status read_node_attributes(const OrtApi& api, const OrtKernelInfo* info, NodeAttributes* out);

// Checks the input tensors against the attributes and fills p (everything except the data pointers, which
// the caller binds). has_* tell which optional inputs are present: key and value are both absent in the packed
// q|k|v form, where query's rows hold q | k | v (docs/onnx-contract.md) and the kernels read them in place.
struct InputShapes {
  std::vector<int64_t> q, k, v, lengths, bias;
  bool has_key = true, has_value = true;
  bool has_lengths = false;
  bool has_bias = false;  // input 4, attn_bias
  bool packed_qkv() const { return !has_key && !has_value; }
};
Status make_params(const NodeAttributes& a, const InputShapes& shapes, AttentionParams* p);

// Element offsets of k and v inside one packed q|k|v row: [q: H*D | k: Hkv*D | v: Hkv*D].
inline int64_t packed_key_offset(const NodeAttributes& a) { return int64_t{a.num_heads} * a.head_size; }
inline int64_t packed_value_offset(const NodeAttributes& a) {
  return (int64_t{a.num_heads} + a.num_kv_heads) * a.head_size;
}

// Builds an OrtStatus from our Status (nullptr on success), mapping to ORT_INVALID_ARGUMENT.
OrtStatus* to_ort_status(const OrtApi& api, const Status& s, OrtErrorCode code = ORT_INVALID_ARGUMENT);

}  // namespace encexport::ort
