"""Run every available runner on the same feeds with Polygraphy's Comparator and tabulate the errors.

Padded positions of per-token outputs are zeroed in every result before comparing: their values are
unspecified (the attention node skips them), so only real tokens count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import valid_token_mask
from .tolerances import Tolerance, tolerance


@dataclass
class Row:
    runner: str
    output: str
    max_abs: float
    min_cosine: float
    tolerance: Tolerance
    within: bool  # every element within atol + rtol * |reference|

    @property
    def passed(self) -> bool:
        return self.within and self.min_cosine >= self.tolerance.min_cosine


def _mask_padding(results, feeds) -> None:
    for _, iterations in results.items():
        for feed, outputs in zip(feeds, iterations):
            mask = valid_token_mask(feed)
            if mask is None:
                continue
            for name in list(outputs.keys()):
                value = outputs[name]
                if value.ndim >= 2 and value.shape[:2] == mask.shape:
                    outputs[name] = np.where(mask.reshape(mask.shape + (1,) * (value.ndim - 2)), value, 0)


def _min_cosine(got: np.ndarray, ref: np.ndarray) -> float:
    """Smallest cosine between matching vectors (the last axis); all-zero pairs (masked padding) are skipped."""
    got = np.atleast_1d(got).astype(np.float64)
    got, ref = got.reshape(-1, got.shape[-1]), np.atleast_1d(ref).astype(np.float64).reshape(-1, got.shape[-1])
    norms = np.linalg.norm(got, axis=-1) * np.linalg.norm(ref, axis=-1)
    keep = norms > 0
    if not keep.any():
        return 1.0
    return float(((got * ref).sum(-1)[keep] / norms[keep]).min())


def compare(runners, feeds, dtype: str = "fp32") -> tuple[list[Row], bool]:
    """(rows: each runner after the first, the reference, x each output; Polygraphy's overall verdict).

    Tolerances follow `dtype`, the exported model's (encexport.check.tolerances). Polygraphy logs what it runs
    and its error statistics; the caller decides where that goes."""
    from polygraphy.comparator import Comparator, CompareFunc

    results = Comparator.run(runners, data_loader=feeds)
    _mask_padding(results, feeds)
    results_list = list(results.items())  # RunResults: [(runner name, [IterationResult per feed])]
    outputs = list(results_list[0][1][0].keys())
    tol = {n: tolerance(dtype, n) for n in outputs}
    verdict = bool(Comparator.compare_accuracy(results, compare_func=CompareFunc.simple(
        atol={n: t.atol for n, t in tol.items()}, rtol={n: t.rtol for n, t in tol.items()})))
    (_, ref), rows = results_list[0], []
    for name, iterations in results_list[1:]:
        for out in outputs:
            pairs = [(i[out].astype(np.float32), r[out].astype(np.float32)) for i, r in zip(iterations, ref)]
            t = tol[out]
            rows.append(Row(
                runner=name, output=out,
                max_abs=max(float(np.abs(g - r).max()) for g, r in pairs),
                min_cosine=min(_min_cosine(g, r) for g, r in pairs),
                tolerance=t,
                within=all(bool(np.all(np.abs(g - r) <= t.atol + t.rtol * np.abs(r))) for g, r in pairs)))
    return rows, verdict


def table(rows: list[Row], reference: str = "pytorch") -> str:
    """The verdict table: one line per runner and output, against the reference."""
    width = max([len(r.runner) for r in rows] + [len("runner")])
    owidth = max([len(r.output) for r in rows] + [len("output")])
    lines = [f"{'runner':<{width}}  {'output':<{owidth}}  {'max |err|':>9}  {'cosine':>8}  "
             f"{'tolerance':<36}  result"]
    lines += [f"{r.runner:<{width}}  {r.output:<{owidth}}  {r.max_abs:>9.2e}  {r.min_cosine:>8.6f}  "
              f"{r.tolerance.describe():<36}  {'PASS' if r.passed else 'FAIL'}" for r in rows]
    return "\n".join(lines)
