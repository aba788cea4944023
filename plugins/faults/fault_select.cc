// The run-time fault selector of the fault-injection test libraries (plugins/kernels/fault_injection.h). Only
// these libraries compile this file: the shipped ones have neither the selector nor the faults.
#include <atomic>
#include <cstdint>

#include "../kernels/fault_injection.h"

namespace encexport::faults {
namespace {
std::atomic<int32_t> g_fault{kNone};
}  // namespace

int32_t selected() { return g_fault.load(std::memory_order_relaxed); }

}  // namespace encexport::faults

// Selects the fault every later call injects (an encexport::faults::Fault value; 0 = none). Process-wide.
extern "C" __attribute__((visibility("default"))) void encexport_fault_select(int fault) {
  encexport::faults::g_fault.store(fault, std::memory_order_relaxed);
}
