"""A small load generator for a KServe v2 HTTP endpoint (Triton's): concurrent clients for a fixed time, every
answer judged against a reference, latency percentiles and throughput.

Standard library plus numpy, so it runs wherever the server does (no tritonclient needed): JSON requests over
one keep-alive http.client connection per client. Clients are threads spread over a few processes, so the
client side (JSON, the GIL) does not become what is measured. Used by the GPU check's `load` step and by the
CPU load test (tests/deploy/test_triton_load.py).

    requests = [v2_request({"input_ids": ids, ...}, "sentence_embedding") for ...]
    judge = Judge(reference_embeddings, atol=2e-3, rtol=1e-2, min_cosine=0.999)
    result = run_load("127.0.0.1", port, "model", requests, judge, clients=64, seconds=60, processes=8)
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import statistics
import threading
import time
from dataclasses import dataclass

import numpy as np

DATATYPES = {np.dtype(np.int64): "INT64", np.dtype(np.int32): "INT32", np.dtype(np.float32): "FP32",
             np.dtype(np.float16): "FP16"}
ERROR_SAMPLES = 5  # error messages kept per process: enough to see what failed, bounded under a flood


def v2_request(feeds: dict[str, np.ndarray], output: str) -> bytes:
    """The JSON body of one inference request: inputs as flat JSON lists, the output asked for as binary data
    (the v2 JSON form has no FP16, and raw bytes are cheaper to read than a list of floats anyway)."""
    inputs = [{"name": name, "shape": list(value.shape), "datatype": DATATYPES[value.dtype],
               "data": value.reshape(-1).tolist()} for name, value in feeds.items()]
    return json.dumps({"inputs": inputs, "outputs": [{"name": output, "parameters": {"binary_data": True}}]}).encode()


BINARY_TYPES = {"FP32": np.float32, "FP16": np.float16, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32}


def v2_output(body: bytes, output: str, header_length: int | None = None) -> np.ndarray:
    """The named output tensor of a v2 response: JSON data, or binary data after a JSON header of
    `header_length` bytes (the Inference-Header-Content-Length response header). ValueError naming what is
    missing or malformed."""
    reply = json.loads(body[:header_length] if header_length else body)
    offset = header_length or 0
    for tensor in reply.get("outputs", []):
        size = tensor.get("parameters", {}).get("binary_data_size")
        if tensor.get("name") == output:
            if size is None:
                return np.asarray(tensor["data"], dtype=np.float64).reshape(tensor["shape"])
            raw = body[offset:offset + size]
            if len(raw) != size:
                raise ValueError(f"output {output!r}: {len(raw)} of {size} binary bytes")
            return np.frombuffer(raw, dtype=BINARY_TYPES[tensor["datatype"]]).astype(np.float64).reshape(tensor["shape"])
        offset += size or 0
    raise ValueError(f"response has no output {output!r}: {body[:200]!r}")


@dataclass(frozen=True)
class Judge:
    """An answer for request i is right when, against reference[i], its cosine is at least min_cosine and every
    element is within atol + rtol * |reference| (the check's own tolerance form)."""

    reference: np.ndarray  # [requests, ...]: what request i must return
    atol: float
    rtol: float
    min_cosine: float

    def __call__(self, index: int, got: np.ndarray) -> tuple[bool, float, float]:
        want = self.reference[index].astype(np.float64).reshape(-1)
        got = got.reshape(-1)
        if got.shape != want.shape:
            return False, float("nan"), float("inf")
        cos = float(got @ want / max(np.linalg.norm(got) * np.linalg.norm(want), 1e-30))
        err = float(np.abs(got - want).max())
        ok = cos >= self.min_cosine and bool(np.all(np.abs(got - want) <= self.atol + self.rtol * np.abs(want)))
        return ok, cos, err


def _client(host: str, port: int, path: str, requests: list[bytes], judge: Judge, output: str, first: int,
            seconds: float, timeout: float, out: dict, lock: threading.Lock) -> None:
    """One client: request after request (round robin from `first`) until the time is up."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    headers = {"Content-Type": "application/json"}
    deadline = time.monotonic() + seconds
    i = first
    while time.monotonic() < deadline:
        index = i % len(requests)
        i += 1
        start = time.perf_counter()
        try:
            conn.request("POST", path, body=requests[index], headers=headers)
            response = conn.getresponse()
            body = response.read()
            elapsed = time.perf_counter() - start
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {body[:300]!r}")
            length = response.getheader("Inference-Header-Content-Length")
            ok, cos, err = judge(index, v2_output(body, output, int(length) if length else None))
        except Exception as exc:  # noqa: BLE001 - every failure is counted, a few are kept
            conn.close()  # a broken connection is reopened by the next request
            with lock:
                out["errors"] += 1
                if len(out["error_samples"]) < ERROR_SAMPLES:
                    out["error_samples"].append(f"request {index}: {type(exc).__name__}: {exc}"[:400])
            continue
        with lock:
            out["latencies"].append(elapsed)
            out["min_cosine"] = min(out["min_cosine"], cos)
            out["max_abs"] = max(out["max_abs"], err)
            if not ok:
                out["wrong"].append(index)
    conn.close()


def _process(args: tuple) -> dict:
    """The clients of one process, as threads; their pooled records."""
    host, port, path, requests, judge, output, firsts, seconds, timeout = args
    out = {"latencies": [], "errors": 0, "error_samples": [], "wrong": [], "min_cosine": 1.0, "max_abs": 0.0}
    lock = threading.Lock()
    threads = [threading.Thread(target=_client, args=(host, port, path, requests, judge, output, first, seconds,
                                                      timeout, out, lock), daemon=True) for first in firsts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + timeout + 30)
    out["stuck_clients"] = sum(t.is_alive() for t in threads)
    return out


def run_load(host: str, port: int, model: str, requests: list[bytes], judge: Judge, *, output: str,
             clients: int = 64, seconds: float = 60.0, processes: int = 1, timeout: float = 60.0) -> dict:
    """`clients` concurrent clients for `seconds` against /v2/models/<model>/infer; the pooled result:
    requests answered, errors (transport or server), wrong answers, throughput, latency percentiles (ms),
    the smallest cosine and largest abs error seen. Bounded: each request times out after `timeout` s."""
    path = f"/v2/models/{model}/infer"
    processes = max(1, min(processes, clients))
    shares = [list(range(p, clients, processes)) for p in range(processes)]
    jobs = [(host, port, path, requests, judge, output, firsts, seconds, timeout) for firsts in shares]
    started = time.monotonic()
    if processes == 1:
        parts = [_process(jobs[0])]
    else:  # fork: the children need only this module's state, and start at once
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            parts = pool.map(_process, jobs)
    wall = time.monotonic() - started
    latencies = sorted(x for p in parts for x in p["latencies"])
    wrong = [i for p in parts for i in p["wrong"]]
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else [float("nan")] * 99
    return {"model": model, "clients": clients, "processes": processes, "seconds": round(wall, 1),
            "requests": len(latencies), "errors": sum(p["errors"] for p in parts),
            "wrong_answers": len(wrong), "wrong_requests": sorted(set(wrong))[:20],
            "throughput_rps": round(len(latencies) / wall, 1) if wall else 0.0,
            "p50_ms": round(q[49] * 1e3, 2), "p90_ms": round(q[89] * 1e3, 2), "p99_ms": round(q[98] * 1e3, 2),
            "mean_ms": round(statistics.fmean(latencies) * 1e3, 2) if latencies else float("nan"),
            "min_cosine": min((p["min_cosine"] for p in parts), default=1.0),
            "max_abs": max((p["max_abs"] for p in parts), default=0.0),
            "stuck_clients": sum(p["stuck_clients"] for p in parts),
            "error_samples": [e for p in parts for e in p["error_samples"]][:ERROR_SAMPLES]}


def passed(result: dict, clients: int) -> bool:
    """No error, no wrong answer, no stuck client, and at least one answer per client."""
    return (result["errors"] == 0 and result["wrong_answers"] == 0 and result["stuck_clients"] == 0
            and result["requests"] >= clients)
