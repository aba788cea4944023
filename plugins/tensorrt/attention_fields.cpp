#include "attention_fields.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <set>
#include <sstream>
#include "encexport/status_format.h"

namespace encexport::trt {
namespace {

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

// ONNX INT attributes arrive as kINT32 from the TensorRT ONNX parser; kINT64 is accepted for API users.
Status read_int(const PluginField& f, int64_t* v) {
  if (f.type != PluginFieldType::kINT32 && f.type != PluginFieldType::kINT64)
    return fail("field '", f.name, "' must be an integer (kINT32 or kINT64), got ", type_name(f.type));
  if (Status s = expect_scalar(f); !s) return s;
  if (f.type == PluginFieldType::kINT32) {
    int32_t x;
    std::memcpy(&x, f.data, sizeof x);
    *v = x;
  } else {
    std::memcpy(v, f.data, sizeof *v);
  }
  return Status::Ok();
}

Status read_float(const PluginField& f, double* v) {
  if (f.type != PluginFieldType::kFLOAT32 && f.type != PluginFieldType::kFLOAT64)
    return fail("field '", f.name, "' must be a float (kFLOAT32 or kFLOAT64), got ", type_name(f.type));
  if (Status s = expect_scalar(f); !s) return s;
  if (f.type == PluginFieldType::kFLOAT32) {
    float x;
    std::memcpy(&x, f.data, sizeof x);
    *v = x;
  } else {
    std::memcpy(v, f.data, sizeof *v);
  }
  return Status::Ok();
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

Status read_bounded_int(const PluginField& f, int64_t lo, int64_t hi, int32_t* out) {
  int64_t v = 0;
  if (Status s = read_int(f, &v); !s) return s;
  if (v < lo || v > hi) return fail("field '", f.name, "' = ", v, " is outside [", lo, ", ", hi, "]");
  *out = static_cast<int32_t>(v);
  return Status::Ok();
}

// What the parse collects before cross-field checks and defaults.
struct RawFields {
  bool has_num_kv_heads = false, has_scale = false;
  bool has_version = false;
  int32_t version = 0;
  AttentionAttributes a;
};

using FieldReader = std::function<Status(const PluginField&, RawFields&)>;

struct KnownField {
  const char* name;
  FieldReader read;
};

const std::vector<KnownField>& known_fields() {
  static const std::vector<KnownField> fields = {
      {"num_heads", [](const PluginField& f, RawFields& r) { return read_bounded_int(f, 1, kMaxNumHeads, &r.a.num_heads); }},
      {"num_kv_heads",
       [](const PluginField& f, RawFields& r) {
         r.has_num_kv_heads = true;
         return read_bounded_int(f, 1, kMaxNumHeads, &r.a.num_kv_heads);
       }},
      {"head_size", [](const PluginField& f, RawFields& r) { return read_bounded_int(f, 1, kMaxHeadSize, &r.a.head_size); }},
      {"scale",
       [](const PluginField& f, RawFields& r) {
         double v = 0;
         if (Status s = read_float(f, &v); !s) return s;
         if (!std::isfinite(v) || std::fabs(v) > 3.0e38)
           return fail("field 'scale' = ", v, " must be a finite float32 value");
         r.has_scale = true;
         r.a.scale = static_cast<float>(v);
         return Status::Ok();
       }},
      {"causal",
       [](const PluginField& f, RawFields&) {
         int64_t v = 0;
         if (Status s = read_int(f, &v); !s) return s;
         if (v != 0)
           return fail("causal = ", v,
                       " is not supported: this plugin is encoder-only (bidirectional attention, no causal mask); "
                       "export with causal=0 or use a decoder attention op");
         return Status::Ok();
       }},
      {"backend",
       [](const PluginField& f, RawFields& r) {
         std::string s;
         if (Status st = read_string(f, &s); !st) return st;
         if (!parse_backend(s, &r.a.backend))
           return fail("unknown backend '", s, "'; accepted: ", known_backends());
         return Status::Ok();
       }},
      {"layout",
       [](const PluginField& f, RawFields& r) {
         std::string s;
         if (Status st = read_string(f, &s); !st) return st;
         if (!parse_layout(s, &r.a.layout)) return fail("unknown layout '", s, "'; accepted: padded, packed");
         return Status::Ok();
       }},
      {"plugin_version",
       [](const PluginField& f, RawFields&) {
         std::string s;
         if (Status st = read_string(f, &s); !st) return st;
         if (s != kPluginVersion)
           return fail("plugin_version '", s, "' is not implemented by this library (it implements version ",
                       kPluginVersion, "); upgrade encexport or re-export the model");
         return Status::Ok();
       }},
      {"plugin_namespace",
       [](const PluginField& f, RawFields&) {
         std::string s;
         if (Status st = read_string(f, &s); !st) return st;
         if (s != kPluginNamespace)
           return fail("plugin_namespace '", s, "' does not match this library's namespace '", kPluginNamespace, "'");
         return Status::Ok();
       }},
      {kSerializationVersionField,
       [](const PluginField& f, RawFields& r) {
         r.has_version = true;
         return read_bounded_int(f, INT32_MIN, INT32_MAX, &r.version);
       }},
  };
  return fields;
}

// Fields an engine must carry: everything getFieldsToSerialize() writes.
const char* const kRequiredAtRuntime[] = {"num_heads", "num_kv_heads", "head_size", "scale",
                                          "causal",    "backend",      "layout",    kSerializationVersionField};

}  // namespace

const PluginFieldCollection* advertised_fields() {
  // data = nullptr: the creator only announces names and types; the parser fills the values.
  static const std::vector<PluginField> fields = {
      {"num_heads", nullptr, PluginFieldType::kINT32, 1},
      {"num_kv_heads", nullptr, PluginFieldType::kINT32, 1},
      {"head_size", nullptr, PluginFieldType::kINT32, 1},
      {"scale", nullptr, PluginFieldType::kFLOAT32, 1},
      {"causal", nullptr, PluginFieldType::kINT32, 1},
      {"backend", nullptr, PluginFieldType::kCHAR, 1},
      {"layout", nullptr, PluginFieldType::kCHAR, 1},
      {"plugin_version", nullptr, PluginFieldType::kCHAR, 1},
      {"plugin_namespace", nullptr, PluginFieldType::kCHAR, 1},
  };
  static const PluginFieldCollection collection{static_cast<int32_t>(fields.size()), fields.data()};
  return &collection;
}

Status parse_attributes(const PluginFieldCollection* fc, TensorRTPhase phase, AttentionAttributes* out) {
  if (phase != TensorRTPhase::kBUILD && phase != TensorRTPhase::kRUNTIME)
    return fail("unknown TensorRTPhase ", static_cast<int32_t>(phase));
  const int32_t n = fc ? fc->nbFields : 0;
  if (n < 0 || n > kMaxFields) return fail("field collection has an invalid size ", n);
  if (n > 0 && fc->fields == nullptr) return fail("field collection has ", n, " fields but no field array");

  RawFields raw;
  std::set<std::string> seen;
  for (int32_t i = 0; i < n; ++i) {
    const PluginField& f = fc->fields[i];
    if (f.name == nullptr) return fail("field #", i, " has no name");
    const std::string name(f.name, ::strnlen(f.name, 256));
    const KnownField* known = nullptr;
    for (const KnownField& k : known_fields())
      if (name == k.name) known = &k;
    if (known == nullptr)
      return fail("unknown field '", name, "'; known fields: num_heads, num_kv_heads, head_size, scale, causal, ",
                  "backend, layout, plugin_version, plugin_namespace, ", kSerializationVersionField);
    if (!seen.insert(name).second) return fail("field '", name, "' is given twice");
    if (Status s = known->read(f, raw); !s) return s;
  }

  if (phase == TensorRTPhase::kRUNTIME) {
    for (const char* name : kRequiredAtRuntime)
      if (!seen.count(name))
        return fail("serialized plugin is missing field '", name, "': the engine is corrupted or was built by an ",
                    "incompatible encexport; rebuild the engine");
  }
  if (raw.has_version && raw.version != kSerializationVersion)
    return fail("serialized plugin has format version ", raw.version, ", this library reads version ",
                kSerializationVersion, "; rebuild the engine with this encexport version");

  AttentionAttributes& a = raw.a;
  if (!seen.count("num_heads")) return fail("missing field 'num_heads' (INT); re-export the model");
  if (!seen.count("head_size")) return fail("missing field 'head_size' (INT); re-export the model");
  if (!raw.has_num_kv_heads) a.num_kv_heads = a.num_heads;
  if (a.num_kv_heads > a.num_heads || a.num_heads % a.num_kv_heads != 0)
    return fail("num_kv_heads = ", a.num_kv_heads, " must divide num_heads = ", a.num_heads,
                " (each key/value head serves num_heads/num_kv_heads query heads)");
  if (static_cast<int64_t>(a.num_heads) * a.head_size > INT32_MAX)
    return fail("num_heads*head_size = ", static_cast<int64_t>(a.num_heads) * a.head_size, " does not fit int32");
  if (!raw.has_scale) a.scale = 1.f / std::sqrt(static_cast<float>(a.head_size));
  *out = a;
  return Status::Ok();
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
  fields_ = {
      {"num_heads", &num_heads_, PluginFieldType::kINT32, 1},
      {"num_kv_heads", &num_kv_heads_, PluginFieldType::kINT32, 1},
      {"head_size", &head_size_, PluginFieldType::kINT32, 1},
      {"scale", &scale_, PluginFieldType::kFLOAT32, 1},
      {"causal", &causal_, PluginFieldType::kINT32, 1},
      {"backend", backend_.c_str(), PluginFieldType::kCHAR, static_cast<int32_t>(backend_.size() + 1)},
      {"layout", layout_.c_str(), PluginFieldType::kCHAR, static_cast<int32_t>(layout_.size() + 1)},
      {kSerializationVersionField, &version_, PluginFieldType::kINT32, 1},
  };
  collection_ = {static_cast<int32_t>(fields_.size()), fields_.data()};
  return &collection_;
}

}  // namespace encexport::trt
