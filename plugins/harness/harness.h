// Shared pieces of the harness scenarios: the node configuration, the fields an exported model carries,
// and access to a plugin's capability interfaces.
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "NvInferRuntime.h"
#include "check.h"
#include "contract_judge.h"
#include "fake_tensorrt.h"
#include "field_set.h"

namespace harness {

// One EncoderOnlyAttention node (its ONNX attributes) plus which optional inputs are wired: lengths, and the
// attn_bias [B|1, H|1, S, S] (input 4; TensorRT receives it after seq_lens, so with_bias implies the lengths).
struct NodeConfig {
  std::string name = "mha";
  std::string layout = "padded";
  std::string backend = "auto";
  int32_t num_heads = 12, num_kv_heads = 12, head_size = 64;
  float scale = NAN;  // NaN: attribute omitted (plugin default 1/sqrt(head_size))
  bool with_lengths = true;
  bool with_bias = false;
  bool bias_per_batch = true, bias_per_head = true;  // false: that bias dimension is 1 (broadcast)
  int32_t nb_inputs() const { return with_bias ? 5 : (layout == "packed" || with_lengths) ? 4 : 3; }
  int32_t rank() const { return layout == "packed" ? 2 : 3; }
};

struct Context {
  nvinfer1::IPluginCreatorV3One* creator = nullptr;
  RecordingLogger* logger = nullptr;
  Tally* tally = nullptr;
};

// The node's attributes as the exporter writes them (every attribute present, STRINGs included).
FieldSet node_attributes(const NodeConfig& c);
// What the ONNX parser hands createPlugin: only the names getFieldNames() advertises, in that order,
// INT as kINT32, FLOAT as kFLOAT32, STRING as kCHAR with length strlen+1.
FieldSet as_parser_sends(const FieldSet& attributes, const nvinfer1::PluginFieldCollection* advertised);

struct Capabilities {
  nvinfer1::IPluginV3OneCore* core = nullptr;
  nvinfer1::IPluginV3OneBuild* build = nullptr;
  nvinfer1::IPluginV3OneRuntime* runtime = nullptr;
};
Capabilities capabilities_of(nvinfer1::IPluginV3* plugin);

using PluginPtr = std::unique_ptr<nvinfer1::IPluginV3>;

// Creates a plugin and tells whether the plugin logged an error meanwhile.
PluginPtr create(Context& ctx, const char* node, FieldSet& fields, nvinfer1::TensorRTPhase phase,
                 int64_t* errors_logged = nullptr);

// Scenarios (each returns nothing: results go to ctx.tally).
void run_registration(const std::string& lib_path, Tally& tally);
void run_lifecycle(Context& ctx);
void run_rejections(Context& ctx);
// flaw: kNone, except to show that a judge/plugin disagreement fails the run (contract_judge.h).
void run_fuzz(Context& ctx, int64_t cases, uint64_t seed, JudgeFlaw flaw = JudgeFlaw::kNone);
int run_gpu(Context& ctx, int argc, char** argv);

}  // namespace harness
