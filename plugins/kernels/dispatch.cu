// run_attention_cuda: validate, choose a kernel family from one ordered table, launch on the caller's stream.
//
// kFamilies lists the families in `auto`'s order of preference. Each says why it cannot run given
// parameters (outside its dtypes/head sizes/layouts/alignment, or unavailable in this build or on this
// device) and, where `auto` passes over it although it could run, why. `auto` takes the first family
// that neither refuses nor is passed over; a forced family that refuses fails with its reason and the fix.
// The same table answers the capability query (encexport/capabilities.h), and its reasons are what
// ENCEXPORT_LOG_DISPATCH prints, so what users are told is what the dispatcher does.
//
// The flash entries are table-driven too: instantiations/flash_instances.inc (written by generate.py) lists
// every compiled (dtype, head size, tiling) of the tensor-core kernel, so adding a head size is one line in
// the generator and nothing here. No host synchronisation: the only host-side CUDA calls are attribute
// queries (cached per device) and the launches. The flash and reference families allocate nothing; cuDNN
// takes its small scratch from the stream-ordered allocator (cudnn/cudnn_attention.cc).
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "cudnn/cudnn_attention.h"
#include "encexport/capabilities.h"
#include "encexport/contract.h"
#include "encexport/params.h"
#include "launchers.h"
#include "token_tensors.h"

namespace encexport {
namespace {

// ---- device facts ----

// What eligibility may know about the device: nothing (build facts only, the capability query without a
// device), or its compute capability (0 when the query failed, which no family's minimum accepts).
struct DeviceFacts {
  bool known = false;
  int major = 0;
};

// Compute capability major of the current device, cached: the attribute query is cheap but not free,
// and this runs on every call.
int current_device_major() {
  static std::atomic<int> cache[64];  // 0 = unknown
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess) return 0;
  if (dev < 0 || dev >= 64) {
    int major = 0;
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
    return major;
  }
  int major = cache[dev].load(std::memory_order_relaxed);
  if (major == 0) {
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
    cache[dev].store(major, std::memory_order_relaxed);
  }
  return major;
}

// The facts for a query's `device` argument (encexport/capabilities.h).
Status device_facts(int device, DeviceFacts* facts) {
  if (device == kAnyDevice) {
    *facts = {};
    return Status::Ok();
  }
  if (device == kCurrentDevice) {
    *facts = {true, current_device_major()};
    return Status::Ok();
  }
  int major = 0;
  const cudaError_t e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
  if (e != cudaSuccess)
    return Status::Error("EncoderOnlyAttention: CUDA device " + std::to_string(device) + " cannot be queried: " +
                         cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + "); pass device -1 for build facts only");
  *facts = {true, major};
  return Status::Ok();
}

Status cuda_status(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::Ok();
  return Status::Error(std::string("EncoderOnlyAttention: ") + what + " kernel launch failed: " +
                       cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

// ---- flash ----

using FlashLauncher = cudaError_t (*)(const AttentionParams&, cudaStream_t);

struct FlashInstance {
  DType dtype;
  int head_size;
  int row_blocks;  // m16 row blocks per warp: 2 = 128-row tiles, 1 = 64-row tiles
  FlashLauncher launch;
};

constexpr FlashInstance kFlashInstances[] = {
#define ENCEXPORT_FLASH_INSTANCE(Element, dtype_enum, head_dim, rows) \
  {dtype_enum, head_dim, rows, &kernels::launch_flash<Element, head_dim, rows>},
#include "instantiations/flash_instances.inc"
#undef ENCEXPORT_FLASH_INSTANCE
};

// Sequences at most this long on average (S when padded: the lengths are on the device) run the 64-row
// tiling: a 128-row tile would leave many of its rows (and its registers, hence resident CTAs) idle.
// Longer ones keep 128 rows for the halved shared-memory traffic per MMA (1.15-1.25x faster from S = 512).
// The benchmark times both tilings per shape against this rule.
constexpr int64_t kShortTileMaxMeanLength = 256;

std::atomic<int> g_forced_row_blocks{0};  // testing::force_flash_row_blocks; 0 = the rule above

int64_t mean_sequence_length(const AttentionParams& p) {
  if (p.layout == Layout::kPadded) return p.seq_len;
  return p.batch > 0 ? p.total_tokens / p.batch : 0;
}

// The compiled instance for (dtype, head size, tiling), or nullptr. The long tiling
// (kernels::long_row_blocks) exists for every compiled head size.
const FlashInstance* find_flash_instance(DType dtype, int head_size, int row_blocks) {
  for (const FlashInstance& f : kFlashInstances)
    if (f.dtype == dtype && f.head_size == head_size && f.row_blocks == row_blocks) return &f;
  return nullptr;
}

const FlashInstance* find_long_flash_instance(DType dtype, int head_size) {
  return find_flash_instance(dtype, head_size, kernels::long_row_blocks(head_size));
}

// The short tiling by the rule above (or as forced), where compiled; else the long one.
const FlashInstance* choose_flash_instance(const AttentionParams& p) {
  int rows = g_forced_row_blocks.load(std::memory_order_relaxed);
  if (rows == 0) rows = mean_sequence_length(p) <= kShortTileMaxMeanLength ? 1 : kernels::long_row_blocks(p.head_size);
  const FlashInstance* f = find_flash_instance(p.dtype, p.head_size, rows);
  return f != nullptr ? f : find_long_flash_instance(p.dtype, p.head_size);
}

std::string flash_head_sizes(DType dtype) {
  std::string s;
  for (const FlashInstance& f : kFlashInstances) {
    if (f.dtype != dtype || f.row_blocks != kernels::long_row_blocks(f.head_size)) continue;
    if (!s.empty()) s += ", ";
    s += std::to_string(f.head_size);
  }
  return s;
}

std::string flash_outside(const AttentionParams& p) {
  if (p.dtype != DType::kFloat16 && p.dtype != DType::kBFloat16)
    return std::string("dtype ") + to_string(p.dtype) + " (flash runs float16 and bfloat16)";
  if (find_long_flash_instance(p.dtype, p.head_size) == nullptr)
    return "head_size " + std::to_string(p.head_size) + " (flash head sizes: " + flash_head_sizes(p.dtype) + ")";
  return kernels::unaligned_rows(p);  // cp.async moves 16-byte chunks
}

std::string flash_unavailable(const DeviceFacts& device) {
  if (device.known && device.major < 8)
    return "a GPU of compute capability " + std::to_string(device.major) + ".x (flash needs sm_80 or newer)";
  return {};
}

Status flash_launch(const AttentionParams& p, cudaStream_t stream, bool*) {
  return cuda_status(choose_flash_instance(p)->launch(p, stream), "flash");
}

std::string flash_detail(const AttentionParams& p) {
  return std::to_string(64 * choose_flash_instance(p)->row_blocks) + "-row tiles";
}

// ---- cudnn ----

// Where `auto` prefers cuDNN over flash, given that both can run p. cuDNN's Hopper engines (wgmma + TMA)
// reach about twice flash's tensor-core rate once there is enough work per (sequence, head); with the
// padding mask that real batches need, its per-call costs make it 3x slower than flash at S = 128 and
// faster from S = 257 (ViT-L) on the H100 (docs/performance.md; the benchmark checks this rule against
// every family forced). Heavily padded batches are the exception the host cannot see (the lengths live
// on the device): they belong in the packed layout.
constexpr int kCudnnMinSeqLen = 257;
constexpr int kCudnnMinMajor = 9;

std::string cudnn_outside(const AttentionParams& p) {
  if (p.dtype != DType::kFloat16 && p.dtype != DType::kBFloat16)
    return std::string("dtype ") + to_string(p.dtype) + " (cudnn runs float16 and bfloat16)";
  if (p.layout != Layout::kPadded) return "the packed layout (cudnn takes the padded layout)";
  if (p.bias != nullptr) return "an attn_bias input (cudnn runs without a bias; flash and reference add it)";
  if (p.head_size % 8 != 0 || p.head_size > 256)
    return "head_size " + std::to_string(p.head_size) + " (cudnn: a multiple of 8, at most 256)";
  return kernels::unaligned_rows(p);
}

std::string cudnn_unavailable(const DeviceFacts& device) { return cudnn::unavailable(device.known); }

std::string cudnn_auto_declines(const AttentionParams& p, const DeviceFacts& device) {
  // No S in the reasons: ENCEXPORT_LOG_DISPATCH prints each distinct decision once, not each length.
  if (p.layout != Layout::kPadded) return "packed layout (auto prefers cudnn for padded batches only)";
  if (p.seq_len < kCudnnMinSeqLen)
    return "S < " + std::to_string(kCudnnMinSeqLen) + " (flash is faster there; auto prefers cudnn from S = " +
           std::to_string(kCudnnMinSeqLen) + " on sm_90+)";
  if (device.known && device.major < kCudnnMinMajor)
    return "sm_" + std::to_string(device.major) + "x (auto prefers cudnn on sm_90+ only)";
  return {};
}

Status cudnn_launch(const AttentionParams& p, cudaStream_t stream, bool* unsupported) {
  return cudnn::run(p, stream, unsupported);
}

// ---- hopper ----

using HopperLauncher = cudaError_t (*)(const AttentionParams&, cudaStream_t);

struct HopperInstance {
  DType dtype;
  int head_size;
  HopperLauncher launch;
};

#ifdef ENCEXPORT_WITH_HOPPER
constexpr HopperInstance kHopperInstances[] = {
#define ENCEXPORT_HOPPER_INSTANCE(Element, dtype_enum, head_dim) \
  {dtype_enum, head_dim, &kernels::launch_hopper<Element, head_dim>},
#include "instantiations/hopper_instances.inc"
#undef ENCEXPORT_HOPPER_INSTANCE
};
#else
constexpr HopperInstance* kHopperInstances = nullptr;  // no sm_90 target or no CuTe headers in this build
#endif

const HopperInstance* find_hopper_instance(DType dtype, int head_size) {
#ifdef ENCEXPORT_WITH_HOPPER
  for (const HopperInstance& h : kHopperInstances)
    if (h.dtype == dtype && h.head_size == head_size) return &h;
#endif
  (void)dtype, (void)head_size;
  return nullptr;
}

std::string hopper_head_sizes(DType dtype) {
  std::string s;
#ifdef ENCEXPORT_WITH_HOPPER
  for (const HopperInstance& h : kHopperInstances) {
    if (h.dtype != dtype) continue;
    if (!s.empty()) s += ", ";
    s += std::to_string(h.head_size);
  }
#endif
  (void)dtype;
  return s.empty() ? "none in this build" : s;
}

std::string hopper_outside(const AttentionParams& p) {
  if (p.dtype != DType::kFloat16 && p.dtype != DType::kBFloat16)
    return std::string("dtype ") + to_string(p.dtype) + " (hopper runs float16 and bfloat16)";
  if (p.bias != nullptr) return "an attn_bias input (hopper runs without a bias; flash and reference add it)";
#ifdef ENCEXPORT_WITH_HOPPER
  if (find_hopper_instance(p.dtype, p.head_size) == nullptr)
    return "head_size " + std::to_string(p.head_size) + " (hopper head sizes: " + hopper_head_sizes(p.dtype) + ")";
#endif
  if (p.total_tokens > INT32_MAX) return "more than 2^31 - 1 token rows (TMA coordinates are 32-bit)";
  return kernels::unaligned_rows(p);  // TMA: 16-byte aligned rows
}

std::string hopper_unavailable(const DeviceFacts& device) {
#ifndef ENCEXPORT_WITH_HOPPER
  (void)device;
  return "this build (compiled without the sm_90 target or without the CuTe headers; build with "
         "ENCEXPORT_CUDA_ARCHS including 90 after scripts/fetch_headers.sh)";
#else
  if (device.known && device.major != 9)
    return "a GPU of compute capability " + std::to_string(device.major) + ".x (hopper's wgmma code is sm_90a: H100/H200)";
  return {};
#endif
}

// Where `auto` passes over hopper although it could run p (the benchmark checks these against every family forced,
// docs/performance.md): packed batches of short sequences, where flash's 64-row tiles and its many resident CTAs hide
// the per-tile latency better than hopper's persistent CTAs, which resolve each work item's sequence serially.
// Padded batches from S = 257 go to cuDNN first (its rule above); below it hopper beats flash on the H100.
std::string hopper_auto_declines(const AttentionParams& p, const DeviceFacts&) {
  if (p.layout == Layout::kPacked && mean_sequence_length(p) <= kShortTileMaxMeanLength)
    return "packed, mean length <= " + std::to_string(kShortTileMaxMeanLength) +
           " (flash is faster there; auto prefers hopper for longer packed sequences)";
  return {};
}

Status hopper_launch(const AttentionParams& p, cudaStream_t stream, bool*) {
  return cuda_status(find_hopper_instance(p.dtype, p.head_size)->launch(p, stream), "hopper");
}

// ---- reference ----

std::string reference_outside(const AttentionParams&) { return {}; }  // validate() already holds its limits

Status reference_launch(const AttentionParams& p, cudaStream_t stream, bool*) {
  return cuda_status(kernels::launch_reference(p, stream), "reference");
}

// ---- the table ----

struct Family {
  Backend backend;
  // Why the family cannot take p (empty: it can): dtype, head size, layout, alignment.
  std::string (*outside)(const AttentionParams& p);
  // Why the family is missing from this build or device (empty: present); nullptr: always present.
  std::string (*unavailable)(const DeviceFacts& device);
  // Why `auto` passes over the family although it could run p (empty: auto takes it); nullptr: never.
  std::string (*auto_declines)(const AttentionParams& p, const DeviceFacts& device);
  // Runs p. *unsupported is set when the family finds only now that it cannot run p (cuDNN's own graph
  // support check), so that `auto` moves on to the next family.
  Status (*launch)(const AttentionParams& p, cudaStream_t stream, bool* unsupported);
  // How the family runs p, for the dispatch log (e.g. the flash tiling); nullptr: nothing to add.
  std::string (*detail)(const AttentionParams& p);
};

// In `auto`'s order of preference. The last family runs every valid p, so `auto` always finds one.
constexpr Family kFamilies[] = {
    {Backend::kCudnn, cudnn_outside, cudnn_unavailable, cudnn_auto_declines, cudnn_launch, nullptr},
    {Backend::kHopper, hopper_outside, hopper_unavailable, hopper_auto_declines, hopper_launch, nullptr},
    {Backend::kFlash, flash_outside, flash_unavailable, nullptr, flash_launch, flash_detail},
    {Backend::kReference, reference_outside, nullptr, nullptr, reference_launch, nullptr},
};
constexpr size_t kFamilyCount = std::size(kFamilies);

size_t family_index(Backend b) {
  for (size_t i = 0; i < kFamilyCount; ++i)
    if (kFamilies[i].backend == b) return i;
  return kFamilyCount;
}

Capability eligibility(const Family& f, const AttentionParams& p, const DeviceFacts& device) {
  if (std::string why = f.outside(p); !why.empty()) return {Support::kOutside, std::move(why)};
  if (f.unavailable != nullptr) {
    if (std::string why = f.unavailable(device); !why.empty()) return {Support::kUnavailable, std::move(why)};
  }
  return {};
}

// The error of a forced family that cannot run p: its reason, and `auto` as the fix (naming the family after it in
// the table that takes p's dtype, head size, layout and bias, which `auto` falls back to where the device has it).
std::string forced_refusal(size_t i, const Capability& c, const AttentionParams& p) {
  const char* name = to_string(kFamilies[i].backend);
  const char* next = "reference";
  for (size_t j = i + 1; j < kFamilyCount; ++j) {
    if (kFamilies[j].outside(p).empty()) {
      next = to_string(kFamilies[j].backend);
      break;
    }
  }
  return std::string("EncoderOnlyAttention: backend '") + name +
         (c.support == Support::kUnavailable ? "' is unavailable: " : "' does not support ") + c.reason +
         "; use backend 'auto' (falls back to '" + next + "') or '" + next + "'";
}

// One dispatch decision: the family that runs, and why each family before it did not.
struct Decision {
  size_t family = kFamilyCount;
  std::string passed_over;  // "cudnn: <why>" per family auto did not take, "; "-separated
};

// `auto`: the first family from `first` on that neither refuses p nor is passed over.
Decision decide_auto(const AttentionParams& p, const DeviceFacts& device, size_t first, std::string passed_over) {
  Decision d;
  d.passed_over = std::move(passed_over);
  for (size_t i = first; i < kFamilyCount; ++i) {
    const Family& f = kFamilies[i];
    // The preference first: it needs no library, so a family auto would not take is never probed.
    std::string why = f.auto_declines ? f.auto_declines(p, device) : std::string();
    if (why.empty()) why = eligibility(f, p, device).reason;
    if (why.empty()) {
      d.family = i;
      return d;
    }
    d.passed_over += std::string(d.passed_over.empty() ? "" : "; ") + to_string(f.backend) + ": " + why;
  }
  return d;  // unreachable for a valid p: the last family takes everything
}

// The decision for p: the forced family if it can run p (else the error), or auto's choice.
Status decide(const AttentionParams& p, const DeviceFacts& device, Decision* d) {
  if (p.backend == Backend::kAuto) {
    *d = decide_auto(p, device, 0, {});
    return Status::Ok();
  }
  const size_t i = family_index(p.backend);
  if (i == kFamilyCount) return Status::Error(std::string("EncoderOnlyAttention: unknown backend ") + to_string(p.backend));
  if (Capability c = eligibility(kFamilies[i], p, device); !c) return Status::Error(forced_refusal(i, c, p));
  d->family = i;
  return Status::Ok();
}

// "flash, 64-row tiles": the family and how it runs p.
std::string family_text(const AttentionParams& p, const Decision& d) {
  const Family& f = kFamilies[d.family];
  std::string s = to_string(f.backend);
  if (f.detail != nullptr) s += ", " + f.detail(p);
  return s;
}

// " -- cudnn: S < 257 (...)": why each family before the chosen one did not run p ("" when none).
std::string reasons_text(const Decision& d) { return d.passed_over.empty() ? "" : " -- " + d.passed_over; }

// ---- ENCEXPORT_LOG_DISPATCH ----

bool dispatch_log_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("ENCEXPORT_LOG_DISPATCH");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return enabled;
}

// Prints each distinct decision once: keyed on what determines it (the request, the node's shape class,
// the device, the outcome and its reasons), not on B or S, so that a server logs a line per model, not
// per call. The line shows the first call's B and S as an example.
void log_decision(const AttentionParams& p, const Decision& d, const DeviceFacts& device) {
  const std::string family = family_text(p, d), reasons = reasons_text(d);
  std::string shape = "H=" + std::to_string(p.num_heads) + " Hkv=" + std::to_string(p.num_kv_heads) +
                      " D=" + std::to_string(p.head_size) + " " + to_string(p.dtype) + " " + to_string(p.layout);
  const std::string key = std::string(to_string(p.backend)) + "|" + shape + "|" + std::to_string(device.major) + "|" +
                          family + reasons;
  static std::mutex mutex;
  static std::unordered_set<std::string> seen;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!seen.insert(key).second) return;
  }
  const std::string lengths = p.layout == Layout::kPadded ? "S=" + std::to_string(p.seq_len)
                                                          : "T=" + std::to_string(p.total_tokens);
  std::fprintf(stderr, "encexport dispatch: %s (backend %s; B=%d %s %s)%s\n", family.c_str(), to_string(p.backend),
               p.batch, lengths.c_str(), shape.c_str(), reasons.c_str());
}

// ---- ENCEXPORT_CHECKED_LENGTHS ----

bool checked_lengths_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv(contract::kCheckedLengthsEnv);
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return enabled;
}

// The checked mode: the device lengths are copied to the host (B or B+1 int32s, then a stream sync: a debugging
// mode) and checked by validate_lengths_host, the CPU op's rule, so a bad length fails the call with the CPU op's
// message. Without it the kernels write NaN rows for bad lengths (sequence_span.cuh) and nothing synchronises.
Status check_device_lengths(const AttentionParams& p, cudaStream_t stream) {
  const int32_t* device_lengths = p.layout == Layout::kPadded ? p.seq_lens : p.cu_seqlens;
  if (device_lengths == nullptr || p.batch <= 0) return Status::Ok();
  std::vector<int32_t> host(static_cast<size_t>(p.batch) + (p.layout == Layout::kPacked ? 1 : 0));
  cudaError_t e = cudaMemcpyAsync(host.data(), device_lengths, host.size() * sizeof(int32_t), cudaMemcpyDeviceToHost,
                                  stream);
  if (e == cudaSuccess) e = cudaStreamSynchronize(stream);
  if (e != cudaSuccess)
    return Status::Error(std::string("EncoderOnlyAttention: ") + contract::kCheckedLengthsEnv +
                         "=1 could not read the lengths back: " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) +
                         "); a capturing stream cannot synchronise: unset it while capturing CUDA graphs");
  AttentionParams on_host = p;
  (p.layout == Layout::kPadded ? on_host.seq_lens : on_host.cu_seqlens) = host.data();
  Status s = validate_lengths_host(on_host);
  if (!s)
    s.message += std::string(" (found by ") + contract::kCheckedLengthsEnv +
                 "=1: pass lengths in range; unchecked, the CUDA op writes NaN rows for them)";
  return s;
}

}  // namespace

namespace testing {
void force_flash_row_blocks(int row_blocks) { g_forced_row_blocks.store(row_blocks, std::memory_order_relaxed); }
}  // namespace testing

Capability supports(Backend backend, const AttentionParams& p, int device) {
  if (Status s = validate(p); !s) return {Support::kInvalid, s.message};
  DeviceFacts facts;
  if (Status s = device_facts(device, &facts); !s) return {Support::kUnavailable, s.message};
  if (backend == Backend::kAuto) return {};
  const size_t i = family_index(backend);
  if (i == kFamilyCount) return {Support::kInvalid, std::string("EncoderOnlyAttention: unknown backend ") + to_string(backend)};
  Capability c = eligibility(kFamilies[i], p, facts);
  if (!c) c.reason = forced_refusal(i, c, p);
  return c;
}

Status auto_choice(const AttentionParams& p, int device, Backend* family, std::string* why) {
  if (Status s = validate(p); !s) return s;
  DeviceFacts facts;
  if (Status s = device_facts(device, &facts); !s) return s;
  const Decision d = decide_auto(p, facts, 0, {});
  *family = kFamilies[d.family].backend;
  if (why != nullptr) *why = family_text(p, d) + reasons_text(d);
  return Status::Ok();
}

Backend resolve_backend_cuda(const AttentionParams& p) {
  if (p.backend != Backend::kAuto) return p.backend;
  return kFamilies[decide_auto(p, {true, current_device_major()}, 0, {}).family].backend;
}

Status run_attention_cuda(const AttentionParams& p, void* stream_ptr, Backend* used) {
  Status s = validate(p);
  if (!s) return s;
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  const bool empty = p.batch == 0 || p.total_tokens == 0 || (p.layout == Layout::kPadded && p.seq_len == 0);
  const DeviceFacts device{true, current_device_major()};

  if (checked_lengths_enabled()) {
    if (s = check_device_lengths(p, stream); !s) return s;
  }

  Decision d;
  if (s = decide(p, device, &d); !s) return s;
  for (;;) {
    if (used) *used = kFamilies[d.family].backend;
    bool unsupported = false;
    if (!empty) s = kFamilies[d.family].launch(p, stream, &unsupported);
    // `auto` moves on when a family finds only at run time that it cannot take p (cuDNN's graph check,
    // cached, so this costs a lookup per call after the first).
    if (s || !unsupported || p.backend != Backend::kAuto) break;
    d = decide_auto(p, device, d.family + 1,
                    d.passed_over + (d.passed_over.empty() ? "" : "; ") + to_string(kFamilies[d.family].backend) +
                        ": " + s.message);
  }
  if (s && dispatch_log_enabled()) log_decision(p, d, device);
  return s;
}

}  // namespace encexport
