"""`pip install .` into a fresh virtual environment compiles both libraries into the wheel, and the installed
package finds and loads them with no source checkout in sight."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = textwrap.dedent("""
    import ctypes, sys
    import encexport, encexport.models
    from encexport import native, ort
    from tests_probe import one_node_model
    site = sys.argv[1]
    assert encexport.__file__.startswith(site), encexport.__file__
    assert encexport.models.__file__.startswith(site), encexport.models.__file__
    assert encexport.models.get_recipe("bert").name == "bert"
    for name in ("ort", "trt"):
        path = native.library_path(name)
        assert str(path).startswith(site), path
        ctypes.CDLL(str(path))
    import numpy as np
    sess = ort.session(one_node_model())
    q = np.random.default_rng(0).standard_normal((2, 5, 8), dtype=np.float32)
    (out,) = sess.run(None, {"query": q, "key": q, "value": q})
    assert out.shape == q.shape
    print("loaded", native.library_dir())
""")

MODEL = textwrap.dedent("""
    from onnx import TensorProto, helper

    def one_node_model():
        node = helper.make_node("EncoderOnlyAttention", ["query", "key", "value"], ["output"], domain="encexport",
                                num_heads=2, head_size=4)
        io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["B", "S", 8]) for n in ("query", "key", "value")]
        graph = helper.make_graph([node], "g", io, [helper.make_tensor_value_info("output", TensorProto.FLOAT, None)])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("encexport", 1)])
        return model.SerializeToString()
""")


@pytest.mark.slow
def test_pip_install_builds_and_loads_both_libraries(tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        text=True).strip())
    # The dependencies come from this environment (a path entry after the new site-packages): no torch download.
    (site / "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (tmp_path / "tests_probe.py").write_text(MODEL)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ENCEXPORT_LIB_DIR", "ENCEXPORT_ORT_LIB")}
    build = subprocess.run([python, "-m", "pip", "install", "--no-deps", "-q", str(ROOT)], env=env, cwd=tmp_path,
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    files = sorted(p.name for p in (site / "encexport" / "_lib").iterdir())
    assert {"libencexport_ort.so", "libencexport_trt.so"} <= set(files), files
    run = subprocess.run([python, "-c", PROBE, str(site)], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "loaded" in run.stdout
