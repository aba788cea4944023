// The call sequence TensorRT runs for one plugin node, from parse to execution-context teardown, on a
// set of node configurations. Each step checks what TensorRT itself would reject.
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "encexport/contract.h"
#include "expr_builder.h"
#include "harness.h"
#include "shapes.h"

namespace harness {
namespace {

using nvinfer1::DataType;
using nvinfer1::DynamicPluginTensorDesc;
using nvinfer1::PluginTensorDesc;
using nvinfer1::TensorFormat;
using nvinfer1::TensorRTPhase;

constexpr int32_t kNbDataTypes = 12;    // kFLOAT .. kE8M0
constexpr int32_t kNbTensorFormats = 13;  // kLINEAR .. kDHWC

std::vector<NodeConfig> lifecycle_configs() {
  std::vector<NodeConfig> c(13);
  c[0].name = "bert_base_padded_lens";
  c[1].name = "padded_no_lens", c[1].with_lengths = false;
  c[2].name = "packed", c[2].layout = "packed";
  c[3].name = "gqa_packed", c[3].layout = "packed", c[3].num_heads = 8, c[3].num_kv_heads = 2, c[3].head_size = 128;
  c[4].name = "mqa_padded", c[4].num_heads = 16, c[4].num_kv_heads = 1, c[4].head_size = 32;
  c[5].name = "reference_fp32", c[5].backend = "reference";
  c[6].name = "flash", c[6].backend = "flash", c[6].scale = 0.125f;
  c[7].name = "head_size_256", c[7].num_heads = 2, c[7].num_kv_heads = 2, c[7].head_size = 256;
  c[8].name = "vit_small_no_lens", c[8].num_heads = 6, c[8].num_kv_heads = 6, c[8].with_lengths = false;
  c[9].name = "explicit_scale_packed", c[9].layout = "packed", c[9].scale = 0.3f;
  // The attn_bias input (5 inputs) in three of its broadcast forms.
  c[10].name = "bias_per_sequence_and_head", c[10].with_bias = true;
  c[11].name = "bias_shared_by_the_batch", c[11].with_bias = true, c[11].bias_per_batch = false, c[11].num_heads = 8,
  c[11].num_kv_heads = 2, c[11].backend = "reference";
  c[12].name = "bias_shared_by_batch_and_heads", c[12].with_bias = true, c[12].bias_per_batch = false,
  c[12].bias_per_head = false, c[12].backend = "flash";
  return c;
}

std::vector<DataType> expected_activation_types(const NodeConfig& c) {
  std::vector<DataType> t = {DataType::kHALF, DataType::kBF16};
  if (c.backend == "reference") t.push_back(DataType::kFLOAT);
  return t;
}

using Combination = std::vector<std::pair<int32_t, int32_t>>;  // (type, format) per position

// TensorRT's format negotiation: position by position, earlier positions fixed to accepted values, later
// positions not chosen yet. They hold garbage here, twice with different garbage: the answer must not change.
void enumerate_formats(nvinfer1::IPluginV3OneBuild* build, std::vector<DynamicPluginTensorDesc>& io, int32_t nb_in,
                       int32_t pos, Combination& partial, std::set<Combination>& accepted, int64_t* queries,
                       bool* read_garbage) {
  const int32_t n = static_cast<int32_t>(io.size());
  if (pos == n) {
    accepted.insert(partial);
    return;
  }
  for (int32_t t = 0; t < kNbDataTypes; ++t) {
    for (int32_t f = 0; f < kNbTensorFormats; ++f) {
      io[pos].desc.type = static_cast<DataType>(t);
      io[pos].desc.format = static_cast<TensorFormat>(f);
      bool answers[2];
      for (int g = 0; g < 2; ++g) {
        for (int32_t later = pos + 1; later < n; ++later) {
          io[later].desc.type = static_cast<DataType>(g ? 0x5a : 1);
          io[later].desc.format = static_cast<TensorFormat>(g ? 0x6b : 0);
          io[later].desc.dims.nbDims = g ? -7 : 3;
        }
        answers[g] = build->supportsFormatCombination(pos, io.data(), nb_in, n - nb_in);
        ++*queries;
      }
      if (answers[0] != answers[1]) *read_garbage = true;
      if (!answers[0]) continue;
      partial.emplace_back(t, f);
      enumerate_formats(build, io, nb_in, pos + 1, partial, accepted, queries, read_garbage);
      partial.pop_back();
    }
  }
}

std::set<Combination> expected_combinations(const NodeConfig& c) {
  std::set<Combination> s;
  const auto linear = static_cast<int32_t>(TensorFormat::kLINEAR);
  for (DataType t : expected_activation_types(c)) {
    Combination combo(3, {static_cast<int32_t>(t), linear});
    if (c.nb_inputs() >= 4) combo.emplace_back(static_cast<int32_t>(DataType::kINT32), linear);
    if (c.nb_inputs() == 5) combo.emplace_back(static_cast<int32_t>(t), linear);  // attn_bias follows q
    combo.emplace_back(static_cast<int32_t>(t), linear);  // the output
    s.insert(combo);
  }
  return s;
}

void check_output_shapes(Context& ctx, const NodeConfig& c, nvinfer1::IPluginV3OneBuild* build) {
  const std::string sec = "lifecycle/" + c.name;
  ExprBuilder eb;
  std::vector<nvinfer1::DimsExprs> in = symbolic_input_shapes(c, eb);
  nvinfer1::DimsExprs out[1];
  out[0].nbDims = -1;
  const int32_t rc = build->getOutputShapes(in.data(), c.nb_inputs(), nullptr, 0, out, 1, eb);
  if (!ctx.tally->expect(rc == 0, sec, "getOutputShapes returned " + std::to_string(rc))) return;
  if (!ctx.tally->expect(out[0].nbDims == c.rank(), sec, "output rank")) return;
  for (const auto& env : sample_bindings(c)) {
    bool same = true;
    for (int32_t d = 0; d < c.rank(); ++d) {
      auto got = eb.evaluate(out[0].d[d], env), want = eb.evaluate(in[0].d[d], env);
      same = same && got && want && *got == *want;
    }
    ctx.tally->expect(same, sec, "output shape expressions must equal q's for every binding");
  }
  // A q whose last dimension is a wrong constant is refused at network construction.
  ExprBuilder eb2;
  std::vector<nvinfer1::DimsExprs> bad = symbolic_input_shapes(c, eb2);
  bad[0].d[c.rank() - 1] = eb2.make_constant(int64_t{c.num_heads} * c.head_size + 1);
  const int64_t errors = ctx.logger->errors();
  ctx.tally->expect(build->getOutputShapes(bad.data(), c.nb_inputs(), nullptr, 0, out, 1, eb2) != 0 &&
                        ctx.logger->errors() > errors,
                    sec, "getOutputShapes must reject a constant q width != num_heads*head_size");
  if (c.with_bias) {
    // attn_bias with input 3 left empty (a tensor of no dimensions): refused, naming the fix.
    ExprBuilder eb4;
    std::vector<nvinfer1::DimsExprs> no_lengths = symbolic_input_shapes(c, eb4);
    no_lengths[3].nbDims = 0;
    const int64_t before = ctx.logger->errors();
    ctx.tally->expect(build->getOutputShapes(no_lengths.data(), c.nb_inputs(), nullptr, 0, out, 1, eb4) != 0 &&
                          ctx.logger->errors() > before &&
                          ctx.logger->last_error().find("needs seq_lens") != std::string::npos,
                      sec, "getOutputShapes must refuse attn_bias without seq_lens, naming the fix; got: " +
                               ctx.logger->last_error());
    return;  // the packed q|k|v form below is checked on the nodes without a bias
  }
  // ONNX Runtime's packed q|k|v node (key and value empty) arrives as q [.., (H+2*Hkv)*D] and the lengths
  // only: refused at network construction with the fix (build from the export).
  // key/value dropped from the input list, or passed as tensors of no dimensions / no rank.
  for (const std::optional<int32_t> key_value_rank : {std::optional<int32_t>{}, std::optional<int32_t>{0},
                                                      std::optional<int32_t>{-1}}) {
    ExprBuilder eb3;
    std::vector<nvinfer1::DimsExprs> qkv = symbolic_input_shapes(c, eb3);
    qkv[0].d[c.rank() - 1] = eb3.make_constant(int64_t{c.num_heads + 2 * c.num_kv_heads} * c.head_size);
    if (key_value_rank) {
      qkv[1].nbDims = qkv[2].nbDims = *key_value_rank;
    } else {
      qkv.erase(qkv.begin() + 1, qkv.begin() + 3);
    }
    const int64_t before = ctx.logger->errors();
    const int32_t rc = build->getOutputShapes(qkv.data(), static_cast<int32_t>(qkv.size()), nullptr, 0, out, 1, eb3);
    ctx.tally->expect(rc != 0 && ctx.logger->errors() > before &&
                          ctx.logger->last_error().find("ONNX Runtime only") != std::string::npos,
                      sec, "getOutputShapes must refuse the packed q|k|v form, naming the fix; got: " +
                               ctx.logger->last_error());
  }
}

void check_build_phase(Context& ctx, const NodeConfig& c, nvinfer1::IPluginV3* plugin, const Capabilities& caps) {
  const std::string sec = "lifecycle/" + c.name;
  Tally& t = *ctx.tally;
  auto* build = caps.build;
  t.expect(build->getNbOutputs() == 1, sec, "getNbOutputs == 1");

  // getOutputDataTypes: strongly typed, the output follows q.
  for (DataType q : {DataType::kHALF, DataType::kBF16, DataType::kFLOAT, DataType::kINT8}) {
    std::vector<DataType> in(c.nb_inputs(), q);
    if (c.nb_inputs() >= 4) in[3] = DataType::kINT32;
    DataType out = DataType::kBOOL;
    const int64_t errors = ctx.logger->errors();
    const int32_t rc = build->getOutputDataTypes(&out, 1, in.data(), c.nb_inputs());
    const auto supported = expected_activation_types(c);
    const bool ok_type = std::find(supported.begin(), supported.end(), q) != supported.end();
    if (ok_type)
      t.expect(rc == 0 && out == q, sec, "getOutputDataTypes(type " + std::to_string(int(q)) + ") == q's type");
    else
      t.expect(rc != 0 && ctx.logger->errors() > errors, sec,
               "getOutputDataTypes must refuse q type " + std::to_string(int(q)) + " with a message");
  }

  check_output_shapes(ctx, c, build);

  // Format negotiation.
  std::vector<DynamicPluginTensorDesc> io = dynamic_descs(c, DataType::kHALF);
  std::set<Combination> accepted;
  Combination partial;
  int64_t queries = 0;
  bool read_garbage = false;
  enumerate_formats(build, io, c.nb_inputs(), 0, partial, accepted, &queries, &read_garbage);
  t.count("supportsFormatCombination queries", queries);
  t.expect(!read_garbage, sec, "supportsFormatCombination read a position that is not chosen yet");
  t.expect(accepted == expected_combinations(c), sec,
           "accepted format combinations: got " + std::to_string(accepted.size()) + ", want " +
               std::to_string(expected_combinations(c).size()));

  // configurePlugin per accepted combination, with the profile's min/opt/max; then the workspace query.
  for (const Combination& combo : accepted) {
    std::vector<DynamicPluginTensorDesc> descs = dynamic_descs(c, static_cast<DataType>(combo[0].first));
    const int32_t rc = build->configurePlugin(descs.data(), c.nb_inputs(), descs.data() + c.nb_inputs(), 1);
    t.expect(rc == 0, sec, "configurePlugin(type " + std::to_string(combo[0].first) + ") returned " + std::to_string(rc));
    t.expect(build->getWorkspaceSize(descs.data(), c.nb_inputs(), descs.data() + c.nb_inputs(), 1) == 0, sec,
             "getWorkspaceSize == 0");
  }
  t.expect(build->getTimingCacheID() != nullptr, sec, "getTimingCacheID");
  // Profiles that break the contract are refused with a message.
  for (const auto& [what, mutate] : bad_profile_mutations(c)) {
    std::vector<DynamicPluginTensorDesc> descs = dynamic_descs(c, DataType::kHALF);
    mutate(descs);
    const int64_t errors = ctx.logger->errors();
    const int32_t rc = build->configurePlugin(descs.data(), c.nb_inputs(), descs.data() + c.nb_inputs(), 1);
    t.expect(rc != 0 && ctx.logger->errors() > errors, sec, "configurePlugin must refuse: " + what);
  }
  (void)plugin;
}

}  // namespace

void run_lifecycle(Context& ctx) {
  Tally& t = *ctx.tally;
  const nvinfer1::PluginFieldCollection* advertised = ctx.creator->getFieldNames();
  t.expect(advertised != nullptr && advertised->nbFields > 0, "creator", "getFieldNames advertises fields");
  namespace contract = encexport::contract;
  t.expect(std::strcmp(ctx.creator->getPluginName(), contract::kOpType) == 0 &&
               std::strcmp(ctx.creator->getPluginVersion(), contract::kPluginVersion) == 0 &&
               std::strcmp(ctx.creator->getPluginNamespace(), contract::kPluginNamespace) == 0,
           "creator", std::string("name/version/namespace = the contract's ") + contract::kOpType + "/" +
                          contract::kPluginVersion + "/\"" + contract::kPluginNamespace + "\"");

  for (const NodeConfig& c : lifecycle_configs()) {
    const std::string sec = "lifecycle/" + c.name;
    FieldSet fields = as_parser_sends(node_attributes(c), advertised);
    int64_t errors = 0;
    PluginPtr plugin = create(ctx, c.name.c_str(), fields, TensorRTPhase::kBUILD, &errors);
    if (!t.expect(plugin != nullptr && errors == 0, sec, "createPlugin(kBUILD) " + fields.describe() +
                                                             " last error: " + ctx.logger->last_error()))
      continue;
    Capabilities caps = capabilities_of(plugin.get());
    if (!t.expect(caps.core && caps.build && caps.runtime, sec, "build-phase plugin exposes CORE, BUILD, RUNTIME"))
      continue;
    t.expect(std::strcmp(caps.core->getPluginName(), ctx.creator->getPluginName()) == 0 &&
                 std::strcmp(caps.core->getPluginVersion(), ctx.creator->getPluginVersion()) == 0 &&
                 std::strcmp(caps.core->getPluginNamespace(), ctx.creator->getPluginNamespace()) == 0,
             sec, "core name/version/namespace match the creator");
    t.expect(std::strcmp(plugin->getInterfaceInfo().kind, "PLUGIN") == 0, sec, "IPluginV3 interface kind");

    check_build_phase(ctx, c, plugin.get(), caps);

    // Engine serialization: the fields are copied out; the build plugin may then go away.
    FieldSet saved = FieldSet::copy_of(caps.runtime->getFieldsToSerialize());
    bool has_version = false;
    for (auto& f : saved.fields()) has_version = has_version || f.name == "serialization_version";
    t.expect(has_version, sec, "serialized fields carry serialization_version");
    PluginPtr cloned(plugin->clone());
    t.expect(cloned && FieldSet::copy_of(capabilities_of(cloned.get()).runtime->getFieldsToSerialize()) == saved, sec,
             "clone() serializes identically");
    plugin.reset();  // the builder releases its plugin after serialization

    // Engine deserialization and execution-context creation.
    PluginPtr runtime = create(ctx, c.name.c_str(), saved, TensorRTPhase::kRUNTIME, &errors);
    if (!t.expect(runtime != nullptr && errors == 0, sec, "createPlugin(kRUNTIME) from serialized fields")) continue;
    Capabilities rcaps = capabilities_of(runtime.get());
    if (!t.expect(rcaps.core && rcaps.runtime, sec, "runtime plugin exposes CORE and RUNTIME")) continue;
    t.expect(FieldSet::copy_of(rcaps.runtime->getFieldsToSerialize()) == saved, sec, "re-serialization is stable");
    ResourceContext resources;
    PluginPtr attached(rcaps.runtime->attachToContext(&resources));
    if (!t.expect(attached && attached.get() != runtime.get(), sec, "attachToContext returns a new full copy")) continue;
    Capabilities acaps = capabilities_of(attached.get());
    runtime.reset();  // the context's copy must not depend on the engine's plugin
    if (!t.expect(acaps.core && acaps.runtime, sec, "attached copy exposes CORE and RUNTIME")) continue;
    t.expect(FieldSet::copy_of(acaps.runtime->getFieldsToSerialize()) == saved, sec, "attached copy has the same fields");

    for (const auto& env : sample_bindings(c)) {
      for (DataType type : expected_activation_types(c)) {
        std::vector<PluginTensorDesc> descs = concrete_descs(c, type, env);
        const int32_t rc = acaps.runtime->onShapeChange(descs.data(), c.nb_inputs(), descs.data() + c.nb_inputs(), 1);
        t.expect(rc == 0, sec, "onShapeChange returned " + std::to_string(rc) + ": " + ctx.logger->last_error());
      }
    }
    std::vector<PluginTensorDesc> bad = concrete_descs(c, DataType::kHALF, sample_bindings(c)[0]);
    bad[1].dims.d[c.rank() - 1] += 1;
    const int64_t before = ctx.logger->errors();
    t.expect(acaps.runtime->onShapeChange(bad.data(), c.nb_inputs(), bad.data() + c.nb_inputs(), 1) != 0 &&
                 ctx.logger->errors() > before,
             sec, "onShapeChange must refuse a k width != num_kv_heads*head_size");
    t.count("lifecycle configs");
  }

  // A packed node given an attn_bias (5 inputs) is refused at network construction with the fix.
  NodeConfig packed;
  packed.name = "packed_with_bias", packed.layout = "packed";
  FieldSet fields = as_parser_sends(node_attributes(packed), advertised);
  PluginPtr plugin = create(ctx, packed.name.c_str(), fields, TensorRTPhase::kBUILD);
  if (t.expect(plugin != nullptr, "bias/packed_refused", "createPlugin(kBUILD)")) {
    ExprBuilder eb;
    std::vector<nvinfer1::DimsExprs> in = symbolic_input_shapes(packed, eb);
    in.push_back(in[0]);
    in.back().nbDims = 4;
    for (int32_t d = 0; d < 4; ++d) in.back().d[d] = eb.make_constant(d < 2 ? 1 : 8);
    nvinfer1::DimsExprs out[1];
    const int64_t before = ctx.logger->errors();
    const int32_t rc =
        capabilities_of(plugin.get()).build->getOutputShapes(in.data(), 5, nullptr, 0, out, 1, eb);
    t.expect(rc != 0 && ctx.logger->errors() > before &&
                 ctx.logger->last_error().find("packed layout, which takes no bias") != std::string::npos,
             "bias/packed_refused", "getOutputShapes must refuse attn_bias on a packed node; got: " +
                                               ctx.logger->last_error());
  }
}

}  // namespace harness
