// Stand-ins for the objects TensorRT hands a plugin library: a logger (that records what the plugin
// says), a logger finder, a plugin resource context, and a plugin registry whose loadLibrary follows
// TensorRT's documented behaviour (dlopen, setLoggerFinder, getCreators, register each creator; nullptr if
// one is already registered). The harness executable also exports TensorRT's C entry points
// getPluginRegistry/getLogger/getInferLibMajorVersion, so the library's self-registration sees a
// "TensorRT" in the process exactly as it would inside libnvinfer's host.
#pragma once

#include <string>
#include <vector>

#include "NvInferRuntime.h"

namespace harness {

class RecordingLogger : public nvinfer1::ILogger {
 public:
  void log(Severity severity, const char* msg) noexcept override;
  int64_t errors() const { return errors_; }
  int64_t warnings() const { return warnings_; }
  const std::string& last_error() const { return last_error_; }
  const std::string& last_warning() const { return last_warning_; }
  bool echo = false;  // print every message (debugging)

 private:
  int64_t errors_ = 0, warnings_ = 0;
  std::string last_error_, last_warning_;
};

class LoggerFinder : public nvinfer1::ILoggerFinder {
 public:
  explicit LoggerFinder(nvinfer1::ILogger* logger) : logger_(logger) {}
  nvinfer1::ILogger* findLogger() override { return logger_; }

 private:
  nvinfer1::ILogger* logger_;
};

// TensorRT passes one to attachToContext; it offers only an allocator and an error recorder.
class ResourceContext : public nvinfer1::IPluginResourceContext {
 public:
  nvinfer1::IGpuAllocator* getGpuAllocator() const noexcept override { return nullptr; }
  nvinfer1::IErrorRecorder* getErrorRecorder() const noexcept override { return nullptr; }
};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
class FakeRegistry : public nvinfer1::IPluginRegistry {
 public:
  // --- what TensorRT's registry does, as far as plugin libraries can observe it ---
  bool registerCreator(nvinfer1::IPluginCreatorInterface& creator, const char* ns) noexcept override;
  nvinfer1::IPluginCreatorInterface* getCreator(const char* name, const char* version,
                                                const char* ns = "") noexcept override;
  nvinfer1::IPluginCreatorInterface* const* getAllCreators(int32_t* n) const noexcept override;
  nvinfer1::IPluginCreatorInterface* const* getAllCreatorsRecursive(int32_t* n) noexcept override;
  bool deregisterCreator(const nvinfer1::IPluginCreatorInterface& creator) noexcept override;
  PluginLibraryHandle loadLibrary(const char* path) noexcept override;
  void deregisterLibrary(PluginLibraryHandle handle) noexcept override;
  void set_library_logger(nvinfer1::ILoggerFinder* finder) { finder_ = finder; }
  int32_t register_calls() const { return register_calls_; }
  std::string last_error;

  // --- not used by plugin libraries: inert ---
  bool registerCreator(nvinfer1::IPluginCreator&, const char* const) noexcept override { return false; }
  nvinfer1::IPluginCreator* const* getPluginCreatorList(int32_t* const n) const noexcept override;
  nvinfer1::IPluginCreator* getPluginCreator(const char* const, const char* const, const char* const) noexcept override {
    return nullptr;
  }
  void setErrorRecorder(nvinfer1::IErrorRecorder* const) noexcept override {}
  nvinfer1::IErrorRecorder* getErrorRecorder() const noexcept override { return nullptr; }
  bool deregisterCreator(const nvinfer1::IPluginCreator&) noexcept override { return false; }
  bool isParentSearchEnabled() const override { return false; }
  void setParentSearchEnabled(const bool) override {}
  nvinfer1::IPluginResource* acquirePluginResource(const char*, nvinfer1::IPluginResource*) noexcept override {
    return nullptr;
  }
  int32_t releasePluginResource(const char*) noexcept override { return -1; }

 private:
  struct Entry {
    nvinfer1::IPluginCreatorInterface* creator;
    std::string name, version, ns;
  };
  std::vector<Entry> entries_;
  std::vector<nvinfer1::IPluginCreatorInterface*> list_;
  nvinfer1::ILoggerFinder* finder_ = nullptr;
  int32_t register_calls_ = 0;
};
#pragma GCC diagnostic pop

// The process-wide objects behind the exported C API.
RecordingLogger& global_logger();
FakeRegistry& global_registry();
// What getInferLibMajorVersion() reports (to test the library's major-version guard).
void set_reported_major_version(int32_t major);
int32_t reported_major_version();

}  // namespace harness
