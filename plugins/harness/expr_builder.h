// A symbolic IExprBuilder/IDimensionExpr like the one TensorRT passes to getOutputShapes(): dimensions
// are named symbols ("B", "S") or constants, combined with DimensionOperation. Constants fold as in
// TensorRT, so isConstant() is true exactly when the value is known at build time. The harness evaluates
// whatever the plugin returns under several symbol bindings to check the output shape.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "NvInferImpl.h"
#include "NvInferRuntime.h"

namespace harness {

class SymbolicDim;

class ExprBuilder : public nvinfer1::IExprBuilder {
 public:
  ExprBuilder();
  ~ExprBuilder() override;
  const nvinfer1::IDimensionExpr* symbol(const std::string& name);
  const nvinfer1::IDimensionExpr* make_constant(int64_t value);
  // Value of an expression made by this builder; nullopt for a foreign pointer or an unbound symbol.
  std::optional<int64_t> evaluate(const nvinfer1::IDimensionExpr* e, const std::map<std::string, int64_t>& env) const;

 private:
  friend class BuilderImpl;
  const nvinfer1::IDimensionExpr* add(std::unique_ptr<SymbolicDim> d);
  std::unique_ptr<nvinfer1::apiv::VExprBuilder> impl_;
  std::deque<std::unique_ptr<SymbolicDim>> arena_;
  std::set<const nvinfer1::IDimensionExpr*> owned_;
};

}  // namespace harness
