// The library's only exported symbol: ORT calls RegisterCustomOps when a session registers this file.
#include <mutex>

#include "ops.h"

namespace {

// The ORT C API version we ask for. It must not exceed what the oldest supported runtime offers (1.23 -> 23);
// the table is append-only, so newer runtimes (1.24 ... 1.32) hand out the same entries.
constexpr uint32_t kRequestedOrtApi = 23;

struct Registry {
  std::mutex mutex;
  std::vector<Ort::CustomOpDomain> domains;  // must outlive every session that uses them
  encexport::ort::OpList ops;
};

Registry& registry() {
  static Registry r;  // intentionally never destroyed before the sessions that still point at the ops
  return r;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) OrtStatus* ORT_API_CALL RegisterCustomOps(OrtSessionOptions* options,
                                                                                          const OrtApiBase* api_base) {
  const OrtApi* api = api_base->GetApi(kRequestedOrtApi);
  if (api == nullptr) {
    // The runtime is older than the API we need. There is no API table to build a status with, so ask for
    // the oldest one just to report the problem.
    const OrtApi* old = api_base->GetApi(1);
    return old ? old->CreateStatus(ORT_FAIL, "libencexport_ort needs onnxruntime >= 1.23 (ORT API 23)") : nullptr;
  }
  Ort::InitApi(api);
  try {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    if (r.ops.empty()) {
      encexport::ort::append_cpu_ops(r.ops);
#ifdef ENCEXPORT_WITH_CUDA
      encexport::ort::append_cuda_ops(r.ops);
#endif
    }
    Ort::CustomOpDomain domain{encexport::ort::kDomain};
    for (auto& op : r.ops) domain.Add(op.get());
    Ort::UnownedSessionOptions(options).Add(domain);
    r.domains.push_back(std::move(domain));
    return nullptr;
  } catch (const Ort::Exception& e) {
    return api->CreateStatus(e.GetOrtErrorCode(), e.what());
  } catch (const std::exception& e) {
    return api->CreateStatus(ORT_FAIL, e.what());
  }
}
