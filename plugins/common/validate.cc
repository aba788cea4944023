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
  if (!is_known_backend(p.backend))
    return fail("unknown backend ", static_cast<int>(p.backend), "; known: ", known_backends());
  return check_backend_layout(p.backend, p.layout);
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
