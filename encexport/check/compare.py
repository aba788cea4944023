"""Run every available runner on the same feeds with Polygraphy's Comparator and tabulate the errors.

Padded positions of per-token outputs are zeroed in every result before comparing: their values are
unspecified (the attention node skips them), so only real tokens count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import valid_token_mask

# Per-output tolerances for fp32 (atol, rtol): embeddings are L2-normalised, hidden states are O(1).
TOLERANCES = {"sentence_embedding": (1e-4, 1e-3), "last_hidden_state": (1e-3, 1e-3)}
DEFAULT_TOLERANCE = (1e-3, 1e-3)


@dataclass
class Row:
    pair: str
    output: str
    max_abs: float
    max_rel: float
    passed: bool


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


def compare(runners, feeds) -> tuple[list[Row], bool]:
    """(table rows: reference x each other runner x output, Polygraphy's overall verdict)."""
    from polygraphy.comparator import Comparator, CompareFunc

    results = Comparator.run(runners, data_loader=feeds)
    _mask_padding(results, feeds)
    results_list = list(results.items())  # RunResults: [(runner name, [IterationResult per feed])]
    outputs = list(results_list[0][1][0].keys())
    atol = {n: TOLERANCES.get(n, DEFAULT_TOLERANCE)[0] for n in outputs}
    rtol = {n: TOLERANCES.get(n, DEFAULT_TOLERANCE)[1] for n in outputs}
    verdict = bool(Comparator.compare_accuracy(results, compare_func=CompareFunc.simple(atol=atol, rtol=rtol)))
    (ref_name, ref), rows = results_list[0], []
    for name, iterations in results_list[1:]:
        for out in outputs:
            abs_err = max(float(np.abs(i[out] - r[out]).max()) for i, r in zip(iterations, ref))
            rel_err = max(float((np.abs(i[out] - r[out]) / (np.abs(r[out]) + 1e-6)).max())
                          for i, r in zip(iterations, ref))
            a, rt = atol[out], rtol[out]
            ok = all(np.all(np.abs(i[out] - r[out]) <= a + rt * np.abs(r[out])) for i, r in zip(iterations, ref))
            rows.append(Row(f"{ref_name} vs {name}", out, abs_err, rel_err, ok))
    return rows, verdict


def table(rows: list[Row]) -> str:
    width = max([len(r.pair) for r in rows] + [4])
    lines = [f"{'pair':<{width}}  {'output':<20} {'max abs':>10} {'max rel':>10}  result",
             "-" * (width + 52)]
    lines += [f"{r.pair:<{width}}  {r.output:<20} {r.max_abs:>10.3e} {r.max_rel:>10.3e}  "
              f"{'pass' if r.passed else 'FAIL'}" for r in rows]
    return "\n".join(lines)
