#include "attention_fields.h"

#include <cstring>
#include <set>
#include <string>
#include <utility>

#include "encexport/node_attributes.h"
#include "encexport/status_format.h"

namespace encexport::trt {
namespace {

using contract::Attribute;
using contract::AttributeType;
using nvinfer1::PluginField;
using nvinfer1::PluginFieldCollection;
using nvinfer1::PluginFieldType;
using nvinfer1::TensorRTPhase;

// More fields than this is a corrupted collection, not a node we could have exported.
constexpr int32_t kMaxFields = 64;

template <typename... Args>
Status fail(Args&&... parts) {
  return format_error(kPluginName, std::forward<Args>(parts)...);
}

const char* type_name(PluginFieldType t) {
  switch (t) {
    case PluginFieldType::kFLOAT16: return "kFLOAT16";
    case PluginFieldType::kFLOAT32: return "kFLOAT32";
    case PluginFieldType::kFLOAT64: return "kFLOAT64";
    case PluginFieldType::kINT8: return "kINT8";
    case PluginFieldType::kINT16: return "kINT16";
    case PluginFieldType::kINT32: return "kINT32";
    case PluginFieldType::kCHAR: return "kCHAR";
    case PluginFieldType::kDIMS: return "kDIMS";
    case PluginFieldType::kUNKNOWN: return "kUNKNOWN";
    case PluginFieldType::kBF16: return "kBF16";
    case PluginFieldType::kINT64: return "kINT64";
    case PluginFieldType::kFP8: return "kFP8";
    case PluginFieldType::kINT4: return "kINT4";
    case PluginFieldType::kFP4: return "kFP4";
  }
  return "an unknown PluginFieldType";
}

Status expect_scalar(const PluginField& f) {
  if (f.length != 1) return fail("field '", f.name, "' must hold exactly one value, got length ", f.length);
  if (f.data == nullptr) return fail("field '", f.name, "' has no data");
  return Status::Ok();
}

// One value of a field sent as the narrow or the wide type of its kind. ONNX INT attributes arrive as kINT32 from
// the TensorRT ONNX parser, FLOAT as kFLOAT32; the wide types are accepted for API users.
template <typename Narrow, typename Wide>
Status read_scalar(const PluginField& f, PluginFieldType narrow, PluginFieldType wide, const char* kind, Wide* v) {
  if (f.type != narrow && f.type != wide) return fail("field '", f.name, "' must be ", kind, ", got ", type_name(f.type));
  if (Status s = expect_scalar(f); !s) return s;
  if (f.type == narrow) {
    Narrow x;
    std::memcpy(&x, f.data, sizeof x);
    *v = x;
  } else {
    std::memcpy(v, f.data, sizeof *v);
  }
  return Status::Ok();
}

Status read_int(const PluginField& f, int64_t* v) {
  return read_scalar<int32_t>(f, PluginFieldType::kINT32, PluginFieldType::kINT64, "an integer (kINT32 or kINT64)", v);
}

Status read_float(const PluginField& f, double* v) {
  return read_scalar<float>(f, PluginFieldType::kFLOAT32, PluginFieldType::kFLOAT64, "a float (kFLOAT32 or kFLOAT64)",
                            v);
}

// The ONNX parser sends STRING attributes as kCHAR with length strlen+1 (NUL included); API users often
// pass strlen. Both are accepted: the value ends at the first NUL or at `length`.
Status read_string(const PluginField& f, std::string* v) {
  if (f.type != PluginFieldType::kCHAR)
    return fail("field '", f.name, "' must be a string (kCHAR), got ", type_name(f.type));
  if (f.length < 0 || f.length > kMaxStringField + 1)
    return fail("field '", f.name, "' has invalid string length ", f.length);
  if (f.length > 0 && f.data == nullptr) return fail("field '", f.name, "' has no data");
  const char* s = static_cast<const char*>(f.data);
  v->assign(s, s ? ::strnlen(s, static_cast<size_t>(f.length)) : 0);
  return Status::Ok();
}

// One contract attribute from its field, in the encodings the ONNX parser and API users send.
Status read_attribute(const PluginField& f, Attribute which, RawAttributes* raw) {
  switch (contract::spec(which).type) {
    case AttributeType::kInt: {
      int64_t v = 0;
      if (Status s = read_int(f, &v); !s) return s;
      raw->set_int(which, v);
      return Status::Ok();
    }
    case AttributeType::kFloat: {
      double v = 0;
      if (Status s = read_float(f, &v); !s) return s;
      raw->set_float(which, v);
      return Status::Ok();
    }
    case AttributeType::kString: {
      std::string v;
      if (Status s = read_string(f, &v); !s) return s;
      raw->set_string(which, std::move(v));
      return Status::Ok();
    }
  }
  return fail("field '", f.name, "' has a contract type this library does not read");
}

PluginFieldType field_type(AttributeType t) {
  switch (t) {
    case AttributeType::kInt: return PluginFieldType::kINT32;
    case AttributeType::kFloat: return PluginFieldType::kFLOAT32;
    case AttributeType::kString: return PluginFieldType::kCHAR;
  }
  return PluginFieldType::kUNKNOWN;
}

const char* name_of(Attribute a) { return contract::spec(a).name; }

// "num_heads, num_kv_heads, ..., serialization_version": every field name createPlugin reads.
const std::string& known_field_list() {
  static const std::string names = [] {
    std::string s;
    for (const contract::AttributeSpec& spec : contract::kAttributes) s += std::string(spec.name) + ", ";
    return s + kSerializationVersionField;
  }();
  return names;
}

// What getFieldsToSerialize() writes, so what an engine must carry: the attributes that define the plugin's
// behaviour (plugin_version and plugin_namespace are the creator's identity, checked by TensorRT's lookup).
constexpr Attribute kSerialized[] = {Attribute::kNumHeads, Attribute::kNumKvHeads, Attribute::kHeadSize,
                                     Attribute::kScale,    Attribute::kCausal,     Attribute::kBackend,
                                     Attribute::kLayout};

}  // namespace

const PluginFieldCollection* advertised_fields() {
  // data = nullptr: the creator only announces names and types; the parser fills the values.
  static const std::vector<PluginField> fields = [] {
    std::vector<PluginField> v;
    for (const contract::AttributeSpec& spec : contract::kAttributes)
      v.push_back({spec.name, nullptr, field_type(spec.type), 1});
    return v;
  }();
  static const PluginFieldCollection collection{static_cast<int32_t>(fields.size()), fields.data()};
  return &collection;
}

Status parse_attributes(const PluginFieldCollection* fc, TensorRTPhase phase, AttentionAttributes* out) {
  if (phase != TensorRTPhase::kBUILD && phase != TensorRTPhase::kRUNTIME)
    return fail("unknown TensorRTPhase ", static_cast<int32_t>(phase));
  const int32_t n = fc ? fc->nbFields : 0;
  if (n < 0 || n > kMaxFields) return fail("field collection has an invalid size ", n);
  if (n > 0 && fc->fields == nullptr) return fail("field collection has ", n, " fields but no field array");

  RawAttributes raw;
  bool has_version = false;
  int64_t version = 0;
  std::set<std::string> seen;
  for (int32_t i = 0; i < n; ++i) {
    const PluginField& f = fc->fields[i];
    if (f.name == nullptr) return fail("field #", i, " has no name");
    const std::string name(f.name, ::strnlen(f.name, 256));
    Attribute which{};
    const bool is_version = name == kSerializationVersionField;
    if (!is_version && !find_attribute(name, &which))
      return fail("unknown field '", name, "'; known fields: ", known_field_list());
    if (!seen.insert(name).second) return fail("field '", name, "' is given twice");
    if (is_version) {
      if (Status s = read_int(f, &version); !s) return s;
      has_version = true;
    } else if (Status s = read_attribute(f, which, &raw); !s) {
      return s;
    }
  }

  if (phase == TensorRTPhase::kRUNTIME) {
    std::vector<const char*> required;
    for (Attribute a : kSerialized) required.push_back(name_of(a));
    required.push_back(kSerializationVersionField);
    for (const char* name : required)
      if (!seen.count(name))
        return fail("serialized plugin is missing field '", name, "': the engine is corrupted or was built by an ",
                    "incompatible encexport; rebuild the engine");
  }
  if (has_version && version != kSerializationVersion)
    return fail("serialized plugin has format version ", version, ", this library reads version ",
                kSerializationVersion, "; rebuild the engine with this encexport version");
  return validate_node_attributes(raw, out);
}

const PluginFieldCollection* SerializedFields::build(const AttentionAttributes& a) {
  num_heads_ = a.num_heads;
  num_kv_heads_ = a.num_kv_heads;
  head_size_ = a.head_size;
  scale_ = a.scale;
  causal_ = 0;
  version_ = kSerializationVersion;
  backend_ = to_string(a.backend);
  layout_ = to_string(a.layout);
  // Strings as the ONNX parser sends them: NUL included in the length.
  // In the order of kSerialized, which parse_attributes requires at kRUNTIME.
  fields_ = {
      {name_of(Attribute::kNumHeads), &num_heads_, PluginFieldType::kINT32, 1},
      {name_of(Attribute::kNumKvHeads), &num_kv_heads_, PluginFieldType::kINT32, 1},
      {name_of(Attribute::kHeadSize), &head_size_, PluginFieldType::kINT32, 1},
      {name_of(Attribute::kScale), &scale_, PluginFieldType::kFLOAT32, 1},
      {name_of(Attribute::kCausal), &causal_, PluginFieldType::kINT32, 1},
      {name_of(Attribute::kBackend), backend_.c_str(), PluginFieldType::kCHAR, static_cast<int32_t>(backend_.size() + 1)},
      {name_of(Attribute::kLayout), layout_.c_str(), PluginFieldType::kCHAR, static_cast<int32_t>(layout_.size() + 1)},
      {kSerializationVersionField, &version_, PluginFieldType::kINT32, 1},
  };
  collection_ = {static_cast<int32_t>(fields_.size()), fields_.data()};
  return &collection_;
}

}  // namespace encexport::trt
