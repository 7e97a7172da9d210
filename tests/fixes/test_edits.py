from __future__ import annotations

import os
from pathlib import Path

import pytest

from refinery.fixes import check_edit, prepare_edits, render_diff
from refinery.models.diagnosis import Edit

ALL = None


def _prepare(root: Path, *edits: tuple[str, str, str], allowed: tuple[str, ...] | None = ALL):
    return prepare_edits(
        [Edit(file=f, search=s, replace=r) for f, s, r in edits], root, allowed_files=allowed
    )


def test_exact_unique_match_replaces_only_the_search_text(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_bytes(b"alpha\nbeta\ngamma\n")
    prepared = _prepare(tmp_path, ("p.txt", "beta\n", "beta\nBETA2\n"))
    assert prepared.problems == ()
    assert prepared.files[0].before == b"alpha\nbeta\ngamma\n"
    assert prepared.files[0].after == b"alpha\nbeta\nBETA2\ngamma\n"


def test_ambiguous_search_is_refused_with_its_lines(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("Be polite.\nx\nBe polite.\n")
    prepared = _prepare(tmp_path, ("p.txt", "Be polite.", "Be kind."))
    assert prepared.files == ()
    assert prepared.problems == ("p.txt: edit 1: search text occurs 2 times (lines 1, 3)",)


def test_missing_search_names_file_and_nearest_real_lines(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("You are an agent.\nAlways be polite to customers.\nBye.\n")
    prepared = _prepare(tmp_path, ("p.txt", "Always be polite to the customer.", "x"))
    (problem,) = prepared.problems
    assert problem.startswith("p.txt: edit 1: search text not found")
    assert 'did you mean to match line 2: "Always be polite to customers."?' in problem


def test_whitespace_tolerant_match_is_used_when_unique_and_reported(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("Rules:\n    Be   polite.\n    Answer briefly.\nEnd\n")
    prepared = _prepare(
        tmp_path, ("p.txt", "Be polite.\nAnswer briefly.\n", "Be polite.\nOffer refunds.\n")
    )
    assert prepared.problems == ()
    assert prepared.files[0].after == b"Rules:\n    Be polite.\nOffer refunds.\nEnd\n"
    assert prepared.notes == (
        "p.txt: edit 1: matched at line 2 only after ignoring whitespace differences",
    )


def test_whitespace_tolerant_match_refused_when_ambiguous(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("Be  polite.\nBe\tpolite.\n")
    prepared = _prepare(tmp_path, ("p.txt", "Be polite.", "Be kind."))
    assert prepared.problems[0].startswith(
        "p.txt: edit 1: search text only found ignoring whitespace, 2 times"
    )


def test_several_edits_to_one_file_apply_in_sequence(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("one\ntwo\n")
    prepared = _prepare(tmp_path, ("p.txt", "one", "ONE"), ("p.txt", "ONE\ntwo", "ONE\nTWO"))
    assert prepared.problems == ()
    assert prepared.files[0].after == b"ONE\nTWO\n"


def test_crlf_file_keeps_crlf_for_edits_written_with_lf(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_bytes(b"a\r\nb\r\nc\r\n")
    prepared = _prepare(tmp_path, ("p.txt", "a\nb\n", "a\nb\nnew\n"))
    assert prepared.files[0].after == b"a\r\nb\r\nnew\r\nc\r\n"


def test_empty_search_creates_a_new_file_but_not_over_an_existing_one(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("x\n")
    created = _prepare(tmp_path, ("new.txt", "", "hello\n"))
    assert created.files[0].before is None and created.files[0].after == b"hello\n"
    refused = _prepare(tmp_path, ("old.txt", "", "hello\n"), ("gone.txt", "x", "y"))
    assert refused.problems == (
        "old.txt: edit 1: empty search text, but the file exists: quote the text to replace",
        "gone.txt: edit 1: the file does not exist (an empty search text creates a file)",
    )


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("../escape.txt", "../escape.txt: outside the repository"),
        ("/etc/passwd", "/etc/passwd: not a path relative to the repository root"),
        (".git/config", ".git/config: inside .git, which Refinery never writes"),
        ("other.txt", "other.txt: not one of the project's context files"),
    ],
)
def test_files_outside_repository_or_context_are_refused(
    tmp_path: Path, file: str, message: str
) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "config").write_text("x")
    (repo / "other.txt").write_text("x")
    prepared = _prepare(repo, (file, "x", "y"), allowed=("p.txt",))
    assert prepared.files == ()
    assert prepared.problems[0].startswith(message)


def test_symlink_escaping_the_repository_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (tmp_path / "secret.txt").write_text("x")
    os.symlink(tmp_path / "secret.txt", repo / "link.txt")
    prepared = _prepare(repo, ("link.txt", "x", "y"), allowed=("link.txt",))
    assert prepared.problems[0].startswith("link.txt: outside the repository")


def test_symlink_inside_the_repository_edits_its_target(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("x\n")
    os.symlink("real.txt", tmp_path / "link.txt")
    prepared = _prepare(tmp_path, ("link.txt", "x", "y"), allowed=("link.txt",))
    assert [(f.path, f.after) for f in prepared.files] == [("real.txt", b"y\n")]


def test_check_edit_is_empty_when_the_edit_applies() -> None:
    assert check_edit(Edit(file="p.txt", search="b", replace="c"), "a b") == []
    assert check_edit(Edit(file="p.txt", search="z", replace="c"), "a b") == [
        "p.txt: edit 1: search text not found"
    ]


def test_render_diff_is_a_unified_diff_per_file(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("one\ntwo\n")
    diff = render_diff(
        _prepare(tmp_path, ("p.txt", "two\n", "two\nthree\n"), ("n.txt", "", "new\n"))
    )
    assert diff.splitlines() == [
        "--- a/p.txt",
        "+++ b/p.txt",
        "@@ -1,2 +1,3 @@",
        " one",
        " two",
        "+three",
        "--- /dev/null",
        "+++ b/n.txt",
        "@@ -0,0 +1 @@",
        "+new",
    ]
