"""Turning the user's expected behaviour into the wording of a rule for the agent's prompt.

The expectation arrives in the user's words ("the bot should have refused", "must not reveal the
price", "answer in French"). A rule is an instruction to the agent, so the subject and modal are
dropped ("should have refused" → "Refuse"), prohibitions become "Do not …", and a subject that is
not the agent keeps a MUST ("the summary should cite sources" → "The summary must cite sources").
The text is always derived from the expectation, never chosen from a fixed list of examples.
"""

from __future__ import annotations

import re

_AGENT = (
    r"(?:the |this |our |an? )?(?:agent|assistant|bot|chatbot|model|ai|llm|system|response|reply|"
    r"answer|output)|it|you|they"
)
_MODAL_NOT = (
    r"(?:should|must|would|needs? to|ought to|has to|have to)\s+(?:not|never)|shouldn'?t|"
    r"mustn'?t|cannot|can'?t"
)
_MODAL = (
    r"(?:should|must|would|needs? to|ought to|has to|have to|(?:is|was) expected to|"
    r"(?:is|was) supposed to)"
)
_LEAD = re.compile(
    r"^(?:expected(?: behaviou?r)?\s*[:\-]\s*|ideally,?\s*|i expected (?:it|the \w+) to\s+)", re.I
)
_SUBJECT_NOT = re.compile(
    rf"^(?P<subj>{_AGENT})\s+(?:{_MODAL_NOT})\s+(?:have\s+)?(?P<rest>.+)$", re.I
)
_SUBJECT = re.compile(rf"^(?P<subj>{_AGENT})\s+{_MODAL}\s+(?:have\s+)?(?P<rest>.+)$", re.I)
_BARE_NOT = re.compile(rf"^(?:{_MODAL_NOT})\s+(?:have\s+)?(?P<rest>.+)$", re.I)
_BARE = re.compile(rf"^{_MODAL}\s+(?:have\s+)?(?P<rest>.+)$", re.I)
_OTHER = re.compile(rf"^(?P<subj>.+?)\s+(?:{_MODAL})\s+(?:have\s+)?(?P<rest>.+)$", re.I)
_IRREGULAR = {
    "said": "say", "told": "tell", "gave": "give", "given": "give", "written": "write",
    "wrote": "write", "made": "make", "done": "do", "did": "do", "sent": "send", "found": "find",
    "kept": "keep", "left": "leave", "paid": "pay", "been": "be", "shown": "show",
    "chosen": "choose",
    "taken": "take", "brought": "bring", "thought": "think", "spoken": "speak", "known": "know",
    "refunded": "refund", "declined": "decline", "refused": "refuse", "used": "use",
}  # fmt: skip
_SELF = re.compile(
    r"\b(?:it|the (?:agent|assistant|bot|model))\s+(cannot|can't|can|could|does not|doesn't|"
    r"did not|didn't|will|won't|is|was|has|does|did|should|must)\b",
    re.I,
)
_YOU = {"is": "you are", "was": "you were", "has": "you have", "does": "you do"}
_E_STEMS = ("at", "iz", "is", "us", "uc", "iv", "ov", "ur", "bl", "dl", "gl", "kl", "pl", "tl",
            "id", "ud", "ys", "ag", "ir", "ar", "ac", "ng")  # fmt: skip


def requirement(expected: str) -> str:
    """The expectation as an imperative instruction, without a final full stop."""
    text = _LEAD.sub("", " ".join(expected.split())).rstrip(" .!;")
    for pattern, negative in ((_SUBJECT_NOT, True), (_SUBJECT, False)):
        match = pattern.match(text)
        if match:
            return _imperative(match.group("rest"), negative)
    for pattern, negative in ((_BARE_NOT, True), (_BARE, False)):
        match = pattern.match(text)
        if match:
            return _imperative(match.group("rest"), negative)
    other = _OTHER.match(text)
    if other and len(other.group("subj").split()) <= 6:
        return _capital(f"{other.group('subj')} must {_base_phrase(other.group('rest'))}")
    return _capital(text)


def lower_first(text: str) -> str:
    """``text`` with its first letter in lower case, unless it starts an acronym."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _imperative(rest: str, negative: bool) -> str:
    phrase = _SELF.sub(
        lambda m: _YOU.get(m.group(1).lower(), "you " + m.group(1)), _base_phrase(rest)
    )
    return _capital(f"do not {phrase}" if negative else phrase)


def _base_phrase(rest: str) -> str:
    head, _, tail = rest.partition(" ")
    base = _lemma(head)
    return f"{base} {tail}".strip() if tail else base


def _lemma(word: str) -> str:
    lower = word.lower()
    if lower in _IRREGULAR:
        return _IRREGULAR[lower]
    if not lower.endswith("ed") or len(lower) < 5:
        return word
    stem = lower[:-2]
    if stem.endswith("i"):
        return stem[:-1] + "y"
    if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
        return stem[:-1]
    return stem + "e" if stem.endswith(_E_STEMS) else stem


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
