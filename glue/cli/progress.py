"""Progress of the long commands (`migrate`, `migrate --check`, `run`; `import`, `reconcile` and
`pull` use :func:`glue.cli.pull.progress`): a rich bar on stderr while it is a terminal, nothing
otherwise (a pipe, a log file, cron: no escape codes), and one summary line at the end either
way, with the time the command took."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager


def on_terminal() -> bool:
    return sys.stderr.isatty()


@contextmanager
def step_bar(
    title: str, names: Sequence[str], *, enabled: bool = True
) -> Iterator[Callable[[], None]]:
    """``advance()`` after each of ``names`` (the steps, in order) is done: one bar titled
    ``title`` showing the step running now, on a terminal; a no-op elsewhere. More calls than
    steps (a transaction tried again) keep the bar full."""
    if not enabled or not on_terminal() or not names:
        yield lambda: None
        return
    # rich only for a bar (a run under cron never loads it)
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    done = [0]

    def describe(step: int) -> str:
        return f"{title} {names[min(step, len(names) - 1)]}"

    with bar:
        task = bar.add_task(describe(0), total=len(names))

        def advance() -> None:
            done[0] += 1
            bar.update(task, completed=min(done[0], len(names)), description=describe(done[0]))

        yield advance
        bar.update(task, description=title)


class Stopwatch:
    """Seconds since it was made, as a summary line shows them."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __str__(self) -> str:
        return f"{time.monotonic() - self.start:.1f} s"
