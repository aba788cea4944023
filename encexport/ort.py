"""ONNX Runtime side: where the custom-op library is, and sessions that have it registered."""

from __future__ import annotations

from pathlib import Path

from . import native


def library_path() -> Path:
    """Path of libencexport_ort.so ($ENCEXPORT_ORT_LIB overrides); a clear error if it was never built."""
    return native.library_path("ort")


def session_options(**settings):
    """SessionOptions with the encexport library registered."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    for name, value in settings.items():
        setattr(so, name, value)
    so.register_custom_ops_library(str(library_path()))
    return so


def preload_cuda_libraries() -> None:
    """onnxruntime-gpu finds CUDA/cuDNN through the nvidia-* wheels torch brings, once they are preloaded."""
    import onnxruntime as ort

    if hasattr(ort, "preload_dlls"):
        try:
            ort.preload_dlls()
        except Exception:  # noqa: BLE001 - best effort: session creation reports what is really missing
            pass


def session(model, providers=None, **settings):
    """An InferenceSession over `model` (path or bytes) with the encexport op available."""
    import onnxruntime as ort

    providers = providers or ["CPUExecutionProvider"]
    if any("CUDA" in (p if isinstance(p, str) else p[0]) for p in providers):
        preload_cuda_libraries()
    model = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(model, sess_options=session_options(**settings), providers=providers)


class ProviderUnavailable(RuntimeError):
    """The provider asked for first cannot run here; ONNX Runtime would quietly have used the next one."""


def require_provider(session, providers, *, fix: str = "ask for CPUExecutionProvider") -> None:
    """Refuse a session that does not run on the first provider asked for (the later ones are fallbacks);
    session=None: refuse before creating one when this onnxruntime lacks that provider.

    ONNX Runtime drops an unavailable provider with a warning at most, so a CUDA check on a machine without
    CUDA would otherwise pass on the CPU."""
    import onnxruntime as ort

    wanted = providers[0] if isinstance(providers[0], str) else providers[0][0]
    got = ort.get_available_providers() if session is None else session.get_providers()
    if wanted in got:
        return
    available = ", ".join(ort.get_available_providers())
    hint = ("install onnxruntime-gpu and run on a machine with a CUDA GPU and driver, or "
            if "CUDA" in wanted or "Tensorrt" in wanted else "")
    raise ProviderUnavailable(f"{wanted} was asked for but ONNX Runtime cannot use it here (this onnxruntime "
                              f"offers {available}); "
                              f"{hint}{fix}")


def fp32_fallbacks(model, providers) -> list[str]:
    """Op types of `model`'s fp16-weighted nodes that none of `providers` has a float16 kernel for.

    ONNX Runtime does not refuse such a node: it inserts Casts and runs it in fp32 on the (fp16-rounded)
    weights. On the CPU provider (1.32) MatMul, Add, BiasGelu and EmbedLayerNormalization have no float16
    kernel, so an fp16 model checked there computes mostly in fp32; the check says so instead of implying fp16
    arithmetic. Nodes of custom-op libraries (ours has float16 kernels) are not in ORT's registry: never listed.

    Asked only of CPU-only sessions: reading ORT's kernel registry loads every provider library the wheel ships,
    and onnxruntime-gpu's TensorRT provider, without TensorRT installed, fails there and can take the process down.
    """
    import onnx

    if any(p != "CPUExecutionProvider" for p in providers):
        return []
    graph = onnx.load(str(model), load_external_data=False).graph
    fp16 = {i.name for i in graph.initializer if i.data_type == onnx.TensorProto.FLOAT16}
    weighted = {("" if n.domain == "ai.onnx" else n.domain, n.op_type)
                for n in graph.node if fp16.intersection(n.input)}
    if not weighted:
        return []
    from onnxruntime.capi import _pybind_state

    registered, half = set(), set()
    for kernel in _pybind_state.get_all_opkernel_def():
        if kernel.provider in providers:
            registered.add((kernel.domain, kernel.op_name))
            if any("tensor(float16)" in types for types in kernel.type_constraints.values()):
                half.add((kernel.domain, kernel.op_name))
    return sorted(op_type for _, op_type in (weighted & registered) - half)
