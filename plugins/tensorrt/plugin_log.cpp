#include "plugin_log.h"

#include <atomic>
#include <cstdio>

#include "tensorrt_symbols.h"

namespace encexport::trt {
namespace {

std::atomic<nvinfer1::ILoggerFinder*> g_finder{nullptr};

nvinfer1::ILogger* find_logger() {
  // findLogger() must be called from the thread running the plugin method (ILoggerFinder contract), so it
  // is asked on every message rather than cached.
  if (nvinfer1::ILoggerFinder* finder = g_finder.load()) {
    if (nvinfer1::ILogger* logger = finder->findLogger()) return logger;
  }
  using GetLogger = nvinfer1::ILogger* (*)();
  static const auto global_logger = reinterpret_cast<GetLogger>(find_tensorrt_symbol("getLogger"));
  return global_logger ? global_logger() : nullptr;
}

}  // namespace

void set_logger_finder(nvinfer1::ILoggerFinder* finder) noexcept { g_finder.store(finder); }

void log_message(nvinfer1::ILogger::Severity severity, const std::string& message) noexcept {
  try {
    if (nvinfer1::ILogger* logger = find_logger()) {
      logger->log(severity, message.c_str());
      return;
    }
    if (severity <= nvinfer1::ILogger::Severity::kWARNING) std::fprintf(stderr, "[encexport] %s\n", message.c_str());
  } catch (...) {
    // A logger that throws must not take the plugin down with it.
  }
}

}  // namespace encexport::trt
