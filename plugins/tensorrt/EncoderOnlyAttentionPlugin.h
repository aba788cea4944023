// TensorRT IPluginV3 for the encexport ONNX node `encexport::EncoderOnlyAttention` (docs/tensorrt-plugin.md).
//
// Cache-free bidirectional attention for encoders: padded [B,S,H*D] or packed [T,H*D] tokens, GQA/MQA,
// fp16/bf16 (fp32 through the reference backend). The plugin only translates TensorRT's tensor
// descriptions into encexport::AttentionParams and calls run_attention_cuda(); the kernels are shared with
// the ONNX Runtime op.
//
// Loading rules (libencexport_trt.so):
//  * IPluginRegistry::loadLibrary / trtexec --dynamicPlugins: TensorRT calls the exported setLoggerFinder()
//    and getCreators(). Set ENCEXPORT_TRT_AUTOREGISTER=0 first (encexport build does), otherwise the load-time
//    self-registration below has already registered the creator and loadLibrary reports a duplicate.
//  * Plain dlopen into a process that already has TensorRT (Polygraphy --plugins, ctypes.CDLL, Triton's
//    plugin list, trtexec --plugins): the library registers its creator at load time, like
//    REGISTER_TENSORRT_PLUGIN, but without linking libnvinfer: getPluginRegistry is found with
//    dlsym(RTLD_DEFAULT). It skips registration when ENCEXPORT_TRT_AUTOREGISTER=0, when TensorRT is not
//    loaded yet, when the loaded TensorRT's major version differs from the headers this library was built
//    with (the registry is called through its vtable), or when a creator with the same name/version/namespace
//    is already registered.
#pragma once

#include <string>

#include "NvInferRuntime.h"
#include "attention_fields.h"

namespace encexport::trt {

class EncoderOnlyAttentionPlugin final : public nvinfer1::IPluginV3,
                                         public nvinfer1::IPluginV3OneCore,
                                         public nvinfer1::IPluginV3OneBuild,
                                         public nvinfer1::IPluginV3OneRuntime {
 public:
  explicit EncoderOnlyAttentionPlugin(const AttentionAttributes& attributes);
  ~EncoderOnlyAttentionPlugin() override = default;

  const AttentionAttributes& attributes() const { return attributes_; }

  // IPluginV3
  nvinfer1::IPluginCapability* getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept override;
  nvinfer1::IPluginV3* clone() noexcept override;

  // IPluginV3OneCore
  const char* getPluginName() const noexcept override;
  const char* getPluginVersion() const noexcept override;
  const char* getPluginNamespace() const noexcept override;

  // IPluginV3OneBuild
  int32_t getNbOutputs() const noexcept override;
  int32_t getOutputDataTypes(nvinfer1::DataType* output_types, int32_t nb_outputs,
                             const nvinfer1::DataType* input_types, int32_t nb_inputs) const noexcept override;
  int32_t getOutputShapes(const nvinfer1::DimsExprs* inputs, int32_t nb_inputs, const nvinfer1::DimsExprs* shape_inputs,
                          int32_t nb_shape_inputs, nvinfer1::DimsExprs* outputs, int32_t nb_outputs,
                          nvinfer1::IExprBuilder& expr_builder) noexcept override;
  bool supportsFormatCombination(int32_t pos, const nvinfer1::DynamicPluginTensorDesc* in_out, int32_t nb_inputs,
                                 int32_t nb_outputs) noexcept override;
  int32_t configurePlugin(const nvinfer1::DynamicPluginTensorDesc* in, int32_t nb_inputs,
                          const nvinfer1::DynamicPluginTensorDesc* out, int32_t nb_outputs) noexcept override;
  size_t getWorkspaceSize(const nvinfer1::DynamicPluginTensorDesc* inputs, int32_t nb_inputs,
                          const nvinfer1::DynamicPluginTensorDesc* outputs, int32_t nb_outputs) const noexcept override;
  const char* getTimingCacheID() noexcept override;

  // IPluginV3OneRuntime
  int32_t onShapeChange(const nvinfer1::PluginTensorDesc* in, int32_t nb_inputs, const nvinfer1::PluginTensorDesc* out,
                        int32_t nb_outputs) noexcept override;
  int32_t enqueue(const nvinfer1::PluginTensorDesc* input_desc, const nvinfer1::PluginTensorDesc* output_desc,
                  const void* const* inputs, void* const* outputs, void* workspace,
                  cudaStream_t stream) noexcept override;
  nvinfer1::IPluginV3* attachToContext(nvinfer1::IPluginResourceContext* context) noexcept override;
  const nvinfer1::PluginFieldCollection* getFieldsToSerialize() noexcept override;

 private:
  // Serialized attributes (the plugin's whole state).
  AttentionAttributes attributes_;
  // Shape-derived: the input count seen by configurePlugin/onShapeChange (enqueue is not told it).
  int32_t nb_inputs_ = -1;
  // Derived strings whose pointers are handed to TensorRT; rebuilt on demand, never copied.
  std::string timing_cache_id_;
  SerializedFields serialized_;
};

class EncoderOnlyAttentionCreator final : public nvinfer1::IPluginCreatorV3One {
 public:
  // `name` is the ONNX node name (the parser passes it); it only appears in messages.
  nvinfer1::IPluginV3* createPlugin(const char* name, const nvinfer1::PluginFieldCollection* fc,
                                    nvinfer1::TensorRTPhase phase) noexcept override;
  const nvinfer1::PluginFieldCollection* getFieldNames() noexcept override;
  const char* getPluginName() const noexcept override;
  const char* getPluginVersion() const noexcept override;
  const char* getPluginNamespace() const noexcept override;
};

}  // namespace encexport::trt
