"""Refinery's errors: one base class with an exit code, subclasses only where callers differ.

Every message is one line naming the thing, the problem and the remedy, because the CLI prints it as
is (``error: <message>``) and a domain expert must know what to do next without reading a traceback.
"""

from __future__ import annotations

EXIT_UNEXPECTED = 3
"""Exit code of an unexpected internal error (a bug): distinct from 1 (nothing actionable or apply
refused) and 2 (usage or input error), so that scripts can tell Refinery's failures from theirs."""


class RefineryError(Exception):
    """A failure Refinery can explain in one line; ``exit_code`` is what the CLI exits with."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}: {self.hint}" if self.hint else self.message


class InputError(RefineryError):
    """The user's input (a trace, a file, a flag) is missing, unreadable or malformed."""

    exit_code = 2


class ConfigError(RefineryError):
    """A setting, key or saved context is missing or wrong."""

    exit_code = 2


class SourceError(RefineryError):
    """A trace source (LangSmith, Langfuse) refused or failed the request."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None, *, retryable: bool = False) -> None:
        super().__init__(message, hint)
        self.retryable = retryable


class ProviderError(RefineryError):
    """An LLM provider failed; ``retryable`` says whether backing off and retrying may help."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None, *, retryable: bool = False) -> None:
        super().__init__(message, hint)
        self.retryable = retryable


class ApplyRefused(RefineryError):
    """Applying or undoing a change was refused; the message names every failed precondition."""

    exit_code = 1


class AlreadyApplied(RefineryError):
    """The fix's text is already in its files: nothing was written, and that is not a failure.

    Raised by ``apply_change`` (which otherwise returns the new Change) so that a caller cannot
    mistake "nothing to do" for a commit; the CLI prints it as a note and exits 0.
    """

    exit_code = 0
