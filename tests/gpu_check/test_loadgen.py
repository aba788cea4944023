"""The load generator against a tiny local KServe v2 server (http.server): right answers pass, wrong answers and
server errors are counted, the run stops on time, and several client processes pool their records."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from encexport.gpu_check.loadgen import Judge, passed, run_load, v2_output, v2_request

DIM = 8


def embedding(ids: list[int]) -> np.ndarray:
    """What the fake model answers for a request: a unit vector that depends on every id."""
    v = np.random.default_rng(sum(ids) * 7919 + len(ids)).standard_normal(DIM)
    return v / np.linalg.norm(v)


@pytest.fixture
def server():
    """A v2 server for model "m" whose behaviour the test sets: "ok", "wrong" (one request's answer
    perturbed), "error" (HTTP 500 for one request) or "slow"."""
    mode = {"value": "ok"}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Triton

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            assert self.path == "/v2/models/m/infer"
            ids = next(t for t in body["inputs"] if t["name"] == "input_ids")["data"]
            out = embedding(ids)
            status = 200
            if mode["value"] == "wrong" and ids[0] == 101:
                out = out + 0.05
            if mode["value"] == "error" and ids[0] == 101:
                status = 500
            if mode["value"] == "slow":
                time.sleep(0.2)
            reply = json.dumps({"model_name": "m", "outputs": [{"name": "sentence_embedding", "datatype": "FP32",
                                                               "shape": [1, DIM], "data": out.tolist()}]}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], mode
    httpd.shutdown()
    httpd.server_close()


def _workload(n=6):
    ids = [np.array([[101 + i * 3, *range(2000, 2000 + i + 1)]], dtype=np.int64) for i in range(n)]
    requests = [v2_request({"input_ids": x, "attention_mask": np.ones_like(x)}, "sentence_embedding") for x in ids]
    reference = np.stack([embedding(x.reshape(-1).tolist()) for x in ids]).astype(np.float32)
    return requests, Judge(reference, atol=2e-3, rtol=1e-2, min_cosine=0.999)


def test_request_and_response_follow_the_v2_json_protocol():
    body = json.loads(v2_request({"input_ids": np.array([[1, 2]], dtype=np.int64)}, "out"))
    assert body == {"inputs": [{"name": "input_ids", "shape": [1, 2], "datatype": "INT64", "data": [1, 2]}],
                    "outputs": [{"name": "out", "parameters": {"binary_data": True}}]}
    reply = json.dumps({"outputs": [{"name": "out", "shape": [1, 2], "datatype": "FP32", "data": [0.5, 1]}]})
    assert v2_output(reply.encode(), "out").tolist() == [[0.5, 1.0]]
    with pytest.raises(ValueError, match="no output 'other'"):
        v2_output(reply.encode(), "other")


def test_binary_outputs_are_read_after_the_json_header():
    """Triton's binary form: JSON header (its length in Inference-Header-Content-Length), then raw tensors."""
    first, second = np.arange(3, dtype=np.float32), np.array([[0.25, -1.5]], dtype=np.float16)
    header = json.dumps({"outputs": [
        {"name": "hidden", "datatype": "FP32", "shape": [3], "parameters": {"binary_data_size": 12}},
        {"name": "emb", "datatype": "FP16", "shape": [1, 2], "parameters": {"binary_data_size": 4}}]}).encode()
    body = header + first.tobytes() + second.tobytes()
    assert v2_output(body, "emb", len(header)).tolist() == [[0.25, -1.5]]
    assert v2_output(body, "hidden", len(header)).tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="2 of 4 binary bytes"):
        v2_output(body[:-2], "emb", len(header))


def test_judge_needs_both_cosine_and_elementwise_tolerance():
    judge = Judge(np.array([[0.6, 0.8]]), atol=2e-3, rtol=1e-2, min_cosine=0.999)
    assert judge(0, np.array([0.6, 0.8]))[0]
    assert not judge(0, np.array([0.6, 0.8]) * 1.05)[0]  # same direction, off in size
    assert not judge(0, np.array([0.8, 0.6]))[0]
    assert not judge(0, np.array([0.6, 0.8, 0.0]))[0]


def test_right_answers_pass(server):
    port, _ = server
    requests, judge = _workload()
    result = run_load("127.0.0.1", port, "m", requests, judge, output="sentence_embedding", clients=8, seconds=1.0)
    assert passed(result, 8), result
    assert result["requests"] > 8 and result["min_cosine"] > 0.9999 and result["max_abs"] < 1e-6
    assert 0 < result["p50_ms"] <= result["p99_ms"] and result["seconds"] < 5


def test_wrong_answers_and_server_errors_are_counted(server):
    port, mode = server
    requests, judge = _workload()
    mode["value"] = "wrong"
    result = run_load("127.0.0.1", port, "m", requests, judge, output="sentence_embedding", clients=4, seconds=0.5)
    assert result["wrong_answers"] > 0 and result["wrong_requests"] == [0] and not passed(result, 4)
    mode["value"] = "error"
    result = run_load("127.0.0.1", port, "m", requests, judge, output="sentence_embedding", clients=4, seconds=0.5)
    assert result["errors"] > 0 and result["wrong_answers"] == 0 and not passed(result, 4)
    assert "HTTP 500" in result["error_samples"][0]


def test_a_closed_port_is_an_error_per_request_not_a_hang(server):
    requests, judge = _workload()
    result = run_load("127.0.0.1", 9, "m", requests, judge, output="sentence_embedding", clients=2, seconds=0.3,
                      timeout=1)
    assert result["requests"] == 0 and result["errors"] > 0 and not passed(result, 2)


def test_client_processes_pool_their_records(server):
    port, mode = server
    mode["value"] = "slow"  # 0.2 s per answer: each of 6 clients gets about 5 in 1 s
    requests, judge = _workload()
    result = run_load("127.0.0.1", port, "m", requests, judge, output="sentence_embedding", clients=6, seconds=1.0,
                      processes=3)
    assert result["processes"] == 3 and passed(result, 6), result
    assert 6 * 4 <= result["requests"] <= 6 * 7 and result["p50_ms"] >= 200
