"""Turning the user's expected behaviour into the wording of a rule for the agent's prompt.

The expectation arrives in the user's words ("the bot should have refused", "must not reveal the
price", "answer in French"). A rule is an instruction to the agent, so the subject and modal are
dropped ("should have refused" → "Refuse"), prohibitions become "Do not …", and a subject that is
not the agent keeps a MUST ("the summary should cite sources" → "The summary must cite sources").
The text is always derived from the expectation, never chosen from a fixed list of examples.

A rule must generalise: ``general_rule`` keeps the behaviour and drops the case's own values
(amounts, dates, ids, file paths, quoted literals, names from the conversation) and the clauses
that only report what happened. When little behaviour is left (the expectation is a specific
answer), the rule says so (``specific``) and the caller states a method instead.
``grammar_problems`` is the heuristic check every generated rule passes before it is offered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...knowledge.words import says

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
_OTHER = re.compile(rf"^(?P<subj>.+?)\s+(?:{_MODAL})\s+(?P<rest>.+)$", re.I)
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
_COORDINATED = re.compile(r"((?:,\s*|\b)(?:and|or|then)\s+)(\w+)\b(?=\s)")
_YOU = {"is": "you are", "was": "you were", "has": "you have", "does": "you do"}
_E_STEMS = ("at", "iz", "is", "us", "uc", "iv", "ov", "ur", "bl", "dl", "gl", "kl", "pl", "tl",
            "id", "ud", "ys", "ag", "ir", "ar", "ac", "ng", "ev", "ot")  # fmt: skip


def requirement(expected: str) -> str:
    """The expectation as an imperative instruction, without a final full stop."""
    text = _LEAD.sub("", " ".join(expected.split())).rstrip(" .!;")
    for pattern, negative in ((_SUBJECT_NOT, True), (_SUBJECT, False)):
        match = pattern.match(text)
        if match:
            return _imperative(match.group("rest"), negative, _perfect(match))
    for pattern, negative in ((_BARE_NOT, True), (_BARE, False)):
        match = pattern.match(text)
        if match:
            return _imperative(match.group("rest"), negative, _perfect(match))
    other = _OTHER.match(text)
    if other and len(other.group("subj").split()) <= 6:
        return _capital(f"{other.group('subj')} must {_other_phrase(other.group('rest'))}")
    return _capital(text)


def _other_phrase(rest: str) -> str:
    """``rest`` after "must" for a subject that is not the agent ("have been sent" → "be sent")."""
    words = rest.split(" ", 2)
    if words[0].lower() != "have" or len(words) < 2:
        return _base_phrase(rest)
    if words[1].lower() == "been":
        return "be " + " ".join(words[2:])
    tail = " ".join(words[1:])
    return _base_phrase(tail) if _lemma(words[1]) != words[1] else rest


def lower_first(text: str) -> str:
    """``text`` with its first letter in lower case, unless it starts an acronym."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _perfect(match: re.Match[str]) -> bool:
    """True for "should have done": every coordinated verb is a past participle."""
    return bool(re.search(r"\shave\s+$", match.string[: match.start("rest")]))


def _imperative(rest: str, negative: bool, perfect: bool = False) -> str:
    phrase = _SELF.sub(
        lambda m: _YOU.get(m.group(1).lower(), "you " + m.group(1)), _base_phrase(rest, perfect)
    )
    return _capital(f"do not {phrase}" if negative else phrase)


def _base_phrase(rest: str, perfect: bool = False) -> str:
    head, _, tail = rest.partition(" ")
    base = _lemma(head)
    if perfect or base != head:
        tail = _COORDINATED.sub(lambda m: m.group(1) + _lemma(m.group(2)), tail)
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


@dataclass(frozen=True, kw_only=True)
class Rule:
    """A rule for the agent's prompt, derived from the expectation."""

    text: str
    """An instruction without a final full stop and without the case's own values."""
    specific: bool
    """True when the expectation is mainly a specific answer: too little behaviour to generalise."""


_MONEY_DATE_ID = re.compile(
    r"[$€£~]?(?:[A-Za-z]+[-_/]?)*\d[\w.,:/%$€£+~-]*|\b[A-Z]+_[A-Z_]+\b|[\w.-]+/[\w./-]+|\b\w+\.(?:py|md|js|ts|json|ya?ml|txt|csv|sql)\b"
)
_QUOTED = re.compile(
    r"\s*(?:'[^']{1,80}'|\"[^\"]{1,80}\"|`[^`]{1,80}`|\u201c[^\u201d]{1,80}\u201d)"
)
_BRACKETS = re.compile(r"\s*(?:\([^()]*\)|\[[^\[\]]*\]|\{[^{}]*\})")
_THRESHOLD = re.compile(
    r"(?:more than|less than|fewer than|over|under|within|at least|at most|up to|after|"
    r"before|above|below|than|every|per)\s+$",
    re.I,
)
_CONTRAST = re.compile(
    r"\s*(?:,|;|\u2014|--| -)?\s*\b(?:not|rather than|instead of)\b(?:[^,;.]|\.(?=\d))*$", re.I
)
_EXAMPLE = re.compile(
    r"\s*,?\s*\b(?:like|such as|e\.g\.,?|i\.e\.,?|namely|including)\s+(?:[^,;.]|\.(?=\d))*$", re.I
)
_CLAUSES = re.compile(r"\s*(?:[;:](?=\s)|\u2014|, so\b|, and so\b)\s*")
_LEAD_IN = re.compile(
    rf"^(?P<lead>(?:after|before|for|when|whenever|if|once|unless|in|on)\b.+?),?\s+"
    rf"(?P<main>(?:{_AGENT})\s+(?:{_MODAL_NOT}|{_MODAL})\b.*)$",
    re.I,
)
_HAS_MODAL = re.compile(rf"\b(?:{_MODAL}|{_MODAL_NOT})\b", re.I)
_NAME = re.compile(r"(?<![.:;!?]\s)(?<!^)\b[A-Z][a-z]{2,}(?:\s+[A-Z][a-z]+)*\b")
_PREP_NAME = r"(?:\b(?:for|to|in|at|from|of|with|by|on|about)\s+)?"
_DANGLING = re.compile(
    r"\s+\b(?:like|such as|and|or|with|the|a|an|of|for|to|in|at|by|from|on|is|are|x|=)"
    r"\s*(?=[,;.)]|$)",
    re.I,
)
_ANSWER_VERBS = re.compile(r"^(?:say|state|answer|reply|respond|give|quote)\b", re.I)
_MIN_WORDS = 4
_SITUATIONS = ("if", "when", "whenever", "unless", "before", "after", "for", "once")


def general_rule(expected: str, case_text: str = "") -> Rule:
    """The expectation as a rule that generalises beyond this conversation.

    ``case_text`` is the conversation's own text (user input, tool results, final answer): a
    number or name that occurs there is a value of this case, not part of a policy.
    """
    flat = " ".join(expected.split()).rstrip(" .!;")
    bare = _BRACKETS.sub(lambda m: m.group() if not _values(m.group(), case_text) else "", flat)
    clauses = [c for c in _CLAUSES.split(bare) if c]
    behaviour = [c for c in clauses if _HAS_MODAL.search(c)]
    if not behaviour:
        return Rule(text=requirement(expected), specific=True)
    text, lost = _strip_values(_instruction("; ".join(behaviour)), case_text)
    context = clauses[: clauses.index(behaviour[0])]
    if context and not _values(" ".join(context), case_text) and len(behaviour) == 1:
        text = f"When {lower_first(' '.join(context))}, {lower_first(text)}"
    lost = lost or bare != flat
    specific = lost and (_ANSWER_VERBS.match(text) is not None or len(text.split()) < _MIN_WORDS)
    return Rule(text=text, specific=specific or bool(grammar_problems(text)))


def _instruction(clause: str) -> str:
    """The clause as an instruction, keeping a leading "After …"/"For …" situation."""
    lead = _LEAD_IN.match(clause)
    if lead is None:
        return requirement(clause)
    situation = _capital(lead.group("lead").rstrip(","))
    return f"{situation}, {lower_first(requirement(lead.group('main')))}"


def _strip_values(text: str, case_text: str) -> tuple[str, bool]:
    """``text`` without the case's values; True when values had to be removed from the clause."""
    out = _QUOTED.sub("", text)
    for tail in (_EXAMPLE, _CONTRAST):
        match = tail.search(out)
        if match and _values(match.group(), case_text):
            out = out[: match.start()]
    values = _values(out, case_text)
    for value in sorted(values, key=len, reverse=True):
        out = re.sub(rf"\s*{_PREP_NAME}{re.escape(value)}(?!\w)", "", out)
    return _tidy(out), bool(values)


def case_values(text: str, case_text: str) -> list[str]:
    """The case-specific values in ``text``: ids, amounts, dates, paths, case numbers and names.

    A plain number counts when it occurs in ``case_text`` and is not a threshold ("within 30
    days"); a capitalised name counts when it occurs in ``case_text``.
    """
    return _values(text, case_text)


def _values(text: str, case_text: str) -> list[str]:
    found = []
    for match in _MONEY_DATE_ID.finditer(text):
        token = match.group().rstrip(".,:")
        if token.isdigit() and (_THRESHOLD.search(text[: match.start()]) or token not in case_text):
            continue
        found.append(token)
    found += [m.group() for m in _QUOTED.finditer(text)]
    found += [m.group() for m in _NAME.finditer(text) if m.group() in case_text]
    return found


def _tidy(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = _DANGLING.sub("", text)
        text = re.sub(r"\s+([,;.)])", r"\1", text)
        text = re.sub(r"([,;])(?:\s*[,;])+", r"\1", text)
        text = re.sub(r"\b(\w+)\s+\1\b", r"\1", text, flags=re.I)
    return " ".join(text.split()).strip(" ,;:-\u2014")


_NOT_BASE = re.compile(
    r"\b(?:must|MUST|should|is to|Do not|do not|you MUST NOT)\s+(?P<word>\w+)", re.UNICODE
)
_DETERMINERS = {
    "the", "a", "an", "this", "that", "these", "those", "there", "it", "its", "their", "his",
    "her", "all", "every", "each",
}  # fmt: skip
_ED_VERBS = {"need", "feed", "proceed", "exceed", "succeed", "embed", "heed", "seed", "shed", "bed"}


def grammar_problems(text: str) -> tuple[str, ...]:
    """Heuristic grammar problems of a generated rule (empty when it reads well)."""
    problems = []
    if not text[:1].isupper():
        problems.append("does not start with a capital letter")
    doubled = re.search(r"\b(\w+)\s+\1\b", text, re.I)
    if doubled and not doubled.group(1).isdigit():
        problems.append(f"doubled word {doubled.group(1)!r}")
    for match in _NOT_BASE.finditer(text):
        word = match.group("word")
        if word.lower() in _DETERMINERS or (word.endswith("ed") and word.lower() not in _ED_VERBS):
            problems.append(f"no verb after {match.group().split()[0]!r}: {word!r}")
    if re.search(r"\(\s*\)|\s[,;.]|[,;]\s*[,;.]", text):
        problems.append("empty or doubled punctuation")
    return tuple(problems)


def obligation(rule: str) -> str:
    """``rule`` as an obligation: "you MUST X", "you MUST NOT X", or itself if it has a subject."""
    text = rule.rstrip(" .")
    condition, sep, main = text.partition(", ")
    if not (sep and condition.split(" ", 1)[0].lower() in _SITUATIONS):
        condition, main = "", text
    if main[:7].lower() == "do not ":
        clause = "you MUST NOT " + main[7:]
    elif re.search(r"\s(?:must|MUST)\s", main) and not main.lower().startswith("you "):
        clause = lower_first(main) if condition else main
    else:
        clause = "you MUST " + lower_first(main)
    return f"{condition}, {clause}" if condition else _capital(clause)


_LEFTOVER = re.compile(r"\[\[REDACTED_|\{\w*\}|\(\s*\)|\"\s\"|'\s*'|``|\s[,;:]|[,;:]\s*[.!?]")
"""Traces of stripping or templating: a redaction marker, an unfilled slot, empty brackets or
quotes, punctuation left without its words."""
_RUN_ID = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b[0-9a-f]{16,}\b", re.I
)
_CLAUSE_END = re.compile(r"[^.;!?\n]+")
_QUOTATION = re.compile(r'"[^"\n]{3,}"')


def readability_problems(
    text: str, expected: str = "", case_text: str = "", run_ids: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """Why a fix's text does not read as something a person would put in a prompt (empty if ok).

    Dangling words left where a value was stripped, leftovers of stripping or templating, the
    expected line pasted verbatim, and run ids all fail; so do the heuristics of
    ``grammar_problems``.
    """
    text = _QUOTATION.sub('""', text)  # a quoted request is the user's words, not ours
    problems = list(grammar_problems(text)) if text[:1].isalpha() else []
    for clause in _CLAUSE_END.findall(text):
        words = clause.strip(" ,:-\u2014\"'").split()
        if words and says("dangling_end", words[-1]):
            problems.append(f"dangling word at the end of {clause.strip()!r}")
    leftover = _LEFTOVER.search(text)
    if leftover:
        problems.append(f"leftover of stripping: {leftover.group().strip()!r}")
    if _verbatim(expected, text):
        problems.append("pastes the expected line verbatim")
    ids = [i for i in run_ids if len(i) >= 6 and i in text] + _RUN_ID.findall(text)
    if ids:
        problems.append(f"contains a run id: {ids[0]}")
    return tuple(dict.fromkeys(problems))


def _verbatim(expected: str, text: str) -> bool:
    line = " ".join(expected.lower().split()).rstrip(" .!;")
    return len(line.split()) >= 4 and line in " ".join(text.lower().split())
