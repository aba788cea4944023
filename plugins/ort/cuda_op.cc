// CUDA execution provider kernel: binds the call like the CPU kernel, then launches the CUDA kernels
// (plugins/kernels/) on ORT's compute stream. No host synchronisation and no allocation here: the
// output comes from ORT's allocator in bind_call, and ordering with the neighbouring nodes is the stream's.
#include "encexport/capabilities.h"
#include "op_base.h"

namespace encexport::ort {
namespace {

struct Cuda {
  // A node that insists on a family fails at session creation when that family cannot run its dtype and
  // attributes on this GPU, with the dispatcher's own reason and fix (the same table decides at run time).
  // Whether the node has an attn_bias is known per call: a family that refuses a bias (cudnn) fails then.
  static Status check_supported(const NodeAttributes& a, DType dtype) {
    if (a.backend == Backend::kAuto) return Status::Ok();
    AttentionParams probe;
    Status s = capability_probe(static_cast<int>(dtype), static_cast<int>(a.layout), a.num_heads, a.num_kv_heads,
                                a.head_size, /*seq_len=*/0, /*has_bias=*/false, &probe);
    if (!s) return s;
    Capability c = supports(a.backend, probe, kCurrentDevice);
    return c ? Status::Ok() : Status::Error(c.reason);
  }

  static Status run(const AttentionParams& p, Ort::KernelContext& ctx) {
    return run_attention_cuda(p, ctx.GetGPUComputeStream());
  }
};

}  // namespace

void append_cuda_ops(OpList& ops) { append_ops_for<Cuda>("CUDAExecutionProvider", ops); }

}  // namespace encexport::ort
