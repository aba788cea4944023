#include "op_base.h"

namespace encexport::ort {

Status bind_call(Ort::KernelContext& ctx, const NodeAttributes& a, DType dtype, AttentionParams* p) {
  InputShapes shapes;
  Ort::ConstValue q = ctx.GetInput(0), k = ctx.GetInput(1), v = ctx.GetInput(2);
  shapes.q = q.GetTensorTypeAndShapeInfo().GetShape();
  shapes.k = k.GetTensorTypeAndShapeInfo().GetShape();
  shapes.v = v.GetTensorTypeAndShapeInfo().GetShape();
  Ort::ConstValue lengths{nullptr};
  if (ctx.GetInputCount() > 3) lengths = ctx.GetInput(3);
  shapes.has_lengths = static_cast<const OrtValue*>(lengths) != nullptr;
  if (shapes.has_lengths) shapes.lengths = lengths.GetTensorTypeAndShapeInfo().GetShape();

  if (Status s = make_params(a, shapes, p); !s) return s;
  p->dtype = dtype;
  Ort::UnownedValue out = ctx.GetOutput(0, shapes.q);
  p->q = q.GetTensorRawData();
  p->k = k.GetTensorRawData();
  p->v = v.GetTensorRawData();
  p->out = out.GetTensorMutableRawData();
  if (shapes.has_lengths) {
    const auto* lens = static_cast<const int32_t*>(lengths.GetTensorRawData());
    (a.layout == Layout::kPacked ? p->cu_seqlens : p->seq_lens) = lens;
  }
  return validate(*p);
}

}  // namespace encexport::ort
