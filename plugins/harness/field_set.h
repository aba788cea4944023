// An owning PluginFieldCollection: each field's name and bytes live here, so a collection can be built
// the way the ONNX parser builds one, copied out of a plugin (getFieldsToSerialize returns pointers into
// the plugin), mutated, and handed back to createPlugin.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "NvInferRuntime.h"

namespace harness {

// Bytes per element of a PluginFieldType (1 for kCHAR/kUNKNOWN and for values outside the enum).
size_t element_size(nvinfer1::PluginFieldType type);

class FieldSet {
 public:
  struct Field {
    std::string name;
    bool null_name = false;
    bool null_data = false;
    nvinfer1::PluginFieldType type = nvinfer1::PluginFieldType::kUNKNOWN;
    int32_t length = 0;
    std::vector<uint8_t> bytes;  // at least element_size(type) * max(length, 0) bytes
  };

  // As the TensorRT ONNX parser sends attributes: INT -> kINT32, FLOAT -> kFLOAT32, STRING -> kCHAR + NUL.
  FieldSet& i32(const std::string& name, int32_t v);
  FieldSet& i64(const std::string& name, int64_t v);
  FieldSet& f32(const std::string& name, float v);
  FieldSet& f64(const std::string& name, double v);
  FieldSet& str(const std::string& name, const std::string& v, bool with_nul = true);
  FieldSet& raw(const std::string& name, nvinfer1::PluginFieldType type, int32_t length, std::vector<uint8_t> bytes);
  FieldSet& add(Field f);
  FieldSet& remove(const std::string& name);

  // Deep copy of a collection handed out by a plugin.
  static FieldSet copy_of(const nvinfer1::PluginFieldCollection* fc);

  // Valid until the next change to this FieldSet.
  const nvinfer1::PluginFieldCollection* collection();
  std::vector<Field>& fields() { return fields_; }
  bool operator==(const FieldSet& o) const;
  std::string describe() const;

 private:
  std::vector<Field> fields_;
  std::vector<nvinfer1::PluginField> view_;
  nvinfer1::PluginFieldCollection collection_{};
};

}  // namespace harness
