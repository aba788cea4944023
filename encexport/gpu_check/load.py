"""The `load` step: the served MiniLM under 64 concurrent clients for 60 s, ours next to the stock ORT model.

For each model (prepare.py and load_models.py make them where the weights are):
    ours            DEST/minilm_fp16.onnx: the fp16 export with our node (required)
    stock optimized DEST/load/stock/model.onnx: the unmodified model, ORT-optimized, no custom op (required)
    ours optimized  DEST/load/ours_optimized/model.onnx: `--optimize`, our node (served when present)
it writes the Python-backend encoder model `encexport triton --flavour python` writes (KIND_GPU: ORT CUDA
with libencexport_ort.so), starts tritonserver on it (encexport.triton.server, as `encexport serve` does),
checks the log says the CUDA provider runs the model, warms up, then runs the load generator (loadgen.py):
KServe v2 JSON over HTTP, one real sentence per request, unpadded, every answer judged against the unmodified
PyTorch model's embedding with the fp16 tolerance of encexport/check/tolerances.py. 0 errors and 0 wrong
answers are required. The server is stopped after each model, also on failure.

Results: load/load.json, load/load.md (+ load.png with matplotlib), load/<model>-tritonserver.log. Knobs:
ENCEXPORT_GPU_MODELS (default .gpu_models), ENCEXPORT_LOAD_SECONDS (60), ENCEXPORT_LOAD_CLIENTS (64),
ENCEXPORT_LOAD_PROCESSES (client processes, 8), ENCEXPORT_LOAD_INSTANCES (1), ENCEXPORT_LOAD_KIND (gpu; cpu
runs the same step on a machine without one).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .load_models import OURS_OPTIMIZED, STOCK
from .loadgen import Judge, passed, run_load, v2_request

MODEL_NAME = "all_minilm_l6_v2_py"  # the name `encexport triton` gives the Python-backend encoder
OUTPUT = "sentence_embedding"
MAX_BATCH = 8  # `encexport triton`'s default
START_TIMEOUT = 240.0  # the stub imports onnxruntime and builds a CUDA session per instance
# (label, file under the models folder, required)
MODELS = (("ours", Path("minilm_fp16.onnx"), True), ("stock optimized", STOCK, True),
          ("ours optimized", OURS_OPTIMIZED, False))


def say(msg: str) -> None:
    print(f"[gpu_check] load: {msg}", file=sys.stderr, flush=True)


@dataclasses.dataclass(frozen=True)
class Settings:
    seconds: float = 60.0
    clients: int = 64
    processes: int = 8
    instances: int = 1
    kind: str = "gpu"

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get
        return cls(float(env("ENCEXPORT_LOAD_SECONDS", "60")), int(env("ENCEXPORT_LOAD_CLIENTS", "64")),
                   int(env("ENCEXPORT_LOAD_PROCESSES", "8")), int(env("ENCEXPORT_LOAD_INSTANCES", "1")),
                   env("ENCEXPORT_LOAD_KIND", "gpu"))


def workload(reference_npz: Path) -> tuple[list[bytes], Judge, list[int]]:
    """One request per prepared sentence (trimmed to its own length), the judge and the lengths."""
    from ..check.tolerances import tolerance

    data = np.load(reference_npz)
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in data.files]
    lengths = [int(n) for n in data["attention_mask"].sum(1)]
    requests = [v2_request({n: data[n][i:i + 1, :length].astype(np.int64) for n in names}, OUTPUT)
                for i, length in enumerate(lengths)]
    tol = tolerance("fp16", OUTPUT)
    return requests, Judge(data["embedding"], tol.atol, tol.rtol, tol.min_cosine), lengths


def missing_inputs(models: Path) -> list[str]:
    wanted = [Path("minilm_reference.npz")] + [path for _, path, required in MODELS if required]
    return [str(models / p) for p in wanted if not (models / p).is_file()]


def providers_line(log: str, model: str) -> str | None:
    """What the served model printed about its ONNX Runtime session (templates/encoder_model.py)."""
    found = re.findall(rf"{re.escape(model)}: ONNX Runtime providers (\[.*\])", log)
    return found[-1] if found else None


def gpu_processes() -> list[str]:
    """nvidia-smi's view of who holds GPU memory while the server is up: evidence the model sits on the GPU."""
    try:
        text = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,process_name,used_memory",
                               "--format=csv,noheader"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def device_name() -> str:
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                              text=True, timeout=20).stdout.strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "unknown (no nvidia-smi)"


def serve_one(label: str, onnx: Path, library: Path, work: Path, out: Path, settings: Settings,
              requests: list[bytes], judge: Judge) -> dict:
    """Write, serve, warm up and load one model; the record (the server is always stopped)."""
    from ..triton.python_flavour import write_encoder
    from ..triton.server import prepare

    key = label.replace(" ", "_")
    repo = work / key / "repo"
    if repo.exists():
        import shutil

        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    write_encoder(repo / MODEL_NAME, onnx, library, max_batch=MAX_BATCH, instances=settings.instances,
                  kind=settings.kind)
    server, _ = prepare(repo, work / key / "server", models=(MODEL_NAME,))  # PYTHONPATH's packages included
    record = {"model": label, "onnx": str(onnx), "kind": f"KIND_{settings.kind.upper()}",
              "instances": settings.instances, "max_batch": MAX_BATCH}
    try:
        say(f"{label}: starting tritonserver on {onnx.name} (at most {START_TIMEOUT:.0f} s)")
        started = time.monotonic()
        server.start(timeout=START_TIMEOUT)
        record["start_s"] = round(time.monotonic() - started, 1)
        record["providers"] = providers_line(server.logs(), MODEL_NAME)
        wanted = "CUDAExecutionProvider" if settings.kind == "gpu" else "CPUExecutionProvider"
        if not record["providers"] or not record["providers"].startswith(f"['{wanted}'"):
            record["failure"] = (f"the served model runs on {record['providers'] or 'an unreported provider'}, "
                                 f"not {wanted}: give the server's Python an onnxruntime with that provider "
                                 "(onnxruntime-gpu on PYTHONPATH) and see the server log")
            return record
        say(f"{label}: ready in {record['start_s']} s, providers {record['providers']}; warming up")
        host, port = "127.0.0.1", server.http_port
        record["warmup"] = run_load(host, port, MODEL_NAME, requests, judge, output=OUTPUT, clients=4,
                                    seconds=min(10.0, settings.seconds), processes=1)
        say(f"{label}: {settings.clients} clients for {settings.seconds:.0f} s")
        record["load"] = run_load(host, port, MODEL_NAME, requests, judge, output=OUTPUT, clients=settings.clients,
                                  seconds=settings.seconds, processes=settings.processes)
        record["gpu_processes"] = gpu_processes() if settings.kind == "gpu" else []
        record["server_errors"] = server.errors()[:10]
        r = record["load"]
        say(f"{label}: {r['requests']} answers, {r['errors']} errors, {r['wrong_answers']} wrong, "
            f"{r['throughput_rps']} req/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, min cosine {r['min_cosine']:.6f}")
    except Exception as exc:  # noqa: BLE001 - the step reports it and moves on to the next model
        record["failure"] = f"{type(exc).__name__}: {str(exc)[:2000]}"
    finally:
        server.stop()
        (out / f"{key}-tritonserver.log").write_text(server.logs())
    return record


def markdown(result: dict) -> str:
    from ..provenance import describe

    s = result["settings"]
    lines = [f"## Triton under load ({result['device']}, {describe(result['source'])})", "",
             f"all-MiniLM-L6-v2 served by tritonserver's Python backend (ORT, KIND_{s['kind'].upper()}, "
             f"{s['instances']} instance, max_batch {MAX_BATCH}); {s['clients']} concurrent HTTP clients "
             f"({s['processes']} processes) for {s['seconds']:.0f} s; one sentence per request "
             f"({result['sentences']} real sentences of {result['lengths'][0]}-{result['lengths'][1]} tokens), "
             f"every answer checked against PyTorch fp32 ({result['tolerance']}).", "",
             "| model | providers | answers | errors | wrong | req/s | p50 ms | p90 ms | p99 ms | min cosine | "
             "max abs | result |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for m in result["models"]:
        r = m.get("load")
        if r is None:
            lines.append(f"| {m['model']} | {m.get('providers') or ''} | | | | | | | | | | **FAIL**: "
                         f"{m.get('failure', 'not run')[:200]} |")
            continue
        lines.append(f"| {m['model']} | {m['providers']} | {r['requests']} | {r['errors']} | {r['wrong_answers']} | "
                     f"{r['throughput_rps']} | {r['p50_ms']} | {r['p90_ms']} | {r['p99_ms']} | "
                     f"{r['min_cosine']:.6f} | {r['max_abs']:.2e} | {'PASS' if m['passed'] else '**FAIL**'} |")
    return "\n".join(lines) + "\n"


def step(out: Path, root: Path) -> bool:
    from .. import native
    from ..provenance import source_revision

    settings = Settings.from_env()
    models = Path(os.environ.get("ENCEXPORT_GPU_MODELS", root / ".gpu_models"))
    missing = missing_inputs(models)
    if missing:
        say(f"missing {', '.join(missing)}: run `python -m encexport.gpu_check prepare {models}` where the "
            "all-MiniLM-L6-v2 weights are, and bring that folder here")
        return False
    try:
        from ..triton.server import server_binary

        binary = server_binary()
    except Exception as exc:  # noqa: BLE001 - DeployError or a broken install: the same fix
        say(f"no tritonserver: {exc}. Install nvidia-pytriton (pip install -e '.[serve]') or put a folder "
            "holding it on PYTHONPATH")
        return False
    if not binary.is_file():
        say(f"{binary} is missing: reinstall nvidia-pytriton")
        return False
    library = native.library_path("ort")
    requests, judge, lengths = workload(models / "minilm_reference.npz")
    folder = out / "load"
    folder.mkdir(parents=True, exist_ok=True)
    work = root / "build" / "load"  # repositories hold a 45 MB model each: kept out of the returned run folder
    records = []
    for label, path, required in MODELS:
        if not (models / path).is_file():
            say(f"{label}: {models / path} not here; skipped")
            continue
        record = serve_one(label, models / path, library, work, folder, settings, requests, judge)
        record["passed"] = "load" in record and passed(record["load"], settings.clients)
        records.append(record)
    result = {"source": source_revision(), "device": device_name(), "settings": dataclasses.asdict(settings),
              "sentences": len(requests), "lengths": [min(lengths), max(lengths)],
              "tolerance": f"fp16 {OUTPUT}: {judge_text(judge)}", "models": records}
    (folder / "load.json").write_text(json.dumps(result, indent=1) + "\n")
    (folder / "load.md").write_text(markdown(result))
    try:
        from .plots import plot_load

        plot_load(result, folder / "load.png")
    except ImportError:
        pass  # no matplotlib on this machine: `python -m encexport.gpu_check plots` redraws it from load.json
    print(markdown(result), file=sys.stderr)
    return bool(records) and all(r["passed"] for r in records)


def judge_text(judge: Judge) -> str:
    return f"atol {judge.atol:g}, rtol {judge.rtol:g}, cos >= {judge.min_cosine:g}"
