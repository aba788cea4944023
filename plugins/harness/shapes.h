// Tensor shapes for one node as TensorRT would present them: symbolic (getOutputShapes), partially known
// with a min/opt/max profile (configurePlugin), and concrete (onShapeChange/enqueue).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "expr_builder.h"
#include "harness.h"

namespace harness {

using Bindings = std::map<std::string, int64_t>;  // symbol -> value: padded {B, S}, packed {T, B}

std::vector<nvinfer1::DimsExprs> symbolic_input_shapes(const NodeConfig& c, ExprBuilder& eb);
std::vector<Bindings> sample_bindings(const NodeConfig& c);
// Inputs then the output; lengths/cu_seqlens are kINT32, the rest `type`.
std::vector<nvinfer1::DynamicPluginTensorDesc> dynamic_descs(const NodeConfig& c, nvinfer1::DataType type);
std::vector<nvinfer1::PluginTensorDesc> concrete_descs(const NodeConfig& c, nvinfer1::DataType type, const Bindings& b);
nvinfer1::Dims concrete_dims(const NodeConfig& c, int32_t index, const Bindings& b);

using ProfileMutation = std::function<void(std::vector<nvinfer1::DynamicPluginTensorDesc>&)>;
std::vector<std::pair<std::string, ProfileMutation>> bad_profile_mutations(const NodeConfig& c);

}  // namespace harness
