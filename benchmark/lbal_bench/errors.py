"""The one exception type users see: a single line that names the file, field or plugin."""


class LbalError(Exception):
    """A user-facing error; the CLI prints its message as one line and exits with status 2."""
