"""Which commit a result names: git where the checkout has its history, the environment where it has not, and
the refusal to record a dirty tree's results."""

from __future__ import annotations

import subprocess

import pytest

from encexport import provenance
from encexport.provenance import DirtyResults, describe, refuse_dirty, shell_exports, source_revision


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(provenance.COMMIT_VARIABLE, raising=False)
    monkeypatch.delenv(provenance.CLEAN_VARIABLE, raising=False)


def _repo(path):
    def git(*args):
        subprocess.run(["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t", *args], check=True,
                       capture_output=True)

    path.mkdir()
    git("init", "-q")
    (path / "a.txt").write_text("one\n")
    git("add", "a.txt")
    git("commit", "-q", "-m", "one")
    return git


def test_this_checkout_names_its_head(no_env):
    rev = source_revision()
    assert len(rev["commit"]) == 40 and rev["tree"] in ("clean", "dirty")


def test_git_decides_clean_and_dirty_by_tracked_files(no_env, tmp_path):
    _repo(tmp_path / "r")
    assert source_revision(tmp_path / "r")["tree"] == "clean"
    (tmp_path / "r" / "new.txt").write_text("untracked\n")
    assert source_revision(tmp_path / "r")["tree"] == "clean"
    (tmp_path / "r" / "a.txt").write_text("two\n")
    assert source_revision(tmp_path / "r")["tree"] == "dirty"


def test_a_copy_without_git_reads_the_environment(no_env, tmp_path, monkeypatch):
    copy = tmp_path / "copy"
    copy.mkdir()
    assert source_revision(copy) == {"commit": "unknown", "tree": "unknown"}
    monkeypatch.setenv("ENCEXPORT_COMMIT", "f" * 40)
    assert source_revision(copy) == {"commit": "f" * 40, "tree": "unknown"}
    for value, tree in (("1", "clean"), ("0", "dirty"), ("true", "clean"), ("", "unknown"), ("maybe", "unknown")):
        monkeypatch.setenv("ENCEXPORT_TREE_CLEAN", value)
        assert source_revision(copy)["tree"] == tree, value


def test_a_copy_inside_another_repository_does_not_take_its_commit(no_env, tmp_path):
    _repo(tmp_path / "outer")
    inner = tmp_path / "outer" / "unpacked"
    inner.mkdir()
    assert source_revision(inner) == {"commit": "unknown", "tree": "unknown"}


def test_recording_refuses_anything_but_a_clean_commit():
    refuse_dirty({"commit": "a" * 40, "tree": "clean"}, allow_dirty=False, what="results")
    for rev in ({"commit": "a" * 40, "tree": "dirty"}, {"commit": "a" * 40, "tree": "unknown"},
                {"commit": "unknown", "tree": "clean"}):
        with pytest.raises(DirtyResults, match="--allow-dirty"):
            refuse_dirty(rev, allow_dirty=False, what="the GPU check's results")
        refuse_dirty(rev, allow_dirty=True, what="results")


def test_shell_exports_round_trip(no_env, tmp_path, monkeypatch):
    line = shell_exports({"commit": "b" * 40, "tree": "clean"})
    assert line == f"export ENCEXPORT_COMMIT={'b' * 40} ENCEXPORT_TREE_CLEAN=1"
    for assignment in line.split()[1:]:
        monkeypatch.setenv(*assignment.split("=", 1))
    (tmp_path / "c").mkdir()
    assert describe(source_revision(tmp_path / "c")) == "commit bbbbbbbbbbbb (clean tree)"
