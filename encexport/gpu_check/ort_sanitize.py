"""The `ort-sanitize` step: ONNX Runtime itself, with our op on CUDAExecutionProvider, under compute-sanitizer.

The `sanitize` step drives the kernel library through its own driver; this one runs the Python process that
builds real ORT sessions (ort_sanitize_driver.py) under memcheck and racecheck, so the op's binding, ORT's
allocator and stream, and our kernels are checked together. `--target-processes all` follows any child the
interpreter starts. Writes ort_sanitizer.log (sections `=== TOOL ===`) and ort_sanitize.json: per tool the
summary line, the error count (0 required), the driver's own verdict (every answer checked against float64)
and the first distinct reports. ENCEXPORT_ORT_SANITIZE_TIMEOUT (seconds per tool, default 240) bounds each run;
ENCEXPORT_ORT_SANITIZE_TOOLS picks tools (default memcheck,racecheck); ENCEXPORT_ORT_SANITIZE_FLAGS adds
compute-sanitizer options (the results record the command as run).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from .sanitizer_log import errors, findings, section_header, summaries

TOOLS = ("memcheck", "racecheck")
DRIVER = [sys.executable, "-m", "encexport.gpu_check.ort_sanitize_driver"]


def command(tool: str) -> list[str]:
    extra = os.environ.get("ENCEXPORT_ORT_SANITIZE_FLAGS", "").split()  # e.g. --report-api-errors no
    return ["compute-sanitizer", "--tool", tool, "--target-processes", "all", "--error-exitcode", "3",
            "--print-limit", "50", *extra, *DRIVER]


def _run_bounded(cmd: list[str], log, timeout: float, cwd: Path) -> int | None:
    """The exit code, or None after killing the whole process group at the timeout."""
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None


def verdict(tool: str, text: str, exit_code: int | None) -> dict:
    """One tool's result from its section of the log."""
    line = summaries(section_header(tool) + text).get(tool)
    count = errors(line) if line else None
    driver = re.findall(r"ort-sanitize driver: (\d+)/(\d+) cases ok", text)
    ok_cases, cases = (int(driver[-1][0]), int(driver[-1][1])) if driver else (0, None)
    passed = exit_code == 0 and count == 0 and cases is not None and ok_cases == cases
    return {"tool": tool, "summary": line or ("timed out" if exit_code is None else "no summary printed"),
            "errors": count, "exit_code": exit_code, "cases": cases, "cases_ok": ok_cases, "passed": passed,
            "findings": findings(text)}


def markdown(result: dict) -> str:
    from ..provenance import describe

    lines = [f"## compute-sanitizer through ONNX Runtime (ORT CUDA op, {result.get('cases', '?')} cases; "
             f"{describe(result['source'])})", "",
             "| tool | summary | errors | driver cases ok | exit | result |", "|---|---|---|---|---|---|"]
    for r in result["tools"]:
        lines.append(f"| {r['tool']} | {r['summary']} | {r['errors']} | {r['cases_ok']}/{r['cases']} | "
                     f"{r['exit_code']} | {'PASS' if r['passed'] else '**FAIL**'} |")
    for r in result["tools"]:
        if r["findings"]:
            lines += ["", f"{r['tool']} reported:", *(f"- `{f}`" for f in r["findings"])]
    return "\n".join(lines) + "\n"


def step(out: Path, root: Path) -> bool:
    from ..provenance import source_revision
    from .ort_sanitize_driver import CASES

    if shutil.which("compute-sanitizer") is None:
        print("[gpu_check] compute-sanitizer not found: put the CUDA toolkit's bin on PATH", file=sys.stderr)
        return False
    tools = [t for t in os.environ.get("ENCEXPORT_ORT_SANITIZE_TOOLS", ",".join(TOOLS)).split(",") if t]
    timeout = float(os.environ.get("ENCEXPORT_ORT_SANITIZE_TIMEOUT", "240"))
    log_path = out / "ort_sanitizer.log"
    log_path.write_text("")
    results = []
    for tool in tools:
        print(f"[gpu_check] ort-sanitize: {tool} over {len(CASES)} ORT sessions (at most {timeout:.0f} s)",
              file=sys.stderr, flush=True)
        start = log_path.stat().st_size
        with open(log_path, "a") as log:
            log.write(section_header(tool))
            log.flush()
            code = _run_bounded(command(tool), log, timeout, root)
        text = log_path.read_bytes()[start:].decode(errors="replace")
        results.append(verdict(tool, text, code))
        r = results[-1]
        print(f"[gpu_check] ort-sanitize: {tool}: {r['summary']}; driver {r['cases_ok']}/{r['cases']} cases ok; "
              f"exit {r['exit_code']}", file=sys.stderr, flush=True)
    result = {"source": source_revision(), "cases": len(CASES), "command": " ".join(command("TOOL")),
              "tools": results}
    (out / "ort_sanitize.json").write_text(json.dumps(result, indent=1) + "\n")
    return bool(results) and all(r["passed"] for r in results)
