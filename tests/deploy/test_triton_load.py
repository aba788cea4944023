"""Load: the served MiniLM (Python backend, ORT CPU + the custom-op library) under 64 concurrent HTTP clients
for ENCEXPORT_LOAD_SECONDS (default 60) on localhost, driven by the GPU check's load generator
(encexport/gpu_check/loadgen.py: KServe v2 JSON, no tritonclient). Every answer must match PyTorch within the
fp32 tolerance of encexport/check/tolerances.py and no request may fail; p50/p99 latency and throughput are
printed and written, with the commit measured, to ENCEXPORT_LOAD_RESULTS (JSON)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from encexport.check.tolerances import tolerance
from encexport.gpu_check.loadgen import Judge, passed, run_load, v2_request
from encexport.provenance import source_revision
from serving_common import BASE, TEXTS

CLIENTS = 64
SECONDS = float(os.environ.get("ENCEXPORT_LOAD_SECONDS", "60"))


def _requests(batch) -> list[bytes]:
    """One sentence per request, trimmed to its own length (each request unpadded)."""
    lengths = batch["attention_mask"].sum(1)
    return [v2_request({name: value[i:i + 1, :int(n)].astype(np.int64) for name, value in batch.items()},
                       "sentence_embedding") for i, n in enumerate(lengths)]


def test_64_concurrent_clients_get_only_correct_answers(server, reference, tmp_path):
    ref, batch = reference
    assert len(_requests(batch)) == len(TEXTS)
    tol = tolerance("fp32", "sentence_embedding")
    judge = Judge(ref, tol.atol, tol.rtol, tol.min_cosine)
    result = run_load("127.0.0.1", server.http_port, f"{BASE}_py", _requests(batch), judge,
                      output="sentence_embedding", clients=CLIENTS, seconds=SECONDS, processes=4, timeout=120)
    result = {"source": source_revision(), "tolerance": tol.describe(), **result}
    print(json.dumps(result))
    out = Path(os.environ.get("ENCEXPORT_LOAD_RESULTS", tmp_path / "triton_load.json"))
    out.write_text(json.dumps(result, indent=1) + "\n")
    assert result["errors"] == 0, result["error_samples"]
    assert result["wrong_answers"] == 0, f"wrong answers for sentences {result['wrong_requests']}"
    assert passed(result, CLIENTS), result
