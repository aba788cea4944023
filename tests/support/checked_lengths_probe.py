"""One CUDA call with given lengths, in a process of its own: ENCEXPORT_CHECKED_LENGTHS is read once per process,
so tests/plugins/test_gpu_lengths.py runs this script with the variable set or unset.

    python checked_lengths_probe.py {testapi|ort} {padded|packed} LENGTHS_JSON

Prints one JSON line: {"error": the call's message or null, "nan_rows": rows of the output that hold a NaN}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from onnx_models import attention_model  # noqa: E402

H, D, S = 2, 64, 48


def _testapi(layout: str, lengths: list[int]):
    from encexport import _testapi

    q = torch.randn(len(lengths) if layout == "padded" else S, *((S,) if layout == "padded" else ()), H * D,
                    device="cuda", dtype=torch.float16)
    lens = torch.tensor(lengths, dtype=torch.int32, device="cuda")
    out, _ = _testapi.attention(q, q.clone(), q.clone(), lens, num_heads=H, num_kv_heads=H, head_size=D, scale=0.125,
                                layout=layout, backend="flash")
    torch.cuda.synchronize()
    return out.cpu()


def _ort(layout: str, lengths: list[int]):
    import numpy as np
    import onnxruntime as ort

    from encexport import ort as eort

    eort.preload_cuda_libraries()
    so = eort.session_options()
    so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    model = attention_model(num_heads=H, head_size=D, scale=0.125, layout=layout, dtype="float16")
    sess = ort.InferenceSession(model, sess_options=so, providers=["CUDAExecutionProvider"])
    shape = (len(lengths), S, H * D) if layout == "padded" else (S, H * D)
    q = np.random.default_rng(0).standard_normal(shape).astype(np.float16)
    out = sess.run(None, {"query": q, "key": q.copy(), "value": q.copy(),
                          "lengths": np.array(lengths, dtype=np.int32)})[0]
    return torch.from_numpy(out)


def main() -> None:
    runner, layout, lengths = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    try:
        out = (_testapi if runner == "testapi" else _ort)(layout, lengths)
    except Exception as e:  # the refusal under test: report it, do not crash
        print(json.dumps({"error": str(e), "nan_rows": None}))
        return
    rows = out.reshape(-1, out.shape[-1]).isnan().any(dim=-1)
    print(json.dumps({"error": None, "nan_rows": int(rows.sum())}))


if __name__ == "__main__":
    main()
