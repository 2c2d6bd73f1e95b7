"""What becomes of a command's output that cannot be written: a stdout closed early (`mockbook
... | head -1`) ends the command quietly with 141 (128 + SIGPIPE, as a Unix filter ends); a
full disk (or a quota, an I/O error) with one line on stderr, if it can still take it, and 74
(EX_IOERR), never a traceback. Either way nothing more is written: the interpreter's last flush
would fail again (and end it with 120). Tables and bars are printed through :func:`console`,
whose closed stdout ends the same way (rich's own answer is exit 1)."""

from __future__ import annotations

import errno
import functools
import os
import sys
from typing import Any, NoReturn

from glue import exitcodes

_LOST = (errno.ENOSPC, errno.EDQUOT, errno.EIO)


def write_failed(exc: OSError) -> None:
    """End the command when ``exc`` is a write that could not be done; return otherwise."""
    if isinstance(exc, BrokenPipeError):
        closed_pipe()
    if exc.errno in _LOST:
        lost_output(exc)


def closed_pipe() -> NoReturn:
    _to_devnull(sys.__stdout__)
    sys.exit(exitcodes.CLOSED_PIPE)


def lost_output(exc: OSError) -> NoReturn:
    try:
        sys.stderr.write(f"mockbook: cannot write the output: {exc.strerror or exc}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    _to_devnull(sys.__stdout__)
    _to_devnull(sys.__stderr__)
    sys.exit(exitcodes.OUTPUT_ERROR)


def _to_devnull(stream: object) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    fileno = getattr(stream, "fileno", None)
    os.dup2(devnull, fileno() if fileno else 1)


@functools.cache
def _console_class() -> type:
    from rich.console import Console  # (imported by the commands that print tables only)

    class ClosedPipeConsole(Console):
        """rich's Console, a closed stdout ending the command with 141 as every write does
        (rich catches the BrokenPipeError itself and exits 1: ``Console.on_broken_pipe``)."""

        def on_broken_pipe(self) -> None:
            closed_pipe()

    return ClosedPipeConsole


def console(**options: Any) -> Any:
    """A rich ``Console(**options)`` for a command's output (see the module docstring)."""
    return _console_class()(**options)
