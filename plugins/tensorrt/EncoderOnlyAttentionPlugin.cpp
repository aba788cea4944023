#include "EncoderOnlyAttentionPlugin.h"

#include <cstring>
#include <exception>
#include <new>
#include <sstream>

#include "encexport/contract.h"
#include "plugin_log.h"
#include "shape_checks.h"

namespace encexport::trt {
namespace {

using nvinfer1::DataType;
using nvinfer1::DynamicPluginTensorDesc;
using nvinfer1::PluginTensorDesc;
using nvinfer1::TensorFormat;

// Every noexcept override funnels exceptions here: nothing may cross into TensorRT.
void report_exception(const char* where) noexcept {
  try {
    throw;
  } catch (const std::exception& e) {
    log_error(std::string(kPluginName) + "::" + where + " failed: " + e.what());
  } catch (...) {
    log_error(std::string(kPluginName) + "::" + where + " failed with an unknown exception");
  }
}

// Returns 0 when s is ok, else logs it and returns -1 (TensorRT's convention for int32 results).
int32_t to_result(const Status& s) {
  if (s) return 0;
  log_error(s.message);
  return -1;
}

bool to_dtype(DataType t, DType* out) {
  switch (t) {
    case DataType::kHALF: *out = DType::kFloat16; return true;
    case DataType::kBF16: *out = DType::kBFloat16; return true;
    case DataType::kFLOAT: *out = DType::kFloat32; return true;
    default: return false;
  }
}

// fp32 has no tensor-core kernel: only the reference backend takes it.
bool is_supported_activation(const AttentionAttributes& a, DataType t) {
  return t == DataType::kHALF || t == DataType::kBF16 || (t == DataType::kFLOAT && a.backend == Backend::kReference);
}

// q, k, v, attn_bias and the output share one type; the optional 4th input is int32 lengths.
Status check_types(const AttentionAttributes& a, const DataType* in, int32_t nb_inputs, const DataType* out) {
  std::ostringstream os;
  os << kPluginName << ": ";
  if (!is_supported_activation(a, in[0])) {
    os << "q has type " << static_cast<int32_t>(in[0]) << " (nvinfer1::DataType); supported: kHALF, kBF16"
       << (a.backend == Backend::kReference ? ", kFLOAT" : " (kFLOAT needs backend=reference)")
       << ". Cast the inputs to float16/bfloat16 before the node";
    return Status::Error(os.str());
  }
  for (int32_t i = 1; i < 3; ++i)
    if (in[i] != in[0]) return Status::Error(std::string(kPluginName) + ": q, k and v must have the same type");
  if (out && out[0] != in[0]) return Status::Error(std::string(kPluginName) + ": the output must have q's type");
  if (nb_inputs >= 4 && in[3] != DataType::kINT32)
    return Status::Error(std::string(kPluginName) + ": " + (a.layout == Layout::kPadded ? "seq_lens" : "cu_seqlens") +
                         " must be int32");
  if (nb_inputs == contract::kInputCount && in[contract::kBiasInput] != in[0])
    return Status::Error(std::string(kPluginName) + ": attn_bias must have q's type (nvinfer1::DataType " +
                         std::to_string(static_cast<int32_t>(in[0])) + "), got " +
                         std::to_string(static_cast<int32_t>(in[contract::kBiasInput])) +
                         "; cast the bias to the dtype of q, k and v before the node");
  return Status::Ok();
}

Status check_descs(const AttentionAttributes& a, const PluginTensorDesc* in, int32_t nb_inputs,
                   const PluginTensorDesc* out, int32_t nb_outputs, bool allow_unknown) {
  if (Status s = check_input_count(a, nb_inputs, nb_outputs); !s) return s;
  DataType in_types[contract::kInputCount], out_type = out[0].type;
  nvinfer1::Dims dims[contract::kInputCount];
  for (int32_t i = 0; i < nb_inputs; ++i) {
    in_types[i] = in[i].type;
    dims[i] = in[i].dims;
    if (in[i].format != TensorFormat::kLINEAR || (i == 0 && out[0].format != TensorFormat::kLINEAR))
      return Status::Error(std::string(kPluginName) + ": all tensors must be in linear format");
  }
  if (Status s = check_types(a, in_types, nb_inputs, &out_type); !s) return s;
  if (Status s = check_input_shapes(a, dims, nb_inputs, allow_unknown); !s) return s;
  return check_output_shape(in[0].dims, out[0].dims, allow_unknown);
}

// Dims of a min/opt/max profile as a desc with the run-time tensor's type and format.
PluginTensorDesc with_dims(const PluginTensorDesc& d, const nvinfer1::Dims& dims) {
  PluginTensorDesc r = d;
  r.dims = dims;
  return r;
}

// Translates TensorRT's run-time tensors into the kernel ABI. padded: B = q.dims[0], S = q.dims[1];
// packed: T = q.dims[0], B = cu_seqlens.dims[0] - 1.
Status make_params(const AttentionAttributes& a, const PluginTensorDesc* in, int32_t nb_inputs,
                   const void* const* inputs, void* out, AttentionParams* p) {
  const bool padded = a.layout == Layout::kPadded;
  const nvinfer1::Dims& q = in[0].dims;
  if (q.nbDims != (padded ? 3 : 2) || (nb_inputs >= 4 && in[3].dims.nbDims != 1) ||
      (nb_inputs == contract::kInputCount && in[contract::kBiasInput].dims.nbDims != contract::kBiasRank))
    return Status::Error(std::string(kPluginName) + ": unexpected input ranks at enqueue");
  if (!to_dtype(in[0].type, &p->dtype))
    return Status::Error(std::string(kPluginName) + ": unsupported q type at enqueue");
  apply_attributes(a, p);
  p->q = inputs[0];
  p->k = inputs[1];
  p->v = inputs[2];
  p->out = out;
  if (padded) {
    p->batch = static_cast<int32_t>(q.d[0]);
    p->seq_len = static_cast<int32_t>(q.d[1]);
    p->total_tokens = q.d[0] * q.d[1];
    p->seq_lens = nb_inputs >= 4 ? static_cast<const int32_t*>(inputs[3]) : nullptr;
    if (nb_inputs == contract::kInputCount) {  // shapes checked by onShapeChange (check_bias_shape)
      p->bias = inputs[contract::kBiasInput];
      set_bias_strides(in[contract::kBiasInput].dims.d, p);
    }
  } else {
    p->batch = static_cast<int32_t>(in[3].dims.d[0] - 1);
    p->seq_len = 0;
    p->total_tokens = q.d[0];
    p->cu_seqlens = static_cast<const int32_t*>(inputs[3]);
  }
  return Status::Ok();
}

}  // namespace

EncoderOnlyAttentionPlugin::EncoderOnlyAttentionPlugin(const AttentionAttributes& attributes)
    : attributes_(attributes) {}

nvinfer1::IPluginCapability* EncoderOnlyAttentionPlugin::getCapabilityInterface(
    nvinfer1::PluginCapabilityType type) noexcept {
  try {
    switch (type) {
      case nvinfer1::PluginCapabilityType::kCORE: return static_cast<nvinfer1::IPluginV3OneCore*>(this);
      case nvinfer1::PluginCapabilityType::kBUILD: return static_cast<nvinfer1::IPluginV3OneBuild*>(this);
      case nvinfer1::PluginCapabilityType::kRUNTIME: return static_cast<nvinfer1::IPluginV3OneRuntime*>(this);
    }
  } catch (...) {
    report_exception("getCapabilityInterface");
  }
  return nullptr;
}

nvinfer1::IPluginV3* EncoderOnlyAttentionPlugin::clone() noexcept {
  try {
    auto* copy = new EncoderOnlyAttentionPlugin(attributes_);
    copy->nb_inputs_ = nb_inputs_;
    return copy;
  } catch (...) {
    report_exception("clone");
  }
  return nullptr;
}

const char* EncoderOnlyAttentionPlugin::getPluginName() const noexcept { return kPluginName; }
const char* EncoderOnlyAttentionPlugin::getPluginVersion() const noexcept { return kPluginVersion; }
const char* EncoderOnlyAttentionPlugin::getPluginNamespace() const noexcept { return kPluginNamespace; }

int32_t EncoderOnlyAttentionPlugin::getNbOutputs() const noexcept { return 1; }

int32_t EncoderOnlyAttentionPlugin::getOutputDataTypes(DataType* output_types, int32_t nb_outputs,
                                                       const DataType* input_types,
                                                       int32_t nb_inputs) const noexcept {
  try {
    if (Status s = check_input_count(attributes_, nb_inputs, nb_outputs); !s) return to_result(s);
    if (output_types == nullptr || input_types == nullptr) return -1;
    // Strongly typed networks: the output type follows q; the types must already be ones we run.
    if (Status s = check_types(attributes_, input_types, nb_inputs, nullptr); !s) return to_result(s);
    output_types[0] = input_types[0];
    return 0;
  } catch (...) {
    report_exception("getOutputDataTypes");
  }
  return -1;
}

int32_t EncoderOnlyAttentionPlugin::getOutputShapes(const nvinfer1::DimsExprs* inputs, int32_t nb_inputs,
                                                    const nvinfer1::DimsExprs*, int32_t,
                                                    nvinfer1::DimsExprs* outputs, int32_t nb_outputs,
                                                    nvinfer1::IExprBuilder&) noexcept {
  try {
    if (Status s = check_input_count(attributes_, nb_inputs, nb_outputs); !s) return to_result(s);
    if (inputs == nullptr || outputs == nullptr) return -1;
    // Fail at network construction when the shapes are already known to be wrong (constant dims).
    nvinfer1::Dims known[contract::kInputCount];
    for (int32_t i = 0; i < nb_inputs; ++i) {
      // No rank (an input left empty in ONNX, TensorRT's null tensor) is refused below with a message.
      known[i].nbDims = inputs[i].nbDims < 0 ? 0 : inputs[i].nbDims;
      if (known[i].nbDims > nvinfer1::Dims::MAX_DIMS) return -1;
      for (int32_t d = 0; d < inputs[i].nbDims; ++d)
        known[i].d[d] = inputs[i].d[d]->isConstant() ? inputs[i].d[d]->getConstantValue() : -1;
    }
    if (Status s = check_input_shapes(attributes_, known, nb_inputs, /*allow_unknown=*/true); !s) return to_result(s);
    outputs[0] = inputs[0];  // same shape as q, as symbolic expressions
    return 0;
  } catch (...) {
    report_exception("getOutputShapes");
  }
  return -1;
}

bool EncoderOnlyAttentionPlugin::supportsFormatCombination(int32_t pos, const DynamicPluginTensorDesc* in_out,
                                                           int32_t nb_inputs, int32_t nb_outputs) noexcept {
  try {
    if (in_out == nullptr || pos < 0 || pos >= nb_inputs + nb_outputs) return false;
    if (!check_input_count(attributes_, nb_inputs, nb_outputs)) return false;
    // Only in_out[0..pos] may be read: later positions are not chosen yet.
    const PluginTensorDesc& d = in_out[pos].desc;
    if (d.format != TensorFormat::kLINEAR) return false;
    if (pos == 3 && nb_inputs >= 4) return d.type == DataType::kINT32;  // seq_lens / cu_seqlens
    if (pos == 0) return is_supported_activation(attributes_, d.type);
    return d.type == in_out[0].desc.type;  // k, v, attn_bias and the output follow q
  } catch (...) {
    report_exception("supportsFormatCombination");
  }
  return false;
}

int32_t EncoderOnlyAttentionPlugin::configurePlugin(const DynamicPluginTensorDesc* in, int32_t nb_inputs,
                                                    const DynamicPluginTensorDesc* out,
                                                    int32_t nb_outputs) noexcept {
  try {
    if (Status s = check_input_count(attributes_, nb_inputs, nb_outputs); !s) return to_result(s);
    if (in == nullptr || out == nullptr) return -1;
    PluginTensorDesc ins[contract::kInputCount], outs[1];
    for (int32_t i = 0; i < nb_inputs; ++i) ins[i] = in[i].desc;
    outs[0] = out[0].desc;
    // desc.dims may hold -1 for run-time dimensions; the profile's min/opt/max are concrete.
    if (Status s = check_descs(attributes_, ins, nb_inputs, outs, 1, /*allow_unknown=*/true); !s) return to_result(s);
    using Bound = nvinfer1::Dims DynamicPluginTensorDesc::*;
    for (Bound bound : {&DynamicPluginTensorDesc::min, &DynamicPluginTensorDesc::opt, &DynamicPluginTensorDesc::max}) {
      for (int32_t i = 0; i < nb_inputs; ++i) ins[i] = with_dims(in[i].desc, in[i].*bound);
      outs[0] = with_dims(out[0].desc, out[0].*bound);
      if (Status s = check_descs(attributes_, ins, nb_inputs, outs, 1, /*allow_unknown=*/false); !s)
        return to_result(s);
    }
    nb_inputs_ = nb_inputs;
    return 0;
  } catch (...) {
    report_exception("configurePlugin");
  }
  return -1;
}

size_t EncoderOnlyAttentionPlugin::getWorkspaceSize(const DynamicPluginTensorDesc*, int32_t,
                                                    const DynamicPluginTensorDesc*, int32_t) const noexcept {
  return 0;  // the kernels need no scratch memory (params.h: no allocation)
}

const char* EncoderOnlyAttentionPlugin::getTimingCacheID() noexcept {
  try {
    // Kernel choice depends on these attributes and the shapes/types TensorRT already keys on.
    std::ostringstream os;
    os << kPluginName << "_v" << kPluginVersion << "_h" << attributes_.num_heads << "_kv" << attributes_.num_kv_heads
       << "_d" << attributes_.head_size << "_" << to_string(attributes_.backend) << "_"
       << to_string(attributes_.layout);
    timing_cache_id_ = os.str();
    return timing_cache_id_.c_str();
  } catch (...) {
    report_exception("getTimingCacheID");
  }
  return nullptr;
}

int32_t EncoderOnlyAttentionPlugin::onShapeChange(const PluginTensorDesc* in, int32_t nb_inputs,
                                                  const PluginTensorDesc* out, int32_t nb_outputs) noexcept {
  try {
    if (in == nullptr || out == nullptr) return -1;
    if (Status s = check_descs(attributes_, in, nb_inputs, out, nb_outputs, /*allow_unknown=*/false); !s)
      return to_result(s);
    nb_inputs_ = nb_inputs;
    return 0;
  } catch (...) {
    report_exception("onShapeChange");
  }
  return -1;
}

int32_t EncoderOnlyAttentionPlugin::enqueue(const PluginTensorDesc* input_desc, const PluginTensorDesc* output_desc,
                                            const void* const* inputs, void* const* outputs, void*,
                                            cudaStream_t stream) noexcept {
  try {
    if (input_desc == nullptr || output_desc == nullptr || inputs == nullptr || outputs == nullptr) return -1;
    // enqueue() is not told the input count; onShapeChange() always runs first and records it.
    if (nb_inputs_ < 0)
      return to_result(Status::Error(std::string(kPluginName) + ": enqueue called before onShapeChange"));
    AttentionParams p;
    if (Status s = make_params(attributes_, input_desc, nb_inputs_, inputs, outputs[0], &p); !s) return to_result(s);
    if (p.total_tokens == 0) return 0;  // empty batch: nothing to write
    if (Status s = validate(p); !s) return to_result(s);
    return to_result(run_attention_cuda(p, stream));
  } catch (...) {
    report_exception("enqueue");
  }
  return -1;
}

nvinfer1::IPluginV3* EncoderOnlyAttentionPlugin::attachToContext(nvinfer1::IPluginResourceContext*) noexcept {
  // No per-context resources: each execution context gets its own full copy.
  return clone();
}

const nvinfer1::PluginFieldCollection* EncoderOnlyAttentionPlugin::getFieldsToSerialize() noexcept {
  try {
    return serialized_.build(attributes_);
  } catch (...) {
    report_exception("getFieldsToSerialize");
  }
  return nullptr;
}

nvinfer1::IPluginV3* EncoderOnlyAttentionCreator::createPlugin(const char* name,
                                                               const nvinfer1::PluginFieldCollection* fc,
                                                               nvinfer1::TensorRTPhase phase) noexcept {
  try {
    AttentionAttributes attributes;
    if (Status s = parse_attributes(fc, phase, &attributes); !s) {
      const std::string node = name ? std::string(name, ::strnlen(name, 1024)) : std::string("<unnamed>");
      log_error(s.message + " (node '" + node + "', " +
                (phase == nvinfer1::TensorRTPhase::kRUNTIME ? "engine deserialization" : "network build") + ")");
      return nullptr;
    }
    return new EncoderOnlyAttentionPlugin(attributes);
  } catch (...) {
    report_exception("createPlugin");
  }
  return nullptr;
}

const nvinfer1::PluginFieldCollection* EncoderOnlyAttentionCreator::getFieldNames() noexcept {
  return advertised_fields();
}
const char* EncoderOnlyAttentionCreator::getPluginName() const noexcept { return kPluginName; }
const char* EncoderOnlyAttentionCreator::getPluginVersion() const noexcept { return kPluginVersion; }
const char* EncoderOnlyAttentionCreator::getPluginNamespace() const noexcept { return kPluginNamespace; }

}  // namespace encexport::trt
