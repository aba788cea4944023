// CPU execution provider kernel: exact fp32-accumulating math (plugins/cpu/attention_cpu.cc).
#include "op_base.h"

namespace encexport::ort {
namespace {

struct CpuKernel {
  CpuKernel(const OrtApi& api, NodeAttributes attrs, DType dtype) : api_(api), attrs_(attrs), dtype_(dtype) {}

  // The CPU kernel is the reference implementation: it serves `auto` and `reference`; the tensor-core
  // family exists only on CUDA, and a node that insists on it must say so rather than silently run elsewhere.
  static Status check_supported(const NodeAttributes& a, DType) {
    if (a.backend == Backend::kFlash)
      return Status::Error(
          "EncoderOnlyAttention: backend 'flash' runs only on CUDAExecutionProvider; run the session with CUDA, or "
          "export with backend 'auto' (or 'reference') to allow the CPU kernel");
    return Status::Ok();
  }

  OrtStatusPtr ComputeV2(OrtKernelContext* context) {
    return guarded(api_, [&]() -> OrtStatusPtr {
      Ort::KernelContext ctx(context);
      AttentionParams p;
      if (Status s = bind_call(ctx, attrs_, dtype_, &p); !s) return to_ort_status(api_, s);
      return to_ort_status(api_, run_attention_cpu(p));
    });
  }

 private:
  const OrtApi& api_;
  NodeAttributes attrs_;
  DType dtype_;
};

}  // namespace

void append_cpu_ops(OpList& ops) { append_ops_for<CpuKernel>("CPUExecutionProvider", ops); }

}  // namespace encexport::ort
