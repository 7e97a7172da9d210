"""Run errors and exceptions, told apart by what they say about their cause.

A failed run is the strongest evidence a trace holds, but its cause decides the fix: a rate limit
or a provider outage (``infrastructure_error``) calls for retries and timeouts, a tool that broke
(``tool_error``) for tool handling, any other failed run (``run_error``) is named by the signature
its text matches (a parse failure, an overflowing context window) in the message. The signature
table is shared with the tool-output detector, which finds the same texts in results whose status
says "ok".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ...traces.model import Run, RunKind
from ..findings import DetectorInput, Finding, FindingKind, Severity, detector
from .excerpts import finding, head, search, segments, window

_I = re.IGNORECASE


@dataclass(frozen=True, kw_only=True)
class Signature:
    """A recognisable error text: what kind of finding it makes and how much it matters."""

    label: str
    """A few words for a person ("rate limit", "HTTP 4xx")."""
    kind: FindingKind
    """The finding kind it makes."""
    severity: Severity
    """How much it matters when found in a tool's output."""
    keywords: tuple[str, ...]
    """Lowercase literals one of which every match contains: found fast, then checked around."""
    pattern: re.Pattern[str]
    """Where it is found; word-bounded so that ordinary prose does not match."""

    def find(self, text: str) -> tuple[int, int] | None:
        """The span of a match in the scanned parts of ``text``, or None."""
        for offset, chunk in segments(text):
            span = self.find_in(chunk, chunk.lower())
            if span:
                return offset + span[0], offset + span[1]
        return None

    def find_in(self, chunk: str, lowered: str) -> tuple[int, int] | None:
        """The span of a match in ``chunk``, given its lowercase form."""
        if len(lowered) != len(chunk):
            return search(self.pattern, chunk)
        return self._near_keywords(chunk, lowered)

    def _near_keywords(self, chunk: str, lowered: str) -> tuple[int, int] | None:
        # The regex runs only in small windows around literal hits: a full scan of every tool
        # result with a dozen case-insensitive alternations costs minutes on 100,000 runs.
        for keyword in self.keywords:
            start, hits = lowered.find(keyword), 0
            while start >= 0 and hits < _MAX_HITS:
                match = self.pattern.search(chunk, max(0, start - _BEFORE), start + _AFTER)
                if match:
                    return match.span()
                start, hits = lowered.find(keyword, start + 1), hits + 1
        return None


_MAX_HITS, _BEFORE, _AFTER = 10, 120, 120


def _sig(
    label: str,
    kind: FindingKind,
    severity: Severity,
    keywords: tuple[str, ...],
    pattern: str,
    flags: int = _I,
) -> Signature:
    compiled = re.compile(pattern, flags)
    return Signature(label=label, kind=kind, severity=severity, keywords=keywords, pattern=compiled)


_HTTP_PREFIX = r"\b(?:HTTP(?:/[\d.]+)?|status(?:[ _]?code)?|code|error)[^\w\n]{0,3}"
INFRA, TOOL, PARSE, CONTEXT = (
    FindingKind.INFRASTRUCTURE_ERROR,
    FindingKind.TOOL_ERROR,
    FindingKind.PARSE_ERROR,
    FindingKind.CONTEXT_OVERFLOW,
)
HIGH, MEDIUM = Severity.HIGH, Severity.MEDIUM

SIGNATURES: tuple[Signature, ...] = (
    _sig(
        "rate limit",
        INFRA,
        HIGH,
        (
            "rate limit",
            "rate-limit",
            "rate_limit",
            "ratelimit",
            "too many requests",
            "quota",
            "exhausted",
            "429",
        ),
        r"\brate[ _-]?limit(?:ed|s|ing)?\b|\btoo many requests\b|\bquota (?:exceeded|exhausted)\b"
        r"|\bRateLimitError\b|\bresource[ _]exhausted\b|" + _HTTP_PREFIX + r"429\b",
    ),
    _sig(
        "provider or server error",
        INFRA,
        HIGH,
        (
            "50",
            "51",
            "52",
            "servererror",
            "unavailable",
            "apiconnection",
            "apistatus",
            "overloaded",
        ),
        _HTTP_PREFIX + r"5\d\d\b|\b5\d\d (?:Internal Server Error|Bad Gateway|Service Unavailable"
        r"|Gateway Time-?out|Server Error)\b|\b(?:InternalServerError|ServiceUnavailable(?:Error)?"
        r"|APIConnectionError|APIStatusError|overloaded_error)\b"
        r"|\bservice (?:is )?(?:temporarily )?unavailable\b|\b(?:server|model) is overloaded\b",
    ),
    _sig(
        "timeout",
        INFRA,
        HIGH,
        (
            "timed out",
            "timeout error",
            "time-out error",
            "timeouterror",
            "readtimeout",
            "connecttimeout",
            "timeoutexception",
            "request timeout",
            "deadline",
        ),
        r"\btimed out\b|\btime-?out error\b|\b(?:APITimeoutError|TimeoutError|ReadTimeout"
        r"|ConnectTimeout|TimeoutException)\b|\brequest timeout\b|\bdeadline[ _]exceeded\b",
    ),
    _sig(
        "connection failure",
        INFRA,
        HIGH,
        ("connection", "connecterror", "econn", "name or service", "name resolution"),
        r"\bconnection (?:refused|reset|error|aborted)\b|\b(?:ConnectionError|ConnectError"
        r"|ECONNREFUSED|ECONNRESET)\b|\bname or service not known\b"
        r"|\btemporary failure in name resolution\b",
    ),
    _sig(
        "context window exceeded",
        CONTEXT,
        HIGH,
        ("context_length", "maximum context", "prompt is too long", "exceed"),
        r"\bcontext_length_exceeded\b|\bmaximum context length\b|\bprompt is too long\b"
        r"|\bexceeds? the (?:model'?s )?(?:maximum|max) (?:context|token)",
    ),
    _sig(
        "parse failure",
        PARSE,
        HIGH,
        (
            "jsondecodeerror",
            "invalid json",
            "parserexception",
            "validationerror",
            "expecting",
            "unterminated",
            "to parse",
            "parse error",
            "parsing error",
        ),
        r"\b(?:JSONDecodeError|OutputParserException|ValidationError)\b"
        r"|\bExpecting (?:value|property name|',' delimiter)\b|\bUnterminated string\b"
        r"|\binvalid json\b|\b(?:could not|failed to|unable to) parse\b|\bpars(?:e|ing) error\b",
    ),
    _sig("python traceback", TOOL, HIGH, ("traceback",), r"Traceback \(most recent call last\)", 0),
    _sig(
        "HTTP client error",
        TOOL,
        HIGH,
        ("40", "41", "42"),
        _HTTP_PREFIX + r"4\d\d\b|\b4\d\d (?:Client Error|Bad Request|Unauthori[sz]ed|Forbidden"
        r"|Not Found|Method Not Allowed|Conflict|Gone|Unprocessable (?:Entity|Content))\b",
    ),
    _sig(
        "permission denied",
        TOOL,
        HIGH,
        ("permission denied", "access denied", "not authori", "permissionerror"),
        r"\bpermission denied\b|\baccess denied\b|\bnot authori[sz]ed\b|\bPermissionError\b",
    ),
    _sig(
        "unknown tool",
        TOOL,
        HIGH,
        (
            "not a valid tool",
            "unknown tool",
            "unknown function",
            "no such tool",
            "no such function",
        ),
        r"\bis not a valid tool\b|\bunknown (?:tool|function)\b|\bno such (?:tool|function)\b",
    ),
    _sig(
        "error message",
        TOOL,
        HIGH,
        (
            "error:",
            "error]",
            "error -",
            "error!",
            "error(",
            "exception:",
            "exception(",
            "exception]",
            "fatal",
            "failed:",
            "failed!",
            "failure:",
            '"error',
            '"status"',
            '"success"',
        ),
        r"^\s*\[?(?:error|exception|fatal|failed|failure)\]?\s*[:!-]"
        r"|^\s*(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception)\b(?:: |\(|$)"
        r"|\"(?:error|error_message|errorMessage)\"\s*:\s*(?:\"[^\"\s]|\{\s*\")"
        r"|\"status\"\s*:\s*\"(?:error|failed|failure)\"|\"success\"\s*:\s*false\b",
        _I | re.MULTILINE,
    ),
    _sig(
        "not found",
        TOOL,
        MEDIUM,
        (
            "not found",
            "no such file",
            "not exist",
            "n't exist",
            "find",
            "no results",
            "no matches",
            "no records",
        ),
        r"\bnot found\b|\bno such file or directory\b|\b(?:does not|doesn't) exist\b"
        r"|\b(?:could not|couldn't|unable to) find\b"
        r"|\bno (?:results|matches|records) (?:were )?found\b",
    ),
    _sig(
        "invalid input",
        TOOL,
        MEDIUM,
        ("invalid",),
        r"^\s*invalid\b|\binvalid (?:argument|parameter|input|request|value|id|identifier|format"
        r"|syntax|api key|token|date|query|type|option|choice)s?\b",
        _I | re.MULTILINE,
    ),
)


_KEYWORDS = tuple(dict.fromkeys(keyword for s in SIGNATURES for keyword in s.keywords))


def classify(text: str) -> tuple[Signature, tuple[int, int]] | None:
    """The first signature (in table order, most specific first) found in ``text``, and where."""
    for offset, chunk in segments(text):
        lowered = chunk.lower()
        if len(lowered) == len(chunk) and not any(map(lowered.__contains__, _KEYWORDS)):
            continue  # no signature's keyword: none can match (most results, at a fifth the cost)
        for signature in SIGNATURES:
            span = signature.find_in(chunk, lowered)
            if span:
                return signature, (offset + span[0], offset + span[1])
    return None


def error_excerpt(text: str, span: tuple[int, int] | None = None) -> str:
    """The error's first line(s), or its last line for a bare traceback, or the matched window."""
    stripped = text.strip()
    if stripped.startswith("Traceback"):
        last = stripped.splitlines()[-1].strip()
        if last:
            return last[:300]
    first = stripped.split("\n", 1)[0]
    glued = first.find("Traceback (most recent call last)")
    if glued > 0:  # ``str(exc)`` with the formatted traceback appended, as LangChain records it
        return first[:glued].strip()[:300]
    quoted = head(text)
    if span is None or text[span[0] : span[1]] in quoted:
        return quoted
    return window(text, *span)


def _failed_child_lines(runs: tuple[Run, ...]) -> dict[str, set[str]]:
    lines: dict[str, set[str]] = {}
    for run in runs:
        if run.error and run.parent_id:
            lines.setdefault(run.parent_id, set()).add(head(run.error))
    return lines


def _run_kind(run: Run, signature: Signature | None) -> FindingKind:
    if signature and signature.kind == INFRA:
        return INFRA
    return TOOL if run.kind is RunKind.TOOL else FindingKind.RUN_ERROR


def _error_finding(run: Run, propagated: bool) -> Finding:
    text = run.error or ""
    match = classify(text) if text else None
    signature, span = match if match else (None, None)
    kind = _run_kind(run, signature)
    label = f" ({signature.label})" if signature else ""
    evidence = error_excerpt(text, span) if text else ""
    if propagated:
        message = f"{run.kind.value} run '{run.name}' failed with its child's error{label}"
        return finding(FindingKind.ERROR_PROPAGATED, Severity.LOW, run, message, evidence)
    message = f"{run.kind.value} run '{run.name}' failed{label}"
    return finding(kind, Severity.HIGH, run, message, evidence)


@detector
def run_errors(data: DetectorInput) -> Iterator[Finding]:
    """Every failed run; an ancestor that only re-raises its child's error is reported low."""
    child_lines = _failed_child_lines(data.trace.runs)
    for run in data.trace.runs:
        if not run.failed:
            continue
        propagated = bool(run.error) and head(run.error or "") in child_lines.get(run.id, set())
        yield _error_finding(run, propagated)
