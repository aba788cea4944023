#include "tensorrt_symbols.h"

#include <dlfcn.h>

namespace encexport::trt {
namespace {

const void* object_base(void* symbol) {
  Dl_info info{};
  if (symbol == nullptr || ::dladdr(symbol, &info) == 0) return nullptr;
  return info.dli_fbase;
}

}  // namespace

void* find_tensorrt_symbol(const char* name) noexcept {
  void* registry = ::dlsym(RTLD_DEFAULT, "getPluginRegistry");
  void* symbol = ::dlsym(RTLD_DEFAULT, name);
  const void* base = object_base(registry);
  if (base == nullptr || object_base(symbol) != base) return nullptr;
  return symbol;
}

}  // namespace encexport::trt
