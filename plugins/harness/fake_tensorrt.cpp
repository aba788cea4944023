#include "fake_tensorrt.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstring>

namespace harness {
namespace {

int32_t g_reported_major = NV_TENSORRT_MAJOR;

// Reads (name, version, namespace) the way TensorRT's registry keys creators.
bool creator_identity(nvinfer1::IPluginCreatorInterface& c, std::string* name, std::string* version) {
  const nvinfer1::InterfaceInfo info = c.getInterfaceInfo();
  if (info.kind == nullptr || std::strcmp(info.kind, "PLUGIN CREATOR_V3ONE") != 0) return false;
  auto& v3 = static_cast<nvinfer1::IPluginCreatorV3One&>(c);
  if (!v3.getPluginName() || !v3.getPluginVersion()) return false;
  *name = v3.getPluginName();
  *version = v3.getPluginVersion();
  return true;
}

}  // namespace

void RecordingLogger::log(Severity severity, const char* msg) noexcept {
  const std::string text = msg ? msg : "<null>";
  if (severity <= Severity::kERROR) {
    ++errors_;
    last_error_ = text;
  } else if (severity == Severity::kWARNING) {
    ++warnings_;
    last_warning_ = text;
  }
  if (echo) std::printf("  [log %d] %s\n", static_cast<int>(severity), text.c_str());
}

RecordingLogger& global_logger() {
  static RecordingLogger logger;
  return logger;
}

FakeRegistry& global_registry() {
  static FakeRegistry registry;
  return registry;
}

void set_reported_major_version(int32_t major) { g_reported_major = major; }
int32_t reported_major_version() { return g_reported_major; }

bool FakeRegistry::registerCreator(nvinfer1::IPluginCreatorInterface& creator, const char* ns) noexcept {
  ++register_calls_;
  Entry e{&creator, "", "", ns ? ns : ""};
  if (!creator_identity(creator, &e.name, &e.version)) {
    last_error = "registerCreator: not an IPluginCreatorV3One";
    return false;
  }
  if (getCreator(e.name.c_str(), e.version.c_str(), e.ns.c_str()) != nullptr) {
    last_error = "registerCreator: " + e.name + " version " + e.version + " is already registered";
    return false;
  }
  entries_.push_back(e);
  return true;
}

nvinfer1::IPluginCreatorInterface* FakeRegistry::getCreator(const char* name, const char* version,
                                                            const char* ns) noexcept {
  for (const Entry& e : entries_)
    if (name && version && e.name == name && e.version == version && e.ns == (ns ? ns : "")) return e.creator;
  return nullptr;
}

nvinfer1::IPluginCreatorInterface* const* FakeRegistry::getAllCreators(int32_t* n) const noexcept {
  auto& list = const_cast<std::vector<nvinfer1::IPluginCreatorInterface*>&>(list_);
  list.clear();
  for (const Entry& e : entries_) list.push_back(e.creator);
  if (n) *n = static_cast<int32_t>(list.size());
  return list.data();
}

nvinfer1::IPluginCreatorInterface* const* FakeRegistry::getAllCreatorsRecursive(int32_t* n) noexcept {
  return getAllCreators(n);
}

bool FakeRegistry::deregisterCreator(const nvinfer1::IPluginCreatorInterface& creator) noexcept {
  for (auto it = entries_.begin(); it != entries_.end(); ++it)
    if (it->creator == &creator) {
      entries_.erase(it);
      return true;
    }
  return false;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
nvinfer1::IPluginCreator* const* FakeRegistry::getPluginCreatorList(int32_t* const n) const noexcept {
  if (n) *n = 0;
  return nullptr;
}
#pragma GCC diagnostic pop

// IPluginRegistry::loadLibrary as documented: the library's creators are registered through its
// getCreators() entry point; setLoggerFinder() is offered first; any duplicate makes the load fail.
FakeRegistry::PluginLibraryHandle FakeRegistry::loadLibrary(const char* path) noexcept {
  void* handle = ::dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    last_error = std::string("dlopen failed: ") + ::dlerror();
    return nullptr;
  }
  using SetLoggerFinder = void (*)(nvinfer1::ILoggerFinder*);
  using GetCreators = nvinfer1::IPluginCreatorInterface* const* (*)(int32_t&);
  auto set_finder = reinterpret_cast<SetLoggerFinder>(::dlsym(handle, "setLoggerFinder"));
  auto get_creators = reinterpret_cast<GetCreators>(::dlsym(handle, "getCreators"));
  if (get_creators == nullptr) {
    last_error = "library exports no getCreators";
    return nullptr;
  }
  if (set_finder && finder_) set_finder(finder_);
  int32_t n = -1;
  nvinfer1::IPluginCreatorInterface* const* creators = get_creators(n);
  if (creators == nullptr || n < 0) {
    last_error = "getCreators returned nothing";
    return nullptr;
  }
  bool ok = true;
  for (int32_t i = 0; i < n; ++i) ok = creators[i] != nullptr && registerCreator(*creators[i], "") && ok;
  return ok ? handle : nullptr;
}

void FakeRegistry::deregisterLibrary(PluginLibraryHandle) noexcept {}

}  // namespace harness

// TensorRT's C API, as libnvinfer exports it (NvInferRuntime.h), served by the harness.
// Visible to dlsym(RTLD_DEFAULT) despite -fvisibility=hidden (the executable is linked with -rdynamic).
#define HARNESS_C_EXPORT extern "C" __attribute__((visibility("default")))

HARNESS_C_EXPORT nvinfer1::IPluginRegistry* getPluginRegistry() noexcept { return &harness::global_registry(); }
HARNESS_C_EXPORT nvinfer1::ILogger* getLogger() noexcept { return &harness::global_logger(); }
HARNESS_C_EXPORT int32_t getInferLibMajorVersion() noexcept { return harness::reported_major_version(); }
