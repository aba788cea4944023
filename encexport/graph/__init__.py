"""Every ONNX rewrite of an exported model, for ONNX Runtime and for TensorRT.

  nodes.py           reading our nodes' attributes (shared by the rewrites)
  shapes.py          output shapes of our nodes written into the graph, for shape-checked fusions
  fuse_embedding.py  the embedding layer into ORT's EmbedLayerNormalization
  fuse_qkv.py        the fused QKV projection straight into our node (no Split)
  ort_optimizer.py   ONNX Runtime's transformers optimizer taught our node, plus the two fusions above
  tensorrt_native.py our nodes as TensorRT's own TRT_Attention (plugin-free comparison engine)

Reached from the CLI through `encexport export --optimize` (ort_optimizer) and `encexport build
--native-attention` (tensorrt_native).
"""
