// Hopper (sm_90a) bidirectional attention: wgmma for Q·Kᵀ and P·V, TMA bulk tensor loads into a ring of
// shared-memory stages, one producer warp and two consumer warpgroups, persistent CTAs. Written with CuTe
// (CUTLASS's C++ layout/atom library); CuTe types stay inside this file and the launcher below, the ABI is
// params.h like every other family. Included only by the generated instantiations/hopper_*.cu.
//
// One work item = (query tile of 128 rows, head, sequence). A CTA per SM walks the work list; the producer
// warp resolves each item (for packed batches, a search of cu_seqlens), skips packed tiles past their sequence
// and hands the rest to the consumers through shared memory with the item's Q tile, running ahead of them, so
// the next item's lookup, Q and first K/V tiles stream in while the current item is still being multiplied
// (that is what short encoder sequences need: with S = 128 an item is one K/V tile, too little work to hide a
// load behind within the item). A sequence whose K/V tiles all fit the ring at once (S <= 512 at D <= 80,
// S <= 384 at D = 96 and 128, S <= 128 at D = 256) is one item: the producer loads its K/V once and hands the
// consumers one pass per query tile and per query head sharing that K/V head (GQA), each pass against the
// resident keys with the whole softmax in that pass (packed batches: sequences of one query tile, see
// plan_passes).
//
//   producer warp (warpgroup 0)  item + Q tile -> q ring, K/V tiles -> kv ring (Tiling: 2 Q slots and 4 K/V
//                                stages at D <= 80, fewer at larger D); each load completes on the slot's
//                                "full" mbarrier with its byte count, each slot is reused after its "empty"
//                                mbarrier says both consumers are done.
//   consumer warpgroups 1, 2     64 query rows each: S = Q·Kᵀ (wgmma, both operands in shared memory),
//                                online softmax on the accumulators in registers, O += P·V (wgmma, P from
//                                registers, V from shared memory read transposed). The two warpgroups run
//                                independently, so one's softmax overlaps the other's matrix products; within
//                                a warpgroup, Q·Kᵀ of one key tile is in flight with P·V of the one before
//                                where three K/V stages fit (D <= 128).
//
// Keys past a sequence's end are masked to -inf before the softmax; V rows past the end in the last tile are
// zeroed in shared memory before P·V (a TMA box cannot stop at a sequence boundary, and 0 · NaN from padding
// would otherwise reach the output). Query rows past the end are written as zeros (padded layout) or not at
// all (packed). Every device length goes through sequence_span.cuh like the other families.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include <cute/tensor.hpp>
#include <cute/arch/copy_sm90_tma.hpp>
#include <cute/arch/mma_sm90.hpp>
#include <cute/atom/copy_traits_sm90_tma.hpp>
#include <cute/atom/mma_atom.hpp>
#include <cute/atom/mma_traits_sm90_gmma.hpp>
#include <cutlass/arch/barrier.h>
#include <cutlass/arch/reg_reconfig.h>
#include <cutlass/numeric_types.h>

#include "encexport/params.h"
#include "../fault_injection.h"
#include "../launchers.h"
#include "../sequence_span.cuh"

namespace encexport::kernels::hopper {

using namespace cute;

template <typename Element> struct CuteType;
template <> struct CuteType<__half> { using type = cutlass::half_t; };
template <> struct CuteType<__nv_bfloat16> { using type = cutlass::bfloat16_t; };

// The widest wgmma shared-memory swizzle whose 8-row atom divides the head size: 128-byte rows (D % 64 == 0)
// make bank-conflict-free TMA writes and wgmma reads; D = 80 gets 32-byte rows, D = 96 64-byte rows.
template <typename E, int kHeadDim>
constexpr auto smem_atom() {
  if constexpr (kHeadDim % 64 == 0) return GMMA::Layout_K_SW128_Atom<E>{};
  else if constexpr (kHeadDim % 32 == 0) return GMMA::Layout_K_SW64_Atom<E>{};
  else return GMMA::Layout_K_SW32_Atom<E>{};
}

template <typename E, int kHeadDim>
struct Tiling {
  static_assert(kHeadDim % 16 == 0 && kHeadDim <= 256, "wgmma steps the head dimension by 16");
  static constexpr int kBlockM = 128;  // two consumer warpgroups x 64 rows (wgmma's M)
  // 128 keys per tile up to D = 128 (S: 64 fp32 registers per thread, O: D/2); 64 at D = 256, where O alone
  // takes 128 registers and the q slot 64 KB of shared memory.
  static constexpr int kBlockN = kHeadDim <= 128 ? 128 : 64;
  static constexpr uint32_t kQBytes = kBlockM * kHeadDim * sizeof(E);
  static constexpr uint32_t kKVBytes = 2 * kBlockN * kHeadDim * sizeof(E);
  // Shared memory: 227 KB a CTA, less the 1024-byte alignment slack and the barriers' last kilobyte.
  static constexpr uint32_t kSmemBudget = 227 * 1024 - 2048;
  static constexpr int kv_stages_beside(int q_slots) {
    return static_cast<int>((kSmemBudget - q_slots * kQBytes) / kKVBytes);
  }
  // A warpgroup holds two K/V stages at once when P·V of tile n-1 overlaps Q·Kᵀ of tile n, so the producer
  // runs ahead only with a third; two Q slots (the next item's Q streams in early) only where three K/V
  // stages still fit beside them. D <= 80: 2 Q slots + 4 stages; D = 96: 2 + 3; D = 128: 1 + 3; D = 256: 1 + 2.
  static constexpr int kQStages = kv_stages_beside(2) >= 3 ? 2 : 1;
  static constexpr int kStages = kv_stages_beside(kQStages) < 4 ? kv_stages_beside(kQStages) : 4;
  static_assert(kStages >= 2, "the K/V ring needs two stages");
  // With only two stages the overlap would leave the producer no stage to fill ahead: one tile at a time.
  static constexpr bool kOverlapPV = kStages >= 3;
  static constexpr int kConsumerThreads = 256;
  static constexpr int kThreads = 128 + kConsumerThreads;

  using Atom = decltype(smem_atom<E, kHeadDim>());
  using QTile = decltype(tile_to_shape(Atom{}, Shape<Int<kBlockM>, Int<kHeadDim>>{}));
  using KTile = decltype(tile_to_shape(Atom{}, Shape<Int<kBlockN>, Int<kHeadDim>>{}));
  using SmemQ = decltype(tile_to_shape(Atom{}, Shape<Int<kBlockM>, Int<kHeadDim>, Int<kQStages>>{}));
  using SmemK = decltype(tile_to_shape(Atom{}, Shape<Int<kBlockN>, Int<kHeadDim>, Int<kStages>>{}));
  // V as P·V's B operand: (D, N) over the same bytes, i.e. read MN-major.
  using SmemVt = decltype(composition(
      SmemK{}, make_ordered_layout(Shape<Int<kHeadDim>, Int<kBlockN>, Int<kStages>>{}, Step<_2, _1, _3>{})));

  using MmaQK = decltype(make_tiled_mma(
      GMMA::ss_op_selector<E, E, float, Shape<_64, Int<kBlockN>, Int<kHeadDim>>>(), cute::Layout<Shape<_2, _1, _1>>{}));
  using MmaPV = decltype(make_tiled_mma(
      GMMA::rs_op_selector<E, E, float, Shape<_64, Int<kHeadDim>, Int<kBlockN>>, GMMA::Major::K, GMMA::Major::MN>(),
      cute::Layout<Shape<_2, _1, _1>>{}));

  // Token tensors as TMA sees them: (rows, D, heads, batches). Padded: rows = S, batches = B. Packed: rows = T,
  // one batch; sequences are row offsets.
  using GmemShape = Shape<int32_t, Int<kHeadDim>, int32_t, int32_t>;
  using GmemStride = Stride<int64_t, _1, int64_t, int64_t>;
  using GmemTensor = decltype(make_tensor(make_gmem_ptr(static_cast<const E*>(nullptr)), GmemShape{}, GmemStride{}));
  using TmaQ = decltype(make_tma_copy(SM90_TMA_LOAD{}, GmemTensor{}, QTile{}));
  using TmaKV = decltype(make_tma_copy(SM90_TMA_LOAD{}, GmemTensor{}, KTile{}));
};

// One work item. The producer warp resolves it (the sequence lookup is a chain of dependent global loads) and
// hands it to the consumers through shared memory with its Q tile, so the lookups run ahead of the math.
struct Item {
  SequenceSpan span;    // span.valid: the lengths are in range (sequence_span.cuh); else the rows owed are NaN
  int32_t tile;         // query tile index within the head (packed: in the B + T/128 numbering)
  int32_t head;
  int32_t batch_coord;  // TMA batch coordinate: b (padded) or 0 (packed)
  int32_t row0;         // first query row of the tile within the sequence
  int32_t first_row;    // the sequence's first row in TMA's row coordinates: 0 (padded) or cu[b] (packed)
  // A work item is one or more passes of the consumers (one query tile of one head each) over the same keys;
  // the producer hands each pass over as an Item of its own. Where the sequence's K/V tiles all fit the ring,
  // they are loaded once for all the passes: the first waits for them, the last releases them.
  bool first_pass;
  bool last_pass;
  // Whether there are query rows to compute (so Q, K and V are loaded); else the item only owes zeros or NaN.
  __device__ bool loads() const { return span.valid && row0 < span.length; }
};

// How many passes a work item makes: `heads` consecutive query heads from the item's, each with `load_tiles`
// query tiles from its row0 that compute and then `owed_tiles` that only owe rows (padding zeros, NaN).
struct PassPlan {
  int32_t heads;
  int32_t load_tiles;
  int32_t owed_tiles;
};

// Marks the end of a CTA's work list in the item ring.
constexpr int32_t kEndOfWork = -1;

template <typename E, int kHeadDim>
struct SharedStorage {
  using T = Tiling<E, kHeadDim>;
  cute::array_aligned<E, cosize_v<typename T::SmemQ>, 1024> q;
  cute::array_aligned<E, cosize_v<typename T::SmemK>, 1024> k;
  cute::array_aligned<E, cosize_v<typename T::SmemK>, 1024> v;
  Item items[T::kQStages];  // the work item whose Q tile is in the slot (or that owes rows without loads)
  uint64_t q_full[T::kQStages];
  uint64_t q_empty[T::kQStages];
  uint64_t kv_full[T::kStages];
  uint64_t kv_empty[T::kStages];
};

template <typename E, int kHeadDim>
struct Params {
  using T = Tiling<E, kHeadDim>;
  typename T::TmaQ tma_q;
  typename T::TmaKV tma_k;
  typename T::TmaKV tma_v;
  typename T::GmemShape q_shape, kv_shape;
  E* out;
  const int32_t* seq_lens;    // padded (nullptr: all S valid)
  const int32_t* cu_seqlens;  // non-null: packed
  int64_t o_stride;
  int64_t total_tokens;
  int32_t batch, seq_len, num_heads, group;
  int32_t tiles;      // query tiles per head: padded ceil(S / 128) (1 with whole_sequences); packed B + T / 128
  int32_t num_items;  // tiles * (num_heads / heads_per_item) * (padded: B; packed: 1)
  // Padded batches whose S fits the K/V ring (launch_hopper decides): an item is a whole sequence of a group
  // of `group` query heads sharing one K/V head, all its query tiles against K/V loaded once.
  bool whole_sequences;
  int32_t heads_per_item;  // group with whole_sequences, else 1
  float scale_log2;
  int32_t fault;  // faults::kNone outside the fault-injection test library (fault_injection.h)
};

// Whether the device lengths tile the rows (sequence_span.cuh): seq_lens are judged per sequence, but cu_seqlens
// as a whole, once per warp for the whole launch, not per work item. Must be called by all 32 lanes of the warp.
template <typename E, int kHeadDim>
__device__ __forceinline__ bool cu_seqlens_valid_warp(const Params<E, kHeadDim>& p) {
  return p.cu_seqlens == nullptr || packed_lengths_valid_warp(p.cu_seqlens, p.batch, p.total_tokens);
}

template <typename E, int kHeadDim>
__device__ __forceinline__ Item resolve_item(const Params<E, kHeadDim>& p, int32_t item, bool cu_seqlens_valid) {
  constexpr int kBlockM = Tiling<E, kHeadDim>::kBlockM;
  Item it;
  const int32_t tile = item % p.tiles;
  const int32_t rest = item / p.tiles;
  const int32_t head_items = p.num_heads / p.heads_per_item;
  it.tile = tile;
  it.head = (rest % head_items) * p.heads_per_item;
  it.first_pass = it.last_pass = true;
  if (p.cu_seqlens == nullptr) {
    const int32_t b = rest / head_items;
    it.span = padded_span(b, p.seq_len, p.seq_lens);
    it.batch_coord = b;
    it.row0 = tile * kBlockM;
    it.first_row = 0;
  } else {
    const int32_t b = packed_tile_owner_warp(tile, p.cu_seqlens, p.batch, p.total_tokens, kBlockM);
    it.span = packed_span_given(b, p.cu_seqlens, p.total_tokens, cu_seqlens_valid);
    it.batch_coord = 0;
    it.row0 = static_cast<int32_t>(tile - packed_tile_begin(b, p.cu_seqlens, p.total_tokens, kBlockM)) * kBlockM;
    it.first_row = static_cast<int32_t>(it.span.first_token);
  }
  return it;
}

// Whether the item writes any output rows: a padded tile always does (zeros past the length, NaN for a bad
// length); a packed tile only within its sequence, or, when cu_seqlens is bad, within the T rows.
template <typename E, int kHeadDim>
__device__ __forceinline__ bool owes_rows(const Params<E, kHeadDim>& p, const Item& it) {
  if (p.cu_seqlens != nullptr && !it.span.valid)
    return static_cast<int64_t>(it.tile) * Tiling<E, kHeadDim>::kBlockM < p.total_tokens;
  return it.row0 < it.span.extent;
}

// Keys attended: span.length, except in the fault-injection test library (fault_injection.h).
template <typename E, int kHeadDim>
__device__ __forceinline__ int32_t attended_keys(const Params<E, kHeadDim>& p, const SequenceSpan& span) {
  return faults::keys(p.fault, span.length, p.total_tokens - (span.first_token + span.length));
}

// K/V tiles of `keys` keys: the producer loads exactly as many as the consumers wait for.
template <typename E, int kHeadDim>
__device__ __forceinline__ int key_tiles(int32_t keys) {
  constexpr int kBlockN = Tiling<E, kHeadDim>::kBlockN;
  return (keys + kBlockN - 1) / kBlockN;
}

// The passes of a resolved item. A sequence whose K/V tiles all fit the ring (`kv_tiles` <= stages) is served
// whole by one item: every query tile of every query head sharing its K/V head, against K/V loaded once, so a
// short sequence's keys cross from L2 to shared memory once instead of once per (query tile, head). Padded
// batches are numbered that way by the launcher (whole_sequences). In a packed batch the lengths are known
// only here; there a sequence of one query tile is served whole by the item of the group's first head (the
// group's other heads' items have nothing to do: heads = 0), and longer sequences keep one item per tile:
// whole, a long sequence of a ragged mix becomes one CTA's serial work while the others idle (ragged B64 D64
// went from 49.5 to 62 µs that way), and the empty items of equal lengths fall on the same CTAs (tile
// numbers repeat with the grid's period).
template <typename E, int kHeadDim>
__device__ __forceinline__ PassPlan plan_passes(const Params<E, kHeadDim>& p, const Item& it, int kv_tiles) {
  using T = Tiling<E, kHeadDim>;
  const int32_t computed = it.loads() ? (it.span.length - it.row0 + T::kBlockM - 1) / T::kBlockM : 0;
  if (p.whole_sequences) {
    const int32_t all = (it.span.extent + T::kBlockM - 1) / T::kBlockM;
    return {p.heads_per_item, computed, all - computed};
  }
  if (p.cu_seqlens != nullptr && it.loads() && p.group > 1 && it.span.length <= T::kBlockM && kv_tiles <= T::kStages) {
    const bool leads = it.head % p.group == 0;
    return {leads ? p.group : 0, 1, 0};
  }
  return {1, it.loads() ? 1 : 0, it.loads() ? 0 : 1};
}

// wgmma accumulator ((2 cols, 2 rows, N/8), MMA_M, MMA_N) viewed as (rows, cols) for the softmax.
template <class L>
__device__ __forceinline__ auto rows_cols(L acc) {
  return make_layout(make_layout(get<0, 1>(acc), get<1>(acc)), make_layout(get<0, 0>(acc), get<0, 2>(acc), get<2>(acc)));
}

// 2^x with subnormal results flushed to zero: one MUFU.EX2 (exp2f adds range fix-ups around it). The
// probabilities it feeds are rounded to 16 bits next, where a 2^-126 result is zero anyway.
__device__ __forceinline__ float exp2_ftz(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

template <typename E>
__device__ __forceinline__ void store_pair(E* dst, float a, float b) {
  if constexpr (std::is_same_v<E, cutlass::half_t>)
    *reinterpret_cast<__half2*>(dst) = __floats2half2_rn(a, b);
  else
    *reinterpret_cast<__nv_bfloat162*>(dst) = __floats2bfloat162_rn(a, b);
}

// Wait/arrive helpers over the raw mbarriers.
using FullBarrier = cutlass::arch::ClusterTransactionBarrier;
using EmptyBarrier = cutlass::arch::ClusterBarrier;

template <typename E, int kHeadDim>
__device__ __forceinline__ void produce(const Params<E, kHeadDim>& p, SharedStorage<E, kHeadDim>& smem) {
  using T = Tiling<E, kHeadDim>;
  const bool leader = cute::elect_one_sync();
  Tensor sQ = make_tensor(make_smem_ptr(smem.q.data()), typename T::SmemQ{});
  Tensor sK = make_tensor(make_smem_ptr(smem.k.data()), typename T::SmemK{});
  Tensor sV = make_tensor(make_smem_ptr(smem.v.data()), typename T::SmemK{});
  Tensor mQ = p.tma_q.get_tma_tensor(p.q_shape);
  Tensor mK = p.tma_k.get_tma_tensor(p.kv_shape);
  Tensor mV = p.tma_v.get_tma_tensor(p.kv_shape);
  auto tma_q = p.tma_q.get_slice(_0{});
  auto tma_k = p.tma_k.get_slice(_0{});
  auto tma_v = p.tma_v.get_slice(_0{});
  Tensor tQsQ = tma_q.partition_D(sQ);  // (TMA, TMA_M, TMA_D, q slot)
  Tensor tKsK = tma_k.partition_D(sK);  // (TMA, TMA_N, TMA_D, stage)
  Tensor tVsV = tma_v.partition_D(sV);

  // An item's sequence, rows of one head, in tiles of `rows` rows: (rows, D, tile).
  auto sequence_tiles = [&](auto& m, const Item& it, int head, auto rows) {
    return local_tile(domain_offset(make_coord(it.first_row, _0{}), m(_, _, head, it.batch_coord)),
                      Shape<decltype(rows), Int<kHeadDim>>{}, make_coord(_, _0{}));
  };
  const bool cu_seqlens_valid = cu_seqlens_valid_warp(p);
  int q_iter = 0, kv_iter = 0;
  auto claim_q_slot = [&] {  // the next slot of the q ring, once the consumers have released it
    const int qs = q_iter % T::kQStages;
    if (q_iter >= T::kQStages) EmptyBarrier::wait(&smem.q_empty[qs], ((q_iter / T::kQStages) - 1) & 1);
    ++q_iter;
    return qs;
  };
  // K/V tiles of `keys` keys of one head into the next stages of the ring.
  auto load_kv = [&](const Item& it, int n_blocks) {
    const int kv_head = it.head / p.group;
    Tensor tKgK = tma_k.partition_S(sequence_tiles(mK, it, kv_head, Int<T::kBlockN>{}));  // (TMA, .., .., n)
    Tensor tVgV = tma_v.partition_S(sequence_tiles(mV, it, kv_head, Int<T::kBlockN>{}));
    for (int n = 0; n < n_blocks; ++n, ++kv_iter) {
      const int s = kv_iter % T::kStages;
      if (kv_iter >= T::kStages) EmptyBarrier::wait(&smem.kv_empty[s], ((kv_iter / T::kStages) - 1) & 1);
      if (leader) {
        FullBarrier::arrive_and_expect_tx(&smem.kv_full[s], T::kKVBytes);
        copy(p.tma_k.with(smem.kv_full[s]), tKgK(_, _, _, n), tKsK(_, _, _, s));
        copy(p.tma_v.with(smem.kv_full[s]), tVgV(_, _, _, n), tVsV(_, _, _, s));
      }
    }
  };
  for (int32_t item = blockIdx.x; item < p.num_items; item += gridDim.x) {
    const Item it = resolve_item(p, item, cu_seqlens_valid);
    if (!owes_rows(p, it)) continue;  // a packed tile past its sequence: the consumers never see it
    const int n_blocks = it.loads() ? key_tiles<E, kHeadDim>(attended_keys(p, it.span)) : 0;
    const PassPlan plan = plan_passes(p, it, n_blocks);
    const int32_t computing = plan.heads * plan.load_tiles;
    const bool kv_once = computing > 1 && n_blocks <= T::kStages;  // else every pass streams the keys again
    for (int32_t pass = 0; pass < computing; ++pass) {
      Item at = it;
      at.head = it.head + pass / plan.load_tiles;
      at.row0 = it.row0 + (pass % plan.load_tiles) * T::kBlockM;
      at.first_pass = !kv_once || pass == 0;
      at.last_pass = !kv_once || pass == computing - 1;
      const int qs = claim_q_slot();
      if (leader) {
        smem.items[qs] = at;  // visible to the consumers once the barrier's phase completes (arrive releases)
        FullBarrier::arrive_and_expect_tx(&smem.q_full[qs], T::kQBytes);
        copy(p.tma_q.with(smem.q_full[qs]), tma_q.partition_S(sequence_tiles(mQ, at, at.head, Int<T::kBlockM>{})(
                                                 _, _, at.row0 / T::kBlockM)),
             tQsQ(_, _, _, qs));
      }
      if (at.first_pass) load_kv(at, n_blocks);
    }
    // Rows owed without loads (padding zeros, NaN for lengths out of range): after the computing passes, so
    // that the last of those releases the K/V tiles.
    for (int32_t pass = 0; pass < plan.heads * plan.owed_tiles; ++pass) {
      Item at = it;
      at.head = it.head + pass / plan.owed_tiles;
      at.row0 = it.row0 + (plan.load_tiles + pass % plan.owed_tiles) * T::kBlockM;
      const int qs = claim_q_slot();
      if (leader) {
        smem.items[qs] = at;
        FullBarrier::arrive(&smem.q_full[qs]);
      }
    }
  }
  const int qs = claim_q_slot();
  if (leader) {
    smem.items[qs].tile = kEndOfWork;
    FullBarrier::arrive(&smem.q_full[qs]);
  }
}

// Named barriers of the two consumer warpgroups only (the producer never joins them): the V-tail zeroing, and
// one "turn" barrier per warpgroup for the ping-pong below.
constexpr uint32_t kVTailBarrier = 1;
constexpr uint32_t kTurnBarrier = 2;  // + warpgroup index (0, 1)

// Ping-pong: the warpgroups take turns to issue their matrix products, so that one's products run on the
// tensor cores while the other computes its softmax, instead of both issuing at once and then both waiting
// on the exponentials. Warpgroup 0 goes first; every issue is bracketed by take() and pass(). Both warpgroups
// walk the same items with the same key tiles, so they take the same number of turns; warpgroup 0 absorbs
// the last pass of warpgroup 1 when the work ends (finish()), leaving no barrier half-arrived.
struct IssueTurns {
  int warpgroup;  // 0 or 1 among the consumers
  __device__ void take() const {
    cutlass::arch::NamedBarrier::sync(2 * 128, kTurnBarrier + warpgroup);
  }
  __device__ void pass() const {
    cutlass::arch::NamedBarrier::arrive(2 * 128, kTurnBarrier + (1 - warpgroup));
  }
  __device__ void start() const {
    if (warpgroup == 1) pass();
  }
  __device__ void finish() const {
    if (warpgroup == 0) take();
  }
};

template <typename E, int kHeadDim>
__device__ __forceinline__ void consume(const Params<E, kHeadDim>& p, SharedStorage<E, kHeadDim>& smem, int tid) {
  using T = Tiling<E, kHeadDim>;
  Tensor sQ = make_tensor(make_smem_ptr(smem.q.data()), typename T::SmemQ{});
  Tensor sK = make_tensor(make_smem_ptr(smem.k.data()), typename T::SmemK{});
  Tensor sV = make_tensor(make_smem_ptr(smem.v.data()), typename T::SmemK{});
  Tensor sVt = make_tensor(make_smem_ptr(smem.v.data()), typename T::SmemVt{});

  typename T::MmaQK mma_qk;
  typename T::MmaPV mma_pv;
  auto thr_qk = mma_qk.get_thread_slice(tid);
  auto thr_pv = mma_pv.get_thread_slice(tid);
  Tensor tSrQ = thr_qk.partition_fragment_A(sQ);   // (MMA, MMA_M, MMA_K, q slot) descriptors
  Tensor tSrK = thr_qk.partition_fragment_B(sK);   // (MMA, MMA_N, MMA_K, stage)
  Tensor tOrV = thr_pv.partition_fragment_B(sVt);  // (MMA, MMA_N, MMA_K, stage)
  Tensor tSrS = partition_fragment_C(mma_qk, Shape<Int<T::kBlockM>, Int<T::kBlockN>>{});
  Tensor tOrO = partition_fragment_C(mma_pv, Shape<Int<T::kBlockM>, Int<kHeadDim>>{});
  // P in the A-operand layout of P·V: for 16-bit wgmma the accumulator's register order is already the
  // A fragment's ((2 cols, 2 rows, 2 k-halves), M, K/16), so the conversion is element by element.
  Tensor tOrP = make_tensor<E>(Shape<Shape<_2, _2, _2>, _1, Int<T::kBlockN / 16>>{});  // compact, that order
  static_assert(decltype(size(tOrP))::value == decltype(size(tSrS))::value, "P and S hold the same elements");

  Tensor S = make_tensor(tSrS.data(), rows_cols(tSrS.layout()));  // (2 rows, cols)
  Tensor O = make_tensor(tOrO.data(), rows_cols(tOrO.layout()));
  Tensor cS = thr_qk.partition_C(make_identity_tensor(Shape<Int<T::kBlockM>, Int<T::kBlockN>>{}));
  Tensor cS_rc = make_tensor(cS.data(), rows_cols(cS.layout()));
  Tensor cO = thr_pv.partition_C(make_identity_tensor(Shape<Int<T::kBlockM>, Int<kHeadDim>>{}));
  Tensor cO_rc = make_tensor(cO.data(), rows_cols(cO.layout()));
  constexpr int kRows = decltype(size<0>(S))::value;

  const IssueTurns turns{tid / 128};
  turns.start();
  int q_iter = 0, kv_iter = 0;
  for (;;) {
    // The producer's next item; its Q tile is in the slot when it loads().
    const int qs = q_iter % T::kQStages;
    FullBarrier::wait(&smem.q_full[qs], (q_iter / T::kQStages) & 1);
    const Item it = smem.items[qs];
    ++q_iter;
    if (it.tile == kEndOfWork) {
      turns.finish();
      break;
    }
    if (!it.loads()) EmptyBarrier::arrive(&smem.q_empty[qs]);  // read: the slot is free again
    // Rows of each thread's part of the 128-row tile, with a value per (row, column pair).
    auto store_rows = [&](E* dst, int32_t rows, auto value) {
      CUTE_UNROLL
      for (int r = 0; r < kRows; ++r) {
        const int row = get<0>(cO_rc(r, 0));
        if (row >= rows) continue;
        CUTE_UNROLL
        for (int c = 0; c < size<1>(O); c += 2) {
          const int col = get<1>(cO_rc(r, c));
          const float2 v = value(r, c, row);
          store_pair(dst + static_cast<int64_t>(row) * p.o_stride + col, v.x, v.y);
        }
      }
    };
    auto nan_rows = [](int, int, int) { return make_float2(__int_as_float(0x7fc00000), __int_as_float(0x7fc00000)); };
    const int64_t head_offset = static_cast<int64_t>(it.head) * kHeadDim;
    if (!it.span.valid) {
      if (p.cu_seqlens != nullptr) {
        // Bad cu_seqlens: the sequences' tiles no longer cover the rows, so tile x writes NaN over rows
        // [128x, 128x + 128) instead; the B + T/128 tiles cover all T rows.
        const int64_t first = static_cast<int64_t>(it.tile) * T::kBlockM;
        if (first < p.total_tokens)
          store_rows(p.out + first * p.o_stride + head_offset,
                     static_cast<int32_t>(min<int64_t>(T::kBlockM, p.total_tokens - first)), nan_rows);
      } else {  // padded: seq_lens[b] outside [0, S], all S rows NaN
        store_rows(p.out + (it.span.first_token + it.row0) * p.o_stride + head_offset,
                   min(T::kBlockM, it.span.extent - it.row0), nan_rows);
      }
      continue;
    }
    const int32_t rows_owed = min(T::kBlockM, it.span.extent - it.row0);  // output rows this tile writes (> 0)
    E* out = p.out + (it.span.first_token + it.row0) * p.o_stride + head_offset;
    const int32_t valid_rows = it.span.length - it.row0;  // rows past it are padding: zeros
    float row_max[kRows], row_sum[kRows];
    CUTE_UNROLL
    for (int r = 0; r < kRows; ++r) row_max[r] = -INFINITY, row_sum[r] = 0.f;
    if (it.loads()) {
      const int32_t keys = attended_keys(p, it.span);
      const int n_blocks = key_tiles<E, kHeadDim>(keys);
      clear(tOrO);
      // K/V tile n: wait for it; past the sequence end, zero its V rows so that 0 * (NaN in padding) cannot
      // reach O (both consumer warpgroups share the stage, hence the barrier). Where the keys end at the
      // tensor's last row (padded without shorter lengths, or the last packed sequence) TMA has already
      // filled the rows past it with zeros, and the tail needs nothing.
      const int64_t tensor_rows = p.cu_seqlens != nullptr ? p.total_tokens : p.seq_len;
      const bool tail_in_tensor = static_cast<int64_t>(it.first_row) + keys < tensor_rows;
      auto wait_tile = [&](int n) {
        const int s = (kv_iter + n) % T::kStages;
        FullBarrier::wait(&smem.kv_full[s], ((kv_iter + n) / T::kStages) & 1);
        const int first = keys - n * T::kBlockN;
        if (first < T::kBlockN && tail_in_tensor && it.first_pass) {  // later passes find the tail zeroed
          for (int i = tid; i < (T::kBlockN - first) * kHeadDim; i += T::kConsumerThreads)
            sV(first + i / kHeadDim, i % kHeadDim, s) = E(0.f);
          cutlass::arch::fence_view_async_shared();  // ordinary stores, then the tensor cores read them
          cutlass::arch::NamedBarrier::sync(T::kConsumerThreads, kVTailBarrier);
        }
        return s;
      };
      auto issue_qk = [&](int s) {  // S = Q·Kᵀ, asynchronous
        warpgroup_fence_operand(tSrS);
        warpgroup_arrive();
        mma_qk.accumulate_ = GMMA::ScaleOut::Zero;
        CUTE_UNROLL
        for (int k = 0; k < size<2>(tSrQ); ++k) {
          gemm(mma_qk, tSrQ(_, _, k, qs), tSrK(_, _, k, s), tSrS);
          mma_qk.accumulate_ = GMMA::ScaleOut::One;
        }
        warpgroup_commit_batch();
      };
      auto issue_pv = [&](int s) {  // O += P·V, asynchronous
        warpgroup_fence_operand(tOrP);
        warpgroup_fence_operand(tOrO);
        warpgroup_arrive();
        CUTE_UNROLL
        for (int k = 0; k < size<2>(tOrP); ++k) gemm(mma_pv, tOrP(_, _, k), tOrV(_, _, k, s), tOrO);
        warpgroup_commit_batch();
      };
      // Online softmax of tile n on the accumulators (each row's 4 owners are the lanes of a quad), in log2
      // units. A full tile is the hot path and gets the fewest instructions per score: the row maximum of
      // scale * s is scale times the raw maximum (the raw minimum when the scale is negative: a uniform
      // branch), then exp2(scale * s - max) is one FFMA and one MUFU.EX2, and the row sum one FADD. The
      // sequence's last tile (keys past the end) is a separate instantiation that scales first and masks
      // those keys to -inf, so no per-score index test reaches the full tiles. O is not touched: its rescale
      // waits for the P·V in flight.
      const float scale = p.scale_log2;
      const bool scale_negative = scale < 0.f;
      float correction[kRows];
      auto softmax_tile = [&](int n, auto partial) {
        float mul = scale;  // what multiplies S in the exponent: scale, or 1 once S is scaled (partial tile)
        if constexpr (decltype(partial)::value) {
          const int key0 = n * T::kBlockN;
          CUTE_UNROLL
          for (int i = 0; i < size(S); ++i) S(i) = key0 + get<1>(cS_rc(i)) >= keys ? -INFINITY : S(i) * scale;
          mul = 1.f;
        }
        CUTE_UNROLL
        for (int r = 0; r < kRows; ++r) {
          float extreme = S(r, 0);
          if (!decltype(partial)::value && scale_negative) {
            CUTE_UNROLL
            for (int c = 1; c < size<1>(S); ++c) extreme = fminf(extreme, S(r, c));
          } else {
            CUTE_UNROLL
            for (int c = 1; c < size<1>(S); ++c) extreme = fmaxf(extreme, S(r, c));
          }
          // Finite: every tile holds at least one valid key in every row's quad.
          const float mx = fmaxf(row_max[r], quad_max(extreme * mul));
          correction[r] = exp2_ftz(row_max[r] - mx);
          row_max[r] = mx;
          float sum = 0.f;
          CUTE_UNROLL
          for (int c = 0; c < size<1>(S); ++c) {
            const float e = exp2_ftz(fmaf(S(r, c), mul, -mx));
            S(r, c) = e;
            sum += e;
          }
          row_sum[r] = row_sum[r] * correction[r] + sum;
        }
      };
      auto softmax = [&](int n) {
        if ((n + 1) * T::kBlockN > keys)
          softmax_tile(n, cute::true_type{});
        else
          softmax_tile(n, cute::false_type{});
      };
      auto rescale_o_and_take_p = [&] {
        CUTE_UNROLL
        for (int r = 0; r < kRows; ++r) {
          CUTE_UNROLL
          for (int c = 0; c < size<1>(O); ++c) O(r, c) *= correction[r];
        }
        // Two probabilities per conversion instruction (the pairs are adjacent columns of one row).
        CUTE_UNROLL
        for (int i = 0; i < size(tOrP); i += 2) store_pair(&tOrP(i), tSrS(i), tSrS(i + 1));
      };

      // P·V of a tile with nothing behind it to overlap: issue it in turn, wait for it, free its stage.
      auto last_pv = [&](int s) {
        turns.take();
        issue_pv(s);
        turns.pass();
        warpgroup_wait<0>();
        warpgroup_fence_operand(tOrO);
        if (it.last_pass) EmptyBarrier::arrive(&smem.kv_empty[s]);
      };
      if (n_blocks == 0) {  // only under an injected fault (a single key dropped): Q was loaded, release it
        EmptyBarrier::arrive(&smem.q_empty[qs]);
        continue;
      }
      if constexpr (T::kOverlapPV) {
        // Software pipeline within the warpgroup: Q·Kᵀ of tile n and P·V of tile n-1 are in flight together,
        // and the softmax of tile n runs while P·V of tile n-1 still does (the warpgroup holds two stages).
        int s = wait_tile(0);
        turns.take();
        issue_qk(s);
        turns.pass();
        warpgroup_wait<0>();
        warpgroup_fence_operand(tSrS);
        if (n_blocks == 1) EmptyBarrier::arrive(&smem.q_empty[qs]);  // Q is read for the last time
        softmax(0);
        rescale_o_and_take_p();
        for (int n = 1; n < n_blocks; ++n) {
          const int s_next = wait_tile(n);
          turns.take();
          issue_qk(s_next);
          issue_pv(s);
          turns.pass();
          warpgroup_wait<1>();  // Q·Kᵀ of tile n (committed first) is done
          warpgroup_fence_operand(tSrS);
          if (n == n_blocks - 1) EmptyBarrier::arrive(&smem.q_empty[qs]);
          softmax(n);
          warpgroup_wait<0>();  // P·V of tile n-1 is done: its stage is free, O and P may change
          warpgroup_fence_operand(tOrO);
          if (it.last_pass) EmptyBarrier::arrive(&smem.kv_empty[s]);
          rescale_o_and_take_p();
          s = s_next;
        }
        last_pv(s);
      } else {
        // One tile at a time; the other warpgroup's products overlap this one's softmax.
        for (int n = 0; n < n_blocks; ++n) {
          const int s = wait_tile(n);
          turns.take();
          issue_qk(s);
          turns.pass();
          warpgroup_wait<0>();
          warpgroup_fence_operand(tSrS);
          if (n == n_blocks - 1) EmptyBarrier::arrive(&smem.q_empty[qs]);
          softmax(n);
          rescale_o_and_take_p();
          last_pv(s);
        }
      }
      if (it.last_pass) kv_iter += n_blocks;  // the next pass over the same tiles finds them at the same stages
      CUTE_UNROLL
      for (int r = 0; r < kRows; ++r) row_sum[r] = 1.f / quad_sum(row_sum[r]);
    }
    // Epilogue: each thread writes its column pairs; rows past the valid ones (padding) get zeros.
    const bool zero_padding = !faults::active(p.fault, faults::kKeepPaddingRows);
    store_rows(out, zero_padding ? rows_owed : min(rows_owed, max(valid_rows, 0)), [&](int r, int c, int row) {
      return row < valid_rows ? make_float2(O(r, c) * row_sum[r], O(r, c + 1) * row_sum[r]) : make_float2(0.f, 0.f);
    });
  }
}

template <typename E, int kHeadDim>
__global__ void __launch_bounds__(Tiling<E, kHeadDim>::kThreads, 1)
    attention_kernel(CUTE_GRID_CONSTANT const Params<E, kHeadDim> p) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using T = Tiling<E, kHeadDim>;
  extern __shared__ unsigned char smem_raw[];
  // The swizzled tiles repeat every 1024 bytes and TMA writes them from a 1024-byte aligned base.
  auto& smem = *reinterpret_cast<SharedStorage<E, kHeadDim>*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
  const int warpgroup = threadIdx.x / 128;
  if (threadIdx.x == 0) {
    prefetch_tma_descriptor(p.tma_q.get_tma_descriptor());
    prefetch_tma_descriptor(p.tma_k.get_tma_descriptor());
    prefetch_tma_descriptor(p.tma_v.get_tma_descriptor());
    for (int s = 0; s < T::kQStages; ++s) {
      FullBarrier::init(&smem.q_full[s], 1);
      EmptyBarrier::init(&smem.q_empty[s], T::kConsumerThreads);
    }
    for (int s = 0; s < T::kStages; ++s) {
      FullBarrier::init(&smem.kv_full[s], 1);
      EmptyBarrier::init(&smem.kv_empty[s], T::kConsumerThreads);
    }
    cutlass::arch::fence_barrier_init();
  }
  __syncthreads();
  if (warpgroup == 0) {
    // The producer needs few registers; the consumers' accumulators get them: 24 + 2 x 240 per lane is the
    // 3 x 168 the launch allocated (setmaxnreg.inc waits for registers the CTA does not hold: 32 + 2 x 240
    // never starts). At D = 256 the producer's pass loop spills a few bytes at 24; 40 + 2 x 232 would spill
    // the consumers at D = 128.
    cutlass::arch::warpgroup_reg_dealloc<24>();
    if (threadIdx.x / 32 == 0) produce(p, smem);
  } else {
    cutlass::arch::warpgroup_reg_alloc<240>();
    consume(p, smem, threadIdx.x - 128);
  }
#endif
}

template <typename E, int kHeadDim>
constexpr size_t smem_bytes() {
  constexpr size_t bytes = sizeof(SharedStorage<E, kHeadDim>) + 1024;
  static_assert(bytes <= 227 * 1024, "over sm_90's 227 KB of shared memory a CTA");
  return bytes;
}

inline int sm_count() {
  static int cache[64] = {};
  int dev = 0;
  cudaGetDevice(&dev);
  int& n = cache[dev & 63];
  if (n == 0) cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev);
  return n > 0 ? n : 1;
}

}  // namespace encexport::kernels::hopper

namespace encexport::kernels {

template <typename Element, int kHeadDim>
cudaError_t launch_hopper(const AttentionParams& ap, cudaStream_t stream) {
  using namespace cute;
  using E = typename hopper::CuteType<Element>::type;
  using T = hopper::Tiling<E, kHeadDim>;
  const bool packed = ap.layout == Layout::kPacked;
  const int32_t rows = packed ? static_cast<int32_t>(ap.total_tokens) : ap.seq_len;
  const int32_t batches = packed ? 1 : ap.batch;
  auto gmem = [&](const void* ptr, int32_t heads, int64_t row_stride) {
    return make_tensor(make_gmem_ptr(static_cast<const E*>(ptr)), make_shape(rows, Int<kHeadDim>{}, heads, batches),
                       make_stride(row_stride, _1{}, int64_t{kHeadDim}, int64_t{rows} * row_stride));
  };
  const int32_t group = ap.num_heads / ap.num_kv_heads;
  const int32_t query_tiles = (ap.seq_len + T::kBlockM - 1) / T::kBlockM;
  // A padded batch whose S fits the K/V ring is served a whole sequence (and head group) per item; with one
  // query tile and one head per group that is what a plain item already is.
  const bool whole_sequences = !packed && (ap.seq_len + T::kBlockN - 1) / T::kBlockN <= T::kStages &&
                               (query_tiles > 1 || group > 1);
  const int32_t heads_per_item = whole_sequences ? group : 1;
  const int32_t tiles = packed ? ap.batch + static_cast<int32_t>(ap.total_tokens / T::kBlockM)
                               : (whole_sequences ? 1 : query_tiles);
  const int64_t items = static_cast<int64_t>(tiles) * (ap.num_heads / heads_per_item) * batches;
  if (items > INT32_MAX) return cudaErrorInvalidValue;
  hopper::Params<E, kHeadDim> p{
      make_tma_copy(SM90_TMA_LOAD{}, gmem(ap.q, ap.num_heads, ap.q_row_stride), typename T::QTile{}),
      make_tma_copy(SM90_TMA_LOAD{}, gmem(ap.k, ap.num_kv_heads, ap.k_row_stride), typename T::KTile{}),
      make_tma_copy(SM90_TMA_LOAD{}, gmem(ap.v, ap.num_kv_heads, ap.v_row_stride), typename T::KTile{}),
      make_shape(rows, Int<kHeadDim>{}, ap.num_heads, batches),
      make_shape(rows, Int<kHeadDim>{}, ap.num_kv_heads, batches),
      static_cast<E*>(ap.out),
      packed ? nullptr : ap.seq_lens,
      packed ? ap.cu_seqlens : nullptr,
      ap.o_row_stride,
      ap.total_tokens,
      ap.batch,
      ap.seq_len,
      ap.num_heads,
      group,
      tiles,
      static_cast<int32_t>(items),
      whole_sequences,
      heads_per_item,
      faults::scale(faults::selected(), ap.scale) * 1.4426950408889634f,
      faults::selected(),
  };
  auto kernel = &hopper::attention_kernel<E, kHeadDim>;
  constexpr size_t kSmem = hopper::smem_bytes<E, kHeadDim>();
  static bool attribute_set = false;  // the limit belongs to the function; setting it twice is harmless
  if (!attribute_set) {
    if (cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem); e != cudaSuccess)
      return e;
    attribute_set = true;
  }
  const int grid = static_cast<int>(std::min<int64_t>(items, hopper::sm_count()));
  kernel<<<grid, T::kThreads, kSmem, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace encexport::kernels
