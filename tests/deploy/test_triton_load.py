"""Load: the served MiniLM (Python backend, ORT CPU + the custom-op library) under 64 concurrent HTTP clients
for ENCEXPORT_LOAD_SECONDS (default 60) on localhost. Every answer must be correct (cosine vs PyTorch) and no
request may fail; p50/p99 latency and throughput are printed and written to ENCEXPORT_LOAD_RESULTS (JSON)."""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from pathlib import Path

import numpy as np
import pytest

tritonclient_http = pytest.importorskip("tritonclient.http")

from serving_common import BASE, TEXTS, cosine  # noqa: E402

CLIENTS = 64
SECONDS = float(os.environ.get("ENCEXPORT_LOAD_SECONDS", "60"))


def _inputs(batch, index):
    """One sentence of the tokenized batch, trimmed to its own length (each request unpadded)."""
    length = int(batch["attention_mask"][index].sum())
    tensors = []
    for name, value in batch.items():
        row = value[index : index + 1, :length].astype(np.int64)
        tensor = tritonclient_http.InferInput(name, list(row.shape), "INT64")
        tensor.set_data_from_numpy(row)
        tensors.append(tensor)
    return tensors


def test_64_concurrent_clients_get_only_correct_answers(server, reference, tmp_path):
    ref, batch = reference
    requests = [_inputs(batch, i) for i in range(len(TEXTS))]
    deadline = time.monotonic() + SECONDS
    latencies: list[float] = []
    wrong, errors = [], []
    lock = threading.Lock()

    def client_loop(worker: int) -> None:
        with tritonclient_http.InferenceServerClient(f"127.0.0.1:{server.http_port}", network_timeout=120) as client:
            i = worker
            while time.monotonic() < deadline:
                index = i % len(requests)
                start = time.perf_counter()
                try:
                    served = client.infer(f"{BASE}_py", requests[index]).as_numpy("sentence_embedding")
                except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                    with lock:
                        errors.append(f"client {worker}: {exc}")
                    i += 1
                    continue
                elapsed = time.perf_counter() - start
                ok = served.shape == (1, ref.shape[1]) and cosine(served, ref[index : index + 1]).min() >= 0.9999
                with lock:
                    latencies.append(elapsed)
                    if not ok:
                        wrong.append(index)
                i += 1

    threads = [threading.Thread(target=client_loop, args=(w,)) for w in range(CLIENTS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=SECONDS + 180)
    wall = time.monotonic() - started
    assert not any(t.is_alive() for t in threads), "clients did not stop"
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    result = {"clients": CLIENTS, "seconds": round(wall, 1), "requests": len(latencies), "errors": len(errors),
              "wrong_answers": len(wrong), "throughput_rps": round(len(latencies) / wall, 1),
              "p50_ms": round(q[49] * 1e3, 1), "p99_ms": round(q[98] * 1e3, 1)}
    print(json.dumps(result))
    out = Path(os.environ.get("ENCEXPORT_LOAD_RESULTS", tmp_path / "triton_load.json"))
    out.write_text(json.dumps(result, indent=1) + "\n")
    assert not errors, errors[:5]
    assert not wrong, f"{len(wrong)} wrong answers (sentences {sorted(set(wrong))})"
    assert len(latencies) >= CLIENTS, result
