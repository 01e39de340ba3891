"""Standard output of the ``bouncekit`` commands, which reports a failed write as such."""

from __future__ import annotations

from typing import TextIO

from bouncekit.exceptions import BounceKitError

__all__ = ["Output", "OutputError"]


class OutputError(BounceKitError):
    """Writing to standard output failed; the cause is the ``OSError`` in ``__cause__``."""


class Output:
    """
    Standard output as the writers see it.

    A failed write raises :class:`OutputError`, so that only errors of the
    output are reported as such. Text that does not encode to UTF-8 (a lone
    surrogate from a file name or a header) is written with backslash escapes.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(str(exc)) from exc

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(str(exc)) from exc
