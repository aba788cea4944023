"""The GPU check: everything that needs an NVIDIA GPU, in one command that leaves its results in one folder.

    python -m encexport.gpu_check [--steps build,tests,...] [--out DIR]   # scripts/gpu_check.sh is this
    python -m encexport.gpu_check prepare [DEST]    # on a machine with the weights: the real-model test inputs
    python -m encexport.gpu_check summary DIR       # summary.md of a run's folder
    python -m encexport.gpu_check plots [BENCH E2E CHECK]   # redraw docs/img from recorded results
    python -m encexport.gpu_check record RUN [--allow-dirty]  # a run's results into bench/results (clean commits)

  steps.py    build, tests, models, sanitize, ort-sanitize, profile, bench, e2e, load (each writes its log into the run folder)
  ort_sanitize.py, ort_sanitize_driver.py   ONNX Runtime sessions with our CUDA op under compute-sanitizer
  sanitizer_log.py  compute-sanitizer summary lines -> error counts (both sanitizer steps)
  summary.py  the run's summary.md
  profile.py  Nsight Compute metrics per kernel family on the benchmark's dense shapes
  prepare.py  the fp16 all-MiniLM-L6-v2 export and its PyTorch reference embeddings (tests/models/test_gpu_models.py)
  plots.py    the figures of docs/performance.md and docs/gpu-results.md
  load.py, loadgen.py, load_models.py   Triton under load: ours vs the stock ORT-optimized model, answers judged
  record.py   copies a run's results into bench/results, refusing a dirty tree's
"""
