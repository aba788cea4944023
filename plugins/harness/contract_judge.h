// The harness's own verdict on a field collection: is it a valid EncoderOnlyAttention node (build phase) or
// a valid serialized plugin (runtime phase)? Written from the contract (encexport/contract.py, through the
// generated encexport/contract.h) and the field encoding documented in docs/tensorrt-plugin.md, without
// calling anything of the plugin: the fuzz compares the plugin's decision with this one case by case, so a
// rule the plugin forgot (an invalid set accepted) or invented (a valid set refused) shows up as a mismatch.
#pragma once

#include <cstdint>
#include <string>

#include "NvInferRuntime.h"
#include "field_set.h"

namespace harness {

// The values a valid set resolves to, defaults filled in: what the plugin must serialize.
struct ResolvedNode {
  int64_t num_heads = 0, num_kv_heads = 0, head_size = 0;
  double scale = 0;  // 1/sqrt(head_size) when the set omits it
  std::string backend, layout;
};

struct Verdict {
  bool valid = false;
  std::string reason;  // the first rule the set breaks (empty when valid)
  ResolvedNode node;   // meaningful when valid
};

// A deliberately wrong judge, only to show that the fuzz's comparison catches a disagreement either way.
enum class JudgeFlaw {
  kNone,
  kIgnoreCausal,  // too lenient: causal != 0 passes (the plugin then refuses "valid" sets)
  kRequireScale,  // too strict: a set without scale fails (the plugin then accepts "invalid" sets)
};
// "none", "ignore-causal", "require-scale"; false for any other name.
bool parse_judge_flaw(const std::string& name, JudgeFlaw* out);

// The serialized field set's format version (docs/tensorrt-plugin.md, "Serialization format").
inline constexpr int64_t kExpectedSerializationVersion = 1;

Verdict judge_fields(FieldSet& fields, nvinfer1::TensorRTPhase phase, JudgeFlaw flaw = JudgeFlaw::kNone);

// Whether a plugin's serialized fields hold exactly the resolved values (empty string) or what differs.
std::string serialized_mismatch(FieldSet& serialized, const ResolvedNode& expected);

}  // namespace harness
