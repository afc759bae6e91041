"""The one exception type users see: a single line that names the file, field or plugin."""

from collections.abc import Sequence


class LbalError(Exception):
    """A user-facing error; the CLI prints its message as one line and exits with status 2.
    ``problems``: warnings a time-limit worker told of before the error (``guard.report``),
    which the run still hands on."""

    problems: Sequence[str] = ()
