// The capability query in a build without CUDA: the CPU kernel (plugins/cpu/) serves `auto` and `reference`
// and runs every valid case; the CUDA families are missing, with the fix.
#include "encexport/capabilities.h"

namespace encexport {

Capability supports(Backend backend, const AttentionParams& p, int) {
  if (Status s = validate(p); !s) return {Support::kInvalid, s.message};
  if (backend == Backend::kAuto || backend == Backend::kReference) return {};
  return {Support::kUnavailable, std::string("EncoderOnlyAttention: backend '") + to_string(backend) +
                                     "' is unavailable: a library built without CUDA (rebuild where nvcc is found: "
                                     "scripts/build_plugins.sh); use backend 'auto' or 'reference' for the CPU kernel"};
}

Status auto_choice(const AttentionParams& p, int, Backend* family, std::string* why) {
  if (Status s = validate(p); !s) return s;
  *family = Backend::kReference;
  if (why != nullptr) *why = "reference -- the CPU kernel (a library built without CUDA)";
  return Status::Ok();
}

}  // namespace encexport
