// The rules, in two groups:
//   encoding  (docs/tensorrt-plugin.md, "Parameters" and "Serialization format"): every field has a name the
//             contract knows (or serialization_version), appears once, has its kind's type (INT: kINT32 or
//             kINT64; FLOAT: kFLOAT32 or kFLOAT64; STRING: kCHAR), a scalar holds exactly one value with data,
//             a string is 0..65 bytes (64 characters and a NUL) and ends at its first NUL or its length;
//   values    (encexport/contract.py validate_attributes, in its order): the required attributes are there,
//             1 <= num_heads <= kMaxNumHeads, num_kv_heads >= 1 divides num_heads, 1 <= head_size <= kMaxHeadSize,
//             scale finite within float32, causal == 0, backend and layout among the contract's names,
//             plugin_version and plugin_namespace the contract's, cudnn only with the padded layout.
// At runtime (an engine's fields) every serialized field is required and serialization_version must match.
#include "contract_judge.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "encexport/contract.h"

namespace harness {
namespace {

namespace contract = encexport::contract;
using nvinfer1::PluginFieldType;

constexpr const char* kVersionField = "serialization_version";
constexpr int32_t kMaxStringBytes = 65;
// What an engine carries (docs/tensorrt-plugin.md, "What is serialized").
const char* const kSerializedNames[] = {"num_heads", "num_kv_heads", "head_size", "scale",
                                        "causal",    "backend",      "layout",    kVersionField};

// One field's value once its encoding is known to be right.
struct Value {
  int64_t i = 0;
  double f = 0;
  std::string s;
};

enum class Kind { kInt, kFloat, kString };

bool kind_of(const std::string& name, Kind* kind) {
  if (name == kVersionField) return (*kind = Kind::kInt), true;
  for (const contract::AttributeSpec& spec : contract::kAttributes) {
    if (name != spec.name) continue;
    *kind = spec.type == contract::AttributeType::kInt     ? Kind::kInt
            : spec.type == contract::AttributeType::kFloat ? Kind::kFloat
                                                           : Kind::kString;
    return true;
  }
  return false;
}

// The field's value, or the encoding rule it breaks.
std::string decode(const FieldSet::Field& f, Kind kind, Value* v) {
  const uint8_t* data = f.null_data ? nullptr : f.bytes.data();
  switch (kind) {
    case Kind::kInt:
      if (f.type != PluginFieldType::kINT32 && f.type != PluginFieldType::kINT64) return "an integer of another type";
      if (f.length != 1 || data == nullptr) return "an integer without exactly one value";
      if (f.type == PluginFieldType::kINT32) {
        int32_t x;
        std::memcpy(&x, data, sizeof x);
        v->i = x;
      } else {
        std::memcpy(&v->i, data, sizeof v->i);
      }
      return "";
    case Kind::kFloat:
      if (f.type != PluginFieldType::kFLOAT32 && f.type != PluginFieldType::kFLOAT64) return "a float of another type";
      if (f.length != 1 || data == nullptr) return "a float without exactly one value";
      if (f.type == PluginFieldType::kFLOAT32) {
        float x;
        std::memcpy(&x, data, sizeof x);
        v->f = x;
      } else {
        std::memcpy(&v->f, data, sizeof v->f);
      }
      return "";
    case Kind::kString:
      if (f.type != PluginFieldType::kCHAR) return "a string of another type";
      if (f.length < 0 || f.length > kMaxStringBytes) return "a string of length outside [0, 65]";
      if (f.length > 0 && data == nullptr) return "a string without data";
      for (int32_t k = 0; k < f.length && data[k] != 0; ++k) v->s.push_back(static_cast<char>(data[k]));
      return "";
  }
  return "unreachable";
}

bool one_of(const std::string& s, const char* const* names, int32_t count) {
  for (int32_t k = 0; k < count; ++k)
    if (s == names[k]) return true;
  return false;
}

Verdict invalid(std::string why) { return {false, std::move(why), {}}; }

}  // namespace

bool parse_judge_flaw(const std::string& name, JudgeFlaw* out) {
  if (name == "none") return (*out = JudgeFlaw::kNone), true;
  if (name == "ignore-causal") return (*out = JudgeFlaw::kIgnoreCausal), true;
  if (name == "require-scale") return (*out = JudgeFlaw::kRequireScale), true;
  return false;
}

Verdict judge_fields(FieldSet& fields, nvinfer1::TensorRTPhase phase, JudgeFlaw flaw) {
  std::map<std::string, Value> given;
  for (const FieldSet::Field& f : fields.fields()) {
    if (f.null_name) return invalid("a field without a name");
    const std::string name = f.name.c_str();  // the plugin sees a C string
    Kind kind;
    if (!kind_of(name, &kind)) return invalid("unknown field '" + name + "'");
    if (given.count(name)) return invalid("field '" + name + "' given twice");
    Value v;
    if (std::string why = decode(f, kind, &v); !why.empty()) return invalid("field '" + name + "' is " + why);
    given[name] = v;
  }

  const bool runtime = phase == nvinfer1::TensorRTPhase::kRUNTIME;
  if (!runtime && phase != nvinfer1::TensorRTPhase::kBUILD) return invalid("an unknown phase");
  if (runtime) {
    for (const char* name : kSerializedNames)
      if (!given.count(name)) return invalid(std::string("engine field '") + name + "' missing");
  } else {
    for (const contract::AttributeSpec& spec : contract::kAttributes)
      if (spec.required && !given.count(spec.name)) return invalid(std::string("required '") + spec.name + "' missing");
  }
  if (given.count(kVersionField) && given[kVersionField].i != kExpectedSerializationVersion)
    return invalid("serialization_version is not " + std::to_string(kExpectedSerializationVersion));

  // The contract's value rules, absent optional attributes taking their defaults.
  auto has = [&](const char* name) { return given.count(name) > 0; };
  ResolvedNode n;
  n.num_heads = given["num_heads"].i;
  n.num_kv_heads = has("num_kv_heads") ? given["num_kv_heads"].i : n.num_heads;
  n.head_size = given["head_size"].i;
  if (n.num_heads < 1 || n.num_heads > contract::kMaxNumHeads) return invalid("num_heads out of range");
  if (n.num_kv_heads < 1 || n.num_heads % n.num_kv_heads != 0) return invalid("num_kv_heads does not divide num_heads");
  if (n.head_size < 1 || n.head_size > contract::kMaxHeadSize) return invalid("head_size out of range");
  if (has("scale")) {
    n.scale = given["scale"].f;
    if (!std::isfinite(n.scale) || std::fabs(n.scale) > std::numeric_limits<float>::max())
      return invalid("scale not a finite float32");
  } else if (flaw == JudgeFlaw::kRequireScale) {
    return invalid("scale missing (flawed judge)");
  } else {
    n.scale = 1.0 / std::sqrt(static_cast<double>(n.head_size));
  }
  if (has("causal") && given["causal"].i != 0 && flaw != JudgeFlaw::kIgnoreCausal) return invalid("causal != 0");
  const auto text = [&](const char* name, contract::Attribute a) {
    return has(name) ? given[name].s : std::string(contract::spec(a).default_string);
  };
  n.backend = text("backend", contract::Attribute::kBackend);
  n.layout = text("layout", contract::Attribute::kLayout);
  if (!one_of(n.backend, contract::kBackendNames, contract::kBackendCount)) return invalid("unknown backend");
  if (!one_of(n.layout, contract::kLayoutNames, contract::kLayoutCount)) return invalid("unknown layout");
  if (text("plugin_version", contract::Attribute::kPluginVersion) != contract::kPluginVersion)
    return invalid("another plugin_version");
  if (text("plugin_namespace", contract::Attribute::kPluginNamespace) != contract::kPluginNamespace)
    return invalid("another plugin_namespace");
  if (n.backend == "cudnn" && n.layout != "padded") return invalid("cudnn with a layout other than padded");
  return {true, "", n};
}

std::string serialized_mismatch(FieldSet& serialized, const ResolvedNode& expected) {
  std::set<std::string> names;
  for (const FieldSet::Field& f : serialized.fields()) names.insert(f.name);
  if (names != std::set<std::string>(std::begin(kSerializedNames), std::end(kSerializedNames)))
    return "serialized names differ from the documented set";
  const Verdict v = judge_fields(serialized, nvinfer1::TensorRTPhase::kRUNTIME);
  if (!v.valid) return "serialized fields are invalid: " + v.reason;
  const ResolvedNode& got = v.node;
  if (got.num_heads != expected.num_heads || got.num_kv_heads != expected.num_kv_heads ||
      got.head_size != expected.head_size)
    return "serialized heads/head_size differ";
  // The plugin keeps scale as float32; a default computed in float may sit one rounding step away.
  const double want = static_cast<float>(expected.scale);
  if (std::fabs(got.scale - want) > 1e-6 * std::fabs(want)) return "serialized scale differs";
  if (got.backend != expected.backend || got.layout != expected.layout) return "serialized backend/layout differ";
  return "";
}

}  // namespace harness
