// Tensor-core bidirectional attention (FlashAttention-2 style forward pass), one template for every
// head size and 16-bit dtype. Included only by the generated files in instantiations/.
//
// One CTA = one query tile of kBlockM rows of one (sequence, head); 4 warps, each owning 16 or 32 query
// rows (kMBlocks m16 blocks).
// Per key tile of kBlockN rows:
//   S = Q·Kᵀ          mma.sync m16n8k16, Q fragments in registers (D <= 64; else re-read from smem),
//                     K fragments by ldmatrix from smem
//   online softmax    in registers, on the S accumulators (row max/sum across the 4 lanes of a quad)
//   O += P·V          the S accumulators repacked in place as the A operand, V by ldmatrix.trans
// K/V tiles are double-buffered in shared memory with cp.async, so tile n+1 streams in while tile n is
// multiplied. Nothing is written to global memory but the output; there is no workspace.
// An additive bias (padded layout) is a runtime branch, not a template parameter: each lane reads its own
// elements of the scores tile straight from global memory (one predicated load per score, nothing staged),
// adds them after the scale, and keys past the sequence end stay masked.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "encexport/params.h"
#include "fault_injection.h"
#include "launchers.h"
#include "token_tensors.h"
#include "mma_primitives.cuh"
#include "sequence_span.cuh"

namespace encexport::kernels {

// kRowBlocks = 1 is the short-sequence tiling: 64 query rows per CTA instead of 128, about half the
// registers per thread (so twice the resident CTAs per SM) and half the rows wasted on a short sequence's
// last tile -- what ragged batches of ~64-token sequences need (dispatch.cu picks it by mean length).
template <int kHeadDim, int kRowBlocks = long_row_blocks(kHeadDim)>
struct FlashTiling {
  static_assert(kHeadDim % 16 == 0 && kHeadDim <= 256, "head size must be a multiple of 16, at most 256");
  static_assert(kRowBlocks == 1 || kRowBlocks == 2, "one or two m16 row blocks per warp");
  static constexpr int kWarps = 4;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kMBlocks = kRowBlocks;
  static constexpr int kWarpRows = 16 * kMBlocks;
  // 64 or 128 query rows per CTA: encoder sequences are short (128-512 typical), so larger tiles would
  // leave CTAs mostly empty and too few of them to fill 132 SMs at small batch sizes.
  static constexpr int kBlockM = kWarps * kWarpRows;
  // 64 keys per tile up to D=64, 32 above: S costs kMBlocks*kBlockN/2 fp32 registers per thread and the
  // O accumulator kMBlocks*D/2, and together they must stay under 255 registers without spilling.
  static constexpr int kBlockN = kHeadDim <= 64 ? 64 : 32;
  // Q stays in registers (kMBlocks*D/4 x 32-bit per thread) up to D=64; beyond that it would crowd out
  // the accumulators, so the fragments are re-read from shared memory (ldmatrix) per key tile instead.
  static constexpr bool kQInRegisters = kHeadDim <= 64;
  // Shared-memory rows padded by 16 bytes: consecutive rows then start 4 banks apart, so the 8 row
  // addresses of every ldmatrix phase hit 8 distinct bank groups (no conflicts, no swizzle arithmetic).
  static constexpr int kSmemStride = kHeadDim + 8;
  static constexpr int kChunksPerRow = kHeadDim / 8;  // 16-byte chunks
};

struct FlashArgs : TokenTensors {
  int32_t tiles_per_sequence;                      // padded layout: ceil(S / kBlockM)
  float scale_log2;                                // scale * log2(e): softmax runs on exp2
};

template <typename T, int kHeadDim, int kRowBlocks>
constexpr size_t flash_smem_bytes() {
  using Tile = FlashTiling<kHeadDim, kRowBlocks>;
  return static_cast<size_t>(Tile::kBlockM + 4 * Tile::kBlockN) * Tile::kSmemStride * sizeof(T);
}

// Copies `rows` x kHeadDim elements (rows beyond `valid_rows` zero-filled) into shared memory.
template <typename T, int kHeadDim, int kRows>
__device__ __forceinline__ void load_tile_async(T* smem, const T* gmem, int64_t row_stride, int valid_rows) {
  using Tile = FlashTiling<kHeadDim>;
  constexpr int kChunks = kRows * Tile::kChunksPerRow;
#pragma unroll
  for (int i = threadIdx.x; i < kChunks; i += Tile::kThreads) {
    const int r = i / Tile::kChunksPerRow;
    const int c = (i % Tile::kChunksPerRow) * 8;
    const bool valid = r < valid_rows;
    // An invalid chunk still needs a legal address for the instruction; row 0 of the tile always is one.
    const T* src = gmem + (valid ? r * row_stride : 0) + c;
    cp_async_16(smem + r * Tile::kSmemStride + c, src, valid);
  }
}

// Writes `pair` (two elements packed in 32 bits) over rows [0, rows) of this head's output: zeros for the padding
// query rows of the padded layout, NaN for the rows of lengths out of range.
template <typename T, int kHeadDim>
__device__ __forceinline__ void store_rows(T* out, int64_t row_stride, int rows, uint32_t pair) {
  using Tile = FlashTiling<kHeadDim>;
  const int chunks = rows * Tile::kChunksPerRow;
  for (int i = threadIdx.x; i < chunks; i += Tile::kThreads) {
    const int r = i / Tile::kChunksPerRow;
    const int c = (i % Tile::kChunksPerRow) * 8;
    *reinterpret_cast<uint4*>(out + r * row_stride + c) = make_uint4(pair, pair, pair, pair);
  }
}

template <typename T>
__device__ __forceinline__ uint32_t nan_pair() {
  const float nan = __int_as_float(0x7fc00000);
  return ElementTraits<T>::pack(nan, nan);
}

template <typename T, int kHeadDim, int kRowBlocks>
__global__ void __launch_bounds__(FlashTiling<kHeadDim, kRowBlocks>::kThreads)
    flash_attention_kernel(const FlashArgs args) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using Tile = FlashTiling<kHeadDim, kRowBlocks>;
  constexpr int kM = Tile::kBlockM, kN = Tile::kBlockN, kS = Tile::kSmemStride;
  constexpr int kKSteps = kHeadDim / 16;  // k-steps of Q·Kᵀ
  constexpr int kSTiles = kN / 8;         // n8 tiles of S per warp
  constexpr int kOTiles = kHeadDim / 8;   // n8 tiles of O per warp

  // ---- which rows this CTA owns ----
  const int h = blockIdx.y;
  SequenceSpan span;
  int32_t row0;
  if (args.cu_seqlens == nullptr) {
    const int32_t b = blockIdx.x / args.tiles_per_sequence;
    span = padded_span(b, args.seq_len, args.seq_lens);
    row0 = (blockIdx.x % args.tiles_per_sequence) * kM;
  } else {
    const int64_t tile = blockIdx.x;
    const int32_t b = packed_tile_owner_warp(tile, args.cu_seqlens, args.batch, args.total_tokens, kM);
    span = packed_span_warp(b, args.cu_seqlens, args.batch, args.total_tokens);
    row0 = static_cast<int32_t>((tile - packed_tile_begin(b, args.cu_seqlens, args.total_tokens, kM)) * kM);
    if (!span.valid) {
      // Bad cu_seqlens: the tiles of the sequences no longer cover the rows, so CTA x writes NaN over rows
      // [x*kM, (x+1)*kM) instead; the B + T/kM CTAs cover all T rows.
      const int64_t first = tile * kM;
      if (first >= args.total_tokens) return;
      T* rows = static_cast<T*>(args.out) + first * args.o_stride + static_cast<int64_t>(h) * kHeadDim;
      const int64_t left = args.total_tokens - first;
      store_rows<T, kHeadDim>(rows, args.o_stride, left < kM ? static_cast<int>(left) : kM, nan_pair<T>());
      return;
    }
  }
  if (row0 >= span.extent) return;  // surplus packed tile
  const int rows_here = min(kM, span.extent - row0);

  T* out = static_cast<T*>(args.out) + (span.first_token + row0) * args.o_stride + static_cast<int64_t>(h) * kHeadDim;
  if (!span.valid) {  // padded layout, seq_lens[b] outside [0, S]: all S rows NaN
    store_rows<T, kHeadDim>(out, args.o_stride, rows_here, nan_pair<T>());
    return;
  }
  const bool zero_padding = !faults::active(args.fault, faults::kKeepPaddingRows);
  if (row0 >= span.length) {  // padded layout only: every row of this tile is padding
    if (zero_padding) store_rows<T, kHeadDim>(out, args.o_stride, rows_here, 0u);
    return;
  }
  // Keys attended: span.length, except in the fault-injection test library (fault_injection.h).
  const int keys = faults::keys(args.fault, span.length, args.total_tokens - (span.first_token + span.length));

  const int kv_head = h / args.group;  // GQA/MQA: index mapping, no K/V copies
  const T* q = static_cast<const T*>(args.q) + (span.first_token + row0) * args.q_stride + static_cast<int64_t>(h) * kHeadDim;
  const T* k = static_cast<const T*>(args.k) + span.first_token * args.k_stride + static_cast<int64_t>(kv_head) * kHeadDim;
  const T* v = static_cast<const T*>(args.v) + span.first_token * args.v_stride + static_cast<int64_t>(kv_head) * kHeadDim;

  extern __shared__ __align__(16) unsigned char smem_bytes[];
  T* sQ = reinterpret_cast<T*>(smem_bytes);
  T* sK = sQ + kM * kS;      // 2 stages
  T* sV = sK + 2 * kN * kS;  // 2 stages

  const int q_rows_valid = span.length - row0;
  const int n_tiles = (keys + kN - 1) / kN;
  auto load_kv = [&](int tile, int stage) {
    const int first = tile * kN;
    load_tile_async<T, kHeadDim, kN>(sK + stage * kN * kS, k + first * args.k_stride, args.k_stride, keys - first);
    load_tile_async<T, kHeadDim, kN>(sV + stage * kN * kS, v + first * args.v_stride, args.v_stride, keys - first);
  };
  load_tile_async<T, kHeadDim, kM>(sQ, q, args.q_stride, q_rows_valid);
  load_kv(0, 0);
  cp_async_commit();

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int quad_row = lane / 4, quad_col = lane % 4;  // g and t of the mma register layout
  constexpr int kMB = Tile::kMBlocks;
  const T* sQ_warp = sQ + warp * Tile::kWarpRows * kS;

  uint32_t q_frag[kMB][Tile::kQInRegisters ? kKSteps : 1][4];
  float o_acc[kMB][kOTiles][4];
#pragma unroll
  for (int mb = 0; mb < kMB; ++mb)
#pragma unroll
    for (int i = 0; i < kOTiles; ++i) o_acc[mb][i][0] = o_acc[mb][i][1] = o_acc[mb][i][2] = o_acc[mb][i][3] = 0.f;
  // Running max (in log2 units) and the lane's partial row sums for rows g and g+8 of each m16 block.
  float row_max[kMB][2], row_sum[kMB][2];
#pragma unroll
  for (int mb = 0; mb < kMB; ++mb) {
    row_max[mb][0] = row_max[mb][1] = -INFINITY;
    row_sum[mb][0] = row_sum[mb][1] = 0.f;
  }

  for (int n = 0; n < n_tiles; ++n) {
    const int stage = n & 1;
    if (n + 1 < n_tiles) load_kv(n + 1, stage ^ 1);
    cp_async_commit();  // possibly empty group: keeps the wait count below uniform
    cp_async_wait<1>();
    __syncthreads();

    if constexpr (Tile::kQInRegisters) {
      if (n == 0) {
#pragma unroll
        for (int mb = 0; mb < kMB; ++mb)
#pragma unroll
          for (int kk = 0; kk < kKSteps; ++kk)
            ldmatrix_x4(q_frag[mb][kk], sQ_warp + (mb * 16 + lane % 16) * kS + kk * 16 + (lane / 16) * 8);
      }
    }

    // ---- S = Q·Kᵀ for this warp's rows x kN keys ----
    const T* sK_stage = sK + stage * kN * kS;
    float s_acc[kMB][kSTiles][4];
#pragma unroll
    for (int mb = 0; mb < kMB; ++mb)
#pragma unroll
      for (int j = 0; j < kSTiles; ++j) s_acc[mb][j][0] = s_acc[mb][j][1] = s_acc[mb][j][2] = s_acc[mb][j][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < kKSteps; ++kk) {
      uint32_t a[kMB][4];
#pragma unroll
      for (int mb = 0; mb < kMB; ++mb) {
        if constexpr (Tile::kQInRegisters) {
#pragma unroll
          for (int e = 0; e < 4; ++e) a[mb][e] = q_frag[mb][kk][e];
        } else {
          ldmatrix_x4(a[mb], sQ_warp + (mb * 16 + lane % 16) * kS + kk * 16 + (lane / 16) * 8);
        }
      }
#pragma unroll
      for (int np = 0; np < kN / 16; ++np) {
        uint32_t b[4];
        ldmatrix_x4(b, sK_stage + (np * 16 + lane % 8 + (lane / 16) * 8) * kS + kk * 16 + ((lane / 8) % 2) * 8);
#pragma unroll
        for (int mb = 0; mb < kMB; ++mb) {
          mma_m16n8k16<T>(s_acc[mb][2 * np], a[mb], b[0], b[1]);
          mma_m16n8k16<T>(s_acc[mb][2 * np + 1], a[mb], b[2], b[3]);
        }
      }
    }

    // ---- online softmax (base 2), keys past the sequence end masked to -inf ----
    const bool partial_tile = (n + 1) * kN > keys;
    // This lane's first bias element of the tile (row quad_row of the warp's rows, key 2*quad_col), or nullptr
    // (always for the packed layout, whose args.bias token_tensors() leaves null). Derived per tile from the
    // kernel parameters rather than kept from the prologue: a pointer live across the whole loop made the
    // 128-row tilings spill.
    const T* bias = nullptr;
    if (args.bias != nullptr)
      bias = static_cast<const T*>(args.bias) + (blockIdx.x / args.tiles_per_sequence) * args.bias_batch_stride +
             static_cast<int64_t>(h) * args.bias_head_stride +
             static_cast<int64_t>(row0 + warp * Tile::kWarpRows + quad_row) * args.bias_row_stride + n * kN +
             2 * quad_col;
#pragma unroll
    for (int mb = 0; mb < kMB; ++mb) {
      float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
      for (int j = 0; j < kSTiles; ++j) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int key = n * kN + j * 8 + 2 * quad_col + (e & 1);
          float x = s_acc[mb][j][e] * args.scale_log2;  // scale before the max: scale may be negative
          if (bias != nullptr) {
            // Rows and keys of the valid block only: the bias of padding positions is never read.
            const int row = row0 + warp * Tile::kWarpRows + mb * 16 + quad_row + (e / 2) * 8;
            if (row < span.length && key < span.length)
              x += ElementTraits<T>::to_float(bias[(mb * 16 + (e / 2) * 8) * args.bias_row_stride + j * 8 + (e & 1)]) *
                   1.4426950408889634f;  // log2(e): the softmax runs on exp2
          }
          if (partial_tile && key >= keys) x = -INFINITY;
          s_acc[mb][j][e] = x;
          tile_max[e / 2] = fmaxf(tile_max[e / 2], x);
        }
      }
      float alpha[2], shift[2];
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
        tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
        const float new_max = fmaxf(row_max[mb][r], tile_max[r]);
        // Every tile holds key n*kN < length, so without a bias new_max is finite. A bias of -inf on every key
        // so far leaves it -inf: shift by 0 then, so exp2(-inf - shift) = 0 instead of NaN. exp2(-inf) = 0
        // on the first tile.
        shift[r] = new_max == -INFINITY ? 0.f : new_max;
        alpha[r] = fast_exp2(row_max[mb][r] - shift[r]);
        row_max[mb][r] = new_max;
        row_sum[mb][r] *= alpha[r];
      }
#pragma unroll
      for (int j = 0; j < kSTiles; ++j) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const float p = fast_exp2(s_acc[mb][j][e] - shift[e / 2]);
          s_acc[mb][j][e] = p;
          row_sum[mb][e / 2] += p;
        }
      }
#pragma unroll
      for (int i = 0; i < kOTiles; ++i) {
        o_acc[mb][i][0] *= alpha[0]; o_acc[mb][i][1] *= alpha[0];
        o_acc[mb][i][2] *= alpha[1]; o_acc[mb][i][3] *= alpha[1];
      }
    }

    // ---- O += P·V: the C layout of two adjacent S tiles is exactly the A layout of one k16 step ----
    const T* sV_stage = sV + stage * kN * kS;
#pragma unroll
    for (int kk = 0; kk < kN / 16; ++kk) {
      uint32_t a[kMB][4];
#pragma unroll
      for (int mb = 0; mb < kMB; ++mb) {
        a[mb][0] = ElementTraits<T>::pack(s_acc[mb][2 * kk][0], s_acc[mb][2 * kk][1]);
        a[mb][1] = ElementTraits<T>::pack(s_acc[mb][2 * kk][2], s_acc[mb][2 * kk][3]);
        a[mb][2] = ElementTraits<T>::pack(s_acc[mb][2 * kk + 1][0], s_acc[mb][2 * kk + 1][1]);
        a[mb][3] = ElementTraits<T>::pack(s_acc[mb][2 * kk + 1][2], s_acc[mb][2 * kk + 1][3]);
      }
#pragma unroll
      for (int dp = 0; dp < kHeadDim / 16; ++dp) {
        uint32_t b[4];
        ldmatrix_x4_trans(b, sV_stage + (kk * 16 + lane % 16) * kS + dp * 16 + (lane / 16) * 8);
#pragma unroll
        for (int mb = 0; mb < kMB; ++mb) {
          mma_m16n8k16<T>(o_acc[mb][2 * dp], a[mb], b[0], b[1]);
          mma_m16n8k16<T>(o_acc[mb][2 * dp + 1], a[mb], b[2], b[3]);
        }
      }
    }
    __syncthreads();  // this stage is overwritten by the prefetch issued in the next iteration
  }

  // ---- epilogue: normalise, stage the warp's rows in its own slice of sQ, store 16-byte chunks ----
  T* sO_warp = sQ + warp * Tile::kWarpRows * kS;  // only this warp ever read these rows of sQ
#pragma unroll
  for (int mb = 0; mb < kMB; ++mb) {
    float inv_sum[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float s = row_sum[mb][r];
      s += __shfl_xor_sync(0xffffffffu, s, 1);
      s += __shfl_xor_sync(0xffffffffu, s, 2);
      inv_sum[r] = s > 0.f ? 1.f / s : 0.f;
    }
#pragma unroll
    for (int i = 0; i < kOTiles; ++i) {
      const int col = i * 8 + 2 * quad_col;
      *reinterpret_cast<uint32_t*>(sO_warp + (mb * 16 + quad_row) * kS + col) =
          ElementTraits<T>::pack(o_acc[mb][i][0] * inv_sum[0], o_acc[mb][i][1] * inv_sum[0]);
      *reinterpret_cast<uint32_t*>(sO_warp + (mb * 16 + quad_row + 8) * kS + col) =
          ElementTraits<T>::pack(o_acc[mb][i][2] * inv_sum[1], o_acc[mb][i][3] * inv_sum[1]);
    }
  }
  __syncwarp();
  for (int i = lane; i < Tile::kWarpRows * Tile::kChunksPerRow; i += 32) {
    const int r = i / Tile::kChunksPerRow;
    const int c = (i % Tile::kChunksPerRow) * 8;
    const int row = warp * Tile::kWarpRows + r;  // row within the CTA tile
    if (row >= rows_here) continue;  // beyond the sequence (packed) or beyond S (padded)
    uint4 value = make_uint4(0, 0, 0, 0);  // padded rows past the length are zeros
    if (row < q_rows_valid) value = *reinterpret_cast<const uint4*>(sO_warp + r * kS + c);
    else if (!zero_padding) continue;
    *reinterpret_cast<uint4*>(out + row * args.o_stride + c) = value;
  }
#endif
}

template <typename T, int kHeadDim, int kRowBlocks>
cudaError_t launch_flash(const AttentionParams& p, cudaStream_t stream) {
  using Tile = FlashTiling<kHeadDim, kRowBlocks>;
  FlashArgs a;
  static_cast<TokenTensors&>(a) = token_tensors(p);
  a.tiles_per_sequence = (p.seq_len + Tile::kBlockM - 1) / Tile::kBlockM;
  a.scale_log2 = faults::scale(a.fault, p.scale) * 1.4426950408889634f;

  const int64_t ctas = p.layout == Layout::kPadded
                           ? static_cast<int64_t>(p.batch) * a.tiles_per_sequence
                           : static_cast<int64_t>(p.batch) + p.total_tokens / Tile::kBlockM;
  if (ctas <= 0) return cudaSuccess;
  if (ctas > 0x7fffffff || p.num_heads > 65535) return cudaErrorInvalidConfiguration;

  constexpr size_t smem = flash_smem_bytes<T, kHeadDim, kRowBlocks>();
  auto kernel = flash_attention_kernel<T, kHeadDim, kRowBlocks>;
  // Above 48 KB a kernel must opt in; setting the attribute is a host-side call with no device sync.
  if (smem > 48 * 1024) {
    const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
    if (e != cudaSuccess) return e;
  }
  kernel<<<dim3(static_cast<unsigned>(ctas), p.num_heads), Tile::kThreads, smem, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace encexport::kernels
