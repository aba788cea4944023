// Two small kernels around cuDNN's padded attention, which takes lengths on trust and leaves the query
// rows past each length to the caller: clamp the lengths into [0, S] (bad lengths must not read past the
// tensors; the flash kernel clamps the same way), and finish the rows cuDNN leaves: zeros past each valid
// length, NaN over every row of a sequence whose length was outside [0, S] (padded_span's rule, as flash and
// reference apply it).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace encexport::cudnn {

// clamped[b] = min(max(lengths[b], 0), seq_len) for b < batch.
cudaError_t launch_clamp_lengths(const int32_t* lengths, int32_t* clamped, int batch, int seq_len,
                                 cudaStream_t stream);

// For every sequence b: rows [lengths[b], seq_len) become zeros when lengths[b] is in [0, seq_len], else all
// seq_len rows become `nan_pair` (two NaNs of the 16-bit output dtype). `row_bytes` bytes per row (a multiple of
// 16), rows `row_stride_bytes` apart (a multiple of 16), sequences seq_len rows apart. `lengths` are the caller's,
// unclamped.
cudaError_t launch_finish_padding_rows(void* out, int64_t row_stride_bytes, int64_t row_bytes, int batch,
                                       int seq_len, const int32_t* lengths, uint32_t nan_pair, cudaStream_t stream);

}  // namespace encexport::cudnn
