#include "expr_builder.h"

#include <algorithm>
#include <limits>

namespace harness {

using nvinfer1::DimensionOperation;
using nvinfer1::IDimensionExpr;

// One node of an expression: a constant, a named symbol, or an operation on two nodes.
class SymbolicDim : public IDimensionExpr {
 public:
  enum class Kind { kConstant, kSymbol, kOperation };

  SymbolicDim(Kind kind, int64_t value, std::string name, DimensionOperation op, const SymbolicDim* a,
              const SymbolicDim* b)
      : impl_(this), kind_(kind), value_(value), name_(std::move(name)), op_(op), a_(a), b_(b) {
    mImpl = &impl_;
  }
  ~SymbolicDim() override = default;

  bool constant() const { return kind_ == Kind::kConstant; }
  int64_t value() const { return value_; }

  std::optional<int64_t> evaluate(const std::map<std::string, int64_t>& env) const {
    if (kind_ == Kind::kConstant) return value_;
    if (kind_ == Kind::kSymbol) {
      auto it = env.find(name_);
      return it == env.end() ? std::nullopt : std::optional<int64_t>(it->second);
    }
    auto x = a_->evaluate(env), y = b_->evaluate(env);
    if (!x || !y) return std::nullopt;
    return apply(op_, *x, *y);
  }

  static std::optional<int64_t> apply(DimensionOperation op, int64_t x, int64_t y) {
    switch (op) {
      case DimensionOperation::kSUM: return x + y;
      case DimensionOperation::kPROD: return x * y;
      case DimensionOperation::kMAX: return std::max(x, y);
      case DimensionOperation::kMIN: return std::min(x, y);
      case DimensionOperation::kSUB: return x - y;
      case DimensionOperation::kEQUAL: return x == y ? 1 : 0;
      case DimensionOperation::kLESS: return x < y ? 1 : 0;
      case DimensionOperation::kFLOOR_DIV:
        if (y == 0) return std::nullopt;
        return x / y - ((x % y != 0) && ((x < 0) != (y < 0)) ? 1 : 0);
      case DimensionOperation::kCEIL_DIV:
        if (y == 0) return std::nullopt;
        return x / y + ((x % y != 0) && ((x < 0) == (y < 0)) ? 1 : 0);
    }
    return std::nullopt;
  }

 private:
  class Impl : public nvinfer1::apiv::VDimensionExpr {
   public:
    explicit Impl(const SymbolicDim* self) : self_(self) {}
    bool isConstant() const override { return self_->constant(); }
    int64_t getConstantValue() const override {
      return self_->constant() ? self_->value() : std::numeric_limits<int64_t>::min();
    }
    bool isSizeTensor() const override { return false; }

   private:
    const SymbolicDim* self_;
  };

  Impl impl_;
  Kind kind_;
  int64_t value_;
  std::string name_;
  DimensionOperation op_;
  const SymbolicDim* a_;
  const SymbolicDim* b_;
};

class BuilderImpl : public nvinfer1::apiv::VExprBuilder {
 public:
  explicit BuilderImpl(ExprBuilder* owner) : owner_(owner) {}
  const IDimensionExpr* constant(int64_t value) override { return owner_->make_constant(value); }
  const IDimensionExpr* operation(DimensionOperation op, const IDimensionExpr& first,
                                  const IDimensionExpr& second) override {
    if (!owner_->owned_.count(&first) || !owner_->owned_.count(&second)) return nullptr;
    auto* a = static_cast<const SymbolicDim*>(&first);
    auto* b = static_cast<const SymbolicDim*>(&second);
    if (a->constant() && b->constant()) {  // TensorRT folds constant expressions
      auto v = SymbolicDim::apply(op, a->value(), b->value());
      return v ? owner_->make_constant(*v) : nullptr;
    }
    return owner_->add(std::make_unique<SymbolicDim>(SymbolicDim::Kind::kOperation, 0, "", op, a, b));
  }
  const IDimensionExpr* declareSizeTensor(int32_t, const IDimensionExpr&, const IDimensionExpr&) override {
    return nullptr;  // this plugin has no data-dependent output shapes
  }

 private:
  ExprBuilder* owner_;
};

ExprBuilder::ExprBuilder() : impl_(std::make_unique<BuilderImpl>(this)) { mImpl = impl_.get(); }
ExprBuilder::~ExprBuilder() = default;

const IDimensionExpr* ExprBuilder::add(std::unique_ptr<SymbolicDim> d) {
  arena_.push_back(std::move(d));
  owned_.insert(arena_.back().get());
  return arena_.back().get();
}

const IDimensionExpr* ExprBuilder::symbol(const std::string& name) {
  return add(std::make_unique<SymbolicDim>(SymbolicDim::Kind::kSymbol, 0, name, DimensionOperation::kSUM, nullptr,
                                           nullptr));
}

const IDimensionExpr* ExprBuilder::make_constant(int64_t value) {
  return add(std::make_unique<SymbolicDim>(SymbolicDim::Kind::kConstant, value, "", DimensionOperation::kSUM,
                                           nullptr, nullptr));
}

std::optional<int64_t> ExprBuilder::evaluate(const IDimensionExpr* e, const std::map<std::string, int64_t>& env) const {
  if (!owned_.count(e)) return std::nullopt;
  return static_cast<const SymbolicDim*>(e)->evaluate(env);
}

}  // namespace harness
