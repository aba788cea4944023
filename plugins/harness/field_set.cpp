#include "field_set.h"

#include <algorithm>
#include <cstring>
#include <sstream>

namespace harness {

using nvinfer1::PluginFieldType;

size_t element_size(PluginFieldType type) {
  switch (type) {
    case PluginFieldType::kFLOAT16: case PluginFieldType::kBF16: case PluginFieldType::kINT16: return 2;
    case PluginFieldType::kFLOAT32: case PluginFieldType::kINT32: return 4;
    case PluginFieldType::kFLOAT64: case PluginFieldType::kINT64: return 8;
    case PluginFieldType::kDIMS: return sizeof(nvinfer1::Dims);
    default: return 1;
  }
}

namespace {
template <typename T>
std::vector<uint8_t> bytes_of(T v) {
  std::vector<uint8_t> b(sizeof v);
  std::memcpy(b.data(), &v, sizeof v);
  return b;
}
}  // namespace

FieldSet& FieldSet::add(Field f) {
  const size_t need = element_size(f.type) * static_cast<size_t>(std::max<int32_t>(f.length, 0));
  if (f.bytes.size() < need) f.bytes.resize(need, 0);  // never let the plugin read past our buffer
  fields_.push_back(std::move(f));
  return *this;
}

FieldSet& FieldSet::raw(const std::string& name, PluginFieldType type, int32_t length, std::vector<uint8_t> bytes) {
  Field f;
  f.name = name;
  f.type = type;
  f.length = length;
  f.bytes = std::move(bytes);
  return add(std::move(f));
}

FieldSet& FieldSet::i32(const std::string& name, int32_t v) { return raw(name, PluginFieldType::kINT32, 1, bytes_of(v)); }
FieldSet& FieldSet::i64(const std::string& name, int64_t v) { return raw(name, PluginFieldType::kINT64, 1, bytes_of(v)); }
FieldSet& FieldSet::f32(const std::string& name, float v) { return raw(name, PluginFieldType::kFLOAT32, 1, bytes_of(v)); }
FieldSet& FieldSet::f64(const std::string& name, double v) { return raw(name, PluginFieldType::kFLOAT64, 1, bytes_of(v)); }
FieldSet& FieldSet::str(const std::string& name, const std::string& v, bool with_nul) {
  std::vector<uint8_t> b(v.begin(), v.end());
  if (with_nul) b.push_back(0);
  const auto n = static_cast<int32_t>(b.size());
  return raw(name, PluginFieldType::kCHAR, n, std::move(b));
}

FieldSet& FieldSet::remove(const std::string& name) {
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(), [&](const Field& f) { return f.name == name; }),
                fields_.end());
  return *this;
}

FieldSet FieldSet::copy_of(const nvinfer1::PluginFieldCollection* fc) {
  FieldSet s;
  if (fc == nullptr) return s;
  for (int32_t i = 0; i < fc->nbFields; ++i) {
    const nvinfer1::PluginField& p = fc->fields[i];
    Field f;
    f.null_name = p.name == nullptr;
    f.name = p.name ? p.name : "";
    f.type = p.type;
    f.length = p.length;
    f.null_data = p.data == nullptr;
    const size_t n = element_size(p.type) * static_cast<size_t>(std::max<int32_t>(p.length, 0));
    if (p.data) f.bytes.assign(static_cast<const uint8_t*>(p.data), static_cast<const uint8_t*>(p.data) + n);
    s.add(std::move(f));
  }
  return s;
}

const nvinfer1::PluginFieldCollection* FieldSet::collection() {
  view_.clear();
  for (const Field& f : fields_)
    view_.emplace_back(f.null_name ? nullptr : f.name.c_str(), f.null_data ? nullptr : f.bytes.data(), f.type,
                       f.length);
  collection_ = {static_cast<int32_t>(view_.size()), view_.data()};
  return &collection_;
}

bool FieldSet::operator==(const FieldSet& o) const {
  if (fields_.size() != o.fields_.size()) return false;
  for (size_t i = 0; i < fields_.size(); ++i) {
    const Field &a = fields_[i], &b = o.fields_[i];
    if (a.name != b.name || a.null_name != b.null_name || a.null_data != b.null_data || a.type != b.type ||
        a.length != b.length || a.bytes != b.bytes)
      return false;
  }
  return true;
}

std::string FieldSet::describe() const {
  std::ostringstream os;
  os << "{";
  for (const Field& f : fields_) {
    os << (f.null_name ? "<null>" : f.name) << ":t" << static_cast<int>(f.type) << ":n" << f.length;
    if (f.type == PluginFieldType::kCHAR && !f.null_data)
      os << "='" << std::string(f.bytes.begin(), f.bytes.end()).c_str() << "'";
    else if (f.type == PluginFieldType::kINT32 && f.length == 1 && !f.null_data) {
      int32_t v;
      std::memcpy(&v, f.bytes.data(), 4);
      os << "=" << v;
    }
    os << " ";
  }
  os << "}";
  return os.str();
}

}  // namespace harness
