# Sourced by the GPU machine's entry points (gpu_check.sh, bench_gpu.sh): puts the wheels staged into
# /tmp/devsite/<bundle> (onnxruntime-gpu, nvidia-pytriton + polygraphy, flash-attn-4) on PYTHONPATH where present.
for staged in ort tools fa4; do
  if [ -f "/tmp/devsite/$staged/.staged" ]; then export PYTHONPATH="/tmp/devsite/$staged:$PYTHONPATH"; fi
done
# flash-attn-4's CuTe DSL finds its `cutlass` package through a .pth file, which a --target install does not run.
if [ -d /tmp/devsite/fa4/nvidia_cutlass_dsl/dsl_packages ]; then
  export PYTHONPATH="/tmp/devsite/fa4/nvidia_cutlass_dsl/dsl_packages:$PYTHONPATH"
fi
