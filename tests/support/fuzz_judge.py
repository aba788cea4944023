"""Runs the fuzz runner in a subprocess and judges every case: what the library did vs what the case expects.

Shared by the plain run (test_ort_fuzz.py) and the valgrind run (test_ort_valgrind.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ort_fuzz_cases import Case, make_case
from reference import attention_reference

RUNNER = Path(__file__).resolve().parent / "ort_fuzz_runner.py"
# A case that takes longer than this on the CPU has hung for our purposes (the largest real one takes ~10 ms).
HANG_SECONDS = 5.0
TOL = {"float32": 1e-4, "float16": 4e-3, "bfloat16": 3e-2}


@dataclass
class Outcome:
    case: Case
    record: dict | None  # the runner's "done" record; None when the process died on this case
    problems: list = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.record is None:
            return "crashed"
        return "accepted" if self.record["status"] == "ok" else "refused"


def run_runner(lib: Path, seed: int, indices: list[int], out: Path, *, prefix: list[str] = (), env=None,
               timeout: float = 600) -> subprocess.CompletedProcess:
    cmd = [*prefix, sys.executable, str(RUNNER), "--lib", str(lib), "--seed", str(seed),
           "--indices", ",".join(map(str, indices)), "--out", str(out)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def read_records(out: Path) -> tuple[dict, list, set]:
    done, generator_errors, started = {}, [], set()
    path = out / "progress.jsonl"
    for line in path.read_text().splitlines() if path.exists() else []:
        rec = json.loads(line)
        if rec["event"] == "start":
            started.add(rec["index"])
        elif rec["event"] == "done":
            done[rec["index"]] = rec
        elif rec["event"] == "generator_error":
            generator_errors.append(rec)
    return done, generator_errors, started


def _floats(a: np.ndarray, dtype: str) -> torch.Tensor:
    if dtype == "bfloat16":
        a = (a.astype(np.uint32) << 16).view(np.float32)
    return torch.from_numpy(np.asarray(a, dtype=np.float32))


def reference_for(case: Case) -> np.ndarray:
    attrs = {k: v[1] for k, v in case.attrs.items()}
    H, D = int(attrs["num_heads"]), int(attrs["head_size"])
    q, k, v = (_floats(a, case.dtype) for a in case.qkv())  # packed q|k|v rows split by columns here
    lengths = case.arrays[3] if len(case.arrays) > 3 else None
    lengths = None if lengths is None else torch.from_numpy(lengths)
    scale = float(np.float32(attrs["scale"])) if "scale" in attrs else float(np.float32(1 / np.sqrt(np.float32(D))))
    return attention_reference(q, k, v, lengths, num_heads=H, num_kv_heads=int(attrs.get("num_kv_heads", H)),
                               head_size=D, scale=scale, layout=case.layout).numpy()


def explicit_attention(case: Case) -> np.ndarray:
    """Plain float64 softmax math for the non-finite cases (padded layout). tests/reference.py cannot judge them:
    torch's fused CPU SDPA turns a NaN query row into zeros instead of propagating it."""
    attrs = {k: v[1] for k, v in case.attrs.items()}
    H, D = int(attrs["num_heads"]), int(attrs["head_size"])
    Hkv = int(attrs.get("num_kv_heads", H))
    scale = float(np.float32(attrs["scale"])) if "scale" in attrs else 1 / np.sqrt(D)
    q, k, v = case.qkv()
    lens = case.arrays[3]
    out = np.zeros(q.shape, np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        for b, L in enumerate(lens):
            for h in range(H):
                hk = h // (H // Hkv)
                qs = q[b, :L, h * D:(h + 1) * D].astype(np.float64)
                ks = k[b, :L, hk * D:(hk + 1) * D].astype(np.float64)
                vs = v[b, :L, hk * D:(hk + 1) * D].astype(np.float64)
                s = qs @ ks.T * scale
                p = np.exp(s - s.max(-1, keepdims=True))
                out[b, :L, h * D:(h + 1) * D] = (p / p.sum(-1, keepdims=True)) @ vs
    return out


def check_accepted(case: Case, out: np.ndarray) -> list[str]:
    """Problems with an accepted case's output (empty list: correct)."""
    q = case.qkv()[0]  # the output has query's shape; with packed q|k|v input rows, that of their q part
    if tuple(out.shape) != tuple(q.shape):
        return [f"output shape {out.shape} != query shape {q.shape}"]
    if case.check == "empty":
        return [] if out.size == 0 else [f"expected an empty output, got {out.size} elements"]
    problems = []
    lengths = case.arrays[3] if len(case.arrays) > 3 else None
    if case.layout == "padded" and lengths is not None:  # padded query rows are exact zeros, never NaN
        for b, L in enumerate(lengths):
            if np.any(out[b, int(L):] != 0):
                problems.append(f"padding rows of sequence {b} (length {int(L)}) are not zero")
    if case.check == "finite":  # huge scale: near one-hot softmax, still a convex combination of v
        v = _floats(case.qkv()[2], case.dtype).numpy()
        if not np.isfinite(out).all():
            problems.append("non-finite output with a finite (huge) scale")
        elif np.abs(out).max() > np.abs(v).max() * (1 + 1e-5) + 1e-6:
            problems.append("output outside the range of the values")
        return problems
    ref = explicit_attention(case) if case.check == "nan_rows" else reference_for(case)
    if case.category == "non_finite:nan_padding" and not np.isfinite(out).all():
        problems.append("NaN/Inf written in the padding leaked into the output")
    if not np.array_equal(np.isnan(out), np.isnan(ref)):
        problems.append(f"NaN pattern differs from the reference ({int(np.isnan(out).sum())} vs "
                        f"{int(np.isnan(ref).sum())} NaN)")
    both = np.isfinite(out) & np.isfinite(ref)
    err = float(np.abs(out[both] - ref[both]).max()) if both.any() else 0.0
    if err > TOL[case.dtype]:
        problems.append(f"max abs error {err:.3g} > {TOL[case.dtype]}")
    return problems


def judge(seed: int, indices: list[int], out: Path, proc: subprocess.CompletedProcess,
          hang_seconds: float = HANG_SECONDS) -> list[Outcome]:
    """hang_seconds: a case slower than this counts as a hang (raise it for runs under a slowing tool)."""
    done, generator_errors, started = read_records(out)
    assert not generator_errors, f"case generator failed: {generator_errors[:2]}"
    outcomes = []
    for index in indices:
        case = make_case(seed, index)
        rec = done.get(index)
        o = Outcome(case, rec)
        if rec is None and index in started:
            o.problems.append(f"the process died while running this case (exit {proc.returncode}); stderr tail: "
                              f"{proc.stderr[-800:]}")
        elif rec is None:
            o.problems.append(f"never ran: the runner exited ({proc.returncode}) before it; stderr tail: "
                              f"{proc.stderr[-300:]}")
        elif rec["seconds"] > hang_seconds:
            o.problems.append(f"took {rec['seconds']} s (> {hang_seconds} s: treated as a hang)")
        if rec is not None and case.expect == "refuse":
            msg = rec["message"].lower()
            if rec["status"] == "ok":
                o.problems.append(f"accepted, expected a refusal naming {case.keywords}")
            elif not all(k in msg for k in case.keywords):
                o.problems.append(f"refused, but the message lacks {case.keywords}: {rec['message'][:400]}")
        elif rec is not None:
            if rec["status"] != "ok":
                o.problems.append(f"refused a valid case: {rec['message'][:400]}")
            else:
                o.problems += check_accepted(case, np.load(out / f"out_{index}.npy"))
        outcomes.append(o)
    return outcomes


def summarize(outcomes: list[Outcome], **extra) -> dict:
    def table(key):
        t = defaultdict(lambda: {"cases": 0, "packed_qkv": 0, "accepted": 0, "refused": 0, "crashed": 0, "wrong": 0})
        for o in outcomes:
            row = t[key(o.case)]
            row["cases"] += 1
            row["packed_qkv"] += o.case.packed_qkv
            row[o.verdict] += 1
            row["wrong"] += bool(o.problems)
        return dict(sorted(t.items()))

    totals = {"cases": len(outcomes), "accepted": sum(o.verdict == "accepted" for o in outcomes),
              "refused": sum(o.verdict == "refused" for o in outcomes),
              "crashed": sum(o.verdict == "crashed" for o in outcomes),
              "wrong": sum(bool(o.problems) for o in outcomes),
              "expected_ok": sum(o.case.expect == "ok" for o in outcomes),
              "expected_refuse": sum(o.case.expect == "refuse" for o in outcomes),
              "packed_qkv": sum(o.case.packed_qkv for o in outcomes),
              "packed_qkv_expected_ok": sum(o.case.packed_qkv and o.case.expect == "ok" for o in outcomes),
              "packed_qkv_expected_refuse": sum(o.case.packed_qkv and o.case.expect == "refuse" for o in outcomes)}
    slowest = max((o.record["seconds"] for o in outcomes if o.record), default=0.0)
    return {**extra, "totals": totals, "slowest_case_seconds": slowest,
            "categories": table(lambda c: c.category.split(":")[0]), "subcategories": table(lambda c: c.category)}


def failures(outcomes: list[Outcome], limit: int = 15) -> str:
    bad = [o for o in outcomes if o.problems]
    lines = [f"{len(bad)} of {len(outcomes)} fuzz cases misbehaved (replay one with make_case(seed, index)):"]
    lines += [f"- {o.case.label()}\n    " + "\n    ".join(o.problems) for o in bad[:limit]]
    return "\n".join(lines)
