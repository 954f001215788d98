"""How the package talks to the person at the terminal: one line at a time, short paths."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

# Where a function reports progress: `print` at the terminal, a list in the tests.
Say = Callable[[str], None]


def shown(path: Path | str, root: Path) -> str:
    """A path relative to the project when it is inside it, for short commands and messages."""
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)
