"""The one exception type for a user's mistake.

Anything a user can get wrong (a config key, a file, a prediction folder, a command-line argument)
raises :class:`UserError` (or a subclass) with a one-line message naming the key, file, video or
frame and what was expected.  The command line prints that line and exits with status 2; nothing
else is caught, so a bug in our code still shows its traceback.
"""

from __future__ import annotations

__all__ = ["UserError", "ConfigError", "DatasetError"]


class UserError(Exception):
    """A mistake in the user's input; the message is one line and says what was expected."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class ConfigError(UserError):
    """An invalid configuration: unknown key, wrong type or value out of range."""


class DatasetError(UserError):
    """A dataset or prediction folder on disk that does not follow the schema."""
