// CPU execution provider kernel: exact fp32-accumulating math (plugins/cpu/attention_cpu.cc).
#include "encexport/capabilities.h"
#include "op_base.h"

namespace encexport::ort {
namespace {

struct Cpu {
  // The CPU kernel is the reference implementation: it serves `auto` and `reference`; the tensor-core
  // families exist only on CUDA, and a node that insists on one must say so rather than silently run
  // elsewhere. Where the family could not run the node on CUDA either, that reason comes first: moving the
  // session to CUDA would not help.
  static Status check_supported(const NodeAttributes& a, DType dtype) {
    if (a.backend == Backend::kAuto || a.backend == Backend::kReference) return Status::Ok();
    AttentionParams probe;
    if (capability_probe(static_cast<int>(dtype), static_cast<int>(a.layout), a.num_heads, a.num_kv_heads,
                         a.head_size, /*seq_len=*/0, /*has_bias=*/false, &probe)) {
      if (Capability c = supports(a.backend, probe, kAnyDevice); c.support == Support::kOutside)
        return Status::Error(c.reason + " (the family runs only on CUDAExecutionProvider)");
    }
    return Status::Error(std::string(kOpType) + ": backend '" + to_string(a.backend) +
                         "' runs only on CUDAExecutionProvider; run the session with CUDA, or export with backend "
                         "'auto' (or 'reference') to allow the CPU kernel");
  }

  static Status run(const AttentionParams& p, Ort::KernelContext&) { return run_attention_cpu(p); }
};

}  // namespace

void append_cpu_ops(OpList& ops) { append_ops_for<Cpu>("CPUExecutionProvider", ops); }

}  // namespace encexport::ort
