"""`encexport serve REPO`: serve a model repository with the tritonserver that ships in nvidia-pytriton.

The server is started by `encexport.triton.server` (the same code the tests use): backend folder, library path,
free or given ports, and this environment's packages for the Python models. Ctrl-C (SIGINT) or SIGTERM is
forwarded to the server, which unloads its models; the command then exits 0.
"""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
from pathlib import Path


class _Stop(Exception):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve a model repository with nvidia-pytriton's tritonserver (Ctrl-C stops)")
    p.add_argument("repo", type=Path, help="a model repository written by `encexport triton`")
    p.add_argument("--model", action="append", default=[], metavar="NAME",
                   help="serve only this model (repeatable; default: every model this server's backends can load)")
    p.add_argument("--http-port", type=int, default=8000, help="0 picks a free port")
    p.add_argument("--grpc-port", type=int, default=8001, help="0 picks a free port")
    p.add_argument("--metrics-port", type=int, default=8002, help="0 picks a free port")
    p.add_argument("--address", default="127.0.0.1", help="listen address (0.0.0.0: every interface)")
    p.add_argument("--python-packages", choices=("current", "server"), default="current",
                   help="current (default): the Python models import this environment's packages, handed over at "
                        "launch; server: the server's own Python has REPO/requirements.txt installed")
    p.add_argument("--stub-numpy", type=Path, metavar="DIR",
                   help="a folder with numpy<2 put first for the Python models (the text tokenizer needs it when "
                        "this environment has numpy 2): pip install --target DIR numpy==1.26.4")
    p.add_argument("--timeout", type=float, default=180, help="seconds to wait for the models to load")
    p.set_defaults(func=run)


def _say(text: str) -> None:
    print(text, flush=True)


def run(args) -> int:
    from ..triton import DeployError
    from ..triton.server import missing_module, prepare
    from .main import UsageError

    workdir = Path(tempfile.mkdtemp(prefix="encexport-serve-"))
    keep = False
    try:
        try:
            server, skipped = prepare(args.repo, workdir, models=tuple(args.model),
                                      python_packages=args.python_packages, stub_numpy=args.stub_numpy,
                                      http_port=args.http_port, grpc_port=args.grpc_port,
                                      metrics_port=args.metrics_port, address=args.address)
        except DeployError as exc:
            raise UsageError(str(exc)) from None
        _say(f"serving {args.repo.resolve()} with {server.command()[0]}")
        _say(f"  loading  {', '.join(server.models)}")
        for name, reason in skipped.items():
            _say(f"  skipped  {name}: {reason}")
        previous = {s: signal.signal(s, _raise_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            try:
                server.start(timeout=args.timeout)
            except (RuntimeError, TimeoutError):
                module = missing_module(server.logs())
                if module:
                    fix = ("pass --python-packages current" if args.python_packages == "server" else
                           f"pip install -r {args.repo / 'requirements.txt'} in this environment")
                    raise UsageError(f"a Python model cannot import {module!r}; {fix}") from None
                keep = True  # the log stays for reading
                errors = "\n".join(server.errors()[-8:]) or server.logs()[-2000:]
                print(f"encexport: error: tritonserver did not become ready:\n{errors}\nlog: {server.log_path}",
                      file=sys.stderr)
                return 1
            host = "127.0.0.1" if args.address == "0.0.0.0" else args.address
            _say(f"  HTTP     http://{host}:{server.http_port}   (curl http://{host}:{server.http_port}"
                 "/v2/health/ready)")
            _say(f"  gRPC     {host}:{server.grpc_port}")
            _say(f"  metrics  http://{host}:{server.metrics_port}/metrics")
            _say(f"  log      {server.log_path}")
            _say("ready; Ctrl-C stops the server")
            code = server.process.wait()
            keep = True
            errors = "\n".join(server.errors()[-8:])
            print(f"encexport: error: tritonserver exited by itself (status {code})\n{errors}\nlog: "
                  f"{server.log_path}", file=sys.stderr)
            return 1
        except _Stop as stop:
            for s in previous:  # a second Ctrl-C must not interrupt the shutdown
                signal.signal(s, signal.SIG_IGN)
            server.stop(stop.signum)  # the same signal; the server unloads its models and exits
            _say(f"stopped (signal {signal.Signals(stop.signum).name})")
            return 0
        finally:
            server.stop()
            for s, handler in previous.items():
                signal.signal(s, handler)
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _raise_stop(signum, frame) -> None:
    raise _Stop(signum)
