// Seeded fuzzing of everything that reaches createPlugin from outside: random ONNX-attribute collections
// (build phase) and damaged engine fields (runtime phase: dropped, duplicated, retyped, truncated or
// rewritten fields). The harness's own reading of the contract (contract_judge.h) decides each case first:
// the plugin must accept exactly the sets it calls valid and refuse exactly the others, each refusal with a
// logged error. An accepted plugin must also serialize the values the judge resolved, deserialize to
// identical fields, clone, and survive random shape descriptions without crashing.
#include <cstring>
#include <random>

#include "contract_judge.h"
#include "harness.h"

namespace harness {
namespace {

using nvinfer1::DataType;
using nvinfer1::PluginFieldType;
using nvinfer1::PluginTensorDesc;
using nvinfer1::TensorRTPhase;

const char* const kNames[] = {"num_heads", "num_kv_heads", "head_size", "scale", "causal", "backend", "layout",
                              "plugin_version", "plugin_namespace", "serialization_version",
                              // near misses and junk
                              "num_head", "NUM_HEADS", "", "scale ", "layout\n", "heads"};
const int64_t kInts[] = {-1, 0, 1, 2, 3, 4, 6, 8, 12, 16, 32, 64, 96, 128, 256, 257, 65536, 65537,
                         INT32_MAX, INT32_MIN, int64_t{1} << 33};
const char* const kStrings[] = {"auto", "reference", "flash", "padded", "packed", "1", "", "2", "PADDED", "flash2"};

class Fuzzer {
 public:
  explicit Fuzzer(uint64_t seed) : rng_(seed) {}

  int64_t pick(int64_t n) { return std::uniform_int_distribution<int64_t>(0, n - 1)(rng_); }
  bool chance(int percent) { return pick(100) < percent; }

  FieldSet::Field random_field() {
    FieldSet::Field f;
    f.name = kNames[pick(std::size(kNames))];
    f.null_name = chance(2);
    f.type = chance(85) ? plausible_type() : static_cast<PluginFieldType>(pick(20));
    const int32_t lengths[] = {-3, -1, 0, 1, 1, 1, 1, 2, 3, 7, 65, 66, 300};
    f.length = chance(70) ? 1 : lengths[pick(std::size(lengths))];
    fill_value(f);
    f.null_data = chance(3);
    return f;
  }

  FieldSet random_attributes() {
    FieldSet s;
    if (chance(60)) {  // start from a valid node and damage it lightly: most cases then reach deep checks
      s = node_attributes(random_valid_node());
      for (int64_t k = pick(3); k > 0; --k) mutate(s);
    } else {
      for (int64_t n = pick(12); n > 0; --n) s.add(random_field());
    }
    return s;
  }

  NodeConfig random_valid_node() {
    NodeConfig c;
    const int32_t heads[] = {1, 2, 4, 8, 12, 16};
    c.num_heads = heads[pick(std::size(heads))];
    c.num_kv_heads = c.num_heads >> pick(3);
    if (c.num_kv_heads < 1) c.num_kv_heads = 1;
    const int32_t sizes[] = {16, 32, 64, 80, 96, 128, 256};
    c.head_size = sizes[pick(std::size(sizes))];
    c.layout = chance(50) ? "padded" : "packed";
    c.backend = kStrings[pick(3)];
    c.scale = chance(50) ? NAN : 0.01f * static_cast<float>(pick(100));
    c.with_lengths = chance(50);
    return c;
  }

  // One damage to a field set: drop, duplicate, retype, resize, corrupt bytes, or add a random field.
  void mutate(FieldSet& s) {
    auto& fields = s.fields();
    if (fields.empty() || chance(15)) {
      s.add(random_field());
      return;
    }
    const size_t i = static_cast<size_t>(pick(static_cast<int64_t>(fields.size())));
    const int64_t kind = pick(7);
    // Changes of the list itself first: they invalidate references into it.
    if (kind == 0) return void(fields.erase(fields.begin() + static_cast<long>(i)));
    if (kind == 1) return fields.push_back(FieldSet::Field(fields[i]));
    if (kind == 6) return std::swap(fields[i], fields[static_cast<size_t>(pick(static_cast<int64_t>(fields.size())))]);
    FieldSet::Field& f = fields[i];
    switch (kind) {
      case 2: f.type = plausible_type(); break;
      case 3:  // truncate / extend (e.g. a string losing its NUL), keeping the buffer large enough
        f.length = static_cast<int32_t>(pick(std::max<int32_t>(f.length, 0) + 3)) - 1;
        break;
      case 4:
        for (auto& b : f.bytes)
          if (chance(30)) b = static_cast<uint8_t>(pick(256));
        break;
      default: fill_value(f); break;
    }
    const size_t need = element_size(f.type) * static_cast<size_t>(std::max<int32_t>(f.length, 0));
    if (f.bytes.size() < need) f.bytes.resize(need, static_cast<uint8_t>(pick(256)));
  }

  // Random shapes/types/formats for onShapeChange and configurePlugin, with 0-6 tensors.
  std::vector<PluginTensorDesc> random_descs(int32_t n) {
    std::vector<PluginTensorDesc> d(static_cast<size_t>(n));
    for (auto& x : d) {
      x.dims.nbDims = static_cast<int32_t>(pick(11)) - 1;
      for (int32_t k = 0; k < nvinfer1::Dims::MAX_DIMS; ++k) x.dims.d[k] = chance(70) ? pick(5) * 64 : pick(9) - 2;
      x.type = chance(70) ? DataType::kHALF : static_cast<DataType>(pick(13));
      x.format = chance(90) ? nvinfer1::TensorFormat::kLINEAR : static_cast<nvinfer1::TensorFormat>(pick(14));
      x.scale = -1.f;
    }
    return d;
  }

 private:
  PluginFieldType plausible_type() {
    const PluginFieldType t[] = {PluginFieldType::kINT32, PluginFieldType::kINT64, PluginFieldType::kFLOAT32,
                                 PluginFieldType::kFLOAT64, PluginFieldType::kCHAR, PluginFieldType::kINT8,
                                 PluginFieldType::kUNKNOWN, PluginFieldType::kFLOAT16};
    return t[pick(std::size(t))];
  }

  void fill_value(FieldSet::Field& f) {
    const size_t n = element_size(f.type) * static_cast<size_t>(std::max<int32_t>(f.length, 0));
    f.bytes.assign(n, 0);
    if (n == 0) return;
    if (f.type == PluginFieldType::kCHAR) {
      std::string s = chance(80) ? kStrings[pick(std::size(kStrings))] : std::string(n, static_cast<char>(pick(256)));
      std::memcpy(f.bytes.data(), s.data(), std::min(n, s.size()));
    } else if (f.type == PluginFieldType::kINT32 || f.type == PluginFieldType::kINT64) {
      const int64_t v = kInts[pick(std::size(kInts))];
      const int32_t v32 = static_cast<int32_t>(v);
      std::memcpy(f.bytes.data(), f.type == PluginFieldType::kINT32 ? static_cast<const void*>(&v32) : &v,
                  element_size(f.type));
    } else if (f.type == PluginFieldType::kFLOAT32 || f.type == PluginFieldType::kFLOAT64) {
      const double values[] = {0.125, 0.0, -1.0, 1e-30, 1e39, NAN, INFINITY, 3.0e38};
      const double v = values[pick(std::size(values))];
      const float v32 = static_cast<float>(v);
      std::memcpy(f.bytes.data(), f.type == PluginFieldType::kFLOAT32 ? static_cast<const void*>(&v32) : &v,
                  element_size(f.type));
    } else {
      for (auto& b : f.bytes) b = static_cast<uint8_t>(pick(256));
    }
  }

  std::mt19937_64 rng_;
};

// An accepted plugin must behave like one: stable serialization, clone, runtime copy, robust shape hooks.
void check_accepted(Context& ctx, Fuzzer& fz, nvinfer1::IPluginV3* plugin, const ResolvedNode& expected,
                    const std::string& detail) {
  Tally& t = *ctx.tally;
  Capabilities caps = capabilities_of(plugin);
  if (!t.expect(caps.core && caps.runtime, "fuzz", "accepted plugin lacks capabilities: " + detail)) return;
  FieldSet saved = FieldSet::copy_of(caps.runtime->getFieldsToSerialize());
  const std::string differs = serialized_mismatch(saved, expected);
  t.expect(differs.empty(), "fuzz", differs + ": " + detail + " -> " + saved.describe());
  int64_t errors = 0;
  PluginPtr again = create(ctx, "fuzz", saved, TensorRTPhase::kRUNTIME, &errors);
  if (!t.expect(again != nullptr, "fuzz", "accepted plugin's own fields were refused: " + detail + " -> " +
                                              ctx.logger->last_error()))
    return;
  t.expect(FieldSet::copy_of(capabilities_of(again.get()).runtime->getFieldsToSerialize()) == saved, "fuzz",
           "round trip changed the fields: " + detail);
  PluginPtr copy(plugin->clone());
  t.expect(copy && FieldSet::copy_of(capabilities_of(copy.get()).runtime->getFieldsToSerialize()) == saved, "fuzz",
           "clone differs: " + detail);
  // Shape hooks with random (mostly invalid) descriptions: any answer is fine, a crash is not.
  const int32_t nb_in = static_cast<int32_t>(fz.pick(7));
  const int32_t nb_out = static_cast<int32_t>(fz.pick(3));
  std::vector<PluginTensorDesc> in = fz.random_descs(std::max(nb_in, 1)), out = fz.random_descs(std::max(nb_out, 1));
  caps.runtime->onShapeChange(in.data(), nb_in, out.data(), nb_out);
  if (caps.build) {
    std::vector<nvinfer1::DynamicPluginTensorDesc> din(in.size()), dout(out.size());
    for (size_t i = 0; i < in.size(); ++i) din[i] = {in[i], in[i].dims, in[i].dims, in[i].dims};
    for (size_t i = 0; i < out.size(); ++i) dout[i] = {out[i], out[i].dims, out[i].dims, out[i].dims};
    caps.build->configurePlugin(din.data(), nb_in, dout.data(), nb_out);
    for (int32_t pos = 0; pos < nb_in + nb_out && pos < static_cast<int32_t>(din.size()); ++pos)
      caps.build->supportsFormatCombination(pos, din.data(), nb_in, nb_out);
  }
}

}  // namespace

void run_fuzz(Context& ctx, int64_t cases, uint64_t seed, JudgeFlaw flaw) {
  Fuzzer fz(seed);
  Tally& t = *ctx.tally;
  // Valid engines to damage.
  std::vector<FieldSet> engines;
  for (int i = 0; i < 16; ++i) {
    FieldSet f = node_attributes(fz.random_valid_node());
    PluginPtr p = create(ctx, "fuzz_seed", f, TensorRTPhase::kBUILD);
    if (t.expect(p != nullptr, "fuzz", "valid node refused: " + f.describe()))
      engines.push_back(FieldSet::copy_of(capabilities_of(p.get()).runtime->getFieldsToSerialize()));
  }
  if (engines.empty()) return;
  for (int64_t i = 0; i < cases; ++i) {
    const bool runtime = fz.chance(50);
    FieldSet fields;
    if (runtime) {
      fields = engines[static_cast<size_t>(fz.pick(static_cast<int64_t>(engines.size())))];
      for (int64_t k = 1 + fz.pick(3); k > 0; --k) fz.mutate(fields);
    } else {
      fields = fz.random_attributes();
    }
    const TensorRTPhase phase = runtime ? TensorRTPhase::kRUNTIME : TensorRTPhase::kBUILD;
    const Verdict verdict = judge_fields(fields, phase, flaw);
    int64_t errors = 0;
    PluginPtr p = create(ctx, "fuzz", fields, phase, &errors);
    const std::string detail = std::string(runtime ? "runtime " : "build ") + fields.describe();
    t.count(verdict.valid ? "fuzz judged valid" : "fuzz judged invalid");
    if ((p != nullptr) != verdict.valid) {
      t.count("fuzz verdict mismatches");
      t.expect(false, "fuzz", p ? "accepted a set the contract forbids (" + verdict.reason + "): " + detail
                                : "refused a set the contract allows: " + detail + " -> " + ctx.logger->last_error());
    }
    if (p) {
      t.count(runtime ? "fuzz engine-fields accepted" : "fuzz attributes accepted");
      t.expect(errors == 0, "fuzz", "accepted but logged an error: " + detail);
      if (verdict.valid) check_accepted(ctx, fz, p.get(), verdict.node, detail);
    } else {
      t.count(runtime ? "fuzz engine-fields rejected" : "fuzz attributes rejected");
      t.expect(errors > 0, "fuzz", "rejected without a message: " + detail);
    }
    t.count("fuzz cases");
  }
  t.count("fuzz verdict mismatches", 0);  // printed even when none occurred
}

}  // namespace harness
