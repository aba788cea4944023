// CUDA execution provider kernel: binds the call like the CPU kernel, then launches the CUDA kernels
// (plugins/kernels/) on ORT's compute stream. No host synchronisation and no allocation here: the
// output comes from ORT's allocator in bind_call, and ordering with the neighbouring nodes is the stream's.
#include "op_base.h"

namespace encexport::ort {
namespace {

struct Cuda {
  // A node that insists on 'flash' fails at session creation when no tensor-core kernel exists for its
  // dtype and head size on this GPU. The dispatcher is asked through the same resolve function it uses
  // at run time, with placeholder (aligned, non-null) pointers and dense strides.
  static Status check_supported(const NodeAttributes& a, DType dtype) {
    if (a.backend != Backend::kFlash) return Status::Ok();
    AttentionParams probe;
    probe.dtype = dtype;
    probe.backend = Backend::kAuto;
    probe.num_heads = a.num_heads;
    probe.num_kv_heads = a.num_kv_heads;
    probe.head_size = a.head_size;
    probe.q = probe.k = probe.v = probe.out = reinterpret_cast<void*>(uintptr_t{256});
    set_dense_strides(probe);
    if (resolve_backend_cuda(probe) == Backend::kFlash) return Status::Ok();
    return Status::Error(std::string("EncoderOnlyAttention: backend 'flash' has no CUDA kernel for dtype ") +
                         to_string(dtype) + " and head_size " + std::to_string(a.head_size) +
                         " on this GPU (flash: float16/bfloat16, head sizes a multiple of 16 up to 256, sm_80+);"
                         " export with backend 'auto' to fall back to 'reference'");
  }

  static Status run(const AttentionParams& p, Ort::KernelContext& ctx) {
    return run_attention_cuda(p, ctx.GetGPUComputeStream());
  }
};

}  // namespace

void append_cuda_ops(OpList& ops) { append_ops_for<Cuda>("CUDAExecutionProvider", ops); }

}  // namespace encexport::ort
