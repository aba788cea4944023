#include <cstring>

#include "encexport/contract.h"
#include "harness.h"

namespace harness {

FieldSet node_attributes(const NodeConfig& c) {
  FieldSet f;
  f.i32("num_heads", c.num_heads).i32("num_kv_heads", c.num_kv_heads).i32("head_size", c.head_size);
  if (!std::isnan(c.scale)) f.f32("scale", c.scale);
  f.i32("causal", 0).str("backend", c.backend).str("layout", c.layout);
  f.str("plugin_version", encexport::contract::kPluginVersion).str("plugin_namespace", encexport::contract::kPluginNamespace);
  return f;
}

FieldSet as_parser_sends(const FieldSet& attributes, const nvinfer1::PluginFieldCollection* advertised) {
  FieldSet sent;
  auto& attrs = const_cast<FieldSet&>(attributes).fields();
  for (int32_t i = 0; advertised && i < advertised->nbFields; ++i) {
    const char* name = advertised->fields[i].name;
    for (const FieldSet::Field& a : attrs)
      if (name && a.name == name) sent.add(a);  // a missing attribute is skipped (the parser warns)
  }
  return sent;
}

Capabilities capabilities_of(nvinfer1::IPluginV3* plugin) {
  Capabilities c;
  if (plugin == nullptr) return c;
  c.core = static_cast<nvinfer1::IPluginV3OneCore*>(plugin->getCapabilityInterface(nvinfer1::PluginCapabilityType::kCORE));
  c.build =
      static_cast<nvinfer1::IPluginV3OneBuild*>(plugin->getCapabilityInterface(nvinfer1::PluginCapabilityType::kBUILD));
  c.runtime = static_cast<nvinfer1::IPluginV3OneRuntime*>(
      plugin->getCapabilityInterface(nvinfer1::PluginCapabilityType::kRUNTIME));
  // TensorRT checks the interface kind and version before it uses a capability.
  auto kind_is = [](nvinfer1::IPluginCapability* cap, const char* kind) {
    if (cap == nullptr) return false;
    const nvinfer1::InterfaceInfo info = cap->getInterfaceInfo();
    return info.kind && std::strcmp(info.kind, kind) == 0 && info.major == 1;
  };
  if (!kind_is(c.core, "PLUGIN_V3ONE_CORE")) c.core = nullptr;
  if (!kind_is(c.build, "PLUGIN_V3ONE_BUILD")) c.build = nullptr;
  if (!kind_is(c.runtime, "PLUGIN_V3ONE_RUNTIME")) c.runtime = nullptr;
  return c;
}

PluginPtr create(Context& ctx, const char* node, FieldSet& fields, nvinfer1::TensorRTPhase phase,
                 int64_t* errors_logged) {
  const int64_t before = ctx.logger->errors();
  PluginPtr p(ctx.creator->createPlugin(node, fields.collection(), phase));
  if (errors_logged) *errors_logged = ctx.logger->errors() - before;
  return p;
}

}  // namespace harness
