// One op definition serves every (execution provider, dtype) pair: it declares the node's signature to ORT
// and reads the attributes once. The per-EP kernels (cpu_op.cc, cuda_op.cc) only run AttentionParams.
#pragma once

#include <string>

#include "encexport/contract.h"
#include "node_attrs.h"
#include "ops.h"

namespace encexport::ort {

// ORT element type <-> kernel dtype.
inline DType to_dtype(ONNXTensorElementDataType t) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return DType::kFloat16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return DType::kBFloat16;
    default: return DType::kFloat32;
  }
}

// Reads the inputs of one call, validates them against the attributes, allocates the output through ORT
// and fills p with the data pointers (k and v inside query's rows for the packed q|k|v form: no copy).
// Returns an error status (never throws).
Status bind_call(Ort::KernelContext& ctx, const NodeAttributes& a, DType dtype, AttentionParams* p);

// Runs body() and converts any exception (ORT's C++ wrappers throw) into an OrtStatus: nothing may unwind
// through ORT's C boundary.
template <typename F>
OrtStatusPtr guarded(const OrtApi& api, F&& body) {
  try {
    return body();
  } catch (const Ort::Exception& e) {
    return api.CreateStatus(e.GetOrtErrorCode(), e.what());
  } catch (const std::exception& e) {
    return api.CreateStatus(ORT_FAIL, (std::string(kOpType) + ": " + e.what()).c_str());
  } catch (...) {
    return api.CreateStatus(ORT_FAIL, (std::string(kOpType) + ": unknown error").c_str());
  }
}

// One ORT kernel per execution provider: bind the call (shared), then Device::run it. Device supplies
// check_supported(attrs, dtype) (refuse a node at session creation) and run(params, ctx).
template <typename Device>
struct AttentionKernel {
  AttentionKernel(const OrtApi& api, NodeAttributes attrs, DType dtype) : api_(api), attrs_(attrs), dtype_(dtype) {}

  static Status check_supported(const NodeAttributes& a, DType dtype) { return Device::check_supported(a, dtype); }

  OrtStatusPtr ComputeV2(OrtKernelContext* context) {
    return guarded(api_, [&]() -> OrtStatusPtr {
      Ort::KernelContext ctx(context);
      AttentionParams p;
      if (Status s = bind_call(ctx, attrs_, dtype_, &p); !s) return to_ort_status(api_, s);
      return to_ort_status(api_, Device::run(p, ctx));
    });
  }

 private:
  const OrtApi& api_;
  NodeAttributes attrs_;
  DType dtype_;
};

template <typename Kernel>
struct AttentionOp : Ort::CustomOpBase<AttentionOp<Kernel>, Kernel, /*WithStatus=*/true> {
  AttentionOp(const char* ep, ONNXTensorElementDataType type) : ep_(ep), type_(type) {}

  const char* GetName() const { return kOpType; }
  const char* GetExecutionProviderType() const { return ep_; }

  // Inputs: query, key, value, then seq_lens (padded, optional) or cu_seqlens (packed, required), then attn_bias
  // (optional). key and value are optional for ORT so that the packed q|k|v form (both empty) resolves; bind_call
  // checks the combination. attn_bias is declared with any element type so that a bias of another dtype than
  // query reaches bind_call, which refuses it with a message naming the fix (ORT's own type check would only say
  // that no kernel matches).
  size_t GetInputTypeCount() const { return contract::kInputCount; }
  ONNXTensorElementDataType GetInputType(size_t i) const {
    if (i == 3) return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    if (i == static_cast<size_t>(contract::kBiasInput)) return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    return type_;
  }
  OrtCustomOpInputOutputCharacteristic GetInputCharacteristic(size_t i) const {
    return i == 0 ? OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_REQUIRED
                  : OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_OPTIONAL;
  }
  size_t GetOutputTypeCount() const { return 1; }
  ONNXTensorElementDataType GetOutputType(size_t) const { return type_; }

  OrtStatusPtr CreateKernelV2(const OrtApi& api, const OrtKernelInfo* info, void** kernel) const {
    return guarded(api, [&]() -> OrtStatusPtr {
      NodeAttributes attrs;
      if (Status s = read_node_attributes(api, info, &attrs); !s) return to_ort_status(api, s);
      if (Status s = Kernel::check_supported(attrs, to_dtype(type_)); !s) return to_ort_status(api, s, ORT_NOT_IMPLEMENTED);
      *kernel = new Kernel(api, attrs, to_dtype(type_));
      return nullptr;
    });
  }

 private:
  const char* ep_;
  ONNXTensorElementDataType type_;
};

// The three element types every EP registers.
inline constexpr ONNXTensorElementDataType kElementTypes[] = {
    ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16, ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16};

template <typename Device>
void append_ops_for(const char* ep, OpList& ops) {
  for (auto t : kElementTypes) ops.emplace_back(std::make_unique<AttentionOp<AttentionKernel<Device>>>(ep, t));
}

}  // namespace encexport::ort
