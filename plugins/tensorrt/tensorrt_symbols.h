// Finds TensorRT's exported C functions in the running process without linking libnvinfer.
// Names such as getLogger are generic, so a symbol is only trusted when it lives in the same loaded
// object as getPluginRegistry (libnvinfer itself, or a program that provides the same C API).
#pragma once

namespace encexport::trt {

// nullptr when TensorRT is not loaded in this process or the symbol is not TensorRT's.
void* find_tensorrt_symbol(const char* name) noexcept;

}  // namespace encexport::trt
