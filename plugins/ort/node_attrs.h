// The node's attributes (docs/onnx-contract.md), read once per kernel instance and validated so that a
// malformed node fails at session creation with a message, not at run time.
#pragma once

#include <string>

#include "encexport/params.h"
#include "onnxruntime_cxx_api.h"

namespace encexport::ort {

inline constexpr const char* kPluginVersion = "1";

// Reads and checks every attribute; returns an error naming the attribute and the accepted values.
Status read_node_attributes(const OrtApi& api, const OrtKernelInfo* info, NodeAttributes* out);

// Checks the input tensors against the attributes and fills p (everything except the data pointers' dtype
// handling, which the caller knows) and the output shape. `has_lengths` tells whether input 3 is present.
struct InputShapes {
  std::vector<int64_t> q, k, v, lengths;
  bool has_lengths = false;
};
Status make_params(const NodeAttributes& a, const InputShapes& shapes, AttentionParams* p);

// Builds an OrtStatus from our Status (nullptr on success), mapping to ORT_INVALID_ARGUMENT.
OrtStatus* to_ort_status(const OrtApi& api, const Status& s, OrtErrorCode code = ORT_INVALID_ARGUMENT);

}  // namespace encexport::ort
