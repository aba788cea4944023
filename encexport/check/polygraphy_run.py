"""Pick the runners this machine can run and compare them against the PyTorch reference."""

from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path

import numpy as np

from . import compare, data, runners


def available_runners(model_path: Path, recipe, *, providers: list[str] | None, engine: Path | None, loaded=None):
    """[runner...]: PyTorch first (the reference), then ORT CPU, ORT CUDA, TensorRT when present.

    A provider asked for in `providers` that this onnxruntime lacks is an error (never a quiet CPU run)."""
    import onnxruntime

    from ..export import wrap
    from ..ort import ProviderUnavailable

    available = onnxruntime.get_available_providers()
    for provider in providers or []:
        if provider not in available:
            raise ProviderUnavailable(f"{provider} was asked for but this onnxruntime offers only "
                                      f"{', '.join(available)}; install onnxruntime-gpu and run on a machine with "
                                      "a CUDA GPU and driver, or drop it from --providers")
    model, tokenizer, pooling = loaded or recipe.load()
    image = recipe.modality == "image"
    chosen = [runners.TorchRunner(wrap(recipe, model.eval(), pooling), recipe.input_names, recipe.output_names,
                                  input_dtype=np.float32 if image else np.int64, input_rank=4 if image else 2)]
    # The providers asked for, plus CPU and CUDA whenever this onnxruntime has them.
    wanted = list(dict.fromkeys(list(providers or []) + ["CPUExecutionProvider", "CUDAExecutionProvider"]))
    for provider in wanted:
        if provider in onnxruntime.get_available_providers():
            short = provider.removesuffix("ExecutionProvider").lower()
            chosen.append(runners.onnxrt_runner(model_path, [provider], f"onnxrt-{short}",
                                                required=provider in (providers or [])))
    if engine is not None or importlib.util.find_spec("tensorrt") is not None:
        chosen.append(runners.trt_runner(model_path, engine))
    return chosen, model, tokenizer


def compare_runners(model_path: Path, recipe, *, providers=None, engine=None, dtype: str = "fp32", loaded=None,
                    log: Path | None = None):
    """(rows, Polygraphy's verdict, runner names). Tolerances follow `dtype`; Polygraphy's own log (what each
    runner ran, error statistics, histograms) goes to the file `log` when given, else to stdout."""
    chosen, model, tokenizer = available_runners(model_path, recipe, providers=providers, engine=engine,
                                                 loaded=loaded)
    if tokenizer is not None and recipe.modality == "text":
        feeds = data.token_feeds(tokenizer, recipe.sample_texts, recipe.input_names)
    else:  # recipes without a tokenizer (random-weight configs) or images: the recipe's own example inputs
        from ..export import recipe_inputs

        feeds = [{k: v.numpy() for k, v in recipe_inputs(recipe, model, None).items()}]
    with contextlib.ExitStack() as stack:
        if log is not None:
            sink = stack.enter_context(open(log, "w"))
            stack.enter_context(contextlib.redirect_stdout(sink))
        rows, verdict = compare.compare(chosen, feeds, dtype)
    return rows, verdict, [r.name for r in chosen]
