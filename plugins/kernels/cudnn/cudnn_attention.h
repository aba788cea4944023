// cuDNN's fused attention as a member of the CUDA dispatch, behind one small interface.
//
// cuDNN is never linked: the library is opened at run time (dlopen of libcudnn.so.9, or the path in
// ENCEXPORT_CUDNN_LIBRARY) through the cuDNN frontend's dynamic-loading mode. A build without the cuDNN
// headers compiles cudnn_absent.cc instead, so every caller sees the same interface either way and `auto`
// simply never picks cuDNN there.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "encexport/params.h"

namespace encexport::cudnn {

// Why cuDNN is missing here (empty: it is usable): a build without cuDNN and, when `probe_machine`, a machine
// without the library (opened once per process). The parameter limits (dtype, layout, head size, alignment)
// are in the dispatcher's family table (dispatch.cu), so a build without cuDNN still knows them.
std::string unavailable(bool probe_machine);

// Runs p through a cached cuDNN graph on `stream`. When cuDNN rejects the shape itself (graph support
// check), *unsupported is set so that `auto` can fall back to another family.
Status run(const AttentionParams& p, cudaStream_t stream, bool* unsupported);

}  // namespace encexport::cudnn
