"""Recording a GPU check run into bench/results: what is copied under which name, and the refusal of a run whose
tree was not a clean commit (--allow-dirty overrides it)."""

from __future__ import annotations

import json
import tarfile

from encexport.gpu_check.__main__ import main
from encexport.gpu_check.record import run_source
from encexport.gpu_check.summary import write

CLEAN = {"commit": "c0ffee" + "0" * 34, "tree": "clean"}
DIRTY = {"commit": "d1e7" + "0" * 36, "tree": "dirty"}


def _run(folder, source):
    (folder / "perf").mkdir(parents=True)
    (folder / "provenance.json").write_text(json.dumps(source))
    (folder / "summary.md").write_text("# GPU check summary\n")
    (folder / "perf" / "bench.json").write_text(json.dumps({"env": {"source": source}}))
    (folder / "ort_sanitize.json").write_text("{}")
    return folder


def test_a_clean_run_is_recorded_under_its_commit(tmp_path, capsys):
    run, results = _run(tmp_path / "run", CLEAN), tmp_path / "results"
    assert main(["record", str(run), "--results", str(results)]) == 0
    assert sorted(p.name for p in results.iterdir()) == ["h100-bench.json", "h100-gpu-check-c0ffee0-summary.md",
                                                         "h100-ort-sanitize.json"]
    assert "recorded commit c0ffee000000 (clean tree)" in capsys.readouterr().out


def test_a_run_of_some_steps_names_them_and_leaves_the_full_runs_records(tmp_path):
    run, results = _run(tmp_path / "run", CLEAN), tmp_path / "results"
    (run / "env.txt").write_text("NVIDIA H100\nsteps build bench\n")
    (run / "perf" / "performance.md").write_text("# Attention performance\n")
    results.mkdir()
    (results / "h100-bench.json").write_text("the full run's")
    assert main(["record", str(run), "--results", str(results)]) == 0
    assert (results / "h100-bench.json").read_text() == "the full run's"
    assert sorted(p.name for p in results.iterdir()) == [
        "h100-bench-c0ffee0-build-bench.json", "h100-bench.json", "h100-gpu-check-c0ffee0-build-bench-summary.md",
        "h100-ort-sanitize-c0ffee0-build-bench.json", "h100-performance-c0ffee0-build-bench.md"]


def test_a_dirty_run_is_refused_naming_the_flag_and_nothing_is_written(tmp_path, capsys):
    run, results = _run(tmp_path / "run", DIRTY), tmp_path / "results"
    results.mkdir()
    (results / "h100-bench.json").write_text("recorded before")
    assert main(["record", str(run), "--results", str(results)]) == 1
    err = capsys.readouterr().err
    assert "commit d1e700000000 (dirty tree)" in err and "--allow-dirty" in err
    assert (results / "h100-bench.json").read_text() == "recorded before"
    assert main(["record", str(run), "--results", str(results), "--allow-dirty", "--prefix", "h200"]) == 0
    assert json.loads((results / "h200-bench.json").read_text())["env"]["source"] == DIRTY


def test_an_unknown_tree_is_refused_too(tmp_path, capsys):
    run = _run(tmp_path / "run", CLEAN)
    (run / "provenance.json").unlink()  # an old run: env.txt names only a short commit, and no tree
    (run / "env.txt").write_text("NVIDIA H100\nmeasured commit abc123def456 (unknown tree)\n")
    assert run_source(run) == {"commit": "abc123def456", "tree": "unknown"}
    assert main(["record", str(run), "--results", str(tmp_path / "results")]) == 1
    assert "--allow-dirty" in capsys.readouterr().err


def test_the_returned_archive_is_recorded_like_the_folder(tmp_path):
    run = _run(tmp_path / "run", CLEAN)
    with tarfile.open(tmp_path / "gpu_check.tgz", "w:gz") as tar:
        tar.add(run, arcname=".")
    assert main(["record", str(tmp_path / "gpu_check.tgz"), "--results", str(tmp_path / "results")]) == 0
    assert (tmp_path / "results" / "h100-bench.json").is_file()


def test_record_refuses_what_is_not_a_run(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "provenance.json").write_text(json.dumps(CLEAN))
    assert main(["record", str(tmp_path / "empty")]) == 1
    assert "holds none of the result files" in capsys.readouterr().err
    assert main(["record", str(tmp_path / "nothing")]) == 1
    assert "neither a run folder nor a gpu_check.tgz" in capsys.readouterr().err


def test_the_summary_names_the_commit_first(tmp_path, capsys):
    (tmp_path / "provenance.json").write_text(json.dumps(DIRTY))
    write(tmp_path)
    assert capsys.readouterr().out.splitlines()[2] == "Measured: commit d1e700000000 (dirty tree)."


def test_figures_carry_the_commit_of_their_record():
    from encexport.bench.figures import stamp

    class Figure:
        def text(self, x, y, text, **kw):
            self.caption = text

        def tight_layout(self, rect):
            self.rect = rect

    fig = Figure()
    stamp(fig, CLEAN)
    assert fig.caption == "measured at commit c0ffee000000 (clean tree)" and fig.rect[1] > 0
    stamp(fig, None)
    assert fig.caption == "measured at an unrecorded commit"


def test_a_saved_figure_names_its_commit_in_the_file_too(tmp_path):
    from encexport.bench.figures import save_stamped

    class Figure:
        def text(self, x, y, text, **kw):
            self.caption = text

        def tight_layout(self, rect):
            pass

        def savefig(self, path, dpi, metadata):
            self.saved = (path, metadata)

    fig = Figure()
    save_stamped(fig, tmp_path / "f.png", CLEAN)
    assert fig.saved == (tmp_path / "f.png", {"Description": "measured at commit c0ffee000000 (clean tree)",
                                              "Source": f"commit {CLEAN['commit']} (clean tree)"})
    assert fig.caption == fig.saved[1]["Description"]
    save_stamped(fig, tmp_path / "g.png", None)
    assert fig.saved == (tmp_path / "g.png", {"Description": "measured at an unrecorded commit"})
