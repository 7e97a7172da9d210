from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from refinery.llm.fake import FakeProvider
from refinery.llm.provider import Request
from refinery.models.diagnosis import Diagnosis


def _request(schema: type[BaseModel] = Diagnosis) -> Request:
    return Request(system="s", prompt="p", schema_name="x", schema=schema.model_json_schema())


def test_scripted_replies_come_in_order_then_fail_loudly() -> None:
    fake = FakeProvider(replies=["one", {"two": 2}])
    assert fake.complete(_request()).text == "one"
    assert json.loads(fake.complete(_request()).text) == {"two": 2}
    with pytest.raises(AssertionError, match="ran out of replies after 2 calls"):
        fake.complete(_request())
    assert len(fake.requests) == 3


def test_without_a_script_the_reply_is_a_valid_minimal_instance() -> None:
    reply = FakeProvider().complete(_request()).text
    diagnosis = Diagnosis.model_validate_json(reply)
    assert diagnosis.failure_type.value == "instruction_gap"


def test_function_replies_see_the_request() -> None:
    fake = FakeProvider(lambda request: request.prompt.upper())
    assert fake.complete(_request()).text == "P"
