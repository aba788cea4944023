// Where a CTA's or a warp's rows live: which sequence, where it starts among the token rows, how long it
// is. Shared by both kernel families so that padded and packed layouts are interpreted identically.
//
// Every value read from seq_lens / cu_seqlens is clamped before use: host-side validation reports bad
// lengths, but a kernel handed bad lengths anyway (non-monotonic prefix sums, values > T, negatives) must
// still never read or write outside [0, T) rows.
#pragma once

#include <cstdint>

namespace encexport::kernels {

__device__ __forceinline__ int64_t clamp64(int64_t x, int64_t lo, int64_t hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

struct SequenceSpan {
  int64_t first_token;  // row index of the sequence's first token in q/k/v/out
  int32_t length;       // valid keys (and valid query rows)
  int32_t extent;       // rows owned by the sequence: S in the padded layout (zeros past length), length when packed
};

// Padded layout [B, S, ...]: sequence b owns rows [b*S, (b+1)*S); seq_lens == nullptr means all S valid.
__device__ __forceinline__ SequenceSpan padded_span(int32_t b, int32_t seq_len, const int32_t* seq_lens) {
  SequenceSpan s;
  s.first_token = static_cast<int64_t>(b) * seq_len;
  s.length = seq_lens ? static_cast<int32_t>(clamp64(seq_lens[b], 0, seq_len)) : seq_len;
  s.extent = seq_len;
  return s;
}

// Packed layout: sequence b owns rows [cu[b], cu[b+1]), both clamped into [0, T] and end >= begin.
__device__ __forceinline__ SequenceSpan packed_span(int32_t b, const int32_t* cu, int64_t total_tokens) {
  const int64_t begin = clamp64(cu[b], 0, total_tokens);
  const int64_t end = clamp64(cu[b + 1], begin, total_tokens);
  SequenceSpan s;
  s.first_token = begin;
  s.length = static_cast<int32_t>(end - begin);
  s.extent = s.length;
  return s;
}

// Packed query tiles without a host-computed schedule: sequence b's tiles are numbered from
//   tile_begin(b) = b + floor(cu[b] / block_m),
// which gives every sequence at least ceil(len_b / block_m) tiles and needs only B + floor(T / block_m)
// tiles in all. Any CTA can find its sequence by searching cu_seqlens, so no workspace and no
// host sync are needed; tiles past a sequence's end simply exit.
__device__ __forceinline__ int64_t packed_tile_begin(int32_t b, const int32_t* cu, int64_t total_tokens,
                                                     int block_m) {
  return b + clamp64(cu[b], 0, total_tokens) / block_m;
}

// Largest b in [0, batch) with packed_tile_begin(b) <= tile, found by a whole warp: each round the 32
// lanes probe 32 evenly spaced candidates at once and a ballot keeps the interval between the last probe
// that passed and the first that failed. With valid cu_seqlens tile_begin is strictly increasing; with
// invalid ones the search still ends in range and the span clamps keep accesses legal. That is
// ceil(log32(B)) dependent global loads instead of log2(B), which matters because every CTA of the tensor-
// core kernel pays this latency before its first load. Must be called by all 32 lanes of the warp.
__device__ __forceinline__ int32_t packed_tile_owner_warp(int64_t tile, const int32_t* cu, int32_t batch,
                                                          int64_t total_tokens, int block_m) {
  const int lane = threadIdx.x % 32;
  int32_t lo = 0, hi = batch - 1;  // invariant: packed_tile_begin(lo) <= tile (it is 0 for lo = 0)
  while (lo < hi) {
    const int32_t step = (hi - lo + 31) / 32;
    const int64_t probe = static_cast<int64_t>(lo) + static_cast<int64_t>(lane + 1) * step;
    const bool pass = probe <= hi && packed_tile_begin(static_cast<int32_t>(probe), cu, total_tokens, block_m) <= tile;
    // Leading passes only: with malformed (non-monotonic) cu_seqlens the ballot need not be a prefix.
    const int passes = __ffs(~__ballot_sync(0xffffffffu, pass)) - 1;  // -1: all 32 passed
    const int32_t new_lo = lo + (passes < 0 ? 32 : passes) * step;
    hi = min(hi, static_cast<int32_t>(new_lo + step - 1));
    lo = new_lo;
  }
  return lo;
}

// Largest b in [0, batch) whose (clamped) start is <= token: the sequence a packed token belongs to.
// Among empty sequences sharing a start, the last one is the one that can actually hold the token.
__device__ __forceinline__ int32_t packed_token_owner(int64_t token, const int32_t* cu, int32_t batch,
                                                      int64_t total_tokens) {
  int32_t lo = 0, hi = batch - 1;
  while (lo < hi) {
    const int32_t mid = lo + (hi - lo + 1) / 2;
    if (clamp64(cu[mid], 0, total_tokens) <= token) lo = mid; else hi = mid - 1;
  }
  return lo;
}

}  // namespace encexport::kernels
