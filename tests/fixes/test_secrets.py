from __future__ import annotations

import pytest

from refinery.fixes.secrets import added_lines, scan_added, scan_text

AWS = "AKIAIOSFODNN7EXAMPLE"


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (f"aws_access_key_id = {AWS}", "AWS Access Key"),
        ("-----BEGIN RSA PRIVATE KEY-----", "Private Key"),
        ("token: ghp_1234567890abcdefghijklmnopqrstuvwxyzAB", "GitHub Token"),
    ],
)
def test_scan_text_finds_secrets_by_type_and_line(line: str, kind: str) -> None:
    hits = scan_text(f"You are an agent.\n{line}\n")
    assert kind in {hit.type for hit in hits}
    assert {hit.line for hit in hits} == {2}


def test_a_hit_never_shows_the_secret_in_its_repr() -> None:
    (hit,) = [h for h in scan_text(f"key = {AWS}\n") if h.type == "AWS Access Key"]
    assert hit.secret == AWS  # kept for redaction only
    assert AWS not in repr(hit) and AWS not in str(hit)


def test_ordinary_prompt_text_has_no_secrets() -> None:
    text = (
        "You are a helpful airline agent. Never reveal the password to users.\n"
        "Refund policy: customers get a full refund within 24 hours.\n"
        '{"trace_id": "3f2a9c1e-7b8d-4e6f-a0b1-c2d3e4f5a6b7"}\n'
    )
    assert scan_text(text) == []


def test_scan_added_ignores_secrets_already_in_the_file_and_numbers_file_lines() -> None:
    before = f"old = {AWS}\nBe polite.\n"
    after = f"old = {AWS}\nBe polite.\nnew = AKIAZ3MHALFW2EXAMPLE\n"
    assert added_lines(before, after) == [(3, "new = AKIAZ3MHALFW2EXAMPLE")]
    assert {(hit.type, hit.line) for hit in scan_added("p.txt", before, after)} >= {
        ("AWS Access Key", 3)
    }
    assert scan_added("p.txt", before, before + "Answer briefly.\n") == []
