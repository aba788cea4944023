// Drives both kernel families over a small grid for compute-sanitizer (memcheck, racecheck, initcheck,
// synccheck): ragged lengths that end mid-tile, both layouts, GQA, every dtype, several head sizes, and
// malformed lengths (non-monotonic / out-of-range cu_seqlens, seq_lens outside [0, S]) that the kernels
// must survive without touching memory outside the tensors. Also compares flash against reference on the
// well-formed cases, so a run without the sanitizer is a quick smoke test. Padded cases with an additive
// attn_bias in each broadcast form use a bias buffer of exactly [B|1, H|1, S, S], so a read past its block
// (a row or key beyond the lengths, a broadcast stride applied wrongly) leaves the allocation.
//
//   encexport_sanitize_driver            # exit status 0 when every launch succeeded and outputs agree
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "../launchers.h"
#include "encexport/capabilities.h"
#include "encexport/params.h"

using namespace encexport;

namespace {

std::vector<unsigned char> encode(const std::vector<float>& x, DType d) {
  std::vector<unsigned char> bytes(x.size() * element_size(d));
  for (size_t i = 0; i < x.size(); ++i) {
    if (d == DType::kFloat32) {
      std::memcpy(&bytes[i * 4], &x[i], 4);
    } else if (d == DType::kFloat16) {
      __half h = __float2half(x[i]);
      std::memcpy(&bytes[i * 2], &h, 2);
    } else {
      __nv_bfloat16 h = __float2bfloat16(x[i]);
      std::memcpy(&bytes[i * 2], &h, 2);
    }
  }
  return bytes;
}

float decode(const unsigned char* p, DType d) {
  if (d == DType::kFloat32) { float f; std::memcpy(&f, p, 4); return f; }
  if (d == DType::kFloat16) { __half h; std::memcpy(&h, p, 2); return __half2float(h); }
  __nv_bfloat16 h; std::memcpy(&h, p, 2); return __bfloat162float(h);
}

struct Case {
  DType dtype;
  Layout layout;
  int head_size, heads, kv_heads;
  std::vector<int32_t> lens;  // seq_lens (padded) or cu_seqlens (packed), used verbatim
  int seq_len;                // padded S
  int64_t tokens;             // rows
  bool well_formed;
  int bias_batch = 0, bias_heads = 0;  // attn_bias [bias_batch, bias_heads, S, S] (1 broadcasts); 0: no bias
};

std::vector<float> bias_values;  // filled per case in main()

int64_t bias_elems(const Case& c) {
  return c.bias_batch == 0 ? 0 : int64_t{c.bias_batch} * c.bias_heads * c.seq_len * c.seq_len;
}

int failures = 0;

// Runs one case with `backend`; returns the output bytes (empty on a launch error).
std::vector<unsigned char> run_case(const Case& c, Backend backend, const std::vector<unsigned char>& q,
                                    const std::vector<unsigned char>& k, const std::vector<unsigned char>& v) {
  AttentionParams p;
  p.dtype = c.dtype; p.layout = c.layout; p.backend = backend;
  p.batch = c.layout == Layout::kPadded ? static_cast<int>(c.lens.size()) : static_cast<int>(c.lens.size()) - 1;
  p.seq_len = c.layout == Layout::kPadded ? c.seq_len : 0;
  p.total_tokens = c.tokens;
  p.num_heads = c.heads; p.num_kv_heads = c.kv_heads; p.head_size = c.head_size;
  p.scale = 1.f / std::sqrt(static_cast<float>(c.head_size));
  set_dense_strides(p);
  void *dq, *dk, *dv, *dout;
  int32_t* dlens;
  const size_t out_bytes = q.size();
  cudaMalloc(&dq, q.size()); cudaMalloc(&dk, k.size()); cudaMalloc(&dv, v.size()); cudaMalloc(&dout, out_bytes);
  cudaMalloc(&dlens, c.lens.size() * 4);
  cudaMemcpy(dq, q.data(), q.size(), cudaMemcpyHostToDevice);
  cudaMemcpy(dk, k.data(), k.size(), cudaMemcpyHostToDevice);
  cudaMemcpy(dv, v.data(), v.size(), cudaMemcpyHostToDevice);
  cudaMemcpy(dlens, c.lens.data(), c.lens.size() * 4, cudaMemcpyHostToDevice);
  cudaMemset(dout, 0, out_bytes);  // rows that malformed lengths leave unwritten stay defined
  p.q = dq; p.k = dk; p.v = dv; p.out = dout;
  void* dbias = nullptr;
  if (bias_elems(c) > 0) {
    const std::vector<unsigned char> bias = encode(bias_values, c.dtype);
    cudaMalloc(&dbias, bias.size());
    cudaMemcpy(dbias, bias.data(), bias.size(), cudaMemcpyHostToDevice);
    const int64_t dims[4] = {c.bias_batch, c.bias_heads, c.seq_len, c.seq_len};
    p.bias = dbias;
    set_bias_strides(dims, &p);
  }
  (c.layout == Layout::kPacked ? p.cu_seqlens : p.seq_lens) = dlens;

  std::vector<unsigned char> out;
  Status s = run_attention_cuda(p, nullptr);
  const cudaError_t e = cudaDeviceSynchronize();
  if (!s || e != cudaSuccess) {
    std::printf("FAIL %s d=%d %s %s bias %dx%d: %s %s\n", to_string(c.dtype), c.head_size, to_string(c.layout),
                to_string(backend), c.bias_batch, c.bias_heads, s.message.c_str(), cudaGetErrorString(e));
    ++failures;
  } else {
    out.resize(out_bytes);
    cudaMemcpy(out.data(), dout, out_bytes, cudaMemcpyDeviceToHost);
  }
  cudaFree(dq); cudaFree(dk); cudaFree(dv); cudaFree(dout); cudaFree(dlens); cudaFree(dbias);
  return out;
}

// max |a - b| over n elements of dtype d.
float max_abs_diff(const std::vector<unsigned char>& a, const std::vector<unsigned char>& b, int64_t n, DType d) {
  float worst = 0.f;
  const size_t es = element_size(d);
  for (int64_t i = 0; i < n; ++i) worst = std::fmax(worst, std::fabs(decode(&a[i * es], d) - decode(&b[i * es], d)));
  return worst;
}

}  // namespace

int main() {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  std::vector<Case> cases;
  for (DType dt : {DType::kFloat16, DType::kBFloat16, DType::kFloat32}) {
    for (int d : {32, 64, 80, 128, 256}) {
      // Lengths 1, 70, 130 end mid-tile for both tile sizes (64 query rows; 64 or 32 keys).
      cases.push_back({dt, Layout::kPadded, d, 4, 2, {1, 70, 0, 130}, 130, 4 * 130, true});
      cases.push_back({dt, Layout::kPacked, d, 4, 2, {0, 1, 71, 71, 201}, 0, 201, true});
    }
    // 40 sequences: the warp-parallel tile search of the packed layout needs two rounds.
    std::vector<int32_t> cu40{0};
    for (int b = 0; b < 40; ++b) cu40.push_back(cu40.back() + (b * 37) % 150);
    cases.push_back({dt, Layout::kPacked, 64, 2, 1, cu40, 0, cu40.back(), true});
    // Malformed: non-monotonic, beyond T, negative; and seq_lens outside [0, S].
    cases.push_back({dt, Layout::kPacked, 64, 4, 1, {0, 150, 40, 500, -7}, 0, 201, false});
    cases.push_back({dt, Layout::kPacked, 128, 2, 2, {5, 9999, 3}, 0, 64, false});
    cases.push_back({dt, Layout::kPadded, 64, 2, 1, {-5, 999, 3}, 0 + 70, 3 * 70, false});
    // attn_bias in the four broadcast forms [B|1, H|1, S, S], lengths ending mid-tile, and with malformed seq_lens.
    for (int d : {32, 64, 128}) {
      for (int bb : {4, 1})
        for (int bh : {4, 1}) cases.push_back({dt, Layout::kPadded, d, 4, 2, {1, 70, 0, 130}, 130, 4 * 130, true, bb, bh});
    }
    cases.push_back({dt, Layout::kPadded, 64, 2, 1, {-5, 999, 3}, 70, 3 * 70, false, 3, 2});
  }
  int compared = 0;
  for (const Case& c : cases) {
    const int64_t q_elems = c.tokens * c.heads * c.head_size, kv_elems = c.tokens * c.kv_heads * c.head_size;
    std::vector<float> q(q_elems), k(kv_elems), v(kv_elems);
    for (float& x : q) x = uni(rng);
    for (float& x : k) x = uni(rng);
    for (float& x : v) x = uni(rng);
    const auto qb = encode(q, c.dtype), kb = encode(k, c.dtype), vb = encode(v, c.dtype);
    bias_values.assign(static_cast<size_t>(bias_elems(c)), 0.f);
    for (float& x : bias_values) x = 2.f * uni(rng);
    const auto ref = run_case(c, Backend::kReference, qb, kb, vb);
    if (c.dtype == DType::kFloat32) continue;
    for (int rows : {1, 2}) {  // both flash tilings: 64- and 128-row query tiles
      testing::force_flash_row_blocks(rows);
      const auto fl = run_case(c, Backend::kFlash, qb, kb, vb);
      testing::force_flash_row_blocks(0);
      if (!c.well_formed || ref.empty() || fl.empty()) continue;
      const float worst = max_abs_diff(ref, fl, q_elems, c.dtype);
      ++compared;
      if (!(worst <= 3e-2f)) {
        std::printf("MISMATCH %s d=%d %s m%d bias %dx%d: max |flash - reference| = %g\n", to_string(c.dtype),
                    c.head_size, to_string(c.layout), 64 * rows, c.bias_batch, c.bias_heads, worst);
        ++failures;
      }
    }
    // The hopper family (TMA + wgmma) where this build and device have it: no bias, its head sizes.
    AttentionParams probe;
    if (c.bias_batch == 0 &&
        capability_probe(static_cast<int>(c.dtype), static_cast<int>(c.layout), c.heads, c.kv_heads, c.head_size,
                         c.seq_len, false, &probe) &&
        supports(Backend::kHopper, probe, kCurrentDevice)) {
      const auto hp = run_case(c, Backend::kHopper, qb, kb, vb);
      if (!c.well_formed || ref.empty() || hp.empty()) continue;
      const float worst = max_abs_diff(ref, hp, q_elems, c.dtype);
      ++compared;
      if (!(worst <= 3e-2f)) {
        std::printf("MISMATCH %s d=%d %s hopper: max |hopper - reference| = %g\n", to_string(c.dtype), c.head_size,
                    to_string(c.layout), worst);
        ++failures;
      }
    }
  }
  std::printf("sanitize_driver: %zu cases, %d flash|hopper/reference comparisons, %d failures\n", cases.size(), compared,
              failures);
  return failures == 0 ? 0 : 1;
}
