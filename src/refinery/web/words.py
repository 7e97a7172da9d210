"""Plain words for the page: failure types, confidence and token health as a person says them."""

from __future__ import annotations

from ..analysis.tokens import HealthLabel
from ..models.diagnosis import FailureType, Level

FAILURE_WORDS = {
    FailureType.INSTRUCTION_GAP: "The instructions do not cover this case",
    FailureType.INSTRUCTION_NOT_FOLLOWED: "The instructions cover this, but were not followed",
    FailureType.CONTEXT_ISSUE: "Information the agent needed was missing, cut off or buried",
    FailureType.RETRIEVAL_ISSUE: "The agent looked up the wrong information, or none",
    FailureType.TOOL_ERROR: "A tool failed or was used wrongly",
    FailureType.ORCHESTRATION_ISSUE: "The steps went wrong: a loop, a wrong turn or an early stop",
    FailureType.OUTPUT_FORMAT: "The answer's format was wrong or cut off",
    FailureType.MODEL_LIMITATION: "The model could not do this reliably",
    FailureType.INFRASTRUCTURE: "A service the agent relies on failed (rate limit, timeout)",
}

CONFIDENCE_WORDS = {
    Level.HIGH: "Fairly sure",
    Level.MEDIUM: "Somewhat sure",
    Level.LOW: "Unsure",
}

RISK_WORDS = {
    Level.LOW: "Low risk",
    Level.MEDIUM: "Medium risk",
    Level.HIGH: "High risk",
}

HEALTH_WORDS = {
    HealthLabel.HARD_TRUNCATION: "Input cut off",
    HealthLabel.SOFT_TRUNCATION: "Context window nearly full",
    HealthLabel.CONTEXT_STARVATION: "Model given too little",
    HealthLabel.ATTENTION_DILUTION: "Instructions drowned in context",
    HealthLabel.OK: "Healthy",
}
