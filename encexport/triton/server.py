"""Run the tritonserver binary that PyPI's nvidia-pytriton ships (CPU-capable, Python backend only).

The wheel keeps one Python-backend stub per Python version outside the backend folder, so a backend folder
is assembled here: the wheel's python backend plus the stub matching this interpreter. The stub and the
server find their private libraries (libcudart, ...) through nvidia_pytriton.libs on LD_LIBRARY_PATH, as
pytriton itself arranges; the stub also links the shared libpython3.X, which this interpreter's LIBDIR
provides when the system does not.

The stub's embedded Python ignores PYTHONPATH. Package folders for the Python-backend models are handed over
at launch in PYTHONPATH_VARIABLE, which the generated models read (templates/site_paths.py); nothing about
this machine is written into the repository. `Server.launch()` is the one place that builds the command
line and the environment: `encexport serve` and the tests both start the server through it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import site
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DeployError
from .inventory import ModelInfo

PYTHONPATH_VARIABLE = "ENCEXPORT_TRITON_PYTHONPATH"
BUILT_IN_PLATFORMS = ("ensemble",)  # served by the core, no backend folder


def wheel_root() -> Path:
    """site-packages/pytriton/tritonserver of the installed nvidia-pytriton (the `serve` extra)."""
    import importlib.util

    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        raise DeployError("tritonserver not found: install the serve extra (pip install -e '.[serve]')")
    return Path(list(spec.submodule_search_locations)[0]) / "tritonserver"


def server_binary() -> Path:
    return wheel_root() / "bin" / "tritonserver"


def library_path() -> str:
    """LD_LIBRARY_PATH entries the server and the stub need: the wheel's private libs, then libpython."""
    libs = [wheel_root().parents[1] / "nvidia_pytriton.libs", Path(sysconfig.get_config_var("LIBDIR") or "")]
    return os.pathsep.join(str(p) for p in libs if p.is_dir())


def current_site_packages() -> list[str]:
    """This environment's package folders (PYTHONPATH's, then purelib, platlib, user site, in the interpreter's
    order): what `encexport serve` hands the Python-backend models by default, since the stub runs this
    interpreter's libpython but ignores PYTHONPATH (packages staged there, an onnxruntime-gpu say, must reach the
    models too)."""
    pythonpath = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]  # "" would mean the cwd
    paths = [*pythonpath, sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    if site.ENABLE_USER_SITE:
        paths.append(site.getusersitepackages())
    return list(dict.fromkeys(p for p in paths if Path(p).is_dir()))


def backend_directory(dest: Path) -> Path:
    """A --backend-directory holding the wheel's python backend and this interpreter's stub."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = wheel_root() / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not stub.is_file():
        raise DeployError(f"the tritonserver wheel has no Python-backend stub for Python {version}; "
                          "use a Python the wheel supports (3.8 to 3.12)")
    python = Path(dest) / "python"
    if not python.is_dir():
        shutil.copytree(wheel_root() / "backends" / "python", python,
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy2(stub, python / stub.name)
    return Path(dest)


def backends() -> tuple[str, ...]:
    """The backends this server has (the wheel's backends/ folder): python only for nvidia-pytriton."""
    return tuple(sorted(p.name for p in (wheel_root() / "backends").iterdir() if p.is_dir()))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_port(address: str, port: int, option: str) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError as exc:
            raise DeployError(f"{address}:{port} is not free ({exc.strerror}); pass {option} with another port "
                              "(0 picks a free one)") from None


def choose_models(models: dict[str, ModelInfo], available: tuple[str, ...], gpus: int,
                  wanted: tuple[str, ...] = ()) -> tuple[list[str], dict[str, str]]:
    """(models this server can load, {model: why not} for the others). A model asked for by name that cannot
    be served is a DeployError naming the fix."""
    skipped: dict[str, str] = {}

    def why_not(name: str) -> str:
        info = models[name]
        if info.backend in BUILT_IN_PLATFORMS:
            missing = [s for s in info.steps if s not in models or why_not(s)]
            return f"needs {', '.join(missing)}" if missing else ""
        if info.backend not in available:
            return (f"backend {info.backend!r} is not in this server (it has {', '.join(available)}); serve it "
                    "with a Triton container (SERVE.md)")
        if info.kind == "gpu" and not gpus:
            return ("instance kind KIND_GPU but no GPU is visible here; regenerate with "
                    "`encexport triton --kind cpu` (or --kind auto)")
        return ""

    unknown = [w for w in wanted if w not in models]
    if unknown:
        raise DeployError(f"no model {', '.join(unknown)} in the repository (it has {', '.join(models) or 'none'})")
    chosen = []
    for name in (wanted or tuple(models)):
        reason = why_not(name)
        if reason:
            if wanted:
                raise DeployError(f"cannot serve {name}: {reason}")
            skipped[name] = reason
        else:
            chosen.append(name)
    gpu_only = [n for n, r in skipped.items() if r.startswith("instance kind KIND_GPU")]
    if gpu_only:  # serving the rest (a tokenizer without its encoder) would only hide the mistake
        raise DeployError(f"{', '.join(gpu_only)}: instance kind KIND_GPU but no GPU is visible here; regenerate "
                          "the repository with `encexport triton --kind cpu` (or --kind auto), or serve it on a "
                          "GPU machine")
    if not chosen:
        raise DeployError("no model in the repository can be served here: " + "; ".join(
            f"{n}: {r}" for n, r in skipped.items()))
    return chosen, skipped


def _die_with_parent() -> None:  # runs in the child before exec: the server never outlives its launcher
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class Server:
    """A running tritonserver: ports, log file, process. Use as a context manager; always stopped."""

    repository: Path
    workdir: Path
    models: tuple[str, ...] = ()
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    address: str = "127.0.0.1"
    python_paths: tuple[str, ...] = ()  # package folders for the Python-backend models (PYTHONPATH_VARIABLE)
    process: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return Path(self.workdir) / "tritonserver.log"

    def command(self) -> list[str]:
        return self.launch()[0]

    def launch(self) -> tuple[list[str], dict[str, str]]:
        """The command line and the environment of the server."""
        cmd = [str(server_binary()), f"--model-repository={Path(self.repository).resolve()}",
               f"--backend-directory={backend_directory(Path(self.workdir) / 'backends')}",
               f"--http-port={self.http_port}", f"--grpc-port={self.grpc_port}",
               f"--metrics-port={self.metrics_port}", f"--http-address={self.address}",
               f"--grpc-address={self.address}", "--allow-sagemaker=false", "--allow-vertex-ai=false",
               "--log-verbose=0"]
        if self.models:  # load only these, and fail fast if one of them does not load
            cmd += ["--model-control-mode=explicit", "--exit-on-error=true"]
            cmd += [f"--load-model={m}" for m in self.models]
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (library_path(), env.get("LD_LIBRARY_PATH")) if p)
        env.pop(PYTHONPATH_VARIABLE, None)
        if self.python_paths:
            env[PYTHONPATH_VARIABLE] = os.pathsep.join(self.python_paths)
        return cmd, env

    def start(self, timeout: float = 90.0) -> Server:
        Path(self.workdir).mkdir(parents=True, exist_ok=True)
        cmd, env = self.launch()
        log = open(self.log_path, "wb")
        # Its own session: a terminal's Ctrl-C reaches the launcher only, which stops the server once.
        self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.workdir,
                                        start_new_session=True, preexec_fn=_die_with_parent)
        log.close()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        host = "127.0.0.1" if self.address in ("0.0.0.0", "") else self.address
        url = f"http://{host}:{self.http_port}/v2/health/ready"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tritonserver exited with {self.process.returncode}:\n{self.logs()}")
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        raise TimeoutError(f"tritonserver not ready after {timeout:.0f} s:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def errors(self) -> list[str]:
        """The server's error lines (glog `E` lines and Python exceptions the stub reported)."""
        lines = self.logs().splitlines()
        return [line for line in lines if re.match(r"E\d{4} ", line) or "Error:" in line]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)  # SIGTERM or SIGINT: tritonserver unloads models and exits
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def prepare(repository: Path, workdir: Path, *, models: tuple[str, ...] = (), python_packages: str = "current",
            stub_numpy: Path | None = None, http_port: int = 0, grpc_port: int = 0, metrics_port: int = 0,
            address: str = "127.0.0.1") -> tuple[Server, dict[str, str]]:
    """The Server for `repository` (not started) and {model: why it is not served}: the models this binary can
    load (or `models`, each checked), free ports (0 picks one), and the Python models' package folders:
    `python_packages="current"` hands them this environment's site-packages at launch (the stub runs this
    interpreter's libpython), "server" leaves them to the server's own Python (requirements.txt);
    `stub_numpy` (a folder with numpy<2) goes first."""
    from .devices import visible_gpus
    from .inventory import read_models

    repository = Path(repository)
    if not repository.is_dir():
        raise DeployError(f"{repository} is not a folder; pass a model repository written by `encexport triton`")
    found = read_models(repository)
    if not found:
        raise DeployError(f"{repository} holds no model folder (<model>/config.pbtxt); write one with "
                          "`encexport triton --model NAME --repo {repository}`")
    chosen, skipped = choose_models(found, backends(), visible_gpus(), tuple(models))
    if python_packages not in ("current", "server"):
        raise DeployError(f"python_packages must be current or server, not {python_packages!r}")
    paths = current_site_packages() if python_packages == "current" else []
    if stub_numpy is not None:
        if not (Path(stub_numpy) / "numpy").is_dir():
            raise DeployError(f"{stub_numpy}/numpy not found: pip install --target {stub_numpy} numpy==1.26.4")
        paths.insert(0, str(Path(stub_numpy).resolve()))
    ports = {}
    for option, port in (("--http-port", http_port), ("--grpc-port", grpc_port), ("--metrics-port", metrics_port)):
        if port:
            check_port(address, port, option)
        ports[option] = port or free_port()
    if len(set(ports.values())) < len(ports):
        raise DeployError("--http-port, --grpc-port and --metrics-port must differ")
    server = Server(repository, workdir, models=tuple(chosen), http_port=ports["--http-port"],
                    grpc_port=ports["--grpc-port"], metrics_port=ports["--metrics-port"], address=address,
                    python_paths=tuple(paths))
    return server, skipped


def missing_module(logs: str) -> str | None:
    """The module a Python model could not import, from the server's log."""
    found = re.search(r"No module named '([^']+)'", logs)
    return found.group(1) if found else None
