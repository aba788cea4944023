"""The GPU check's own logic on the CPU: step selection and the summary of a run folder."""

from __future__ import annotations

import json

from encexport.gpu_check.__main__ import main
from encexport.gpu_check.summary import write


def test_unknown_step_is_refused_with_the_list(capsys, tmp_path):
    assert main(["--steps", "build,nope", "--out", str(tmp_path)]) == 2
    assert "unknown step(s) nope; choose from build, tests, models" in capsys.readouterr().err


def test_summary_reads_the_run_folder(capsys, tmp_path):
    (tmp_path / "env.txt").write_text("NVIDIA H100\nmeasured commit abc123 (clean tree)\n")
    (tmp_path / "pytest.log").write_text("....\n226 passed, 2 skipped in 48.15s\n")
    records = [{"test": "kernel", "backend": "auto", "used": "flash", "dtype": "torch.float16", "head_size": 64,
                "max_abs": 3.75e-4, "passed": True},
               {"test": "kernel", "backend": "cudnn", "used": "cudnn", "dtype": "torch.bfloat16", "head_size": 128,
                "max_abs": 7.9e-3, "passed": True},
               {"test": "ort_cuda", "max_abs": 5.4e-4}]
    (tmp_path / "gpu_results.json").write_text(json.dumps({"source": {"commit": "abc123", "tree": "clean"},
                                                           "records": records}))
    (tmp_path / "sanitizer.log").write_text("=== memcheck ===\n========= ERROR SUMMARY: 0 errors\n")
    write(tmp_path)
    text = capsys.readouterr().out
    assert "`226 passed, 2 skipped in 48.15s`" in text
    assert "Kernel grid: 2/2 cases within tolerance." in text
    assert "| auto->flash | float16 | 64 | 1 | 3.75e-04 |" in text
    assert "| ort_cuda | 1 | 5.40e-04 |" in text
    assert "| memcheck | 0 errors |" in text


def test_summary_names_each_model_by_its_own_lines(capsys, tmp_path):
    (tmp_path / "models.log").write_text(
        "[encexport] loading bert (offline) and patching its attention ...\n"
        "providers            CUDAExecutionProvider, CPUExecutionProvider\n"
        "PASS: min cosine 1.000000 (threshold 0.999, fp16 model)\n"
        "wrote build/gpu_models/bert/model.onnx (report: build/gpu_models/bert/report.json)\n"
        "[encexport] loading t5 (offline) and patching its attention ...\n"
        "encexport: error: something the user can fix\n")
    write(tmp_path)
    text = capsys.readouterr().out
    assert "| bert | CUDAExecutionProvider, CPUExecutionProvider | PASS: min cosine 1.000000" in text
    assert "| t5 | | encexport: error: something the user can fix |" in text


def test_a_check_split_over_calls_lists_every_step_of_the_commit(monkeypatch, tmp_path, capsys):
    from encexport.gpu_check.steps import environment

    monkeypatch.setenv("ENCEXPORT_COMMIT", "abc123def456")
    monkeypatch.setenv("ENCEXPORT_TREE_CLEAN", "1")
    environment(tmp_path, ["build", "tests"])
    environment(tmp_path, ["bench", "tests"])
    assert "steps build tests bench" in (tmp_path / "env.txt").read_text().splitlines()
    monkeypatch.setenv("ENCEXPORT_COMMIT", "0123456789ab")  # another commit: its steps alone
    environment(tmp_path, ["load"])
    assert "steps load" in (tmp_path / "env.txt").read_text().splitlines()
