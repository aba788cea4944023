"""Check: an exported model against the unmodified PyTorch model. One concept, two depths.

  against_pytorch.py   sentence level: embedding cosine and hidden-state error in ONNX Runtime (what `encexport
                       export` runs on what it wrote, and `encexport check` runs first)
  layers.py            per attention layer: hooks on the patched and the unmodified model at a trained weight
                       scale, a padded batch of uneven lengths (what `encexport export` runs after the above)
  polygraphy_run.py    per output, per runner: PyTorch vs ONNX Runtime CPU/CUDA vs TensorRT through Polygraphy
                       (runners.py, compare.py, data.py; polygraphy_ext.py and polygraphy_data.py serve
                       `polygraphy run` itself)
"""
