// Checks shared by every adapter. Messages name the offending value and the fix, because they reach
// users verbatim (ORT status text, TensorRT log, Python exceptions).
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "encexport/contract.h"
#include "encexport/node_attributes.h"
#include "encexport/params.h"
#include "encexport/status_format.h"

namespace encexport {
namespace {

template <typename... Args>
Status fail(Args&&... parts) {
  return format_error(contract::kOpType, std::forward<Args>(parts)...);
}

}  // namespace

Status validate(const AttentionParams& p) {
  if (p.num_heads <= 0) return fail("num_heads must be positive, got ", p.num_heads);
  if (p.num_kv_heads <= 0) return fail("num_kv_heads must be positive, got ", p.num_kv_heads);
  if (p.num_heads % p.num_kv_heads != 0)
    return fail("num_heads (", p.num_heads, ") must be a multiple of num_kv_heads (", p.num_kv_heads,
                "): each key/value head serves num_heads/num_kv_heads query heads");
  if (p.head_size <= 0 || p.head_size > kMaxHeadSize)
    return fail("head_size must be in [1, ", kMaxHeadSize, "], got ", p.head_size);
  if (!std::isfinite(p.scale)) return fail("scale must be a finite number, got ", p.scale);
  if (p.batch < 0) return fail("batch must be >= 0, got ", p.batch);
  const int64_t q_width = static_cast<int64_t>(p.num_heads) * p.head_size;
  const int64_t kv_width = static_cast<int64_t>(p.num_kv_heads) * p.head_size;
  if (p.q_row_stride < q_width || p.o_row_stride < q_width || p.k_row_stride < kv_width || p.v_row_stride < kv_width)
    return fail("row strides (q ", p.q_row_stride, ", k ", p.k_row_stride, ", v ", p.v_row_stride, ", out ",
                p.o_row_stride, ") are smaller than the rows (", q_width, " / ", kv_width, " elements)");
  if (p.layout == Layout::kPadded) {
    if (p.seq_len < 0) return fail("seq_len must be >= 0, got ", p.seq_len);
    if (p.total_tokens != static_cast<int64_t>(p.batch) * p.seq_len)
      return fail("padded layout: total_tokens (", p.total_tokens, ") must equal batch*seq_len (",
                  static_cast<int64_t>(p.batch) * p.seq_len, ")");
  } else if (p.layout == Layout::kPacked) {
    if (p.total_tokens < 0) return fail("total_tokens must be >= 0, got ", p.total_tokens);
    if (p.cu_seqlens == nullptr)
      return fail("packed layout needs cu_seqlens [batch+1] int32 (the prefix sums of the sequence lengths)");
    if (p.total_tokens > std::numeric_limits<int32_t>::max())
      return fail("packed layout: total_tokens ", p.total_tokens, " exceeds int32 cu_seqlens; split the batch");
  } else {
    return fail("unknown layout ", static_cast<int>(p.layout));
  }
  // Element offsets are int64 everywhere; this keeps the largest one far from overflow.
  const int64_t max_stride = std::max({p.q_row_stride, p.k_row_stride, p.v_row_stride, p.o_row_stride});
  if (p.total_tokens > 0 && max_stride > (std::numeric_limits<int64_t>::max() / 4) / p.total_tokens)
    return fail("tensor of ", p.total_tokens, " rows x ", max_stride, " elements is too large to index");
  const bool empty = p.total_tokens == 0;
  if (!empty && (p.q == nullptr || p.k == nullptr || p.v == nullptr || p.out == nullptr))
    return fail("q, k, v and out must be non-null");
  if (p.bias != nullptr) {
    if (p.layout != Layout::kPadded)
      return fail("attn_bias is given with the packed layout, which takes no bias (its rows have no [S, S] "
                  "block); use layout 'padded' for a node with attn_bias");
    if (p.bias_row_stride < p.seq_len || p.bias_batch_stride < 0 || p.bias_head_stride < 0)
      return fail("attn_bias strides (batch ", p.bias_batch_stride, ", head ", p.bias_head_stride, ", row ",
                  p.bias_row_stride, ") do not cover [S, S] rows of S = ", p.seq_len);
  }
  if (!is_known_backend(p.backend))
    return fail("unknown backend ", static_cast<int>(p.backend), "; known: ", known_backends());
  return check_backend_layout(p.backend, p.layout);
}

Status check_bias_shape(const int64_t* dims, int32_t rank, Layout layout, int64_t batch, int64_t num_heads,
                        int64_t seq_len, bool allow_unknown) {
  const auto shape = [&] {
    std::ostringstream os;
    os << "[";
    for (int32_t i = 0; i < rank; ++i) os << (i ? ", " : "") << dims[i];
    os << "]";
    return os.str();
  };
  if (layout != Layout::kPadded)
    return fail("attn_bias is given with the packed layout, which takes no bias (its rows have no [S, S] block); "
                "export the node with layout 'padded' to use attn_bias");
  if (rank != contract::kBiasRank)
    return fail("attn_bias has shape ", shape(), "; expected rank ", contract::kBiasRank,
                " [batch or 1, num_heads or 1, seq, seq] (reshape the bias, e.g. unsqueeze a [seq, seq] bias to "
                "[1, 1, seq, seq])");
  for (int32_t i = 0; i < rank; ++i)
    if (dims[i] < 0 && !(allow_unknown && dims[i] == -1))
      return fail("attn_bias has an invalid dimension: shape ", shape());
  // Two sizes agree when equal, or when either is not known yet.
  const auto agree = [&](int64_t x, int64_t y) { return x == y || (allow_unknown && (x < 0 || y < 0)); };
  if (!agree(dims[0], 1) && !agree(dims[0], batch))
    return fail("attn_bias has shape ", shape(), ": its dimension 0 must be the batch (", batch,
                ") or 1 (one bias for every sequence)");
  if (!agree(dims[1], 1) && !agree(dims[1], num_heads))
    return fail("attn_bias has shape ", shape(), ": its dimension 1 must be num_heads (", num_heads,
                ") or 1 (one bias for every head)");
  if (!agree(dims[2], seq_len) || !agree(dims[3], seq_len))
    return fail("attn_bias has shape ", shape(), ": its last two dimensions must both be the padded sequence "
                "length S = ", seq_len, " of query [batch, S, heads*head_size] (one bias per query row and key)");
  return Status::Ok();
}

void set_bias_strides(const int64_t* dims, AttentionParams* p) {
  const int64_t rows = dims[2] * dims[3];
  p->bias_row_stride = dims[3];
  p->bias_head_stride = dims[1] == 1 ? 0 : rows;
  p->bias_batch_stride = dims[0] == 1 ? 0 : dims[1] * rows;
}

Status validate_lengths_host(const AttentionParams& p) {
  if (p.layout == Layout::kPadded) {
    if (p.seq_lens == nullptr) return Status::Ok();
    for (int32_t b = 0; b < p.batch; ++b) {
      const int32_t len = p.seq_lens[b];
      if (len < 0 || len > p.seq_len)
        return fail("seq_lens[", b, "] = ", len, " is outside [0, ", p.seq_len, "] (the padded sequence length)");
    }
    return Status::Ok();
  }
  const int32_t* cu = p.cu_seqlens;
  if (cu[0] != 0) return fail("cu_seqlens[0] must be 0, got ", cu[0]);
  for (int32_t b = 0; b < p.batch; ++b) {
    if (cu[b + 1] < cu[b])
      return fail("cu_seqlens must be non-decreasing (prefix sums of lengths): cu_seqlens[", b + 1, "] = ", cu[b + 1],
                  " < cu_seqlens[", b, "] = ", cu[b]);
  }
  if (cu[p.batch] != p.total_tokens)
    return fail("cu_seqlens[-1] = ", cu[p.batch], " must equal the number of packed tokens T = ", p.total_tokens);
  return Status::Ok();
}

}  // namespace encexport
