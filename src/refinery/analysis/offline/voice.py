"""The voice a prompt is written in, and a fix's text rendered in that voice.

A fix is added to someone's prompt, so it reads like the sentences around it. Fix texts are
written as instructions to the agent ("If a tool call fails, tell the user ..."). A prompt that
speaks of its agent in the third person ("The assistant must ...", "Skye never ...") gets the
same rule with that subject and the prompt's own modal ("the assistant must tell the user ..."),
with "you"/"your" agreeing ("if the assistant is not sure ..., it must use its tools"). A prompt
that ends with a list ("- ", "* ", "3. ") gets a one-line fix as the next item of that list.
"You are Skye" is still the second person: such prompts keep the instruction as it is.

Everything is deterministic and conservative: a sentence that cannot be converted cleanly leaves
the whole fix in its instruction form, and so does a conversion that fails the caller's check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from ...knowledge.words import word_pattern
from .rule_text import lower_first

_ITEM = re.compile(
    r"^(?P<indent>[ \t]*)(?:(?P<bullet>[-*+\u2022])|(?P<num>\d{1,3})(?P<delim>[.)]))"
    r"(?P<space>[ \t]+)\S"
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
_SITUATIONS = frozenset(
    {"if", "when", "whenever", "unless", "before", "after", "once", "until", "while", "for"}
)
_MODALS = frozenset(
    {"must", "should", "will", "shall", "can", "cannot", "can't", "could", "would", "may",
     "might", "won't", "wouldn't", "shouldn't", "mustn't", "couldn't"}
)  # fmt: skip
_ADVERBS = frozenset(
    {"only", "already", "still", "also", "just", "really", "actually", "always", "never",
     "often", "usually", "first", "then", "now"}
)  # fmt: skip
_THIRD_VERBS = _MODALS | {"never", "always", "only", "is", "does", "has", "needs"}
_NAME_SUBJECT = re.compile(r"^(?P<subj>[A-Z][a-z][\w-]*)(?=\s)")
_AUX = {
    "are": "is", "were": "was", "have": "has", "do": "does", "don't": "doesn't",
    "aren't": "isn't", "weren't": "wasn't", "haven't": "hasn't",
}  # fmt: skip
_CONTRACTED = {"'re": "is", "'ve": "has", "'ll": "will", "'d": "would"}
_IRREGULAR = {"be": "is", "have": "has", "do": "does", "go": "goes"}
_VERB_AFTER = re.compile(rf"((?:\s+(?:{'|'.join(sorted(_ADVERBS))}))*)\s+([\w']+)")
_COORDINATED_NOT = re.compile(r"(,?\s+(?:and|or|but)\s+)(?:do\s+(not|NOT)|don't)\b")
"""A second instruction under the same modal: "must plan ... and do not repeat" -> "and not"."""
_YOU = re.compile(r"\b[Yy]ou(?:rselves|rself|rs|r|'re|'ve|'ll|'d)?\b")
_QUOTED = re.compile(r'"[^"\n]*"|\u201c[^\u201d\n]*\u201d')
_PASS_THROUGH = re.compile(r"^\s*(?:<[^>]*>|#.*|User:.*|\(.*\)|Right response:.*)?\s*$")


@dataclass(frozen=True, kw_only=True)
class Voice:
    """How a prompt speaks to its agent, and how it ends."""

    subject: str = ""
    """How the prompt names its agent in the third person ("the assistant", "Skye"); empty when
    it speaks to the agent ("You are ...", "Always ...")."""
    modal: str = "must"
    """The modal the prompt's third-person rules use ("must" or "should")."""
    marker: str = ""
    """The next item's marker when the prompt ends with a list ("- ", "  * ", "4. "); empty when
    it ends with prose."""
    full_stops: bool = True
    """Whether the items of that list end with a full stop."""
    loose: bool = False
    """Whether a blank line parts the items of that list."""


@dataclass(frozen=True, kw_only=True)
class Fitted:
    """A fix's text as it goes into one prompt."""

    text: str
    joined: bool
    """True when the text follows the prompt's last list item on the next line (no blank line)."""


def prompt_voice(prompt: str) -> Voice:
    """The voice of ``prompt``: its third-person subject, if any, and its final list, if any."""
    sentences = _sentences(prompt)
    subject, modal = _third_person(sentences)
    marker, stops, loose = _final_list(prompt)
    return Voice(subject=subject, modal=modal, marker=marker, full_stops=stops, loose=loose)


def fitted(text: str, voice: Voice, ok: Callable[[str], bool], *, person: bool = True) -> Fitted:
    """``text`` in the prompt's voice; in its own words when a conversion fails or is not ``ok``.

    ``person`` False keeps the wording (a restated rule is quoted as the prompt states it) and
    only fits the list style.
    """
    spoken = text
    if person and voice.subject:
        converted = third_person(text, voice.subject, voice.modal)
        if converted is not None and ok(converted):
            spoken = converted
    if not voice.marker or "\n" in spoken.strip():
        return Fitted(text=spoken, joined=False)
    item = spoken.strip()
    if not voice.full_stops and item.endswith(".") and not _SENTENCE.search(item):
        item = item[:-1]
    return Fitted(text=voice.marker + item, joined=not voice.loose)


def third_person(text: str, subject: str, modal: str = "must") -> str | None:
    """``text`` (instructions to the agent) with ``subject`` as the agent, or None if unsure.

    Quoted words are someone's own words: a "you" inside quotes is left alone, so such a text
    is not converted.
    """
    if any(_YOU.search(quote) for quote in _QUOTED.findall(text)):
        return None
    lines = []
    for line in text.split("\n"):
        if _PASS_THROUGH.match(line):
            lines.append(line)
            continue
        item = _ITEM.match(line)
        mark = line[: item.end() - 1] if item else ""
        sentences = [
            _Sentence(subject, modal).convert(s) for s in _SENTENCE.split(line[len(mark) :])
        ]
        if any(s is None for s in sentences):
            return None
        lines.append(mark + " ".join(s for s in sentences if s is not None))
    result = "\n".join(lines)
    return None if _YOU.search(result) else result


class _Sentence:
    """One sentence being converted: the subject is named in full once, then by its pronoun."""

    def __init__(self, subject: str, modal: str) -> None:
        self.subject, self.modal = subject, modal
        self.named = subject[:1].isupper()
        self.mentioned = False

    def convert(self, sentence: str) -> str | None:
        parts = re.split(r"((?:;|:)\s+)", sentence)
        out = []
        for index, part in enumerate(parts):
            if index % 2:
                out.append(part)
                continue
            converted = self._segment(part, first=index == 0)
            if converted is None:
                return None
            out.append(converted)
        text = "".join(out)
        return text[:1].upper() + text[1:]

    def _segment(self, segment: str, *, first: bool) -> str | None:
        word = _first_word(segment)
        if word.lower() in _SITUATIONS:
            return self._situation(segment)
        if _is_instruction(segment, first=first):
            return self._instruction(segment)
        return self._you(segment)

    def _situation(self, segment: str) -> str | None:
        for comma in re.finditer(r",\s+(?:then\s+)?", segment):
            main = segment[comma.end() :]
            if _is_instruction(main, first=True) or re.match(r"you\b", main):
                condition = self._you(segment[: comma.start()])
                if condition is None:
                    return None
                clause = self._you(main) if re.match(r"you\b", main) else self._instruction(main)
                return None if clause is None else condition + comma.group() + clause
        return None

    def _instruction(self, segment: str) -> str | None:
        head = re.match(
            r"^(?:[Pp]lease\s+)?(?:(?P<dont>[Dd]o\s+(?P<not>not|NOT)|[Dd]on't|DO NOT)|"
            r"(?P<adverb>[Nn]ever|NEVER|[Aa]lways|ALWAYS|[Oo]nly))?\s*(?P<rest>.+)$",
            segment,
            re.S,
        )
        if head is None:
            return None
        words = [self.modal]
        if head.group("dont"):
            words.append("NOT" if head.group("not") == "NOT" or segment[:2] == "DO" else "not")
        elif head.group("adverb"):
            adverb = head.group("adverb")
            words.append(adverb if adverb.isupper() else adverb.lower())
        subject = self._form("subject")
        rest = self._you(_COORDINATED_NOT.sub(_not, lower_first(head.group("rest"))))
        return None if rest is None else " ".join([subject, *words, rest])

    def _form(self, role: str) -> str:
        """The subject, object, possessive or reflexive form; the pronoun once it was named."""
        if self.mentioned:
            return _PRONOUNS[self.named][role]
        self.mentioned = True
        return self.subject + "'s" if role == "possessive" else self.subject

    def _you(self, segment: str) -> str | None:
        out, pos = [], 0
        for match in _YOU.finditer(segment):
            replaced = self._replace_you(match, segment)
            if replaced is None:
                return None
            text, end = replaced
            out.append(segment[pos : match.start()] + text)
            pos = end
        out.append(segment[pos:])
        return "".join(out)

    def _replace_you(self, match: re.Match[str], segment: str) -> tuple[str, int] | None:
        word = match.group().lower()
        if word == "your":
            return self._form("possessive"), match.end()
        if word in ("yourself", "yourselves"):
            return (self._form("reflexive"), match.end()) if self.mentioned else None
        if word == "yours":
            return None
        if word != "you":
            subject = self._form("subject")
            if subject == "they":
                return "they" + word[3:], match.end()
            return f"{subject} {_CONTRACTED[word[3:]]}", match.end()
        return self._you_subject(match, segment)

    def _you_subject(self, match: re.Match[str], segment: str) -> tuple[str, int] | None:
        following = re.match(r"\s+([\w']+)", segment[match.end() :])
        if following is None or _not_verb(following.group(1)):
            return self._form("object"), match.end()
        subject = self._form("subject")
        if subject == "they":
            return subject, match.end()
        words = _VERB_AFTER.match(segment[match.end() :])
        if words is None:
            return None
        agreed = _agree(words.group(2))
        if agreed is None:
            return None
        return f"{subject}{words.group(1)} {agreed}", match.end() + words.end()


def _not(match: re.Match[str]) -> str:
    return match.group(1) + (match.group(2) or "not")


_PRONOUNS = {
    False: {"subject": "it", "object": "it", "possessive": "its", "reflexive": "itself"},
    True: {"subject": "they", "object": "them", "possessive": "their", "reflexive": "themselves"},
}


def _agree(verb: str) -> str | None:
    """``verb`` after a third-person singular subject ("tell" -> "tells"), None if unsure."""
    low = verb.lower()
    if low in _MODALS or low.endswith(("ed", "n't")) and low not in _AUX:
        return verb
    if low in _AUX:
        return _AUX[low]
    if not low.isalpha():
        return None
    if low in _IRREGULAR:
        return _IRREGULAR[low]
    if low.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if low.endswith("y") and low[-2:-1] not in ("a", "e", "i", "o", "u"):
        return verb[:-1] + "ies"
    return verb + "s"


def _first_word(text: str) -> str:
    match = re.match(r"\s*([\w']+)", text)
    return match.group(1) if match else ""


def _not_verb(word: str) -> bool:
    return word_pattern("not_imperative").fullmatch(word) is not None and word.lower() not in (
        _ADVERBS
    )


def _is_instruction(segment: str, *, first: bool) -> bool:
    """True when ``segment`` starts with an instruction: "Tell ...", "Do not ...", "Never ..."."""
    words = [*re.findall(r"[\w']+", segment[:80]), "", ""]
    head, following = words[0], words[1].lower()
    if re.fullmatch(r"(?i)please|do|don't|never|always|only", head):
        return bool(head.lower() != "do" or following == "not")
    if following in _MODALS or following in ("is", "are", "was", "were", "has", "have"):
        return False
    if (
        not head.isalpha()
        or (head.isupper() and len(head) > 1)
        or (not first and head[0].isupper())
    ):
        return False
    return not (_not_verb(head) or _inflected(head.lower()))


def _inflected(word: str) -> bool:
    """True for a word that cannot be a bare imperative: "-s" (not "-ss"), "-ed", "-ing"."""
    if word.endswith(("ss", "us", "is")):
        return False
    gerund = word.endswith("ing") and len(word) > len("bring")
    return word.endswith("s") or gerund or (word.endswith("ed") and not word.endswith("eed"))


def _sentences(prompt: str) -> list[str]:
    found = []
    for line in prompt.splitlines():
        item = _ITEM.match(line)
        body = line[item.end() - 1 :] if item else line
        found += [s.strip() for s in _SENTENCE.split(body.strip()) if s.strip()]
    return found


def _third_person(sentences: list[str]) -> tuple[str, str]:
    """The prompt's third-person subject and modal, or ("", "must") when it speaks to the agent."""
    counts: dict[str, int] = {}
    modals: dict[str, int] = {"must": 0, "should": 0}
    second = 0
    for sentence in sentences:
        subject, verb = _subject_of(sentence)
        if subject:
            counts[subject] = counts.get(subject, 0) + 1
            if verb in modals:
                modals[verb] += 1
        elif _YOU.search(sentence) or _is_instruction(sentence, first=True):
            second += 1
    counts = {s: n for s, n in counts.items() if s[0].islower() or _introduced(s, sentences)}
    if not counts:
        return "", "must"
    subject = max(counts, key=lambda s: counts[s])
    if counts[subject] <= second or (counts[subject] < 2 and second):
        return "", "must"
    return subject, "should" if modals["should"] > modals["must"] else "must"


def _introduced(name: str, sentences: list[str]) -> bool:
    """True when the prompt calls ``name`` an assistant, agent or bot: then it names the agent."""
    nouns = word_pattern("agent_nouns")
    word = re.compile(rf"\b{re.escape(name)}\b")
    return any(word.search(s) and nouns.search(s) for s in sentences)


def _subject_of(sentence: str) -> tuple[str, str]:
    """("the assistant", "must") for "The assistant must ..."; ("", "") when not third person."""
    noun = _noun_subject().match(sentence)
    if noun:
        subject, end = lower_first(noun.group("subj")), noun.end()
    else:
        name = _NAME_SUBJECT.match(sentence)
        if name is None or not _a_name(name.group("subj")):
            return "", ""
        subject, end = name.group("subj"), name.end()
    verb = _first_word(sentence[end:]).lower()
    is_verb = verb in _THIRD_VERBS or (verb.endswith("s") and not verb.endswith("ss"))
    return (subject, verb) if is_verb else ("", "")


@cache
def _noun_subject() -> re.Pattern[str]:
    """A determiner and an agent noun: "The assistant", "The support agent", "Our Acme bot"."""
    nouns = word_pattern("agent_nouns").pattern
    return re.compile(rf"^(?P<subj>(?:[Tt]he|[Tt]his|[Oo]ur)\s+(?:[\w-]+\s+)??(?i:{nouns}))")


def _a_name(word: str) -> bool:
    """True for a word that can name the agent: not a pronoun or a plural ("Answers must")."""
    plural = word.endswith("s") and not word.endswith(("ss", "us", "is", "as"))
    return not plural and word_pattern("not_names").fullmatch(word) is None


def _final_list(prompt: str) -> tuple[str, bool, bool]:
    """How ``prompt``'s final list continues: marker, full stops, blank lines between items.

    The marker is empty when the prompt ends with prose; the last item may wrap onto indented
    lines.
    """
    lines = prompt.rstrip().splitlines()
    found = [(i, m) for i, line in enumerate(lines) if (m := _ITEM.match(line))]
    if not found:
        return "", True, False
    index, last = found[-1]
    indent = last.group("indent")
    if any(not line.startswith(indent + " ") for line in lines[index + 1 :]):
        return "", True, False
    items = [lines[i].rstrip() for i, m in found[-20:] if m.group("indent") == indent]
    stops = 2 * sum(item.endswith((".", "!", "?")) for item in items) >= len(items)
    number = last.group("num")
    bullet = f"{int(number) + 1}{last.group('delim')}" if number else last.group("bullet")
    loose = index > 0 and not lines[index - 1].strip()
    return f"{indent}{bullet}{last.group('space')}", stops, loose
