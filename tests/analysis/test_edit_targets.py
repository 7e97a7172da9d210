"""Config edits find nested and empty settings; eval cases are never half-empty."""

from __future__ import annotations

import json

import yaml

from refinery.analysis.offline.edit_targets import apply_edit, config_edit
from refinery.analysis.offline.eval_targets import eval_case_edit
from refinery.knowledge.patterns import load_patterns

KNOBS = {p.id: p.config for p in load_patterns() if p.config is not None}


def test_nested_retry_attempts_in_flow_yaml_are_raised() -> None:
    content = "llm:\n  model: m\n  retry: {attempts: 1, backoff: 2}\n"
    change = config_edit("c.yaml", content, KNOBS["config.retries-timeouts"])
    assert change is not None and (change.key, change.old, change.new) == (
        "retry.attempts",
        "1",
        "3",
    )
    assert yaml.safe_load(apply_edit(content, change.edit))["llm"]["retry"]["attempts"] == 3


def test_a_suffixed_timeout_key_is_recognised() -> None:
    content = "[client]\nrequest_timeout_s = 8\n"
    change = config_edit("c.toml", content, KNOBS["config.retries-timeouts"])
    assert change is not None and change.new == "16"


def test_an_empty_fallback_model_gets_a_model_of_another_provider() -> None:
    content = json.dumps({"model": "claude-x", "fallback_model": None})
    change = config_edit("c.json", content, KNOBS["config.fallback-model"], "anthropic")
    assert change is not None
    assert json.loads(apply_edit(content, change.edit))["fallback_model"] == "gpt-4.1"


def test_eval_case_leaves_out_fields_it_cannot_fill() -> None:
    content = "- q: how do I reset?\n  expect: explains reset\n  region: eu\n  must_mention: [x]\n"
    edit = eval_case_edit("e.yaml", content, "where is my parcel", "says where it is")
    assert edit is not None
    added = yaml.safe_load(apply_edit(content, edit))[-1]
    assert added == {"q": "where is my parcel", "expect": "says where it is"}
