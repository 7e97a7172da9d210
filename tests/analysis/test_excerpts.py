"""Evidence excerpts are verbatim and never start or end inside a word."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from refinery.analysis.detectors.excerpts import WORD_MARGIN, head, tail, window

ERROR = "Worker process received SHUTDOWN one page-length report was lost before it could be saved"
MATCH = "report was lost"


def _around_match(limit: int) -> str:
    start = ERROR.index(MATCH)
    return window(ERROR, start, start + len(MATCH), limit)


def test_window_cut_inside_a_word_takes_the_whole_word() -> None:
    # 57 characters put the plain cut at "DOWN one page-length … could be s".
    assert _around_match(57) == "SHUTDOWN one page-length report was lost before it could be saved"


def test_word_longer_than_the_margin_is_left_out_not_cut() -> None:
    blob = "QUJD" * 15  # a 60-character token, longer than WORD_MARGIN
    text = f"payload {blob} then the call failed: timeout after 30 s"
    start = text.index("failed")
    excerpt = window(text, start, start + len("failed"), 40)
    assert excerpt.startswith("then the call failed: timeout")
    assert len(blob) > WORD_MARGIN


def test_window_never_cuts_into_the_matched_span() -> None:
    text = "x" * 50 + "ConnectionResetError" + "y" * 50
    start = text.index("Connection")
    excerpt = window(text, start, start + len("ConnectionResetError"), 30)
    assert "ConnectionResetError" in excerpt and excerpt in text


def test_head_and_tail_end_on_whole_words() -> None:
    text = "go " + "alpha " * 60 + "end"  # a plain 300-character cut splits "alpha" at both ends
    assert head(text).endswith("alpha") and tail(text).startswith("alpha")
    assert head(text) in text and tail(text) in text


WORDS = st.lists(st.text("abcdefgh", min_size=6, max_size=6), min_size=1, max_size=80)


@given(WORDS, st.data(), st.integers(10, 120))
def test_windows_are_verbatim_whole_words_containing_the_span(
    words: list[str], data: st.DataObject, limit: int
) -> None:
    text = " ".join(words)
    first = data.draw(st.integers(0, len(words) - 1))
    last = data.draw(st.integers(first, min(len(words) - 1, first + 3)))
    start = first * 7
    end = last * 7 + 6
    excerpt = window(text, start, end, limit)
    assert excerpt in text
    assert all(len(word) == 6 for word in excerpt.split())
    assert len(excerpt) <= max(limit, end - start) + 2 * WORD_MARGIN
    if end - start < limit:
        assert text[start:end] in excerpt
