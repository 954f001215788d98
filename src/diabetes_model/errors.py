"""The one exception type for expected failures: entry points print its message as a single line."""


class UserError(Exception):
    """Bad input or a missing prerequisite; the message says what is wrong and how to fix it."""
