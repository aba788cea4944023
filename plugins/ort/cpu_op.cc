// CPU execution provider kernel: exact fp32-accumulating math (plugins/cpu/attention_cpu.cc).
#include "op_base.h"

namespace encexport::ort {
namespace {

struct Cpu {
  // The CPU kernel is the reference implementation: it serves `auto` and `reference`; the tensor-core
  // family exists only on CUDA, and a node that insists on it must say so rather than silently run elsewhere.
  static Status check_supported(const NodeAttributes& a, DType) {
    if (a.backend == Backend::kFlash || a.backend == Backend::kCudnn)
      return Status::Error(std::string(kOpType) + ": backend '" + to_string(a.backend) +
                           "' runs only on CUDAExecutionProvider; run the session with CUDA, or export with backend "
                           "'auto' (or 'reference') to allow the CPU kernel");
    return Status::Ok();
  }

  static Status run(const AttentionParams& p, Ort::KernelContext&) { return run_attention_cpu(p); }
};

}  // namespace

void append_cpu_ops(OpList& ops) { append_ops_for<Cpu>("CPUExecutionProvider", ops); }

}  // namespace encexport::ort
