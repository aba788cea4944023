"""Runs fuzz cases through ONNX Runtime + libencexport_ort.so in its own process; the parent judges the results.

    python ort_fuzz_runner.py --lib PATH --seed S --start I --count N --out DIR

Kept in a subprocess so that an abort or a segfault in the library is a failed test naming the case (the last
"start" record in DIR/progress.jsonl), not a dead pytest. Imports only numpy, onnx and onnxruntime, so it
also starts quickly under valgrind. Writes, per case: a "start" record (flushed before the case runs), then
a result record {status: ok|error, stage: session|run, message, seconds}; outputs of accepted cases go to
DIR/out_<index>.npy (bfloat16 as float32).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnx import TensorProto

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ort_fuzz_cases import make_case  # noqa: E402


def bf16_to_float32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _run_bf16(sess, case):
    """numpy has no bfloat16: feed and fetch raw bits through OrtValues bound to numpy buffers."""
    binding = sess.io_binding()
    for name, arr in case.feeds().items():
        kind = TensorProto.BFLOAT16 if name != "lengths" else TensorProto.INT32
        binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy_with_onnx_type(arr, kind))
    out = np.zeros(case.qkv()[0].shape, np.uint16)  # query-wide rows, also for packed q|k|v input rows
    binding.bind_ortvalue_output("output0", ort.OrtValue.ortvalue_from_numpy_with_onnx_type(out, TensorProto.BFLOAT16))
    sess.run_with_iobinding(binding)
    return bf16_to_float32(out)


def run_case(options, case):
    stage = "session"
    try:
        sess = ort.InferenceSession(case.model(), sess_options=options, providers=["CPUExecutionProvider"])
        stage = "run"
        if case.dtype == "bfloat16" and not case.input_types:
            return "ok", stage, "", _run_bf16(sess, case)
        return "ok", stage, "", sess.run(None, case.feeds())[0]
    except Exception as exc:  # an ORT error status surfaces as a Python exception: that is a refusal
        return "error", stage, f"{type(exc).__name__}: {exc}", None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--indices", default="", help="comma-separated case indices (overrides start/count)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    options = ort.SessionOptions()
    options.log_severity_level = 4  # refusals are expected here; the records carry the messages
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.register_custom_ops_library(args.lib)
    indices = ([int(i) for i in args.indices.split(",")] if args.indices
               else range(args.start, args.start + args.count))
    with open(out / "progress.jsonl", "w") as log:
        for index in indices:
            log.write(json.dumps({"index": index, "event": "start"}) + "\n")
            log.flush()
            try:
                case = make_case(args.seed, index)
            except Exception:
                log.write(json.dumps({"index": index, "event": "generator_error",
                                      "message": traceback.format_exc()}) + "\n")
                log.flush()
                continue
            t0 = time.perf_counter()
            status, stage, message, result = run_case(options, case)
            record = {"index": index, "event": "done", "status": status, "stage": stage, "message": message,
                      "seconds": round(time.perf_counter() - t0, 4)}
            if result is not None:
                record["shape"] = list(result.shape)
                np.save(out / f"out_{index}.npy", np.asarray(result, dtype=np.float32))
            log.write(json.dumps(record) + "\n")
            log.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
