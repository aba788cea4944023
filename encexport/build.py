"""Build a TensorRT engine from an exported model, and the no-plugin comparison model.

`build_engine` parses the ONNX model with TensorRT's parser, with libencexport_trt.so loaded into the plugin
registry so every `encexport::EncoderOnlyAttention` node becomes our IPluginV3, and writes a serialized
engine. The network is strongly typed (always so in TensorRT 11; the STRONGLY_TYPED flag in 10.x): the
precision comes from the model's tensors, so export fp16/bf16 to get an fp16/bf16 engine.

The plugin-free comparison model (our nodes as TensorRT's own TRT_Attention) is encexport.graph.tensorrt_native.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Callable, Mapping

import onnx

from . import contract, native

PLUGIN_LIBRARY_NAME = "libencexport_trt.so"
Shape = tuple[int, ...]

# Profile defaults per dynamic axis, chosen by the axis's dim_param name: (min, opt, max).
_AXIS_DEFAULTS: tuple[tuple[tuple[str, ...], tuple[int, int, int]], ...] = (
    (("token", "total"), (1, 2048, 16384)),  # packed layout: T
    (("batch",), (1, 8, 32)),
    (("seq", "len", "sentence", "patch"), (1, 128, 512)),
)
_FALLBACK_AXIS = (1, 64, 512)


class TensorRTUnavailable(RuntimeError):
    """The tensorrt Python package is not importable here."""


def import_tensorrt():
    try:
        import tensorrt
    except ImportError as exc:
        raise TensorRTUnavailable(
            f"building a TensorRT engine needs the `tensorrt` Python package, which is not importable here ({exc}). "
            "Fix: `pip install tensorrt` (TensorRT 10.x or 11.x, matching your CUDA major version), or run this step "
            "inside an NVIDIA TensorRT container. The exported ONNX model itself runs without TensorRT through ONNX "
            "Runtime (encexport.ort)."
        ) from exc
    return tensorrt


def plugin_library_path(plugin: str | os.PathLike = "auto") -> Path:
    """`auto`: our built library (encexport.native); otherwise the given path."""
    if str(plugin) == "auto":
        return native.library_path("trt")
    path = Path(plugin)
    if not path.is_file():
        raise FileNotFoundError(
            f"TensorRT plugin library {path} not found. Fix: `encexport build-plugins` (needs nvcc and the TensorRT "
            "headers), or pass --plugin PATH to a built libencexport_trt.so.")
    return path


def load_plugin(trt, path: Path) -> None:
    """Registers the plugin creator with TensorRT's registry (idempotent).

    Uses IPluginRegistry.load_library with the library's load-time self-registration turned off: both at once
    would register the creator twice and load_library would refuse the library."""
    registry = trt.get_plugin_registry()
    if registry.get_creator(contract.OP_TYPE, contract.PLUGIN_VERSION, contract.PLUGIN_NAMESPACE) is not None:
        return  # already in this process (an earlier call, or a plain dlopen that self-registered)
    os.environ["ENCEXPORT_TRT_AUTOREGISTER"] = "0"
    registry.load_library(str(path))
    if registry.get_creator(contract.OP_TYPE, contract.PLUGIN_VERSION, contract.PLUGIN_NAMESPACE) is None:
        raise RuntimeError(
            f"{path} loaded but TensorRT's registry has no {contract.OP_TYPE} version {contract.PLUGIN_VERSION}: the "
            "library was built against incompatible TensorRT headers; rebuild it with `encexport build-plugins`.")


def parse_shapes(text: str | None) -> dict[str, Shape]:
    """'query:1x128x384,lengths:1' -> {'query': (1, 128, 384), 'lengths': (1,)}."""
    shapes: dict[str, Shape] = {}
    for item in filter(None, (s.strip() for s in (text or "").split(","))):
        name, sep, dims = item.rpartition(":")
        if not sep or not name:
            raise ValueError(f"shape {item!r} is not NAME:DIMxDIM... (e.g. query:1x128x768)")
        try:
            shapes[name] = tuple(int(d) for d in dims.lower().split("x"))
        except ValueError:
            raise ValueError(f"shape {item!r}: dimensions must be integers separated by 'x'") from None
    return shapes


def _axis_default(dim_param: str) -> tuple[int, int, int]:
    name = dim_param.lower()
    for keys, bounds in _AXIS_DEFAULTS:
        if any(k in name for k in keys):
            return bounds
    return _FALLBACK_AXIS


def profile_shapes(model: onnx.ModelProto, min_shapes: Mapping[str, Shape] | None = None,
                   opt_shapes: Mapping[str, Shape] | None = None,
                   max_shapes: Mapping[str, Shape] | None = None) -> dict[str, tuple[Shape, Shape, Shape]]:
    """(min, opt, max) per graph input with a dynamic axis. Given shapes win; an input named in only some of
    the three takes the missing ones from the given ones (as trtexec does); others get per-axis defaults."""
    given = [dict(min_shapes or {}), dict(opt_shapes or {}), dict(max_shapes or {})]
    inits = {i.name for i in model.graph.initializer}
    result: dict[str, tuple[Shape, Shape, Shape]] = {}
    known = set()
    for inp in model.graph.input:
        if inp.name in inits:
            continue
        known.add(inp.name)
        dims = inp.type.tensor_type.shape.dim
        dynamic = [not d.HasField("dim_value") for d in dims]
        named = [g.get(inp.name) for g in given]
        if any(named):
            lo, mid, hi = (named[0] or named[1] or named[2], named[1] or named[2] or named[0],
                           named[2] or named[1] or named[0])
            for shape in (lo, mid, hi):
                if len(shape) != len(dims):
                    raise ValueError(f"input {inp.name!r} has rank {len(dims)}, got shape {shape}")
                for axis, (d, n) in enumerate(zip(dims, shape)):
                    if d.HasField("dim_value") and d.dim_value != n:
                        raise ValueError(f"input {inp.name!r} axis {axis} is fixed to {d.dim_value}, got {n}")
            if not all(a <= b <= c for a, b, c in zip(lo, mid, hi)):
                raise ValueError(f"input {inp.name!r}: need min <= opt <= max per axis, got {lo} / {mid} / {hi}")
            result[inp.name] = (tuple(lo), tuple(mid), tuple(hi))
        elif any(dynamic):
            bounds = [(d.dim_value,) * 3 if d.HasField("dim_value") else _axis_default(d.dim_param) for d in dims]
            result[inp.name] = tuple(tuple(b[i] for b in bounds) for i in range(3))  # type: ignore[assignment]
    unknown = {n for g in given for n in g} - known
    if unknown:
        raise ValueError(f"shapes given for unknown inputs {sorted(unknown)}; the model's inputs are {sorted(known)}")
    return result


def _network_flags(trt) -> int:
    major = int(trt.__version__.split(".")[0])
    if major >= 11:
        return 0  # strongly typed always; the flag is deprecated and ignored
    return 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)


def _progress_monitor(trt, say: Callable[[str], None]):
    """A TensorRT IProgressMonitor printing phase starts and ends (None where the API lacks it)."""
    base = getattr(trt, "IProgressMonitor", None)
    if base is None:
        return None

    class Progress(base):
        def __init__(self):
            base.__init__(self)
            self._started: dict[str, float] = {}

        def phase_start(self, phase_name, parent_phase, num_steps):
            self._started[phase_name] = time.monotonic()
            say(f"  {phase_name} ({num_steps} steps)")

        def step_complete(self, phase_name, step):
            return True  # never cancel

        def phase_finish(self, phase_name):
            say(f"  {phase_name} done in {time.monotonic() - self._started.pop(phase_name, time.monotonic()):.1f}s")

    return Progress()


def build_engine(onnx_path: str | os.PathLike, out_path: str | os.PathLike, *, plugin: str | os.PathLike = "auto",
                 min_shapes: Mapping[str, Shape] | None = None, opt_shapes: Mapping[str, Shape] | None = None,
                 max_shapes: Mapping[str, Shape] | None = None, timing_cache: str | os.PathLike | None = None,
                 workspace_bytes: int | None = None, verbose: bool = False,
                 log: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> Path:
    """Build and write a serialized TensorRT engine; returns its path."""
    trt = import_tensorrt()
    onnx_path, out_path = Path(onnx_path), Path(out_path)
    model = onnx.load(str(onnx_path), load_external_data=False)
    has_nodes = any(n.op_type == contract.OP_TYPE for n in model.graph.node)
    if has_nodes:
        library = plugin_library_path(plugin)
        log(f"[build] plugin library {library}")
        load_plugin(trt, library)

    logger = trt.Logger(trt.Logger.VERBOSE if verbose else trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(_network_flags(trt))
    parser = trt.OnnxParser(network, logger)
    log(f"[build] parsing {onnx_path}")
    if not parser.parse_from_file(str(onnx_path)):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        hint = ""
        if any("Plugin not found" in e for e in errors):
            hint = (f" Hint: TensorRT did not find the {contract.OP_TYPE} plugin; build it with `encexport "
                    "build-plugins` and pass --plugin auto or the library path.")
        raise RuntimeError("TensorRT could not parse the model:\n  " + "\n  ".join(errors) + hint)

    config = builder.create_builder_config()
    if workspace_bytes:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_bytes))
    monitor = _progress_monitor(trt, log)
    if monitor is not None:
        config.progress_monitor = monitor
    shapes = profile_shapes(model, min_shapes, opt_shapes, max_shapes)
    if shapes:
        profile = builder.create_optimization_profile()
        for name, (lo, mid, hi) in shapes.items():
            log(f"[build] profile {name}: min {lo} opt {mid} max {hi}")
            profile.set_shape(name, lo, mid, hi)
        config.add_optimization_profile(profile)

    cache_path = Path(timing_cache) if timing_cache else None
    if cache_path is not None:
        cache = config.create_timing_cache(cache_path.read_bytes() if cache_path.is_file() else b"")
        config.set_timing_cache(cache, ignore_mismatch=False)

    log("[build] building the engine (this takes a while)")
    started = time.monotonic()
    engine = builder.build_serialized_network(network, config)
    if engine is None:
        raise RuntimeError("TensorRT failed to build the engine; rerun with --verbose to see the builder's log")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(bytes(engine))
    if cache_path is not None:
        cache_path.write_bytes(bytes(config.get_timing_cache().serialize()))
    log(f"[build] wrote {out_path} ({out_path.stat().st_size / 2**20:.1f} MiB) in {time.monotonic() - started:.0f}s")
    return out_path


__all__ = ["TensorRTUnavailable", "build_engine", "import_tensorrt", "load_plugin", "parse_shapes", "plugin_library_path",
           "profile_shapes"]
