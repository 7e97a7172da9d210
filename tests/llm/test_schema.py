"""The answer schemas sent to providers satisfy every provider's schema rules; pydantic's do not."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from provider_wire import gemini_schema_problems, strict_schema_problems
from refinery.analysis.llm_analyst import HypothesisSet
from refinery.llm.fake import minimal_instance
from refinery.llm.schema import answer_schema
from refinery.models.diagnosis import DiagnosisDraft


@pytest.mark.parametrize("model", [DiagnosisDraft, HypothesisSet])
def test_answer_schema_meets_openai_strict_and_gemini_rules(model: type[BaseModel]) -> None:
    raw = model.model_json_schema()
    assert strict_schema_problems(raw) and gemini_schema_problems(raw)

    schema = answer_schema(model)
    assert strict_schema_problems(schema) == [] and gemini_schema_problems(schema) == []
    assert "$defs" not in schema and "$ref" not in str(schema)


def test_answer_schema_keeps_the_meaning_of_the_model() -> None:
    schema = answer_schema(DiagnosisDraft)
    fields = schema["properties"]
    assert fields["failure_type"]["description"] == "The taxonomy category."
    assert "instruction_gap" in fields["failure_type"]["enum"]
    assert {"type": "null"} in fields["divergence"]["anyOf"]
    assert fields["evidence"]["type"] == "array"
    item = answer_schema(HypothesisSet)["properties"]["hypotheses"]
    assert (item["minItems"], item["maxItems"]) == (1, 5)
    assert "title" in item["items"]["properties"]
    # the smallest answer the schema allows is one the model accepts
    assert DiagnosisDraft.model_validate(minimal_instance(schema)).divergence is None
