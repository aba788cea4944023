// encexport_trt_harness: loads libencexport_trt.so and drives it exactly as TensorRT does, with its own
// implementations of the objects TensorRT passes in (fake_tensorrt.h, expr_builder.h).
//
//   encexport_trt_harness cpu [--lib PATH] [--fuzz-cases N] [--seed S]   everything except enqueue (CI)
//       [--judge-flaw ignore-causal|require-scale]  a deliberately wrong fuzz judge: the run must fail
//   encexport_trt_harness gpu [--lib PATH] ...                           one enqueue on the GPU (gpu_run.cpp)
//
// --lib defaults to libencexport_trt.so next to this executable. Prints a summary; exit code 1 on any failure.
#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "encexport/contract.h"
#include "harness.h"

namespace {

std::string default_library_path() {
  char exe[PATH_MAX] = {};
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::string dir = n > 0 ? std::string(exe, static_cast<size_t>(n)) : std::string("./x");
  return dir.substr(0, dir.find_last_of('/')) + "/libencexport_trt.so";
}

// Pulls "--name value" out of args (so the rest can be handed on).
std::string take_flag(std::vector<char*>& args, const char* name, const std::string& fallback) {
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (std::strcmp(args[i], name) == 0) {
      std::string v = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
      return v;
    }
  return fallback;
}

int usage() {
  std::fprintf(stderr, "usage: encexport_trt_harness cpu|gpu [--lib PATH] [options]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string mode = argv[1];
  if (mode != "cpu" && mode != "gpu") return usage();
  std::vector<char*> args(argv + 2, argv + argc);
  const std::string lib = take_flag(args, "--lib", default_library_path());
  const int64_t fuzz_cases = std::stoll(take_flag(args, "--fuzz-cases", "10000"));
  const uint64_t seed = std::stoull(take_flag(args, "--seed", "20240611"));
  harness::JudgeFlaw flaw = harness::JudgeFlaw::kNone;
  if (const std::string name = take_flag(args, "--judge-flaw", "none"); !harness::parse_judge_flaw(name, &flaw)) {
    std::fprintf(stderr, "unknown --judge-flaw '%s': none, ignore-causal or require-scale\n", name.c_str());
    return 2;
  }

  harness::Tally tally;
  try {
    if (mode == "cpu") harness::run_registration(lib, tally);

    // What the process does from here on: TensorRT's loadLibrary path (as encexport build does).
    ::setenv("ENCEXPORT_TRT_AUTOREGISTER", "0", 1);
    harness::RecordingLogger& logger = harness::global_logger();
    logger.echo = std::getenv("HARNESS_ECHO_LOG") != nullptr;
    harness::LoggerFinder finder(&logger);
    harness::global_registry().set_library_logger(&finder);
    if (!tally.expect(harness::global_registry().loadLibrary(lib.c_str()) != nullptr, "load",
                      "loadLibrary(" + lib + "): " + harness::global_registry().last_error)) {
      tally.print_summary();
      return 1;
    }
    namespace contract = encexport::contract;
    auto* found = harness::global_registry().getCreator(contract::kOpType, contract::kPluginVersion,
                                                        contract::kPluginNamespace);
    if (!tally.expect(found != nullptr, "load", std::string("registry has ") + contract::kOpType + "/" +
                                                     contract::kPluginVersion)) {
      tally.print_summary();
      return 1;
    }
    harness::Context ctx;
    ctx.creator = static_cast<nvinfer1::IPluginCreatorV3One*>(found);
    ctx.logger = &logger;
    ctx.tally = &tally;

    if (mode == "cpu") {
      harness::run_lifecycle(ctx);
      harness::run_rejections(ctx);
      harness::run_fuzz(ctx, fuzz_cases, seed, flaw);
    } else {
      harness::run_gpu(ctx, static_cast<int>(args.size()), args.data());
    }
    tally.count("plugin error messages", logger.errors());
  } catch (const std::exception& e) {
    tally.expect(false, "harness", e.what());
  }
  tally.print_summary();
  return tally.failures() == 0 ? 0 : 1;
}
