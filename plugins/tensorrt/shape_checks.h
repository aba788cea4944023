// Checks the plugin's input shapes against its attributes. Used with partially known shapes at build time
// (configurePlugin: -1 marks a dimension that is only known at run time) and with concrete shapes at run
// time (onShapeChange), so a mismatched model fails with a message instead of reading out of bounds.
#pragma once

#include "NvInferRuntime.h"
#include "attention_fields.h"

namespace encexport::trt {

// padded: q, k, v [+ seq_lens [+ attn_bias]]; packed: q, k, v, cu_seqlens.
Status check_input_count(const AttentionAttributes& a, int32_t nb_inputs, int32_t nb_outputs);

// dims[i] is input i's shape; -1 entries are skipped when allow_unknown, rejected otherwise.
Status check_input_shapes(const AttentionAttributes& a, const nvinfer1::Dims* dims, int32_t nb_inputs,
                          bool allow_unknown);

// The output must have q's shape (compares known dims only when allow_unknown).
Status check_output_shape(const nvinfer1::Dims& q, const nvinfer1::Dims& out, bool allow_unknown);

}  // namespace encexport::trt
