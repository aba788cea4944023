"""`encexport bench` writing into the repository's bench/results: refused for a tree that is not a clean commit,
before any GPU work, unless --allow-dirty."""

from __future__ import annotations

from encexport.cli import bench_cmd
from encexport.cli.main import main


def test_a_dirty_tree_may_not_write_into_bench_results(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("ENCEXPORT_COMMIT", "a" * 40)
    monkeypatch.setenv("ENCEXPORT_TREE_CLEAN", "0")
    assert main(["bench", "--out", str(bench_cmd.RECORDED / "sub")]) == 1
    err = capsys.readouterr().err
    assert "(dirty tree)" in err and "--allow-dirty" in err
    # elsewhere (the GPU check's run folder) the same tree is fine: it gets as far as needing a GPU
    bench_cmd._refuse_unrecordable(str(tmp_path), allow_dirty=False)
    bench_cmd._refuse_unrecordable(str(bench_cmd.RECORDED), allow_dirty=True)
    monkeypatch.setenv("ENCEXPORT_TREE_CLEAN", "1")
    bench_cmd._refuse_unrecordable(str(bench_cmd.RECORDED), allow_dirty=False)
