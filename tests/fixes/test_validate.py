from __future__ import annotations

import pytest

from refinery.fixes.validate import check_content

PY = (
    b"import os\n\nLIMIT = 3\nA, B = 1, 2\n\n\n"
    b"def run():\n    return LIMIT\n\n\nclass Agent:\n    pass\n"
)


def test_python_edit_keeping_names_and_adding_one_is_fine() -> None:
    after = PY.replace(b"LIMIT = 3", b"LIMIT = 5\nRETRIES = 2")
    assert check_content("agent.py", PY, after, max_bytes=10_000) == []


@pytest.mark.parametrize(
    ("old", "new", "lost"),
    [
        (b"def run():", b"def start():", "run"),
        (b"class Agent:", b"class Bot:", "Agent"),
        (b"LIMIT = 3\n", b"", "LIMIT"),
        (b"A, B = 1, 2", b"A = 1", "B"),
    ],
)
def test_python_edit_losing_a_top_level_name_is_refused(old: bytes, new: bytes, lost: str) -> None:
    after = PY.replace(old, new).replace(b"return LIMIT", b"return 1")
    assert check_content("agent.py", PY, after, max_bytes=10_000) == [
        f"agent.py: removes or renames top-level name(s) {lost}: a breaking change"
    ]


def test_python_that_no_longer_parses_is_refused() -> None:
    problems = check_content("agent.py", PY, PY + b"def broken(:\n", max_bytes=10_000)
    assert problems == ["agent.py: no longer parses as Python (line 13: invalid syntax)"]


@pytest.mark.parametrize(
    ("path", "before", "after", "kind"),
    [
        ("evals.json", b'{"a": 1}', b'{"a": 1,}', "JSON"),
        ("config.yaml", b"a: 1\n", b"a: [1\n", "YAML"),
        ("config.yml", b"a: 1\n", b"a: 1\n  b: : 2\n", "YAML"),
        ("pyproject.toml", b"a = 1\n", b"a = \n", "TOML"),
        ("cases.jsonl", b'{"a": 1}\n', b'{"a": 1}\n{"b"\n', "JSONL"),
    ],
)
def test_structured_files_must_still_parse(
    path: str, before: bytes, after: bytes, kind: str
) -> None:
    (problem,) = check_content(path, before, after, max_bytes=10_000)
    assert problem.startswith(f"{path}: no longer parses as {kind} (")


def test_a_file_that_did_not_parse_before_is_not_blamed_on_the_edit() -> None:
    assert check_content("c.json", b"{broken", b"{broken, still", max_bytes=100) == []


def test_size_limit_is_enforced_and_configurable() -> None:
    assert check_content("p.txt", b"", b"x" * 11, max_bytes=10) == [
        "p.txt: would be 11 bytes, over the 10-byte limit"
    ]
    assert check_content("p.txt", b"", b"x" * 11, max_bytes=11) == []


def test_new_content_must_be_utf8() -> None:
    assert check_content("p.txt", None, b"\xff\xfe", max_bytes=10) == [
        "p.txt: the new content is not UTF-8 text"
    ]
