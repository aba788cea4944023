// The library's entry points: the two C functions TensorRT's IPluginRegistry::loadLibrary (and
// trtexec --dynamicPlugins) look up, and the load-time self-registration used when the library is only
// dlopen'ed. The rules and their reasons are in EncoderOnlyAttentionPlugin.h and docs/tensorrt-plugin.md.
#include <cstdlib>
#include <cstring>

#include "EncoderOnlyAttentionPlugin.h"
#include "plugin_log.h"
#include "tensorrt_symbols.h"

namespace encexport::trt {
namespace {

EncoderOnlyAttentionCreator& the_creator() {
  static EncoderOnlyAttentionCreator creator;
  return creator;
}

// ENCEXPORT_TRT_AUTOREGISTER=0 turns self-registration off; unset or any other value leaves it on.
bool autoregister_enabled() {
  const char* v = std::getenv("ENCEXPORT_TRT_AUTOREGISTER");
  return !(v != nullptr && std::strcmp(v, "0") == 0);
}

void self_register() noexcept {
  try {
    if (!autoregister_enabled()) return;
    using GetRegistry = nvinfer1::IPluginRegistry* (*)();
    using GetVersion = int32_t (*)();
    auto get_registry = reinterpret_cast<GetRegistry>(find_tensorrt_symbol("getPluginRegistry"));
    if (get_registry == nullptr) return;  // TensorRT not loaded (yet): loadLibrary or a later dlopen will do
    // The registry is called through its vtable, whose layout changed between major versions (11.x dropped
    // the IPluginCreator overloads). Only call it when the running TensorRT matches our headers.
    auto major = reinterpret_cast<GetVersion>(find_tensorrt_symbol("getInferLibMajorVersion"));
    if (major == nullptr || major() != NV_TENSORRT_MAJOR) {
      log_message(nvinfer1::ILogger::Severity::kWARNING,
                  std::string(kPluginName) + ": not self-registering: the loaded TensorRT's major version (" +
                      (major ? std::to_string(major()) : std::string("unknown")) + ") differs from the headers (" +
                      std::to_string(NV_TENSORRT_MAJOR) + ") this library was built with; load it with " +
                      "IPluginRegistry::loadLibrary or rebuild it against the installed TensorRT");
      return;
    }
    nvinfer1::IPluginRegistry* registry = get_registry();
    if (registry == nullptr) return;
    if (registry->getCreator(kPluginName, kPluginVersion, kPluginNamespace) != nullptr) {
      log_verbose(std::string(kPluginName) + ": a creator is already registered; not self-registering");
      return;
    }
    if (!registry->registerCreator(the_creator(), kPluginNamespace))
      log_message(nvinfer1::ILogger::Severity::kWARNING, std::string(kPluginName) + ": self-registration failed");
  } catch (...) {
    // Never let a load-time failure abort the host process.
  }
}

// Runs when the library is loaded (dlopen, ctypes.CDLL, loadLibrary).
const bool g_self_registered_on_load = (self_register(), true);

}  // namespace
}  // namespace encexport::trt

// Visible despite -fvisibility=hidden (TENSORRTAPI is empty outside TensorRT's own build).
#define ENCEXPORT_C_EXPORT extern "C" __attribute__((visibility("default")))

ENCEXPORT_C_EXPORT void setLoggerFinder(nvinfer1::ILoggerFinder* finder) noexcept {
  encexport::trt::set_logger_finder(finder);
}

ENCEXPORT_C_EXPORT nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nbCreators) noexcept {
  static nvinfer1::IPluginCreatorInterface* const creators[] = {&encexport::trt::the_creator()};
  nbCreators = 1;
  return creators;
}
