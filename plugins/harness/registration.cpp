// How the library gets into TensorRT's plugin registry. Each scenario runs in a forked child, because a
// library's load-time code runs only on the first dlopen of a process:
//   loadLibrary      ENCEXPORT_TRT_AUTOREGISTER=0, IPluginRegistry::loadLibrary: registered once via getCreators
//   self-register    plain dlopen (Polygraphy --plugins): registered once at load time
//   then-loadLibrary plain dlopen, then loadLibrary of the same file: refused as a duplicate (TensorRT's rule);
//                    the creator stays registered exactly once
//   major-mismatch   plain dlopen while "TensorRT" reports another major version: not registered, warning
//   pre-registered   plain dlopen when a creator of the same name/version is registered: left alone
//   opt-out          plain dlopen with ENCEXPORT_TRT_AUTOREGISTER=0: not registered
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>

#include "encexport/contract.h"
#include "harness.h"

namespace harness {
namespace {

// A creator that only answers identity questions (stands in for a copy registered earlier).
class PlaceholderCreator : public nvinfer1::IPluginCreatorV3One {
 public:
  nvinfer1::IPluginV3* createPlugin(const char*, const nvinfer1::PluginFieldCollection*,
                                    nvinfer1::TensorRTPhase) noexcept override {
    return nullptr;
  }
  const nvinfer1::PluginFieldCollection* getFieldNames() noexcept override { return &empty_; }
  const char* getPluginName() const noexcept override { return encexport::contract::kOpType; }
  const char* getPluginVersion() const noexcept override { return encexport::contract::kPluginVersion; }
  const char* getPluginNamespace() const noexcept override { return encexport::contract::kPluginNamespace; }

 private:
  nvinfer1::PluginFieldCollection empty_{};
};

int32_t registered_count() {
  int32_t n = 0;
  global_registry().getAllCreators(&n);
  return n;
}

bool is_ours_registered() {
  auto* c = global_registry().getCreator(encexport::contract::kOpType, encexport::contract::kPluginVersion,
                                         encexport::contract::kPluginNamespace);
  return c != nullptr && c->getInterfaceInfo().kind && std::strcmp(c->getInterfaceInfo().kind, "PLUGIN CREATOR_V3ONE") == 0;
}

// Runs `scenario` in a child process; its return value (true = as expected) becomes the exit status.
bool in_child(const std::function<bool()>& scenario) {
  std::fflush(stdout);
  const pid_t pid = ::fork();
  if (pid == 0) {
    bool ok = false;
    try {
      ok = scenario();
    } catch (...) {
    }
    std::fflush(stdout);
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

void run_registration(const std::string& lib, Tally& tally) {
  const char* sec = "registration";
  tally.expect(in_child([&] {
                 ::setenv("ENCEXPORT_TRT_AUTOREGISTER", "0", 1);
                 LoggerFinder finder(&global_logger());
                 global_registry().set_library_logger(&finder);
                 return global_registry().loadLibrary(lib.c_str()) != nullptr && registered_count() == 1 &&
                        is_ours_registered();
               }),
               sec, "loadLibrary with ENCEXPORT_TRT_AUTOREGISTER=0 registers the creator once");
  tally.expect(in_child([&] {
                 ::unsetenv("ENCEXPORT_TRT_AUTOREGISTER");
                 return ::dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL) != nullptr && registered_count() == 1 &&
                        is_ours_registered();
               }),
               sec, "plain dlopen self-registers the creator once");
  tally.expect(in_child([&] {
                 ::unsetenv("ENCEXPORT_TRT_AUTOREGISTER");
                 if (::dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL) == nullptr) return false;
                 const bool refused = global_registry().loadLibrary(lib.c_str()) == nullptr;
                 return refused && registered_count() == 1 && is_ours_registered();
               }),
               sec, "dlopen then loadLibrary: loadLibrary refuses the duplicate, one creator stays registered");
  tally.expect(in_child([&] {
                 ::unsetenv("ENCEXPORT_TRT_AUTOREGISTER");
                 set_reported_major_version(NV_TENSORRT_MAJOR + 1);
                 const int64_t warnings = global_logger().warnings();
                 return ::dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL) != nullptr && registered_count() == 0 &&
                        global_logger().warnings() > warnings;
               }),
               sec, "another TensorRT major version: no self-registration, a warning");
  tally.expect(in_child([&] {
                 ::unsetenv("ENCEXPORT_TRT_AUTOREGISTER");
                 static PlaceholderCreator earlier;
                 global_registry().registerCreator(earlier, "");
                 const int32_t calls = global_registry().register_calls();
                 return ::dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL) != nullptr && registered_count() == 1 &&
                        global_registry().register_calls() == calls;
               }),
               sec, "an already registered creator is left alone");
  tally.expect(in_child([&] {
                 ::setenv("ENCEXPORT_TRT_AUTOREGISTER", "0", 1);
                 return ::dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL) != nullptr && registered_count() == 0;
               }),
               sec, "ENCEXPORT_TRT_AUTOREGISTER=0: plain dlopen registers nothing");
}

}  // namespace harness
