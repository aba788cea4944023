// Where a CTA's or a warp's rows live: which sequence, where it starts among the token rows, how long it
// is. Shared by every CUDA kernel family so that padded and packed layouts are interpreted identically.
//
// The device lengths are never trusted. Every value read from seq_lens / cu_seqlens is clamped before use, so a
// kernel handed bad lengths (non-monotonic prefix sums, values > T, negatives) never reads or writes outside
// [0, T) rows; and SequenceSpan::valid says whether the lengths were in range, so that the kernels write such a
// sequence's rows as NaN instead of a plausible answer computed from clamped lengths (docs/onnx-contract.md).
// The rule lives here only: padded_span and packed_span_warp (packed_span_given) decide `valid` for every CUDA
// family.
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
  // The lengths describing this sequence were in range. When false, every row the sequence owns is written as
  // NaN (padded: all S rows; packed: every row of the output, since no sequence's rows can be trusted).
  bool valid;
};

// Padded layout [B, S, ...]: sequence b owns rows [b*S, (b+1)*S); seq_lens == nullptr means all S valid.
__device__ __forceinline__ SequenceSpan padded_span(int32_t b, int32_t seq_len, const int32_t* seq_lens) {
  SequenceSpan s;
  s.first_token = static_cast<int64_t>(b) * seq_len;
  const int32_t given = seq_lens ? seq_lens[b] : seq_len;
  s.length = static_cast<int32_t>(clamp64(given, 0, seq_len));
  s.extent = seq_len;
  s.valid = given >= 0 && given <= seq_len;
  return s;
}

// Packed layout: sequence b owns rows [cu[b], cu[b+1]), both clamped into [0, T] and end >= begin. `valid` here
// is the sequence's own part of the rule (0 <= cu[b] <= cu[b+1] <= T); packed_span_warp adds the rest.
__device__ __forceinline__ SequenceSpan packed_span(int32_t b, const int32_t* cu, int64_t total_tokens) {
  const int64_t begin = clamp64(cu[b], 0, total_tokens);
  const int64_t end = clamp64(cu[b + 1], begin, total_tokens);
  SequenceSpan s;
  s.first_token = begin;
  s.length = static_cast<int32_t>(end - begin);
  s.extent = s.length;
  s.valid = cu[b] >= 0 && cu[b] <= cu[b + 1] && cu[b + 1] <= total_tokens;
  return s;
}

// Whether cu_seqlens is the prefix sums of lengths that tile all T rows: cu[0] = 0, non-decreasing, cu[B] = T.
// A local test of sequence b is not enough: one decreasing entry leaves b's own span empty (nothing to mark)
// while its neighbours overlap and compute plausible rows from each other's tokens. So the whole array is read,
// by a whole warp (lane l checks entries l, l+32, ...: B/32 cached loads, small next to a tile's work).
// Must be called by all 32 lanes of the warp.
__device__ __forceinline__ bool packed_lengths_valid_warp(const int32_t* cu, int32_t batch, int64_t total_tokens) {
  const int lane = threadIdx.x % 32;
  bool ok = lane != 0 || (cu[0] == 0 && cu[batch] == total_tokens);
  // No early exit: the loads of the rounds are then independent and overlap instead of queueing behind each
  // other's comparisons.
  for (int32_t b = lane; b < batch; b += 32) ok &= cu[b] <= cu[b + 1];
  return __all_sync(0xffffffffu, ok);
}

// The packed span of sequence b with the whole rule in `valid`, given the array's part (packed_lengths_valid_warp):
// for a kernel that resolves many sequences and reads the array once.
__device__ __forceinline__ SequenceSpan packed_span_given(int32_t b, const int32_t* cu, int64_t total_tokens,
                                                          bool lengths_valid) {
  SequenceSpan s = packed_span(b, cu, total_tokens);
  s.valid = lengths_valid && s.valid;
  return s;
}

// The packed span of sequence b with the whole rule in `valid` (packed_span + packed_lengths_valid_warp): what
// every packed-layout kernel uses. Must be called by all 32 lanes of the warp.
__device__ __forceinline__ SequenceSpan packed_span_warp(int32_t b, const int32_t* cu, int32_t batch,
                                                         int64_t total_tokens) {
  return packed_span_given(b, cu, total_tokens, packed_lengths_valid_warp(cu, batch, total_tokens));
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
