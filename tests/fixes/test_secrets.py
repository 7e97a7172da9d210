from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from planted_secrets import PLANTED
from refinery.config import Settings
from refinery.fixes import apply_change, dry_run
from refinery.fixes.secrets import added_lines, scan_added, scan_text
from refinery.models.diagnosis import Hypothesis

AWS = "AKIAIOSFODNN7EXAMPLE"


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (f"aws_access_key_id = {AWS}", "AWS access key id"),
        ("-----BEGIN RSA PRIVATE KEY-----", "private key (PEM)"),
        ("token: ghp_1234567890abcdefghijklmnopqrstuvwxyzAB", "GitHub token"),
        ('db_password = "Xq7!vR2#pL9@wT4"', "Secret Keyword"),  # detect-secrets alone
    ],
)
def test_scan_text_finds_secrets_by_type_and_line(line: str, kind: str) -> None:
    hits = scan_text(f"You are an agent.\n{line}\n")
    assert kind in {hit.type for hit in hits}
    assert {hit.line for hit in hits} == {2}


def test_a_hit_never_shows_the_secret_in_its_repr() -> None:
    (hit,) = scan_text(f"key = {AWS}\n")
    assert hit.type == "AWS access key id"
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
        ("AWS access key id", 3)
    }
    assert scan_added("p.txt", before, before + "Answer briefly.\n") == []


SECRET_KINDS = sorted(set(PLANTED) - {"email", "phone"})


@pytest.mark.parametrize("kind", SECRET_KINDS)
def test_scan_text_finds_every_secret_kind_redaction_knows(kind: str) -> None:
    text, values = PLANTED[kind]
    hits = scan_text(f"You are an agent.\n{text}\n")
    assert hits and all(hit.line >= 2 for hit in hits)
    assert any(value in hit.secret for hit in hits for value in values)


def test_emails_and_phone_numbers_are_not_refused() -> None:
    text = f"{PLANTED['email'][0]}\n{PLANTED['phone'][0]}\n"
    assert scan_text(text) == []


@pytest.mark.parametrize("kind", SECRET_KINDS)
def test_a_fix_adding_any_secret_is_refused_whoever_wrote_it(
    kind: str, settings: Settings, hyp: Callable[..., Hypothesis], allowed: tuple[str, ...]
) -> None:
    text, values = PLANTED[kind]
    edit = ("prompts/system.txt", "Be polite.\n", f"Be polite.\nUse {text} when needed.\n")
    run = dry_run(hyp(edit), settings, allowed)
    assert not run.valid
    assert any("contains a secret" in p for p in run.problems)
    assert not [v for v in values if any(v in p for p in run.problems)]


def test_the_commit_message_never_holds_a_value_from_the_trace(
    repo: Path, settings: Settings, hyp: Callable[..., Hypothesis], allowed: tuple[str, ...]
) -> None:
    key, email = PLANTED["openai key"][1][0], PLANTED["email"][1][0]
    title = f"Tell {email} that key {key} failed"
    edit = ("prompts/system.txt", "Be polite.\n", "Be polite.\nSay when a tool fails.\n")
    apply_change(
        hyp(edit, title=title), analysis_id="an-1", expected=f"reply to {email}",
        settings=settings, allowed_files=allowed,
    )  # fmt: skip
    message = subprocess.run(
        ["git", "-C", str(repo), "log", "-1", "--format=%B"], capture_output=True, text=True
    ).stdout
    assert key not in message and email not in message
    assert "Refinery: Tell <email> that key <api key> failed" in message
    assert "Expected: reply to <email>" in message
