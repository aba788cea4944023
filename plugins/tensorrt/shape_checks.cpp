#include "shape_checks.h"

#include <sstream>

#include "encexport/contract.h"
#include "encexport/status_format.h"

namespace encexport::trt {
namespace {

template <typename... Args>
Status fail(Args&&... parts) {
  return format_error(kPluginName, std::forward<Args>(parts)...);
}

std::string to_text(const nvinfer1::Dims& d) {
  std::ostringstream os;
  os << "[";
  for (int32_t i = 0; i < d.nbDims && i < nvinfer1::Dims::MAX_DIMS; ++i) os << (i ? ", " : "") << d.d[i];
  os << "]";
  return os.str();
}

const char* const kInputNames[] = {"q", "k", "v", "lengths", "attn_bias"};

// Two dimensions agree when equal, or when either is still unknown (-1) at build time.
bool agree(int64_t x, int64_t y, bool allow_unknown) { return x == y || (allow_unknown && (x == -1 || y == -1)); }

Status check_rank_and_values(const nvinfer1::Dims& d, int32_t rank, const char* name, bool allow_unknown) {
  if (d.nbDims != rank) return fail(name, " must have rank ", rank, ", got shape ", to_text(d));
  for (int32_t i = 0; i < rank; ++i) {
    if (d.d[i] >= 0) continue;
    if (!(allow_unknown && d.d[i] == -1)) return fail(name, " has an invalid dimension: shape ", to_text(d));
  }
  return Status::Ok();
}

// ONNX Runtime's packed q|k|v node (key and value left empty, docs/onnx-contract.md) reaches TensorRT without
// key and value. The kernels could read it in place, but that form only comes out of encexport's ONNX Runtime
// optimizer, whose graphs TensorRT cannot parse anyway; the engine is built from the export instead.
constexpr const char* kPackedQkvIsOrtOnly =
    "; a node with empty key and value inputs (the packed q|k|v form of docs/onnx-contract.md) runs in ONNX Runtime "
    "only: build the TensorRT engine from the exported model, whose attention nodes take q, k and v separately, "
    "not from the ONNX Runtime-optimized one";

}  // namespace

Status check_input_count(const AttentionAttributes& a, int32_t nb_inputs, int32_t nb_outputs) {
  if (nb_outputs != 1) return fail("expects exactly 1 output, got ", nb_outputs);
  const char* hint = nb_inputs < 3 ? kPackedQkvIsOrtOnly : "";
  if (a.layout == Layout::kPadded && (nb_inputs < 3 || nb_inputs > contract::kInputCount))
    return fail("padded layout takes q, k, v, optional seq_lens and optional attn_bias (3 to 5 inputs; with "
                "attn_bias, seq_lens is given too), got ", nb_inputs, hint);
  if (a.layout == Layout::kPacked && nb_inputs == contract::kInputCount)  // the shared rule words the refusal
    return check_bias_shape(nullptr, 0, a.layout, -1, a.num_heads, -1, /*allow_unknown=*/true);
  if (a.layout == Layout::kPacked && nb_inputs != 4)
    return fail("packed layout takes q, k, v and cu_seqlens (4 inputs), got ", nb_inputs, hint);
  return Status::Ok();
}

Status check_input_shapes(const AttentionAttributes& a, const nvinfer1::Dims* dims, int32_t nb_inputs,
                          bool allow_unknown) {
  if (Status s = check_input_count(a, nb_inputs, 1); !s) return s;
  const bool padded = a.layout == Layout::kPadded;
  const int32_t rank = padded ? 3 : 2;
  for (int32_t i = 1; i < 3; ++i)
    if (dims[i].nbDims <= 0) return fail(kInputNames[i], " has no dimensions", kPackedQkvIsOrtOnly);
  for (int32_t i = 0; i < 3; ++i)
    if (Status s = check_rank_and_values(dims[i], rank, kInputNames[i], allow_unknown); !s) return s;

  const int64_t q_width = static_cast<int64_t>(a.num_heads) * a.head_size;
  const int64_t kv_width = static_cast<int64_t>(a.num_kv_heads) * a.head_size;
  const char* shape = padded ? "[batch, seq, heads*head_size]" : "[tokens, heads*head_size]";
  if (!agree(dims[0].d[rank - 1], q_width, allow_unknown))
    return fail("q ", shape, " has last dimension ", dims[0].d[rank - 1], " but num_heads*head_size = ", a.num_heads,
                "*", a.head_size, " = ", q_width, ": shape ", to_text(dims[0]));
  for (int32_t i = 1; i < 3; ++i)
    if (!agree(dims[i].d[rank - 1], kv_width, allow_unknown))
      return fail(kInputNames[i], " has last dimension ", dims[i].d[rank - 1], " but num_kv_heads*head_size = ",
                  a.num_kv_heads, "*", a.head_size, " = ", kv_width, ": shape ", to_text(dims[i]));
  // Leading dims (batch, seq) or (tokens) are shared by q, k and v: this is self-attention.
  for (int32_t i = 1; i < 3; ++i)
    for (int32_t d = 0; d < rank - 1; ++d)
      if (!agree(dims[i].d[d], dims[0].d[d], allow_unknown))
        return fail(kInputNames[i], " shape ", to_text(dims[i]), " does not match q shape ", to_text(dims[0]),
                    " in its leading dimensions");

  if (nb_inputs >= 4) {
    const char* name = padded ? "seq_lens" : "cu_seqlens";
    if (nb_inputs == contract::kInputCount && dims[3].nbDims <= 0)
      return fail("a node with attn_bias needs seq_lens as input 3 in TensorRT (an empty input 3 does not reach the "
                  "plugin): give the valid lengths, S for every sequence when nothing is padded");
    if (Status s = check_rank_and_values(dims[3], 1, name, allow_unknown); !s) return s;
    if (padded && !agree(dims[3].d[0], dims[0].d[0], allow_unknown))
      return fail("seq_lens ", to_text(dims[3]), " must have one entry per batch row of q ", to_text(dims[0]));
    if (!padded && dims[3].d[0] == 0) return fail("cu_seqlens must have batch+1 >= 1 entries, got ", to_text(dims[3]));
  }
  if (nb_inputs == contract::kInputCount) {
    const nvinfer1::Dims& b = dims[contract::kBiasInput];
    if (b.nbDims < 0 || b.nbDims > nvinfer1::Dims::MAX_DIMS) return fail("attn_bias has no rank: ", to_text(b));
    return check_bias_shape(b.d, b.nbDims, a.layout, dims[0].d[0], a.num_heads, padded ? dims[0].d[1] : -1,
                            allow_unknown);
  }
  return Status::Ok();
}

Status check_output_shape(const nvinfer1::Dims& q, const nvinfer1::Dims& out, bool allow_unknown) {
  bool same = q.nbDims == out.nbDims;
  for (int32_t i = 0; same && i < q.nbDims; ++i) same = agree(q.d[i], out.d[i], allow_unknown);
  if (!same) return fail("output shape ", to_text(out), " must equal q's shape ", to_text(q));
  return Status::Ok();
}

}  // namespace encexport::trt
