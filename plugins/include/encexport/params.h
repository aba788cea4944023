// The only ABI between the runtime adapters (ONNX Runtime op, TensorRT plugin, test harness) and the
// attention kernels. No ONNX Runtime or TensorRT type crosses this line: adapters translate their
// tensors into an AttentionParams, call validate(), then run_attention_{cpu,cuda}().
//
// Semantics (docs/onnx-contract.md is the user-facing version):
//   out[b, i, h, :] = sum_j softmax_j(scale * <q[b,i,h,:], k[b,j,h/G,:]>) * v[b,j,h/G,:]
//   over the valid keys j < len_b of the same sequence; G = num_heads / num_kv_heads (GQA/MQA).
//   Never causal. Query rows i >= len_b (padding) are written as zeros. A sequence of length 0
//   produces no rows (packed) or only zero rows (padded).
//   With an additive bias (padded layout only) the score is scale * <q, k> + bias[b, h, i, j], read through
//   the broadcast strides below; only the valid block i, j < len_b of each sequence is read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace encexport {

enum class DType : int32_t { kFloat32 = 0, kFloat16 = 1, kBFloat16 = 2 };

// Token layouts. Every token row holds the heads back to back: [.., heads, head_size] (BSNH / TNH).
enum class Layout : int32_t {
  kPadded = 0,  // q [B, S, H*D], k/v [B, S, Hkv*D], optional seq_lens [B] int32 (absent: all S valid)
  kPacked = 1,  // q [T, H*D],    k/v [T, Hkv*D],    cu_seqlens [B+1] int32, cu[0]=0, cu[B]=T, non-decreasing
};

// Kernel families a node may request. kAuto lets the dispatcher choose per shape and device.
enum class Backend : int32_t {
  kAuto = 0,
  kReference = 1,  // exact math, CUDA cores (GPU) / plain loops (CPU): every dtype, every head size <= 256
  kFlash = 2,      // tensor-core online-softmax kernel (mma.sync), fp16/bf16, the head sizes in kernels/
  kCudnn = 3,      // cuDNN's fused attention (graph API), loaded at run time; padded layout, fp16/bf16
  kHopper = 4,     // wgmma + TMA, persistent and warp-specialised (sm_90a): fp16/bf16, padded and packed
};

// Bytes per element of a q/k/v/out tensor.
inline size_t element_size(DType d) { return d == DType::kFloat32 ? 4 : 2; }

const char* to_string(DType);
const char* to_string(Layout);
const char* to_string(Backend);
// Parse the ONNX attribute strings; return false on an unknown name.
bool parse_layout(const std::string& s, Layout* out);
bool parse_backend(const std::string& s, Backend* out);
// Whether b is one of the enumerators (values cross the C ABI of the test entry point as integers).
bool is_known_backend(Backend b);
// Comma-separated list of the backend names this build knows, for error messages.
const char* known_backends();

constexpr int kMaxHeadSize = 256;

struct AttentionParams {
  // Device pointers for the CUDA path, host pointers for the CPU path.
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* out = nullptr;
  const int32_t* seq_lens = nullptr;    // kPadded: [batch] valid lengths, or nullptr (all seq_len valid)
  const int32_t* cu_seqlens = nullptr;  // kPacked: [batch + 1] prefix sums of the lengths

  DType dtype = DType::kFloat16;
  Layout layout = Layout::kPadded;
  Backend backend = Backend::kAuto;

  int32_t batch = 0;         // B
  int32_t seq_len = 0;       // kPadded: S (the padded length). kPacked: unused (0)
  int64_t total_tokens = 0;  // kPacked: T. kPadded: B*S
  int32_t num_heads = 0;     // H (query heads)
  int32_t num_kv_heads = 0;  // Hkv, divides H
  int32_t head_size = 0;     // D
  float scale = 0.f;         // applied to q.k before softmax

  // Element strides between consecutive tokens (rows). Dense tensors: H*D for q/out, Hkv*D for k/v.
  int64_t q_row_stride = 0;
  int64_t k_row_stride = 0;
  int64_t v_row_stride = 0;
  int64_t o_row_stride = 0;

  // Optional additive attention bias (kPadded only), same dtype as q/k/v, nullptr = none. Element
  // [b, h, i, j] sits at b*bias_batch_stride + h*bias_head_stride + i*bias_row_stride + j. A bias of shape
  // [B|1, H|1, S, S] has batch stride 0 when its batch dimension is 1 (else H'*S*S, H' its head dimension),
  // head stride 0 when its head dimension is 1 (else S*S), row stride S. set_bias_strides() fills them.
  const void* bias = nullptr;
  int64_t bias_batch_stride = 0;
  int64_t bias_head_stride = 0;
  int64_t bias_row_stride = 0;
};

// Fill the dense row strides from the head counts.
void set_dense_strides(AttentionParams& p);

// The node's attributes (docs/onnx-contract.md) as both adapters hold them after parsing and validation.
struct NodeAttributes {
  int32_t num_heads = 0;
  int32_t num_kv_heads = 0;
  int32_t head_size = 0;
  float scale = 0.f;  // resolved: 1/sqrt(head_size) when the node omits it
  Backend backend = Backend::kAuto;
  Layout layout = Layout::kPadded;

  // Bitwise on scale: a round trip through serialization must reproduce it exactly (and -0.f != 0.f).
  bool operator==(const NodeAttributes& o) const {
    return num_heads == o.num_heads && num_kv_heads == o.num_kv_heads && head_size == o.head_size &&
           std::memcmp(&scale, &o.scale, sizeof scale) == 0 && backend == o.backend && layout == o.layout;
  }
};

// Copies the attributes into p (heads, head size, scale, layout, backend) and sets dense row strides.
void apply_attributes(const NodeAttributes& a, AttentionParams* p);

struct Status {
  bool ok = true;
  std::string message;  // names the problem and, where there is one, the fix
  static Status Ok() { return {}; }
  static Status Error(std::string m) { return {false, std::move(m)}; }
  explicit operator bool() const { return ok; }
};

// Shape/attribute checks that need no tensor data (run on every call, cheap).
Status validate(const AttentionParams& p);
// The shape rule of the attn_bias input, shared by every adapter: rank 4, [batch or 1, num_heads or 1, seq_len,
// seq_len], padded layout only. A negative entry of dims, batch or seq_len is a dimension not known yet (TensorRT at
// build time): accepted when allow_unknown (the concrete shapes are checked again per call), refused otherwise.
Status check_bias_shape(const int64_t* dims, int32_t rank, Layout layout, int64_t batch, int64_t num_heads,
                        int64_t seq_len, bool allow_unknown);
// The broadcast strides of a bias of concrete shape dims (rank 4, already checked) into p.
void set_bias_strides(const int64_t* dims, AttentionParams* p);

// Checks that read the host-side lengths (seq_lens / cu_seqlens must be host pointers).
Status validate_lengths_host(const AttentionParams& p);

// CPU path: exact fp32-accumulating math on host pointers (validate + validate_lengths_host first).
Status run_attention_cpu(const AttentionParams& p);

// CUDA path, on `stream` (a cudaStream_t), no host synchronisation. `used` (optional) receives the kernel
// family that ran. The flash/reference kernels allocate nothing; cuDNN's scratch is stream-ordered.
// Defined when the library is built with CUDA (ENCEXPORT_WITH_CUDA); the host-only sanitized build links a refusal.
Status run_attention_cuda(const AttentionParams& p, void* stream, Backend* used = nullptr);
// Which kernel family the dispatcher will run for p on the current device (resolves kAuto).
Backend resolve_backend_cuda(const AttentionParams& p);

}  // namespace encexport
