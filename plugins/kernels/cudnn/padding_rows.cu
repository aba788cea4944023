#include "padding_rows.h"

#include "../sequence_span.cuh"

namespace encexport::cudnn {
namespace {

__global__ void clamp_lengths_kernel(const int32_t* lengths, int32_t* clamped, int batch, int seq_len) {
  for (int b = blockIdx.x * blockDim.x + threadIdx.x; b < batch; b += gridDim.x * blockDim.x)
    clamped[b] = min(max(lengths[b], 0), seq_len);
}

// One CTA per (sequence, slice of its rows to finish); each thread stores 16-byte chunks.
__global__ void finish_padding_rows_kernel(unsigned char* out, int64_t row_stride_bytes, int64_t row_chunks,
                                           int seq_len, const int32_t* lengths, uint32_t nan_pair) {
  const int b = blockIdx.x;
  const kernels::SequenceSpan span = kernels::padded_span(b, seq_len, lengths);
  const int first = span.valid ? span.length : 0;
  const uint32_t fill = span.valid ? 0u : nan_pair;
  const int64_t chunks = static_cast<int64_t>(seq_len - first) * row_chunks;
  unsigned char* base = out + (static_cast<int64_t>(b) * seq_len + first) * row_stride_bytes;
  for (int64_t i = blockIdx.y * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < chunks;
       i += static_cast<int64_t>(gridDim.y) * blockDim.x) {
    const int64_t row = i / row_chunks, chunk = i % row_chunks;
    *reinterpret_cast<uint4*>(base + row * row_stride_bytes + chunk * 16) = make_uint4(fill, fill, fill, fill);
  }
}

}  // namespace

cudaError_t launch_clamp_lengths(const int32_t* lengths, int32_t* clamped, int batch, int seq_len,
                                 cudaStream_t stream) {
  const int threads = 256;
  const int blocks = (batch + threads - 1) / threads;
  clamp_lengths_kernel<<<blocks < 1024 ? blocks : 1024, threads, 0, stream>>>(lengths, clamped, batch, seq_len);
  return cudaGetLastError();
}

cudaError_t launch_finish_padding_rows(void* out, int64_t row_stride_bytes, int64_t row_bytes, int batch,
                                       int seq_len, const int32_t* lengths, uint32_t nan_pair, cudaStream_t stream) {
  // Enough CTAs per sequence to fill the GPU when a few long sequences carry most of the padding.
  const int slices = seq_len >= 1024 ? 8 : seq_len >= 128 ? 2 : 1;
  finish_padding_rows_kernel<<<dim3(batch, slices), 256, 0, stream>>>(
      static_cast<unsigned char*>(out), row_stride_bytes, row_bytes / 16, seq_len, lengths, nan_pair);
  return cudaGetLastError();
}

}  // namespace encexport::cudnn
