#include "op_base.h"

namespace encexport::ort {
namespace {

// Input i, or a null value when the node leaves it empty ("") or omits it at the end.
Ort::ConstValue optional_input(Ort::KernelContext& ctx, size_t i) {
  return i < ctx.GetInputCount() ? ctx.GetInput(i) : Ort::ConstValue{nullptr};
}

bool present(const Ort::ConstValue& v) { return static_cast<const OrtValue*>(v) != nullptr; }

std::vector<int64_t> shape_of(const Ort::ConstValue& v) { return v.GetTensorTypeAndShapeInfo().GetShape(); }

const char* element_type_name(ONNXTensorElementDataType t) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return "float32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return "float16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return "bfloat16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: return "float64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return "int32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return "int64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return "bool";
    default: return "a non-float type";
  }
}

}  // namespace

Status bind_call(Ort::KernelContext& ctx, const NodeAttributes& a, DType dtype, AttentionParams* p) {
  InputShapes shapes;
  Ort::ConstValue q = ctx.GetInput(0), k = optional_input(ctx, 1), v = optional_input(ctx, 2);
  Ort::ConstValue lengths = optional_input(ctx, 3);
  Ort::ConstValue bias = optional_input(ctx, contract::kBiasInput);
  shapes.q = shape_of(q);
  shapes.has_key = present(k);
  shapes.has_value = present(v);
  shapes.has_lengths = present(lengths);
  if (shapes.has_key) shapes.k = shape_of(k);
  if (shapes.has_value) shapes.v = shape_of(v);
  if (shapes.has_lengths) shapes.lengths = shape_of(lengths);
  shapes.has_bias = present(bias);
  if (shapes.has_bias) {
    const ONNXTensorElementDataType bias_type = bias.GetTensorTypeAndShapeInfo().GetElementType();
    const ONNXTensorElementDataType q_type = q.GetTensorTypeAndShapeInfo().GetElementType();
    if (bias_type != q_type || to_dtype(bias_type) != dtype)
      return Status::Error(std::string(kOpType) + ": attn_bias has element type " + element_type_name(bias_type) +
                           " but query is " + element_type_name(q_type) +
                           "; cast the bias to the dtype of query, key and value (Cast before the node)");
    shapes.bias = shape_of(bias);
  }

  if (Status s = make_params(a, shapes, p); !s) return s;
  p->dtype = dtype;
  std::vector<int64_t> out_shape = shapes.q;
  out_shape.back() = static_cast<int64_t>(a.num_heads) * a.head_size;  // packed q|k|v rows in, q-wide rows out
  Ort::UnownedValue out = ctx.GetOutput(0, out_shape);
  p->q = q.GetTensorRawData();
  if (shapes.packed_qkv()) {
    // k and v are column ranges of query's rows; the kernels read them with query's row stride.
    const auto* row = static_cast<const char*>(p->q);
    p->k = row ? row + packed_key_offset(a) * element_size(dtype) : nullptr;
    p->v = row ? row + packed_value_offset(a) * element_size(dtype) : nullptr;
  } else {
    p->k = k.GetTensorRawData();
    p->v = v.GetTensorRawData();
  }
  p->out = out.GetTensorMutableRawData();
  if (shapes.has_bias) p->bias = bias.GetTensorRawData();
  if (shapes.has_lengths) {
    const auto* lens = static_cast<const int32_t*>(lengths.GetTensorRawData());
    (a.layout == Layout::kPacked ? p->cu_seqlens : p->seq_lens) = lens;
  }
  return validate(*p);
}

}  // namespace encexport::ort
