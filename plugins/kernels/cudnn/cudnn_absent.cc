// The cuDNN member of the dispatch in a build without the cuDNN headers: it always refuses, with the fix.
#include "cudnn_attention.h"

namespace encexport::cudnn {

std::string unavailable(bool) {
  return "a library built without cuDNN (rebuild with the cuDNN 9 headers present: scripts/build_plugins.sh "
         "finds them in the Python package nvidia-cudnn-cu13 or under /usr/include, or set CUDNN_INCLUDE_DIR)";
}

Status run(const AttentionParams&, cudaStream_t, bool* unsupported) {
  *unsupported = true;
  return Status::Error("EncoderOnlyAttention: backend 'cudnn' is not available in " + unavailable(false));
}

}  // namespace encexport::cudnn
