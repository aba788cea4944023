"""python -m encexport.gpu_check: see encexport/gpu_check/__init__.py."""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
from contextlib import redirect_stdout
from pathlib import Path

from .. import native
from . import steps as gpu_steps


def run_check(args) -> int:
    """The steps asked for, in order; summary.md at the end. Where $OUT is set (the device machine returns at most
    8 files), everything also travels as gpu_check.tgz with summary.md and the performance reports beside it."""
    from . import summary

    wanted = [s for s in (args.steps or os.environ.get("ENCEXPORT_GPU_STEPS") or ",".join(gpu_steps.STEPS))
              .replace(" ", ",").split(",") if s]
    unknown = sorted(set(wanted) - set(gpu_steps.STEPS))
    if unknown:
        print(f"unknown step(s) {', '.join(unknown)}; choose from {', '.join(gpu_steps.STEPS)}", file=sys.stderr)
        return 2
    device_out = os.environ.get("OUT")
    out = Path(args.out or device_out or gpu_steps.ROOT / "build" / "gpu_check")
    out.mkdir(parents=True, exist_ok=True)
    gpu_steps.environment(out, wanted)
    status = 0
    for name in wanted:
        gpu_steps.say(gpu_steps.TITLES[name])
        if not gpu_steps.RUNNERS[name](out):
            status = 1
            if name == "build" and not native.available("ort"):
                gpu_steps.say("build failed (build.log)")
                gpu_steps._tail(out / "build.log", 40)
                return 1
    with open(out / "summary.md", "w") as f, redirect_stdout(f):
        summary.write(out)
    print((out / "summary.md").read_text(), file=sys.stderr)
    if device_out and not args.out:
        _pack(out)
    return status


def _pack(out: Path) -> None:
    archive = gpu_steps.ROOT / "build" / "gpu_check.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(out, arcname=".")
    kept = {"summary.md": out / "summary.md", "perf.md": out / "perf" / "performance.md",
            "e2e.md": out / "e2e" / "performance.md"}
    texts = {name: path.read_text() for name, path in kept.items() if path.is_file()}
    for child in sorted(out.rglob("*"), reverse=True):
        child.rmdir() if child.is_dir() else child.unlink()
    archive.rename(out / "gpu_check.tgz")
    for name, text in texts.items():
        (out / name).write_text(text)


def main(argv: list[str] | None = None) -> int:
    from . import __doc__ as overview

    parser = argparse.ArgumentParser(prog="python -m encexport.gpu_check", description=overview,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    parser.add_argument("--steps", help=f"comma-separated subset of {','.join(gpu_steps.STEPS)} "
                                        "(default: $ENCEXPORT_GPU_STEPS or all)")
    parser.add_argument("--out", help="the run folder (default: $OUT, else build/gpu_check)")
    p = sub.add_parser("prepare", help="the fp16 MiniLM export and its reference embeddings (run where the weights are)")
    p.add_argument("dest", nargs="?", default=str(gpu_steps.ROOT / ".gpu_models"))
    p.add_argument("--no-load", action="store_true", help="skip the load step's two optimized models")
    p = sub.add_parser("summary", help="summary.md of a run folder, on stdout")
    p.add_argument("folder")
    p = sub.add_parser("plots", help="redraw docs/img from recorded results")
    p.add_argument("files", nargs="*")
    p = sub.add_parser("record", help="copy a run's results into bench/results (a clean commit's run only)")
    p.add_argument("run", help="the run folder or the gpu_check.tgz it returned")
    p.add_argument("--results", help="where to (default: bench/results of this checkout)")
    p.add_argument("--prefix", default="h100", help="the device part of the recorded names (default: h100)")
    p.add_argument("--allow-dirty", action="store_true",
                   help="record a run whose tree was dirty or unknown (the files still say so)")
    p = sub.add_parser("profile", help="(run by the profile step under ncu)")
    p.add_argument("mode", choices=("drive", "metrics", "report"))
    p.add_argument("rest", nargs="*")
    args = parser.parse_args(argv)
    if args.command == "prepare":
        from .prepare import prepare

        return prepare(Path(args.dest), load_models=not args.no_load)
    if args.command == "summary":
        from .summary import write

        write(Path(args.folder))
        return 0
    if args.command == "plots":
        from .plots import redraw

        return redraw(args.files)
    if args.command == "record":
        from .record import main as record

        return record(args.run, args.results, args.prefix, args.allow_dirty)
    if args.command == "profile":
        from . import profile

        if args.mode == "drive":
            profile.drive()
        elif args.mode == "metrics":
            print(",".join(profile.available_metrics(sys.stdin.read())))
        else:
            profile.report(*args.rest)
        return 0
    return run_check(args)


if __name__ == "__main__":
    raise SystemExit(main())
