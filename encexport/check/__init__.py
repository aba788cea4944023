"""Accuracy checks with Polygraphy: PyTorch reference vs ONNX Runtime (CPU, CUDA) vs TensorRT, per output."""
