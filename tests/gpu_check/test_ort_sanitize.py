"""The `ort-sanitize` step on the CPU: the driver's sessions and reference (CPU provider), the sanitizer's summary
lines read into results, and the step itself around a stand-in compute-sanitizer (clean, hazards, a hang)."""

from __future__ import annotations

import dataclasses
import json
import os
import time

import pytest

from encexport.gpu_check import ort_sanitize, ort_sanitize_driver
from encexport.gpu_check.sanitizer_log import errors, findings, summaries
from encexport.gpu_check.summary import write

CLEAN_RUN = ("ort-sanitize driver: case 0 ok  max abs 1.00e-04  ...\nort-sanitize driver: 12/12 cases ok\n"
             "========= ERROR SUMMARY: 0 errors\n")


@pytest.mark.parametrize("index", range(len(ort_sanitize_driver.CASES)))
def test_driver_cases_run_and_match_the_reference_on_the_cpu_provider(index, ort_library):
    case = ort_sanitize_driver.CASES[index]
    case = dataclasses.replace(case, backend="auto" if case.backend == "flash" else case.backend)  # no CPU flash
    assert ort_sanitize_driver.run_case(case, index, ["CPUExecutionProvider"]) <= ort_sanitize_driver.TOL[case.dtype]


def test_summary_lines_and_their_counts():
    text = ("=== memcheck ===\n========= Invalid __global__ read of size 2 bytes\n"
            "========= ERROR SUMMARY: 1 error\n=== racecheck ===\n"
            "========= RACECHECK SUMMARY: 2 hazards displayed (1 errors, 1 warnings)\n")
    found = summaries(text)
    assert found == {"memcheck": "1 error", "racecheck": "2 hazards displayed (1 errors, 1 warnings)"}
    assert [errors(v) for v in found.values()] == [1, 2]
    assert errors("0 errors") == 0 and errors("garbled") is None
    assert findings(text) == ["Invalid __global__ read of size 2 bytes"]


def test_verdict_needs_zero_errors_every_case_and_exit_zero():
    assert ort_sanitize.verdict("memcheck", CLEAN_RUN, 0)["passed"]
    assert not ort_sanitize.verdict("memcheck", CLEAN_RUN.replace("12/12", "11/12"), 1)["passed"]
    assert not ort_sanitize.verdict("memcheck", CLEAN_RUN.replace("0 errors", "3 errors"), 3)["passed"]
    hung = ort_sanitize.verdict("racecheck", "ort-sanitize driver: case 0 ok\n", None)
    assert hung["summary"] == "timed out" and not hung["passed"]


def _fake_sanitizer(folder, body):
    """A compute-sanitizer stand-in on PATH that logs its arguments and prints what `body` says."""
    folder.mkdir()
    script = folder / "compute-sanitizer"
    script.write_text(f"#!/bin/sh\necho \"args: $*\"\n{body}\n")
    script.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def test_step_writes_results_and_summary(tmp_path, monkeypatch, capsys):
    body = "printf \"" + CLEAN_RUN.replace("\n", "\\n") + "\"\n" + \
           'case "$*" in *racecheck*) echo "========= RACECHECK SUMMARY: 0 hazards displayed (0 errors, 0 warnings)";; esac'
    monkeypatch.setenv("PATH", _fake_sanitizer(tmp_path / "bin", body))
    out = tmp_path / "run"
    out.mkdir()
    assert ort_sanitize.step(out, tmp_path)
    result = json.loads((out / "ort_sanitize.json").read_text())
    assert [t["tool"] for t in result["tools"]] == ["memcheck", "racecheck"]
    assert all(t["passed"] and t["errors"] == 0 for t in result["tools"]) and result["source"]["commit"]
    log = (out / "ort_sanitizer.log").read_text()
    assert "--target-processes all" in log and "--error-exitcode 3" in log and "ort_sanitize_driver" in log
    write(out)
    text = capsys.readouterr().out
    assert "| memcheck | 0 errors | 0 | 12/12 | 0 | PASS |" in text


def test_a_hanging_run_is_killed_at_the_timeout(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _fake_sanitizer(tmp_path / "bin", "sleep 60"))
    monkeypatch.setenv("ENCEXPORT_ORT_SANITIZE_TIMEOUT", "1")
    monkeypatch.setenv("ENCEXPORT_ORT_SANITIZE_TOOLS", "memcheck")
    (tmp_path / "run").mkdir()
    started = time.monotonic()
    assert not ort_sanitize.step(tmp_path / "run", tmp_path)
    assert time.monotonic() - started < 20
    result = json.loads((tmp_path / "run" / "ort_sanitize.json").read_text())
    assert result["tools"][0]["summary"] == "timed out"
