// The CPU path: exact math with fp32 accumulation, one (sequence, head, query row) at a time.
// It favours obviousness over speed: it is the ORT CPU kernel and the semantics every GPU kernel must match.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "encexport/float_bits.h"
#include "encexport/params.h"

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

// One sequence: rows [row0, row0 + rows) of the token tensors, `len` of them valid.
void attend_sequence(const AttentionParams& p, int64_t row0, int32_t rows, int32_t len, std::vector<float>& scores,
                     std::vector<float>& acc) {
  // An empty sequence has nothing to read or write. Without this the head loop below still ran num_heads times
  // per sequence: a zero-size tensor such as [2^31-1, 0, H*D], or cu_seqlens of many empty sequences with
  // H = 65536, kept the CPU busy for minutes to hours while producing nothing.
  if (rows == 0) return;
  const Reader q{p.q, p.dtype}, k{p.k, p.dtype}, v{p.v, p.dtype};
  const Writer out{p.out, p.dtype};
  const int32_t D = p.head_size;
  const int32_t group = p.num_heads / p.num_kv_heads;
  scores.resize(static_cast<size_t>(std::max(len, 1)));
  acc.resize(static_cast<size_t>(D));
  for (int32_t h = 0; h < p.num_heads; ++h) {
    const int32_t hk = h / group;
    for (int32_t i = 0; i < rows; ++i) {
      const int64_t o_off = (row0 + i) * p.o_row_stride + static_cast<int64_t>(h) * D;
      if (i >= len) {  // padding query rows are defined as zeros
        for (int32_t d = 0; d < D; ++d) out(o_off + d, 0.f);
        continue;
      }
      const int64_t q_off = (row0 + i) * p.q_row_stride + static_cast<int64_t>(h) * D;
      float row_max = -std::numeric_limits<float>::infinity();
      for (int32_t j = 0; j < len; ++j) {
        const int64_t k_off = (row0 + j) * p.k_row_stride + static_cast<int64_t>(hk) * D;
        float dot = 0.f;
        for (int32_t d = 0; d < D; ++d) dot += q(q_off + d) * k(k_off + d);
        scores[j] = dot * p.scale;
        row_max = std::max(row_max, scores[j]);
      }
      // A row of -inf scores (all keys -inf) would give NaN through exp(-inf - -inf); subtracting 0 keeps it
      // a well-defined 0/0 only when the inputs themselves are non-finite, which then propagates as NaN.
      const float shift = std::isinf(row_max) && row_max < 0 ? 0.f : row_max;
      float denom = 0.f;
      for (int32_t j = 0; j < len; ++j) {
        scores[j] = std::exp(scores[j] - shift);
        denom += scores[j];
      }
      std::fill(acc.begin(), acc.end(), 0.f);
      for (int32_t j = 0; j < len; ++j) {
        const int64_t v_off = (row0 + j) * p.v_row_stride + static_cast<int64_t>(hk) * D;
        const float w = scores[j];
        for (int32_t d = 0; d < D; ++d) acc[d] += w * v(v_off + d);
      }
      const float inv = 1.f / denom;
      for (int32_t d = 0; d < D; ++d) out(o_off + d, acc[d] * inv);
    }
  }
}

}  // namespace

Status run_attention_cpu(const AttentionParams& p) {
  if (Status s = validate(p); !s) return s;
  if (Status s = validate_lengths_host(p); !s) return s;
  // No tokens, no work (and no 2^31-iteration batch loop over a [huge, 0, W] tensor); lengths were checked above.
  if (p.total_tokens == 0) return Status::Ok();
  std::vector<float> scores, acc;
  for (int32_t b = 0; b < p.batch; ++b) {
    if (p.layout == Layout::kPadded) {
      const int32_t len = p.seq_lens ? p.seq_lens[b] : p.seq_len;
      attend_sequence(p, static_cast<int64_t>(b) * p.seq_len, p.seq_len, len, scores, acc);
    } else {
      const int32_t len = p.cu_seqlens[b + 1] - p.cu_seqlens[b];
      attend_sequence(p, p.cu_seqlens[b], len, len, scores, acc);
    }
  }
  return Status::Ok();
}

}  // namespace encexport
