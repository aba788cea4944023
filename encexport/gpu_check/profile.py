"""Profiler evidence for docs/performance.md: what limits each kernel family on the benchmark's dense shapes.

Three modes, run by the GPU check's `profile` step (encexport/gpu_check/steps.py):
  python -m encexport.gpu_check profile metrics            # the METRICS this ncu knows (stdin: ncu --query-metrics)
  python -m encexport.gpu_check profile drive              # each shape once per family inside cudaProfilerStart/Stop
  python -m encexport.gpu_check profile report CSV OUT LOG # Nsight Compute's CSV -> OUT.md / OUT.json

The step runs `ncu --profile-from-start off --csv --metrics ... python -m encexport.gpu_check profile drive`, then
`report`. Per kernel we keep the duration, DRAM throughput (% of peak and bytes), tensor-pipe activity
(the HMMA pipe counter, which counts wgmma too, % of peak while the SM is active), the XU pipe's (MUFU.EX2, the
softmax's exponentials) and achieved occupancy (warps active).
"""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from pathlib import Path

# The benchmark's dense shapes (encexport/bench/shapes.py) that are profiled, by name; fp16.
PROFILED_SHAPES = ("MiniLM", "BERT-base S512", "ViT-L", "long S8192 D64", "long S8192 D128", "D256 S4096")
# (label, backend, forced flash row blocks: 1 = 64-row tiles, 2 = 128-row tiles, 0 = not flash)
FAMILIES = (("flash m128", "flash", 2), ("flash m64", "flash", 1), ("hopper", "hopper", 0), ("cudnn", "cudnn", 0))
# Metrics we ask for when this ncu knows them (names differ between GPU generations and ncu versions).
METRICS = {
    "gpu__time_duration.sum": "time_us",
    "dram__throughput.avg.pct_of_peak_sustained_elapsed": "dram_pct",
    "dram__bytes.sum": "dram_bytes",
    "sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active": "hmma_pct",
    "sm__warps_active.avg.pct_of_peak_sustained_active": "occupancy_pct",
    # The XU pipe runs MUFU.EX2: the softmax's exponentials, what bounds small head sizes.
    "sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active": "xu_pct",
    "sm__throughput.avg.pct_of_peak_sustained_elapsed": "sm_pct",
}
# Each profiled call is preceded by one marker kernel (a torch fill) so the report can split the CSV by call.
MARKER = "elementwise"


def drive() -> None:
    import torch

    from .. import _testapi

    from ..bench.shapes import default_shapes

    log = []
    marker = torch.empty(1, device="cuda")
    shapes = [x for x in default_shapes() if x.name in PROFILED_SHAPES]
    for name, b, h, s, d in ((x.name, x.batch, x.heads, x.seq, x.head_size) for x in shapes):
        q, k, v = (torch.randn(b, s, h * d, device="cuda", dtype=torch.float16) for _ in range(3))
        for family, backend, rows in FAMILIES:
            if rows == 1 and d > 128:
                continue  # one tiling only above D=128
            kw = dict(num_heads=h, num_kv_heads=h, head_size=d, scale=d ** -0.5, backend=backend)
            with _testapi.flash_tiling(rows) if rows else contextlib.nullcontext():
                try:
                    _testapi.attention(q, k, v, None, **kw)  # warm-up: builds cuDNN's graph outside the profile
                except RuntimeError as e:
                    log.append({"shape": name, "family": family, "skipped": str(e)[:200]})
                    continue
                torch.cuda.synchronize()
                torch.cuda.profiler.start()
                marker.fill_(1.0)  # one elementwise kernel right before the call
                _testapi.attention(q, k, v, None, **kw)
                torch.cuda.synchronize()
                torch.cuda.profiler.stop()
            log.append({"shape": name, "family": family})
    print(json.dumps(log))


def available_metrics(query_output: str) -> list[str]:
    """The METRICS names (without the rollup suffix) that `ncu --query-metrics` lists."""
    known = {line.split()[0] for line in query_output.splitlines() if line.strip()}
    return [m for m in METRICS if m.split(".")[0] in known]


def report(csv_path: str, out_stem: str, drive_log: str) -> None:
    text = Path(drive_log).read_text().strip()
    if not text:
        sys.exit(f"{drive_log} is empty: the profiled driver did not finish (see profile.log)")
    calls = [c for c in json.loads(text) if "skipped" not in c]
    rows = list(csv.DictReader(line for line in Path(csv_path).read_text().splitlines() if line.startswith('"')))
    kernels: dict[str, dict] = {}
    for r in rows:  # long format: one row per (kernel ID, metric)
        k = kernels.setdefault(r["ID"], {"name": r["Kernel Name"]})
        if r["Metric Name"] in METRICS:
            value = float(r["Metric Value"].replace(",", "") or "nan")
            unit = r.get("Metric Unit", "")
            if METRICS[r["Metric Name"]] == "time_us":
                value *= {"ns": 1e-3, "nsecond": 1e-3, "ms": 1e3, "msecond": 1e3}.get(unit, 1.0)
            if METRICS[r["Metric Name"]] == "dram_bytes":
                value *= {"Kbyte": 1e3, "KB": 1e3, "Mbyte": 1e6, "MB": 1e6, "Gbyte": 1e9, "GB": 1e9}.get(unit, 1.0)
            k[METRICS[r["Metric Name"]]] = value
    ordered = [kernels[i] for i in sorted(kernels, key=int)]
    # Split at the marker kernels: everything after the i-th marker belongs to call i.
    groups: list[list[dict]] = []
    for k in ordered:
        if MARKER in k["name"]:
            groups.append([])
        elif groups:
            groups[-1].append(k)
    table = []
    if len(groups) != len(calls):
        print(f"warning: {len(groups)} marker kernels for {len(calls)} profiled calls", file=sys.stderr)
    for call, kernels_of_call in zip(calls, groups):
        main = max(kernels_of_call, key=lambda k: k.get("time_us", 0.0), default=None)
        if main is None:
            continue
        table.append({**call, "kernel": main["name"][:60], "kernels": len(kernels_of_call),
                      **{key: main.get(key) for key in METRICS.values()}})
    from ..provenance import describe, source_revision

    source = source_revision()  # report runs in the run itself, on the checkout it measured
    Path(out_stem + ".json").write_text(json.dumps({"source": source, "calls": table}, indent=1) + "\n")

    def f(x, fmt):
        return "" if x is None else format(x, fmt)

    lines = [f"Measured: {describe(source)}.", "",
             "| shape | family | kernel | µs | DRAM % peak | DRAM GB | tensor pipe % | exp (XU) pipe % | warps active % | SM % |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for t in table:
        gb = None if t.get("dram_bytes") is None else t["dram_bytes"] / 1e9
        lines.append(f"| {t['shape']} | {t['family']} | `{t['kernel']}` | {f(t.get('time_us'), '.1f')} | "
                     f"{f(t.get('dram_pct'), '.1f')} | {f(gb, '.3f')} | {f(t.get('hmma_pct'), '.1f')} | {f(t.get('xu_pct'), '.1f')} | "
                     f"{f(t.get('occupancy_pct'), '.1f')} | {f(t.get('sm_pct'), '.1f')} |")
    Path(out_stem + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
