"""The exception types for expected failures and for interrupts, and the one-line form of any
error message."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a missing prerequisite; the message says what is wrong and how to fix it."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM stopped work that runs in the task's own process; the message says
    where, and what it left behind. The task exits 130, as an interrupted command does."""


def first_line(error: BaseException | str) -> str:
    """The first non-blank line of an error (or of a text), for a one-line message.

    SDK errors carry their text in `.message`; an error with no text is named by its type.
    """
    if isinstance(error, BaseException):
        text = str(getattr(error, "message", None) or error)
        fallback = type(error).__name__
    else:
        text, fallback = str(error), "no message"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else fallback
