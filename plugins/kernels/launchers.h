// Host-side entry points of the two kernel families, as dispatch.cu sees them. The flash launcher is a
// template whose definitions live in instantiations/*.cu (one file per head size and dtype), so that
// dispatch.cu compiles without any kernel body and each instantiation compiles in parallel.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "encexport/params.h"

namespace encexport::kernels {

// Reference family: CUDA cores, fp32 accumulation, every dtype, every head size <= kMaxHeadSize.
cudaError_t launch_reference(const AttentionParams& p, cudaStream_t stream);

// m16 row blocks per warp in the flash kernel's long-sequence tiling. Every K/V fragment a warp loads by
// ldmatrix feeds that many MMAs, so two blocks halve the shared-memory traffic per MMA, which is what limits
// mma.sync at long sequences. Above D=128 the two blocks' fp32 accumulators (D fp32 registers per thread) no
// longer fit next to S. Every compiled head size has this tiling (generate.py); D <= 128 also has 1 block.
constexpr int long_row_blocks(int head_dim) { return head_dim <= 128 ? 2 : 1; }

// Flash family: tensor cores (mma.sync m16n8k16), Element = __half or __nv_bfloat16, head size kHeadDim,
// kRowBlocks m16 row blocks per warp (2: 128-row tiles for long sequences, 1: 64-row tiles for short ones).
// Preconditions checked by the dispatcher: head_size == kHeadDim, 16-byte aligned pointers, row strides a
// multiple of 8 elements, compute capability >= 8.0, batch > 0 and total_tokens > 0.
template <typename Element, int kHeadDim, int kRowBlocks>
cudaError_t launch_flash(const AttentionParams& p, cudaStream_t stream);

// Hopper family (hopper/hopper_kernel.cuh): wgmma + TMA, persistent, warp-specialised; sm_90a only. Same
// preconditions as flash, plus compute capability 9.x and a head size compiled in instantiations/.
template <typename Element, int kHeadDim>
cudaError_t launch_hopper(const AttentionParams& p, cudaStream_t stream);

}  // namespace encexport::kernels

namespace encexport::testing {
// Benchmarks and tests only: force the flash tiling (1 = 64-row, 2 = 128-row tiles where compiled; 0 = the
// dispatcher's rule). Process-wide.
void force_flash_row_blocks(int row_blocks);
}  // namespace encexport::testing
