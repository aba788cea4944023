"""Deployment mistakes as a user makes them, through the CLI: each one reproduced, with its outcome asserted.

- instance kind: `--kind auto` writes KIND_CPU where no GPU is visible (and says so), KIND_GPU where one is;
  serving a KIND_GPU repository without a GPU is refused with the fix, before any server starts;
- adding a flavour to an existing repository merges it (shared models kept when identical, SERVE.md describing
  everything present); a refused or failed run leaves the repository byte for byte as it was, with no
  half-written folder next to it;
- a repository written for another root (`--deploy-root`) is copied there, the original removed, and the copy
  served by `encexport serve` (the real tritonserver, CPU) gives PyTorch's answers; Ctrl-C / SIGTERM stop it
  with exit status 0;
- every refusal: exit status 2, one `encexport: error:` line naming the fix, no traceback.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from encexport.cli.main import main

tritonclient_http = pytest.importorskip("tritonclient.http")
tritonclient_grpc = pytest.importorskip("tritonclient.grpc")
pytest.importorskip("pytriton")

from serving_common import BASE, TEXTS, cosine, http_token_inputs  # noqa: E402

from encexport.triton.validate import validate_repository  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
KIND = {1: "KIND_GPU", 2: "KIND_CPU"}


def triton(repo: Path, onnx: Path, *args: str) -> int:
    return main(["triton", "--model", "all-MiniLM-L6-v2", "--repo", str(repo), "--onnx", str(onnx), *args])


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


def leftovers(repo: Path) -> list[str]:
    return [p.name for p in repo.parent.iterdir() if p.name.startswith(f".{repo.name}-")]


def kinds(repo: Path) -> dict[str, str]:
    return {name: KIND[c.instance_group[0].kind] for name, c in validate_repository(repo).items()
            if c.instance_group}


def refused(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    # one error line (transformers' weight-loading progress may come before it), no traceback
    assert len(re.findall(r"(?:^|\r)encexport: error:", err, re.M)) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


# --- instance kind --------------------------------------------------------------------------------------------

def test_kind_auto_writes_cpu_instances_where_no_gpu_is_visible(exported, tmp_path, capsys, monkeypatch):
    from encexport.triton import devices

    monkeypatch.setattr(devices, "visible_gpus", lambda: 0)  # what the driver answers on the CPU machine
    assert triton(tmp_path / "cpu", exported, "--flavour", "python") == 0  # no --kind: auto
    assert "KIND_CPU (--kind auto: no GPU visible here" in capsys.readouterr().out
    assert kinds(tmp_path / "cpu") == {f"{BASE}_py": "KIND_CPU", f"{BASE}_tokenizer": "KIND_CPU"}

    monkeypatch.setattr(devices, "visible_gpus", lambda: 2)
    assert triton(tmp_path / "gpu", exported, "--flavour", "python") == 0
    assert "KIND_GPU (--kind auto: 2 GPU(s) visible here" in capsys.readouterr().out
    assert kinds(tmp_path / "gpu") == {f"{BASE}_py": "KIND_GPU", f"{BASE}_tokenizer": "KIND_CPU"}
    assert "onnxruntime-gpu==" in (tmp_path / "gpu" / "requirements.txt").read_text()


def test_serving_gpu_instances_without_a_gpu_is_refused_with_the_fix(exported, tmp_path, capsys, monkeypatch):
    from encexport.triton import devices

    monkeypatch.setattr(devices, "visible_gpus", lambda: 0)
    repo = tmp_path / "repo"
    assert triton(repo, exported, "--flavour", "python", "--kind", "gpu") == 0
    capsys.readouterr()
    code = main(["serve", str(repo), "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0"])
    refused(code, capsys.readouterr().err, "KIND_GPU", "no GPU is visible", "--kind cpu")


# --- adding to a repository -----------------------------------------------------------------------------------

def test_adding_a_flavour_merges_into_the_repository(exported, tmp_path, capsys):
    repo = tmp_path / "repo"
    assert triton(repo, exported, "--flavour", "python") == 0
    tokenizer = snapshot(repo / f"{BASE}_tokenizer")
    capsys.readouterr()
    assert triton(repo, exported, "--flavour", "onnxruntime") == 0
    out = capsys.readouterr().out
    assert f"unchanged {repo / f'{BASE}_tokenizer'}" in out and f"added     {repo / f'{BASE}_ort'}" in out
    assert set(validate_repository(repo)) == {f"{BASE}_py", f"{BASE}_tokenizer", f"{BASE}_embed", f"{BASE}_ort",
                                              f"{BASE}_embed_ort"}
    assert snapshot(repo / f"{BASE}_tokenizer") == tokenizer
    serve_md = (repo / "SERVE.md").read_text()
    for name in validate_repository(repo):
        assert f"`{name}`" in serve_md
    assert "onnxruntime==" in (repo / "requirements.txt").read_text()
    assert not leftovers(repo)


def test_a_refused_or_failed_run_leaves_the_repository_as_it_was(exported, tmp_path, capsys, monkeypatch):
    from encexport.triton import python_flavour, repository

    repo = tmp_path / "repo"
    assert triton(repo, exported, "--flavour", "python") == 0
    before = snapshot(repo)
    capsys.readouterr()

    # Other options change the shared tokenizer model: refused after the build, before any move.
    refused(triton(repo, exported, "--flavour", "onnxruntime", "--max-batch", "4"), capsys.readouterr().err,
            f"{BASE}_tokenizer", "--force", "Nothing was changed")
    assert snapshot(repo) == before and not leftovers(repo)

    # A failure in the middle of the build (the onnxruntime model already written).
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    with monkeypatch.context() as m:
        m.setattr(python_flavour, "write_tokenizer", broken)
        assert triton(repo, exported, "--flavour", "onnxruntime") == 1
    assert "disk full" in capsys.readouterr().err
    assert snapshot(repo) == before and not leftovers(repo)

    # A failure while moving folders into place: the moves already done are undone.
    real_rename, calls = os.rename, []

    def rename_fails_late(src, dst):
        if repo in (Path(src).parent, Path(dst).parent):
            calls.append(dst)
            if len(calls) == 3:  # _ort moved in, the old tokenizer set aside, the new one fails
                raise OSError(28, "No space left on device")
        real_rename(src, dst)

    with monkeypatch.context() as m:
        m.setattr(repository.os, "rename", rename_fails_late)
        assert triton(repo, exported, "--flavour", "onnxruntime", "--max-batch", "4", "--force") == 1
    capsys.readouterr()
    assert len(calls) >= 3 and snapshot(repo) == before and not leftovers(repo)

    # A new repository appears whole or not at all.
    with monkeypatch.context() as m:
        m.setattr(python_flavour, "write_tokenizer", broken)
        assert triton(tmp_path / "fresh" / "repo", exported, "--flavour", "onnxruntime") == 1
    assert not (tmp_path / "fresh").exists()


@pytest.mark.parametrize("args, words", [
    (("--deploy-root", "models"), ("not absolute", "--deploy-root /models")),
    (("--engine", "/no/such.plan"), ("--engine /no/such.plan not found",)),
    (("--stub-numpy", "/tmp"), ("encexport serve REPO --stub-numpy DIR",)),
])
def test_triton_option_mistakes(exported, tmp_path, capsys, args, words):
    refused(triton(tmp_path / "repo", exported, *args), capsys.readouterr().err, *words)
    assert not (tmp_path / "repo").exists()


def test_serve_mistakes(tmp_path, repo, capsys):
    refused(main(["serve", str(tmp_path / "none")]), capsys.readouterr().err, "not a folder")
    (tmp_path / "empty").mkdir()
    refused(main(["serve", str(tmp_path / "empty")]), capsys.readouterr().err, "no model folder", "encexport triton")
    refused(main(["serve", str(repo), "--model", f"{BASE}_ort"]), capsys.readouterr().err,
            "backend 'onnxruntime' is not in this server", "SERVE.md")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        refused(main(["serve", str(repo), "--http-port", str(port)]), capsys.readouterr().err,
                f"127.0.0.1:{port} is not free", "--http-port")


# --- a repository served from a copy at another path, by `encexport serve` --------------------------------------

def start_serve(repo: Path, *args: str) -> tuple[subprocess.Popen, dict[str, int], list[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "encexport", "serve", str(repo), "--http-port", "0",
                             "--grpc-port", "0", "--metrics-port", "0", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip())
        if line.startswith("ready;"):
            break
    else:
        proc.wait()
        pytest.fail(f"encexport serve did not get ready (exit {proc.returncode}):\n" + "\n".join(lines)
                    + proc.stderr.read())
    text = "\n".join(lines)
    ports = {"http": int(re.search(r"HTTP +http://127\.0\.0\.1:(\d+)", text).group(1)),
             "grpc": int(re.search(r"gRPC +127\.0\.0\.1:(\d+)", text).group(1))}
    return proc, ports, lines


def servers_of(repo: Path, http_port: int) -> list[int]:
    """pids of the servers of `repo` listening on `http_port` (the session's fixture may serve `repo` too)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if {f"--model-repository={repo}".encode(), f"--http-port={http_port}".encode()} <= set(cmdline):
            pids.append(int(entry.name))
    return pids


def stop(proc: subprocess.Popen, sig: int) -> tuple[int, str]:
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, out


def test_a_copy_at_its_deploy_root_is_served_by_encexport_serve(exported, tmp_path, reference):
    written, served = tmp_path / "written", tmp_path.resolve() / "elsewhere" / "models"
    assert triton(written, exported, "--flavour", "all", "--deploy-root", str(served), "--max-batch", "8") == 0
    served.parent.mkdir()
    shutil.copytree(written, served)
    shutil.rmtree(written)  # nothing may point back at where it was written

    site = {p for p in sys.path if "site-packages" in p}
    for path in served.rglob("*"):
        if path.is_file() and path.suffix in (".pbtxt", ".py", ".md", ".txt", ".json"):
            text = path.read_text(errors="replace")
            assert str(written) not in text, path
            assert not [s for s in site if s in text], f"{path} names this environment's site-packages"
    library = validate_repository(served)[f"{BASE}_ort"].model_operations.op_library_filename[0]
    assert library == str(served / f"{BASE}_ort" / "libencexport_ort.so") and Path(library).is_file()
    requirements = (served / "requirements.txt").read_text()
    assert re.search(r"^numpy==1\.", requirements, re.M) and re.search(r"^onnxruntime==\d", requirements, re.M)
    assert re.search(r"^tokenizers==\d", requirements, re.M)

    proc, ports, lines = start_serve(served)
    try:
        assert any(line.startswith("  skipped  " + f"{BASE}_ort: backend 'onnxruntime'") for line in lines), lines
        ref, batch = reference
        with tritonclient_http.InferenceServerClient(f"127.0.0.1:{ports['http']}") as client:
            inputs = http_token_inputs(tritonclient_http, batch)
            assert cosine(client.infer(f"{BASE}_py", inputs).as_numpy("sentence_embedding"), ref).min() >= 0.9999
        text = np.array([[t.encode()] for t in TEXTS], dtype=object)
        with tritonclient_grpc.InferenceServerClient(f"127.0.0.1:{ports['grpc']}") as client:
            tensor = tritonclient_grpc.InferInput("TEXT", list(text.shape), "BYTES")
            tensor.set_data_from_numpy(text)
            embedded = client.infer(f"{BASE}_embed", [tensor]).as_numpy("sentence_embedding")
        assert cosine(embedded, ref).min() >= 0.9999
        assert servers_of(served, ports['http'])
    finally:
        code, out = stop(proc, signal.SIGINT)  # Ctrl-C
    assert code == 0 and "stopped (signal SIGINT)" in out, out
    assert not servers_of(served, ports['http'])


def test_serve_stops_cleanly_on_sigterm(repo):
    proc, ports, _ = start_serve(repo, "--model", f"{BASE}_tokenizer")
    try:
        with tritonclient_http.InferenceServerClient(f"127.0.0.1:{ports['http']}") as client:
            assert client.is_model_ready(f"{BASE}_tokenizer")
    finally:
        code, out = stop(proc, signal.SIGTERM)
    assert code == 0 and "stopped (signal SIGTERM)" in out, out
    assert not servers_of(repo.resolve(), ports['http'])
