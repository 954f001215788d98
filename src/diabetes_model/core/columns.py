"""How names travel on a command line (a job's command is run by a shell, with each input's value
pasted in as it is): one word, every character but letters, digits, '_', '.' and '-'
percent-encoded. A list of column names is such words separated by commas; ALL_COLUMNS stands for
"every column but the target and the ignored ones". Pure."""

from __future__ import annotations

from collections.abc import Sequence

ALL_COLUMNS = "all"
NO_COLUMNS = "none"
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def encode_name(name: str) -> str:
    """One name (a target column, an experiment, a model) as one command-line word."""
    return "".join(c if c in _PLAIN else "".join(f"%{b:02X}" for b in c.encode()) for c in name)


def decode_name(word: str) -> str:
    """The name `encode_name` wrote (a name typed as it is reads as itself, unless it holds %XX)."""
    from urllib.parse import unquote

    return unquote(word)


def encode_columns(names: Sequence[str], empty: str) -> str:
    """The names as one command-line word; `empty` (ALL_COLUMNS or NO_COLUMNS) for none."""
    if not names:
        return empty

    def encoded(name: str) -> str:
        text = encode_name(name)
        # A column really called "all" or "none" must not read as the keyword.
        return f"%{ord(text[0]):02X}{text[1:]}" if text in (ALL_COLUMNS, NO_COLUMNS) else text

    return ",".join(encoded(name) for name in names)


def decode_columns(word: str) -> tuple[str, ...]:
    """The names `encode_columns` wrote; () for ALL_COLUMNS, NO_COLUMNS or an empty word."""
    if word in ("", ALL_COLUMNS, NO_COLUMNS):
        return ()
    return tuple(decode_name(name) for name in word.split(","))
