// GPU mode: the full build -> serialize -> deserialize -> attach -> onShapeChange -> enqueue sequence on
// real device memory, inputs read from .npy files, the output written to one, so a Python test can compare
// it with torch's attention.
//
//   encexport_trt_harness gpu --layout padded|packed --num-heads H [--num-kv-heads Hkv] --head-size D
//       [--scale S] [--backend auto|reference|flash] --dtype fp16|bf16|fp32
//       --q q.npy --k k.npy --v v.npy [--lengths seq_lens_or_cu_seqlens.npy [--bias attn_bias.npy]] --out out.npy
//       [--host-timing N]
//
// --host-timing N: after the checked call, N more enqueues in bursts of 20 that do not wait for the GPU; prints
// "enqueue host us: <median over bursts>", the CPU time one enqueue costs TensorRT's calling thread (the
// benchmark's host-cost method, encexport/bench/timing.py).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>
#include <vector>

#include "harness.h"
#include "npy.h"

namespace harness {
namespace {

using nvinfer1::DataType;
using nvinfer1::TensorRTPhase;

std::map<std::string, std::string> parse_flags(int argc, char** argv) {
  std::map<std::string, std::string> f;
  for (int i = 0; i + 1 < argc; i += 2) {
    if (std::strncmp(argv[i], "--", 2) != 0) throw std::runtime_error(std::string("unexpected argument ") + argv[i]);
    f[argv[i] + 2] = argv[i + 1];
  }
  return f;
}

void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

struct DeviceBuffer {
  void* ptr = nullptr;
  explicit DeviceBuffer(size_t bytes) { cuda_check(cudaMalloc(&ptr, bytes ? bytes : 1), "cudaMalloc"); }
  ~DeviceBuffer() { cudaFree(ptr); }
};

nvinfer1::Dims dims_of(const NpyArray& a) {
  nvinfer1::Dims d{};
  d.nbDims = static_cast<int32_t>(a.shape.size());
  for (size_t i = 0; i < a.shape.size(); ++i) d.d[i] = a.shape[i];
  return d;
}

// Median over bursts of the CPU time per enqueue (the output is rewritten with the same values).
template <typename Enqueue>
void print_enqueue_host_cost(int calls, Enqueue&& enqueue, cudaStream_t stream) {
  constexpr int kBurst = 20;
  std::vector<double> us;
  for (int i = 0; i + kBurst <= calls; i += kBurst) {
    cuda_check(cudaStreamSynchronize(stream), "kernel");
    const auto t0 = std::chrono::steady_clock::now();
    for (int j = 0; j < kBurst; ++j)
      if (enqueue() != 0) throw std::runtime_error("enqueue failed during host timing");
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / kBurst);
  }
  cuda_check(cudaStreamSynchronize(stream), "kernel");
  if (us.empty()) return;
  std::nth_element(us.begin(), us.begin() + us.size() / 2, us.end());
  std::printf("enqueue host us: %.2f\n", us[us.size() / 2]);
}

}  // namespace

int run_gpu(Context& ctx, int argc, char** argv) {
  Tally& t = *ctx.tally;
  const char* sec = "gpu";
  auto flags = parse_flags(argc, argv);
  auto need = [&](const char* k) {
    if (!flags.count(k)) throw std::runtime_error(std::string("missing --") + k);
    return flags[k];
  };
  NodeConfig c;
  c.name = "gpu_node";
  c.layout = flags.count("layout") ? flags["layout"] : "padded";
  c.backend = flags.count("backend") ? flags["backend"] : "auto";
  c.num_heads = std::stoi(need("num-heads"));
  c.num_kv_heads = flags.count("num-kv-heads") ? std::stoi(flags["num-kv-heads"]) : c.num_heads;
  c.head_size = std::stoi(need("head-size"));
  if (flags.count("scale")) c.scale = std::stof(flags["scale"]);
  c.with_lengths = flags.count("lengths") > 0;
  c.with_bias = flags.count("bias") > 0;  // [B|1, H|1, S, S] of q's dtype; TensorRT takes it after seq_lens
  if (c.with_bias && !c.with_lengths) throw std::runtime_error("--bias needs --lengths (input 4 follows input 3)");
  const std::string dtype = need("dtype");
  const DataType type = dtype == "fp16" ? DataType::kHALF : dtype == "bf16" ? DataType::kBF16 : DataType::kFLOAT;

  std::vector<NpyArray> in = {read_npy(need("q")), read_npy(need("k")), read_npy(need("v"))};
  if (c.with_lengths) in.push_back(read_npy(flags["lengths"]));
  if (c.with_bias) in.push_back(read_npy(flags["bias"]));
  const int32_t nb_in = static_cast<int32_t>(in.size());

  // Build phase, with a profile pinned to the actual shapes.
  FieldSet fields = as_parser_sends(node_attributes(c), ctx.creator->getFieldNames());
  PluginPtr built = create(ctx, c.name.c_str(), fields, TensorRTPhase::kBUILD);
  if (!t.expect(built != nullptr, sec, "createPlugin(kBUILD): " + ctx.logger->last_error())) return 1;
  std::vector<nvinfer1::DynamicPluginTensorDesc> dyn(nb_in + 1);
  std::vector<nvinfer1::PluginTensorDesc> desc(nb_in + 1);
  for (int32_t i = 0; i <= nb_in; ++i) {
    const NpyArray& a = in[i == nb_in ? 0 : i];
    desc[i].dims = dims_of(a);
    desc[i].type = (i == 3) ? DataType::kINT32 : type;
    desc[i].format = nvinfer1::TensorFormat::kLINEAR;
    desc[i].scale = -1.f;
    dyn[i] = {desc[i], desc[i].dims, desc[i].dims, desc[i].dims};
  }
  Capabilities bc = capabilities_of(built.get());
  if (!t.expect(bc.build->configurePlugin(dyn.data(), nb_in, dyn.data() + nb_in, 1) == 0, sec,
                "configurePlugin: " + ctx.logger->last_error()))
    return 1;
  FieldSet saved = FieldSet::copy_of(bc.runtime->getFieldsToSerialize());
  built.reset();

  // Runtime phase.
  PluginPtr engine_plugin = create(ctx, c.name.c_str(), saved, TensorRTPhase::kRUNTIME);
  if (!t.expect(engine_plugin != nullptr, sec, "createPlugin(kRUNTIME)")) return 1;
  ResourceContext resources;
  PluginPtr plugin(capabilities_of(engine_plugin.get()).runtime->attachToContext(&resources));
  auto* runtime = capabilities_of(plugin.get()).runtime;
  if (!t.expect(runtime->onShapeChange(desc.data(), nb_in, desc.data() + nb_in, 1) == 0, sec,
                "onShapeChange: " + ctx.logger->last_error()))
    return 1;

  std::vector<std::unique_ptr<DeviceBuffer>> buffers;
  std::vector<const void*> inputs;
  for (const NpyArray& a : in) {
    buffers.push_back(std::make_unique<DeviceBuffer>(a.data.size()));
    cuda_check(cudaMemcpy(buffers.back()->ptr, a.data.data(), a.data.size(), cudaMemcpyHostToDevice), "copy in");
    inputs.push_back(buffers.back()->ptr);
  }
  NpyArray out = in[0];
  DeviceBuffer out_buf(out.data.size());
  cuda_check(cudaMemset(out_buf.ptr, 0xff, out.data.size()), "memset");  // NaN-fill: unwritten rows show up
  void* outputs[] = {out_buf.ptr};
  cudaStream_t stream = nullptr;
  cuda_check(cudaStreamCreate(&stream), "cudaStreamCreate");
  auto enqueue = [&] { return runtime->enqueue(desc.data(), desc.data() + nb_in, inputs.data(), outputs, nullptr, stream); };
  const int32_t rc = enqueue();
  cuda_check(cudaStreamSynchronize(stream), "kernel");
  if (!t.expect(rc == 0, sec, "enqueue returned " + std::to_string(rc) + ": " + ctx.logger->last_error())) {
    cudaStreamDestroy(stream);
    return 1;
  }
  if (flags.count("host-timing")) print_enqueue_host_cost(std::stoi(flags["host-timing"]), enqueue, stream);
  cudaStreamDestroy(stream);
  cuda_check(cudaMemcpy(out.data.data(), out_buf.ptr, out.data.size(), cudaMemcpyDeviceToHost), "copy out");
  write_npy(need("out"), out);
  t.count("gpu enqueues");
  return 0;
}

}  // namespace harness
