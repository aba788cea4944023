// Where the plugin's messages go. TensorRT hands a library an ILoggerFinder through setLoggerFinder()
// when it loads it with IPluginRegistry::loadLibrary; a library that was only dlopen'ed (self-registered)
// gets none and uses TensorRT's global logger (getLogger(), looked up with dlsym so libnvinfer is never
// linked). Without either, messages go to stderr so a rejected node is never silent.
#pragma once

#include <string>

#include "NvInferRuntime.h"

namespace encexport::trt {

void set_logger_finder(nvinfer1::ILoggerFinder* finder) noexcept;
void log_message(nvinfer1::ILogger::Severity severity, const std::string& message) noexcept;
inline void log_error(const std::string& message) noexcept {
  log_message(nvinfer1::ILogger::Severity::kERROR, message);
}
inline void log_verbose(const std::string& message) noexcept {
  log_message(nvinfer1::ILogger::Severity::kVERBOSE, message);
}

}  // namespace encexport::trt
