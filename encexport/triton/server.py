"""Run the tritonserver binary that PyPI's nvidia-pytriton ships (CPU-capable, Python backend only).

The wheel keeps one Python-backend stub per Python version outside the backend folder, so a backend folder
is assembled here: the wheel's python backend plus the stub matching this interpreter. The stub and the
server find their private libraries (libcudart, ...) through nvidia_pytriton.libs on LD_LIBRARY_PATH, as
pytriton itself arranges; the stub also links the shared libpython3.X, which this interpreter's LIBDIR
provides when the system does not.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path


def wheel_root() -> Path:
    """site-packages/pytriton/tritonserver of the installed nvidia-pytriton (the `serve` extra)."""
    import importlib.util

    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("tritonserver not found: install the serve extra (pip install -e '.[serve]')")
    return Path(list(spec.submodule_search_locations)[0]) / "tritonserver"


def server_binary() -> Path:
    return wheel_root() / "bin" / "tritonserver"


def library_path() -> str:
    """LD_LIBRARY_PATH entries the server and the stub need: the wheel's private libs, then libpython."""
    libs = [wheel_root().parents[1] / "nvidia_pytriton.libs", Path(sysconfig.get_config_var("LIBDIR") or "")]
    return os.pathsep.join(str(p) for p in libs if p.is_dir())


def backend_directory(dest: Path) -> Path:
    """A --backend-directory holding the wheel's python backend and this interpreter's stub."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = wheel_root() / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not stub.is_file():
        raise FileNotFoundError(f"the tritonserver wheel has no Python-backend stub for Python {version}")
    python = Path(dest) / "python"
    if not python.is_dir():
        shutil.copytree(wheel_root() / "backends" / "python", python,
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy2(stub, python / stub.name)
    return Path(dest)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running tritonserver: ports, log file, process. Use as a context manager; always stopped."""

    repository: Path
    workdir: Path
    models: tuple[str, ...] = ()
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return Path(self.workdir) / "tritonserver.log"

    def command(self) -> list[str]:
        cmd = [str(server_binary()), f"--model-repository={self.repository}",
               f"--backend-directory={backend_directory(Path(self.workdir) / 'backends')}",
               f"--http-port={self.http_port}", f"--grpc-port={self.grpc_port}",
               f"--metrics-port={self.metrics_port}", "--http-address=127.0.0.1", "--grpc-address=127.0.0.1",
               "--allow-sagemaker=false", "--allow-vertex-ai=false", "--log-verbose=0"]
        if self.models:  # load only these, and fail fast if one of them does not load
            cmd += ["--model-control-mode=explicit", "--exit-on-error=true"]
            cmd += [f"--load-model={m}" for m in self.models]
        return cmd

    def start(self, timeout: float = 90.0) -> Server:
        Path(self.workdir).mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (library_path(), env.get("LD_LIBRARY_PATH")) if p)
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=env,
                                        cwd=self.workdir)
        log.close()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.http_port}/v2/health/ready"
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

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # SIGTERM: tritonserver unloads models and exits
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
