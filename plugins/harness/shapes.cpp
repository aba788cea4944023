#include "shapes.h"

namespace harness {
namespace {

using nvinfer1::DataType;
using nvinfer1::Dims;
using nvinfer1::DynamicPluginTensorDesc;
using nvinfer1::PluginTensorDesc;
using nvinfer1::TensorFormat;

Dims make_dims(std::initializer_list<int64_t> v) {
  Dims d{};
  d.nbDims = static_cast<int32_t>(v.size());
  int32_t i = 0;
  for (int64_t x : v) d.d[i++] = x;
  return d;
}

int64_t width(const NodeConfig& c, int32_t index) {
  return int64_t{index == 1 || index == 2 ? c.num_kv_heads : c.num_heads} * c.head_size;
}

// Build-time dims: -1 where the profile decides (batch, sequence, tokens).
Dims unknown_dims(const NodeConfig& c, int32_t index) {
  if (index == 3) return make_dims({-1});
  if (index == 4) return make_dims({c.bias_per_batch ? -1 : 1, c.bias_per_head ? c.num_heads : 1, -1, -1});
  return c.layout == "packed" ? make_dims({-1, width(c, index)}) : make_dims({-1, -1, width(c, index)});
}

}  // namespace

Dims concrete_dims(const NodeConfig& c, int32_t index, const Bindings& b) {
  const bool packed = c.layout == "packed";
  if (index == 3) return make_dims({packed ? b.at("B") + 1 : b.at("B")});
  if (index == 4)
    return make_dims({c.bias_per_batch ? b.at("B") : 1, c.bias_per_head ? c.num_heads : 1, b.at("S"), b.at("S")});
  return packed ? make_dims({b.at("T"), width(c, index)}) : make_dims({b.at("B"), b.at("S"), width(c, index)});
}

std::vector<nvinfer1::DimsExprs> symbolic_input_shapes(const NodeConfig& c, ExprBuilder& eb) {
  std::vector<nvinfer1::DimsExprs> in(c.nb_inputs());
  const bool packed = c.layout == "packed";
  const auto* B = eb.symbol("B");
  for (int32_t i = 0; i < 3; ++i) {
    in[i].nbDims = c.rank();
    if (packed) {
      in[i].d[0] = eb.symbol("T");
    } else {
      in[i].d[0] = B;
      in[i].d[1] = eb.symbol("S");
    }
    in[i].d[c.rank() - 1] = eb.make_constant(width(c, i));
  }
  if (c.nb_inputs() >= 4) {
    in[3].nbDims = 1;
    in[3].d[0] = packed ? eb.operation(nvinfer1::DimensionOperation::kSUM, *B, *eb.make_constant(1)) : B;
  }
  if (c.nb_inputs() == 5) {
    in[4].nbDims = 4;
    in[4].d[0] = c.bias_per_batch ? B : eb.make_constant(1);
    in[4].d[1] = eb.make_constant(c.bias_per_head ? c.num_heads : 1);
    in[4].d[2] = in[4].d[3] = packed ? eb.symbol("T") : eb.symbol("S");
  }
  return in;
}

std::vector<Bindings> sample_bindings(const NodeConfig& c) {
  if (c.layout == "packed") return {{{"T", 1}, {"B", 1}}, {{"T", 300}, {"B", 4}}, {{"T", 4096}, {"B", 32}}};
  return {{{"B", 1}, {"S", 1}}, {{"B", 2}, {"S", 128}}, {{"B", 8}, {"S", 512}}};
}

std::vector<DynamicPluginTensorDesc> dynamic_descs(const NodeConfig& c, DataType type) {
  const bool packed = c.layout == "packed";
  const Bindings min = packed ? Bindings{{"T", 1}, {"B", 1}} : Bindings{{"B", 1}, {"S", 1}};
  const Bindings opt = packed ? Bindings{{"T", 512}, {"B", 4}} : Bindings{{"B", 4}, {"S", 128}};
  const Bindings max = packed ? Bindings{{"T", 8192}, {"B", 64}} : Bindings{{"B", 16}, {"S", 512}};
  std::vector<DynamicPluginTensorDesc> d(c.nb_inputs() + 1);
  for (int32_t i = 0; i <= c.nb_inputs(); ++i) {
    const int32_t shape_of = i == c.nb_inputs() ? 0 : i;  // the output has q's shape
    d[i].desc.dims = unknown_dims(c, shape_of);
    d[i].desc.type = shape_of == 3 ? DataType::kINT32 : type;
    d[i].desc.format = TensorFormat::kLINEAR;
    d[i].desc.scale = -1.f;
    d[i].min = concrete_dims(c, shape_of, min);
    d[i].opt = concrete_dims(c, shape_of, opt);
    d[i].max = concrete_dims(c, shape_of, max);
  }
  return d;
}

std::vector<PluginTensorDesc> concrete_descs(const NodeConfig& c, DataType type, const Bindings& b) {
  std::vector<PluginTensorDesc> d(c.nb_inputs() + 1);
  for (int32_t i = 0; i <= c.nb_inputs(); ++i) {
    const int32_t shape_of = i == c.nb_inputs() ? 0 : i;
    d[i].dims = concrete_dims(c, shape_of, b);
    d[i].type = shape_of == 3 ? DataType::kINT32 : type;
    d[i].format = TensorFormat::kLINEAR;
    d[i].scale = -1.f;
  }
  return d;
}

std::vector<std::pair<std::string, ProfileMutation>> bad_profile_mutations(const NodeConfig& c) {
  const int32_t last = c.rank() - 1;
  const int32_t out = c.nb_inputs();
  std::vector<std::pair<std::string, ProfileMutation>> m = {
      {"q width != num_heads*head_size",
       [=](auto& d) {
         for (Dims* x : {&d[0].desc.dims, &d[0].min, &d[0].opt, &d[0].max}) x->d[last] += 8;
       }},
      {"k width != num_kv_heads*head_size", [=](auto& d) { d[1].max.d[last] += 1; }},
      {"v has the wrong rank", [=](auto& d) { d[2].desc.dims.nbDims = c.rank() + 1; }},
      {"k has more rows than q", [=](auto& d) { d[1].max.d[0] += 1; }},
      {"output type differs from q", [=](auto& d) { d[out].desc.type = DataType::kBF16; }},
      {"output not linear", [=](auto& d) { d[out].desc.format = TensorFormat::kCHW32; }},
      {"output shape differs from q", [=](auto& d) { d[out].opt.d[0] += 1; }},
  };
  if (c.nb_inputs() >= 4) {
    m.push_back({"lengths not int32", [](auto& d) { d[3].desc.type = DataType::kFLOAT; }});
    m.push_back({"lengths not rank 1", [](auto& d) { d[3].desc.dims.nbDims = 2; }});
  }
  if (c.layout == "padded" && c.nb_inputs() >= 4)
    m.push_back({"seq_lens batch != q batch", [](auto& d) { d[3].max.d[0] += 1; }});
  if (c.nb_inputs() == 5) {
    const int64_t heads = c.num_heads;
    m.push_back({"attn_bias type differs from q", [](auto& d) { d[4].desc.type = DataType::kFLOAT; }});
    m.push_back({"attn_bias not rank 4", [](auto& d) { d[4].desc.dims.nbDims = 3; }});
    m.push_back({"attn_bias heads neither num_heads nor 1", [=](auto& d) {
                   for (Dims* x : {&d[4].desc.dims, &d[4].min, &d[4].opt, &d[4].max}) x->d[1] = heads + 1;
                 }});
    m.push_back({"attn_bias keys != S", [](auto& d) { d[4].max.d[3] += 1; }});
    m.push_back({"attn_bias batch neither B nor 1", [](auto& d) { d[4].max.d[0] = d[0].max.d[0] + 1; }});
  }
  return m;
}

}  // namespace harness
