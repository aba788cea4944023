// The CPU path: exact math with fp32 accumulation, one (sequence, head, query row) at a time.
// It favours obviousness over speed (the only concession: each key/value head is widened to fp32 once per
// sequence): it is the ORT CPU kernel and the semantics every GPU kernel must match.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "encexport/float_bits.h"
#include "encexport/params.h"
#include "../kernels/fault_injection.h"

namespace encexport {
namespace {

// Reads element i of a tensor stored as dtype into fp32.
struct Reader {
  const void* base;
  DType dtype;
  float operator()(int64_t i) const {
    switch (dtype) {
      case DType::kFloat32: return static_cast<const float*>(base)[i];
      case DType::kFloat16: return half_bits_to_float(static_cast<const uint16_t*>(base)[i]);
      case DType::kBFloat16: return bf16_bits_to_float(static_cast<const uint16_t*>(base)[i]);
    }
    return 0.f;
  }
};

struct Writer {
  void* base;
  DType dtype;
  void operator()(int64_t i, float x) const {
    switch (dtype) {
      case DType::kFloat32: static_cast<float*>(base)[i] = x; break;
      case DType::kFloat16: static_cast<uint16_t*>(base)[i] = float_to_half_bits(x); break;
      case DType::kBFloat16: static_cast<uint16_t*>(base)[i] = float_to_bf16_bits(x); break;
    }
  }
};

// Widens `count` rows of one head (D elements each, `stride` apart) to a contiguous fp32 block.
void widen_rows(const Reader& src, int64_t first, int64_t stride, int32_t count, int32_t D, float* dst) {
  for (int32_t r = 0; r < count; ++r)
    for (int32_t d = 0; d < D; ++d) dst[static_cast<int64_t>(r) * D + d] = src(first + r * stride + d);
}

// Scratch reused across sequences: one kv head's keys and values in fp32, a query row, scores, the accumulator.
struct Scratch {
  std::vector<float> k, v, q, scores, acc;
};

// One sequence: rows [row0, row0 + rows) of the token tensors, `len` of them valid. bias0 is the element offset of
// this sequence's [heads, S, S] bias block (read only when p.bias is set).
void attend_sequence(const AttentionParams& p, int64_t row0, int32_t rows, int32_t len, int64_t bias0, Scratch& s) {
  // An empty sequence has nothing to read or write. Without this the head loop below still ran num_heads times
  // per sequence: a zero-size tensor such as [2^31-1, 0, H*D], or cu_seqlens of many empty sequences with
  // H = 65536, kept the CPU busy for minutes to hours while producing nothing.
  if (rows == 0) return;
  const Reader q{p.q, p.dtype}, k{p.k, p.dtype}, v{p.v, p.dtype};
  const Reader bias{p.bias, p.dtype};
  const Writer out{p.out, p.dtype};
  const int32_t D = p.head_size;
  const int32_t group = p.num_heads / p.num_kv_heads;
  // Keys attended and the scale: len and p.scale, except in the fault-injection test library (fault_injection.h).
  const int32_t fault = faults::selected();
  const int32_t keys = faults::keys(fault, len, p.total_tokens - (row0 + len));
  const float scale = faults::scale(fault, p.scale);
  // Each key/value head is converted to fp32 once and then read by all `group` query heads and every query row,
  // instead of converting every element again for every (query row, key) pair.
  s.k.resize(static_cast<size_t>(std::max(keys, 1)) * D);
  s.v.resize(s.k.size());
  s.q.resize(static_cast<size_t>(D));
  s.scores.resize(static_cast<size_t>(std::max(keys, 1)));
  s.acc.resize(static_cast<size_t>(D));
  for (int32_t hk = 0; hk < p.num_kv_heads; ++hk) {
    widen_rows(k, row0 * p.k_row_stride + static_cast<int64_t>(hk) * D, p.k_row_stride, keys, D, s.k.data());
    widen_rows(v, row0 * p.v_row_stride + static_cast<int64_t>(hk) * D, p.v_row_stride, keys, D, s.v.data());
    for (int32_t h = hk * group; h < (hk + 1) * group; ++h) {
      for (int32_t i = 0; i < rows; ++i) {
        const int64_t o_off = (row0 + i) * p.o_row_stride + static_cast<int64_t>(h) * D;
        if (i >= len) {  // padding query rows are defined as zeros
          if (!faults::active(fault, faults::kKeepPaddingRows))
            for (int32_t d = 0; d < D; ++d) out(o_off + d, 0.f);
          continue;
        }
        widen_rows(q, (row0 + i) * p.q_row_stride + static_cast<int64_t>(h) * D, 0, 1, D, s.q.data());
        const int64_t bias_row = bias0 + static_cast<int64_t>(h) * p.bias_head_stride + i * p.bias_row_stride;
        float row_max = -std::numeric_limits<float>::infinity();
        for (int32_t j = 0; j < keys; ++j) {
          const float* kj = s.k.data() + static_cast<int64_t>(j) * D;
          float dot = 0.f;
          for (int32_t d = 0; d < D; ++d) dot += s.q[d] * kj[d];
          s.scores[j] = dot * scale + (p.bias && j < len ? bias(bias_row + j) : 0.f);
          row_max = std::max(row_max, s.scores[j]);
        }
        // A row of -inf scores (all keys -inf) would give NaN through exp(-inf - -inf); subtracting 0 keeps it
        // a well-defined 0/0 only when the inputs themselves are non-finite, which then propagates as NaN.
        const float shift = std::isinf(row_max) && row_max < 0 ? 0.f : row_max;
        float denom = 0.f;
        for (int32_t j = 0; j < keys; ++j) {
          s.scores[j] = std::exp(s.scores[j] - shift);
          denom += s.scores[j];
        }
        std::fill(s.acc.begin(), s.acc.end(), 0.f);
        for (int32_t j = 0; j < keys; ++j) {
          const float* vj = s.v.data() + static_cast<int64_t>(j) * D;
          const float w = s.scores[j];
          for (int32_t d = 0; d < D; ++d) s.acc[d] += w * vj[d];
        }
        const float inv = 1.f / denom;
        for (int32_t d = 0; d < D; ++d) out(o_off + d, s.acc[d] * inv);
      }
    }
  }
}

}  // namespace

Status run_attention_cpu(const AttentionParams& p) {
  if (Status s = validate(p); !s) return s;
  if (Status s = validate_lengths_host(p); !s) return s;
  // No tokens, no work (and no 2^31-iteration batch loop over a [huge, 0, W] tensor); lengths were checked above.
  if (p.total_tokens == 0) return Status::Ok();
  Scratch scratch;
  for (int32_t b = 0; b < p.batch; ++b) {
    if (p.layout == Layout::kPadded) {
      const int32_t len = p.seq_lens ? p.seq_lens[b] : p.seq_len;
      attend_sequence(p, static_cast<int64_t>(b) * p.seq_len, p.seq_len, len, b * p.bias_batch_stride, scratch);
    } else {
      const int32_t len = p.cu_seqlens[b + 1] - p.cu_seqlens[b];
      attend_sequence(p, p.cu_seqlens[b], len, len, 0, scratch);  // validate() refuses a packed bias
    }
  }
  return Status::Ok();
}

}  // namespace encexport
