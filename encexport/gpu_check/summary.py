"""Markdown summary of a GPU check run: test pass counts, max errors per dtype/head size, the model recipes,
sanitizer error counts, the profile, the benchmark's ratios.   python -m encexport.gpu_check summary OUT_DIR"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from .sanitizer_log import summaries


def write(out: Path) -> None:
    """Print the summary of the run whose files are in `out`."""
    from ..provenance import describe
    from .record import run_source

    print("# GPU check summary\n")
    print(f"Measured: {describe(run_source(out))}.\n")
    env = out / "env.txt"
    if env.is_file():
        print("```\n" + env.read_text().strip() + "\n```\n")
    log = out / "pytest.log"
    if log.is_file():
        tail = [l for l in log.read_text().splitlines() if re.search(r"passed|failed|error|skipped", l)]
        print("## pytest -m gpu\n\n`" + (tail[-1].strip("= ") if tail else "no summary line") + "`\n")
    res = out / "gpu_results.json"
    if res.is_file():
        data = json.loads(res.read_text())
        rows, source = data["records"], data["source"]
        print(f"Measured: commit {source['commit'][:12]} ({source['tree']} tree).\n")
        kernel = [r for r in rows if r.get("test") == "kernel"]
        print(f"Kernel grid: {sum(r['passed'] for r in kernel)}/{len(kernel)} cases within tolerance.\n")
        worst = defaultdict(lambda: [0.0, 0])
        for r in kernel:
            key = (r["backend"] if r["backend"] != "auto" else f"auto->{r['used']}", r["dtype"].replace("torch.", ""),
                   r["head_size"])
            worst[key][0] = max(worst[key][0], r["max_abs"])
            worst[key][1] += 1
        print("| backend | dtype | head size | cases | max abs error |\n|---|---|---|---|---|")
        for (b, dt, d), (err, n) in sorted(worst.items()):
            print(f"| {b} | {dt} | {d} | {n} | {err:.2e} |")
        # Records of the other GPU tests (ORT CUDA op, TensorRT plugin): grouped by the path they exercised.
        groups = defaultdict(list)
        for r in rows:
            if r.get("test") != "kernel":
                groups[r.get("test") or r.get("path") or "other"].append(r)
        if groups:
            print("\n| other test path | cases | max abs error |\n|---|---|---|")
            for name, rs in sorted(groups.items()):
                errs = [r.get("max_abs", r.get("max_abs_err")) for r in rs]
                errs = [e for e in errs if e is not None]
                print(f"| {name} | {len(rs)} | {max(errs):.2e} |" if errs else f"| {name} | {len(rs)} | n/a |")
        print()
    models = out / "models.log"
    if models.is_file():
        # `encexport export` prints its loading line, the check lines with PASS/FAIL, then "wrote DIR/model.onnx".
        print("## Model recipes through ORT CUDA (`encexport export --exporter legacy --dtype fp16`)\n")
        print("| model | providers | result |\n|---|---|---|")
        model, providers = None, ""
        for line in models.read_text().splitlines():
            loading = re.match(r"\[encexport\] loading (\S+) \(offline\)", line)
            if loading:  # each model's lines follow its loading line
                model, providers = loading.group(1), ""
            elif line.startswith("providers"):
                providers = line.split(None, 1)[1]
            elif line.startswith(("PASS", "FAIL")) and model:
                print(f"| {model} | {providers} | {line} |")
            elif line.startswith("encexport: error") and model:
                print(f"| {model} | | {line} |")
        print()
    san = out / "sanitizer.log"
    if san.is_file():
        print("## compute-sanitizer (reduced grid: encexport_sanitize_driver)\n\n| tool | result |\n|---|---|")
        for tool, line in summaries(san.read_text()).items():
            print(f"| {tool} | {line} |")
        print()
    ort_san = out / "ort_sanitize.json"
    if ort_san.is_file():
        from .ort_sanitize import markdown as ort_sanitize_table

        print(ort_sanitize_table(json.loads(ort_san.read_text())))
    load = out / "load" / "load.md"
    if load.is_file():
        print(load.read_text())
    profile = out / "profile.md"
    if profile.is_file():
        print("## Nsight Compute profile (fp16, one call per shape and kernel family)\n")
        print(profile.read_text())
    perf = out / "perf" / "bench.json"
    if perf.is_file():
        data = json.loads(perf.read_text())
        source = data["env"].get("source", {})
        print(f"## Benchmark ({data['env'].get('device')}, commit {source.get('commit', 'unknown')[:12]}, "
              f"{source.get('tree', 'unknown')} tree; back to back, ratio = best peer / our best)\n")
        print("| level | shape | dtype | ours | µs | best peer | µs | ratio |\n|---|---|---|---|---|---|---|---|")
        for s in data["summary"]:
            print(f"| {s['level']} | {s['shape']} | {s['dtype']} | {s['ours']} | {s['ours_us']:.1f} | "
                  f"{s['best_peer']} | {s['peer_us']:.1f} | {s['ratio']:.2f}x |")
