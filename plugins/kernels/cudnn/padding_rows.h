// Two small kernels around cuDNN's padded attention, which takes lengths on trust and leaves the query
// rows past each length to the caller: clamp the lengths into [0, S] (bad lengths must not read past the
// tensors; the flash kernel clamps the same way), and write those rows as zeros, as the contract says.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace encexport::cudnn {

// clamped[b] = min(max(lengths[b], 0), seq_len) for b < batch.
cudaError_t launch_clamp_lengths(const int32_t* lengths, int32_t* clamped, int batch, int seq_len,
                                 cudaStream_t stream);

// Zeroes rows [lengths[b], seq_len) of every sequence b: `row_bytes` bytes per row (a multiple of 16),
// rows `row_stride_bytes` apart (a multiple of 16), sequences seq_len rows apart.
cudaError_t launch_zero_padding_rows(void* out, int64_t row_stride_bytes, int64_t row_bytes, int batch,
                                     int seq_len, const int32_t* lengths, cudaStream_t stream);

}  // namespace encexport::cudnn
