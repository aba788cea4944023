// cuDNN fused attention (SDPA forward, inference) through the cuDNN frontend's graph API.
//
// Why it is here: on Hopper, cuDNN's attention engines use wgmma + TMA and reach 2x the tensor-core rate
// of our mma.sync kernel at long sequences. `auto` picks it where it wins (dispatch.cu) and falls back to
// `flash` when cuDNN is absent or rejects the shape.
//
// How: the library is opened at run time (no link dependency); one graph per shape is built on first use
// and cached per thread, together with one cuDNN handle per thread and device (handles are not meant to be
// shared across threads). Padded batches use cuDNN's padding mask with our per-sequence lengths, clamped
// first; the query rows past each length are then written as zeros, and every row of a sequence whose length
// was out of range as NaN (padding_rows.cu). Scratch memory (the
// clamped lengths, and cuDNN's workspace if the plan wants one) is stream-ordered, from a pool of our own
// that keeps its memory between calls (scratch_pool below): no host synchronisation, nothing proportional
// to S^2, and capture-safe (a captured pool allocation becomes a graph allocation node).
#include <cudnn_frontend.h>
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "cudnn_attention.h"
#include "padding_rows.h"

// The frontend's dynamic-loading mode resolves every cuDNN symbol through this handle.
namespace cudnn_frontend {
void* cudnn_dlhandle = nullptr;
}

namespace encexport::cudnn {
namespace {

namespace fe = cudnn_frontend;

constexpr size_t kMinVersion = 90000;  // cuDNN 9: the SDPA graph with padding mask and GQA
constexpr size_t kMaxCachedGraphs = 256;

// Opens cuDNN once per process; returns why it is unusable ("" when it is usable).
const std::string& library_problem() {
  static const std::string problem = []() -> std::string {
    std::string tried;
    const char* configured = std::getenv("ENCEXPORT_CUDNN_LIBRARY");
    for (const char* name : {configured, "libcudnn.so.9", "libcudnn.so"}) {
      if (name == nullptr || *name == '\0') continue;
      if (void* handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)) {
        cudnn_frontend::cudnn_dlhandle = handle;
        break;
      }
      const char* why = dlerror();
      tried += std::string(tried.empty() ? "" : "; ") + (why ? why : name);
    }
    if (cudnn_frontend::cudnn_dlhandle == nullptr)
      return "no cuDNN library on this machine (" + tried +
             "); install cuDNN 9 (e.g. pip install nvidia-cudnn-cu13) or set ENCEXPORT_CUDNN_LIBRARY to libcudnn.so.9";
    try {
      const size_t version = fe::detail::get_backend_version();
      if (version < kMinVersion)
        return "cuDNN " + std::to_string(version) + " (the attention graph needs cuDNN 9.0 or newer)";
    } catch (const std::exception& e) {
      return std::string("a cuDNN library that could not be queried: ") + e.what();
    }
    return {};
  }();
  return problem;
}

// Everything a graph depends on. Pointers are bound per call; the lengths' values too.
struct GraphKey {
  int device;
  DType dtype;
  int64_t batch, seq_len, heads, kv_heads, head_size;
  int64_t q_stride, k_stride, v_stride, o_stride;
  uint32_t scale_bits;
  bool padding;
  bool operator==(const GraphKey& o) const { return std::memcmp(this, &o, sizeof *this) == 0; }
};

struct GraphKeyHash {
  size_t operator()(const GraphKey& k) const {
    const auto* bytes = reinterpret_cast<const unsigned char*>(&k);
    size_t h = 1469598103934665603ull;  // FNV-1a over the key's bytes (the key is zero-initialised)
    for (size_t i = 0; i < sizeof k; ++i) h = (h ^ bytes[i]) * 1099511628211ull;
    return h;
  }
};

struct Plan {
  std::shared_ptr<fe::graph::Graph> graph;  // null when cuDNN rejected the shape
  int64_t workspace_bytes = 0;
  std::string unsupported;  // cuDNN's reason, for the error message and for `auto`'s fallback
};

enum Uid : int64_t { kQ = 1, kK, kV, kO, kSeqLenQ, kSeqLenKV };

fe::DataType_t cudnn_type(DType d) { return d == DType::kBFloat16 ? fe::DataType_t::BFLOAT16 : fe::DataType_t::HALF; }

Plan build_plan(const GraphKey& k, float scale, cudnnHandle_t handle) {
  auto graph = std::make_shared<fe::graph::Graph>();
  graph->set_io_data_type(cudnn_type(k.dtype))
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  // Our token layout [B, S, heads, D] with a row stride, as cuDNN's [B, heads, S, D] dims + strides.
  auto tokens = [&](const char* name, int64_t uid, int64_t heads, int64_t row_stride) {
    return graph->tensor(fe::graph::Tensor_attributes()
                             .set_name(name)
                             .set_uid(uid)
                             .set_dim({k.batch, heads, k.seq_len, k.head_size})
                             .set_stride({k.seq_len * row_stride, k.head_size, row_stride, 1}));
  };
  auto q = tokens("q", kQ, k.heads, k.q_stride);
  auto key = tokens("k", kK, k.kv_heads, k.k_stride);
  auto v = tokens("v", kV, k.kv_heads, k.v_stride);
  auto options = fe::graph::SDPA_attributes()
                     .set_name("encoder_only_attention")
                     .set_generate_stats(false)  // inference: no softmax statistics for a backward pass
                     .set_attn_scale(scale);     // no causal mask: bidirectional
  if (k.padding) {
    auto lengths = [&](const char* name, int64_t uid) {
      return graph->tensor(fe::graph::Tensor_attributes()
                               .set_name(name)
                               .set_uid(uid)
                               .set_dim({k.batch, 1, 1, 1})
                               .set_stride({1, 1, 1, 1})
                               .set_data_type(fe::DataType_t::INT32));
    };
    options.set_padding_mask(true).set_seq_len_q(lengths("seq_len_q", kSeqLenQ)).set_seq_len_kv(lengths("seq_len_kv", kSeqLenKV));
  }
  auto [o, stats] = graph->sdpa(q, key, v, options);
  (void)stats;
  o->set_output(true)
      .set_uid(kO)
      .set_dim({k.batch, k.heads, k.seq_len, k.head_size})
      .set_stride({k.seq_len * k.o_stride, k.head_size, k.o_stride, 1});

  Plan plan;
  auto failed = [&](const char* step, fe::error_t e) {
    plan.unsupported = std::string(step) + ": " + e.get_message();
    return plan;
  };
  if (auto e = graph->validate(); !e.is_good()) return failed("validate", e);
  if (auto e = graph->build_operation_graph(handle); !e.is_good()) return failed("build_operation_graph", e);
  if (auto e = graph->create_execution_plans({fe::HeurMode_t::A}); !e.is_good()) return failed("execution plans", e);
  if (auto e = graph->check_support(handle); !e.is_good()) return failed("check_support", e);
  if (auto e = graph->build_plans(handle, fe::BuildPlanPolicy_t::HEURISTICS_CHOICE); !e.is_good())
    return failed("build_plans", e);
  if (auto e = graph->get_workspace_size(plan.workspace_bytes); !e.is_good()) return failed("workspace size", e);
  plan.graph = std::move(graph);
  return plan;
}

// Per thread: a cuDNN handle per device and the graphs built so far. Handles are deliberately never
// destroyed: a thread-exit destructor could run after the CUDA context is gone.
struct ThreadState {
  std::unordered_map<int, cudnnHandle_t> handles;
  std::unordered_map<GraphKey, Plan, GraphKeyHash> plans;
};
thread_local ThreadState tls;

Status cuda_error(cudaError_t e, const char* what) {
  return Status::Error(std::string("EncoderOnlyAttention: ") + what + " failed: " + cudaGetErrorName(e) + " (" +
                       cudaGetErrorString(e) + ")");
}

// The stream-ordered pool our scratch comes from, one per device, created on first use and kept for the
// process. Why not the device's default pool: its release threshold is 0, so it hands its memory back to the
// driver at every synchronisation and the next call maps it again, ~50 us of host time per call (measured on
// the H100 through ONNX Runtime, which synchronises after every run). Raising the default pool's threshold
// would change it for every library in the process; this pool changes nothing outside, and holds at most
// the largest scratch of concurrent calls (a few KB plus cuDNN's workspace).
Status scratch_pool(int device, cudaMemPool_t* pool) {
  static std::mutex mutex;
  static std::unordered_map<int, cudaMemPool_t> pools;
  std::lock_guard<std::mutex> lock(mutex);
  auto found = pools.find(device);
  if (found != pools.end()) {
    *pool = found->second;
    return Status::Ok();
  }
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.handleTypes = cudaMemHandleTypeNone;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = device;
  if (cudaError_t e = cudaMemPoolCreate(pool, &props); e != cudaSuccess) return cuda_error(e, "cudaMemPoolCreate");
  uint64_t keep_everything = UINT64_MAX;
  if (cudaError_t e = cudaMemPoolSetAttribute(*pool, cudaMemPoolAttrReleaseThreshold, &keep_everything);
      e != cudaSuccess) {
    cudaMemPoolDestroy(*pool);
    return cuda_error(e, "cudaMemPoolSetAttribute(release threshold)");
  }
  pools.emplace(device, *pool);
  return Status::Ok();
}

Status run_plan(const AttentionParams& p, const Plan& plan, int device, cudnnHandle_t handle, cudaStream_t stream) {
  const bool padding = p.seq_lens != nullptr;
  const size_t lengths_bytes = padding ? ((static_cast<size_t>(p.batch) * sizeof(int32_t) + 255) / 256) * 256 : 0;
  const size_t scratch_bytes = lengths_bytes + static_cast<size_t>(plan.workspace_bytes);
  void* scratch = nullptr;
  if (scratch_bytes > 0) {
    cudaMemPool_t pool = nullptr;
    if (Status s = scratch_pool(device, &pool); !s) return s;
    if (cudaError_t e = cudaMallocFromPoolAsync(&scratch, scratch_bytes, pool, stream); e != cudaSuccess)
      return cuda_error(e, "cuDNN scratch allocation (cudaMallocFromPoolAsync)");
  }
  auto* lengths = static_cast<int32_t*>(scratch);
  void* workspace = plan.workspace_bytes > 0 ? static_cast<unsigned char*>(scratch) + lengths_bytes : nullptr;

  Status status = Status::Ok();
  if (padding) {
    if (cudaError_t e = launch_clamp_lengths(p.seq_lens, lengths, p.batch, p.seq_len, stream); e != cudaSuccess)
      status = cuda_error(e, "length clamp kernel launch");
  }
  if (status) {
    std::unordered_map<int64_t, void*> pack = {
        {kQ, const_cast<void*>(p.q)}, {kK, const_cast<void*>(p.k)}, {kV, const_cast<void*>(p.v)}, {kO, p.out}};
    if (padding) pack[kSeqLenQ] = pack[kSeqLenKV] = lengths;
    if (auto e = plan.graph->execute(handle, pack, workspace); !e.is_good())
      status = Status::Error("EncoderOnlyAttention: cuDNN attention failed to run: " + e.get_message());
  }
  if (status && padding) {
    const size_t elem = element_size(p.dtype);
    // Two NaNs of the output dtype (cuDNN runs float16 and bfloat16 only) for sequences of out-of-range length.
    const uint32_t nan_pair = p.dtype == DType::kBFloat16 ? 0x7fc07fc0u : 0x7e007e00u;
    const cudaError_t e = launch_finish_padding_rows(p.out, p.o_row_stride * elem,
                                                     static_cast<int64_t>(p.num_heads) * p.head_size * elem, p.batch,
                                                     p.seq_len, p.seq_lens, nan_pair, stream);
    if (e != cudaSuccess) status = cuda_error(e, "padding-row kernel launch");
  }
  if (scratch != nullptr) {
    const cudaError_t e = cudaFreeAsync(scratch, stream);
    if (status && e != cudaSuccess) status = cuda_error(e, "cuDNN scratch release (cudaFreeAsync)");
  }
  return status;
}

}  // namespace

std::string unavailable(bool probe_machine) { return probe_machine ? library_problem() : std::string(); }

Status run(const AttentionParams& p, cudaStream_t stream, bool* unsupported) {
  *unsupported = false;
  try {
    int device = 0;
    if (cudaError_t e = cudaGetDevice(&device); e != cudaSuccess) return cuda_error(e, "cudaGetDevice");
    cudnnHandle_t& handle = tls.handles[device];
    if (handle == nullptr) {
      if (fe::detail::create_handle(&handle) != CUDNN_STATUS_SUCCESS) {
        handle = nullptr;
        return Status::Error("EncoderOnlyAttention: cudnnCreate failed on device " + std::to_string(device));
      }
    }
    if (fe::detail::set_stream(handle, stream) != CUDNN_STATUS_SUCCESS)
      return Status::Error("EncoderOnlyAttention: cudnnSetStream failed");

    GraphKey key;
    std::memset(&key, 0, sizeof key);  // padding bytes take part in hashing and comparison
    key.device = device;
    key.dtype = p.dtype;
    key.batch = p.batch;
    key.seq_len = p.seq_len;
    key.heads = p.num_heads;
    key.kv_heads = p.num_kv_heads;
    key.head_size = p.head_size;
    key.q_stride = p.q_row_stride;
    key.k_stride = p.k_row_stride;
    key.v_stride = p.v_row_stride;
    key.o_stride = p.o_row_stride;
    std::memcpy(&key.scale_bits, &p.scale, sizeof p.scale);
    key.padding = p.seq_lens != nullptr;

    auto found = tls.plans.find(key);
    if (found == tls.plans.end()) {
      if (tls.plans.size() >= kMaxCachedGraphs) tls.plans.clear();  // many distinct shapes: start over
      found = tls.plans.emplace(key, build_plan(key, p.scale, handle)).first;
    }
    const Plan& plan = found->second;
    if (!plan.graph) {
      *unsupported = true;
      return Status::Error("EncoderOnlyAttention: cuDNN does not support this shape (" + plan.unsupported +
                           "); use backend 'auto' (falls back to 'flash') or 'flash'");
    }
    return run_plan(p, plan, device, handle, stream);
  } catch (const std::exception& e) {
    return Status::Error(std::string("EncoderOnlyAttention: cuDNN error: ") + e.what());
  }
}

}  // namespace encexport::cudnn
