// run_attention_cuda in a library built without the CUDA kernels: a refusal with the fix. Only the sanitized
// host-only variant (ENCEXPORT_SANITIZE, plugins/CMakeLists.txt) links it, so that the TensorRT plugin and its
// harness build there; nothing in that variant's runs reaches enqueue.
#include "encexport/params.h"

namespace encexport {

Status run_attention_cuda(const AttentionParams&, void*, Backend*) {
  return Status::Error(
      "EncoderOnlyAttention: this library was built without the CUDA kernels (the host-only sanitized build, "
      "ENCEXPORT_SANITIZE); build it with `encexport build-plugins` to run on a GPU");
}

}  // namespace encexport
