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

class FakeRegistry;
// The process-wide objects behind the exported C API.
RecordingLogger& global_logger();
FakeRegistry& global_registry();
// What getInferLibMajorVersion() reports (to test the library's major-version guard).
void set_reported_major_version(int32_t major);

}  // namespace harness
