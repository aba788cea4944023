// Fields a malformed model or a damaged engine could carry. Each must be refused cleanly: createPlugin
// returns nullptr and the plugin logs an error naming the problem. The accepted variants check that the
// tolerated encodings (kINT64, kFLOAT64, kCHAR without NUL, omitted optional attributes) really work.
// The same table checks the fuzz's judge (contract_judge.h): it must call every refused case invalid and
// every accepted one valid, or its verdicts on random sets would mean nothing.
#include <cstring>
#include <functional>
#include <limits>

#include "harness.h"

namespace harness {
namespace {

using nvinfer1::PluginFieldType;
using nvinfer1::TensorRTPhase;

struct Case {
  std::string what;
  FieldSet fields;
  TensorRTPhase phase;
  std::string message;  // substring the logged error must contain; empty = the case must be accepted
};

FieldSet base() { return node_attributes(NodeConfig{}); }

// A valid engine's fields for the default node.
FieldSet serialized(Context& ctx) {
  FieldSet f = base();
  PluginPtr p = create(ctx, "node", f, TensorRTPhase::kBUILD);
  return p ? FieldSet::copy_of(capabilities_of(p.get()).runtime->getFieldsToSerialize()) : FieldSet();
}

FieldSet replaced(FieldSet f, const std::string& name, const std::function<void(FieldSet&)>& add) {
  f.remove(name);
  add(f);
  return f;
}

std::vector<Case> cases(Context& ctx) {
  const auto B = TensorRTPhase::kBUILD;
  const auto R = TensorRTPhase::kRUNTIME;
  std::vector<Case> c;
  auto with = [](const std::string& n, std::function<void(FieldSet&)> add) { return replaced(base(), n, add); };
  c.push_back({"causal=1", with("causal", [](FieldSet& f) { f.i32("causal", 1); }), B, "encoder-only"});
  c.push_back({"num_heads as kFLOAT32", with("num_heads", [](FieldSet& f) { f.f32("num_heads", 12); }), B, "must be an integer"});
  c.push_back({"scale as kINT32", with("scale", [](FieldSet& f) { f.i32("scale", 1); }), B, "must be a float"});
  c.push_back({"backend as kINT32", with("backend", [](FieldSet& f) { f.i32("backend", 0); }), B, "must be a string"});
  c.push_back({"layout as kFLOAT16", with("layout", [](FieldSet& f) { f.raw("layout", PluginFieldType::kFLOAT16, 1, {}); }), B, "must be a string"});
  c.push_back({"unknown field", base().i32("num_head", 12), B, "unknown field 'num_head'"});
  c.push_back({"num_heads not divisible by num_kv_heads", with("num_kv_heads", [](FieldSet& f) { f.i32("num_kv_heads", 5); }), B, "must divide"});
  c.push_back({"num_kv_heads > num_heads", with("num_kv_heads", [](FieldSet& f) { f.i32("num_kv_heads", 24); }), B, "must divide"});
  c.push_back({"num_kv_heads 0", with("num_kv_heads", [](FieldSet& f) { f.i32("num_kv_heads", 0); }), B, "outside"});
  c.push_back({"num_heads 0", with("num_heads", [](FieldSet& f) { f.i32("num_heads", 0); }), B, "outside"});
  c.push_back({"num_heads > 65536", with("num_heads", [](FieldSet& f) { f.i32("num_heads", 65537); }), B, "outside"});
  c.push_back({"head_size 0", with("head_size", [](FieldSet& f) { f.i32("head_size", 0); }), B, "outside [1, 256]"});
  c.push_back({"head_size 257", with("head_size", [](FieldSet& f) { f.i32("head_size", 257); }), B, "outside [1, 256]"});
  c.push_back({"head_size -64", with("head_size", [](FieldSet& f) { f.i32("head_size", -64); }), B, "outside [1, 256]"});
  c.push_back({"head_size 2^40 as kINT64", with("head_size", [](FieldSet& f) { f.i64("head_size", int64_t{1} << 40); }), B, "outside"});
  c.push_back({"unknown backend", with("backend", [](FieldSet& f) { f.str("backend", "turbo"); }), B, "unknown backend 'turbo'"});
  c.push_back({"unknown layout", with("layout", [](FieldSet& f) { f.str("layout", "bshd"); }), B, "unknown layout 'bshd'"});
  c.push_back({"plugin_version 2", with("plugin_version", [](FieldSet& f) { f.str("plugin_version", "2"); }), B, "plugin_version '2'"});
  c.push_back({"backend cudnn with the packed layout",
               replaced(with("backend", [](FieldSet& f) { f.str("backend", "cudnn"); }), "layout",
                        [](FieldSet& f) { f.str("layout", "packed"); }),
               B, "padded layout only"});
  c.push_back({"plugin_namespace foo", with("plugin_namespace", [](FieldSet& f) { f.str("plugin_namespace", "foo"); }), B, "plugin_namespace"});
  c.push_back({"missing num_heads", base().remove("num_heads"), B, "missing attribute 'num_heads'"});
  c.push_back({"missing head_size", base().remove("head_size"), B, "missing attribute 'head_size'"});
  c.push_back({"scale NaN", with("scale", [](FieldSet& f) { f.f32("scale", std::numeric_limits<float>::quiet_NaN()); }), B, "finite"});
  c.push_back({"scale inf as kFLOAT64", with("scale", [](FieldSet& f) { f.f64("scale", INFINITY); }), B, "finite"});
  c.push_back({"scale beyond float32", with("scale", [](FieldSet& f) { f.f64("scale", 1e300); }), B, "finite"});
  c.push_back({"num_heads length 2", with("num_heads", [](FieldSet& f) { f.raw("num_heads", PluginFieldType::kINT32, 2, {}); }), B, "exactly one value"});
  c.push_back({"num_heads length 0", with("num_heads", [](FieldSet& f) { f.raw("num_heads", PluginFieldType::kINT32, 0, {}); }), B, "exactly one value"});
  c.push_back({"string length -1", with("layout", [](FieldSet& f) { f.raw("layout", PluginFieldType::kCHAR, -1, {}); }), B, "invalid string length"});
  c.push_back({"string too long", with("layout", [](FieldSet& f) { f.str("layout", std::string(200, 'p')); }), B, "invalid string length"});
  c.push_back({"field given twice", base().i32("num_heads", 12), B, "given twice"});
  {
    FieldSet f = base();
    FieldSet::Field nameless;
    nameless.null_name = true;
    nameless.type = PluginFieldType::kINT32;
    nameless.length = 1;
    f.add(nameless);
    c.push_back({"field without a name", f, B, "has no name"});
  }
  {
    FieldSet f = with("num_heads", [](FieldSet& f) { f.i32("num_heads", 12); });
    f.fields().back().null_data = true;
    c.push_back({"field without data", f, B, "has no data"});
  }
  c.push_back({"serialization_version 2 at build", base().i32("serialization_version", 2), B, "format version 2"});

  const FieldSet engine = serialized(ctx);
  c.push_back({"engine fields accepted", engine, R, ""});
  c.push_back({"engine without serialization_version", FieldSet(engine).remove("serialization_version"), R, "missing field 'serialization_version'"});
  c.push_back({"engine with serialization_version 0", replaced(engine, "serialization_version", [](FieldSet& f) { f.i32("serialization_version", 0); }), R, "format version 0"});
  c.push_back({"engine with serialization_version 2", replaced(engine, "serialization_version", [](FieldSet& f) { f.i32("serialization_version", 2); }), R, "format version 2"});
  c.push_back({"engine without layout", FieldSet(engine).remove("layout"), R, "missing field 'layout'"});
  c.push_back({"engine without scale", FieldSet(engine).remove("scale"), R, "missing field 'scale'"});
  c.push_back({"ONNX attributes at runtime", base(), R, "serialized plugin is missing field"});
  c.push_back({"engine with causal=1", replaced(engine, "causal", [](FieldSet& f) { f.i32("causal", 1); }), R, "encoder-only"});
  c.push_back({"no fields at all", FieldSet(), B, "missing attribute 'num_heads'"});

  // Encodings that must be accepted.
  c.push_back({"exported attributes", base(), B, ""});
  c.push_back({"only num_heads and head_size", FieldSet().i32("num_heads", 4).i32("head_size", 32), B, ""});
  c.push_back({"kINT64 integers", FieldSet().i64("num_heads", 8).i64("num_kv_heads", 2).i64("head_size", 64), B, ""});
  c.push_back({"kFLOAT64 scale", with("scale", [](FieldSet& f) { f.f64("scale", 0.125); }), B, ""});
  c.push_back({"strings without NUL", with("layout", [](FieldSet& f) { f.str("layout", "packed", false); }), B, ""});
  c.push_back({"empty-string namespace without NUL", with("plugin_namespace", [](FieldSet& f) { f.str("plugin_namespace", "", false); }), B, ""});
  return c;
}

}  // namespace

void run_rejections(Context& ctx) {
  Tally& t = *ctx.tally;
  for (Case& c : cases(ctx)) {
    const Verdict verdict = judge_fields(c.fields, c.phase);
    t.expect(verdict.valid == c.message.empty(), "judge",
             c.what + (verdict.valid ? ": judged valid" : ": judged invalid (" + verdict.reason + ")"));
    int64_t errors = 0;
    const int64_t before_msgs = ctx.logger->errors();
    PluginPtr p = create(ctx, "rejection_node", c.fields, c.phase, &errors);
    const std::string detail = c.what + " " + c.fields.describe() + " -> " +
                               (ctx.logger->errors() > before_msgs ? ctx.logger->last_error() : std::string("(no message)"));
    if (c.message.empty()) {
      t.expect(p != nullptr && errors == 0, "accept", detail);
    } else {
      t.expect(p == nullptr && errors > 0 && ctx.logger->last_error().find(c.message) != std::string::npos,
               "reject", detail + " (want '" + c.message + "')");
    }
  }
  // Non-field inputs TensorRT never sends but an API user could.
  int64_t before = ctx.logger->errors();
  nvinfer1::PluginFieldCollection negative{-1, nullptr};
  PluginPtr p(ctx.creator->createPlugin("n", &negative, TensorRTPhase::kBUILD));
  t.expect(p == nullptr && ctx.logger->errors() > before, "reject", "nbFields = -1");
  before = ctx.logger->errors();
  nvinfer1::PluginFieldCollection no_array{3, nullptr};
  p.reset(ctx.creator->createPlugin("n", &no_array, TensorRTPhase::kBUILD));
  t.expect(p == nullptr && ctx.logger->errors() > before, "reject", "nbFields = 3 with no field array");
  before = ctx.logger->errors();
  FieldSet ok = base();
  p.reset(ctx.creator->createPlugin(nullptr, ok.collection(), static_cast<TensorRTPhase>(7)));
  t.expect(p == nullptr && ctx.logger->errors() > before, "reject", "unknown TensorRTPhase 7, null node name");
  p.reset(ctx.creator->createPlugin(nullptr, ok.collection(), TensorRTPhase::kBUILD));
  t.expect(p != nullptr, "accept", "null node name");
}

}  // namespace harness
