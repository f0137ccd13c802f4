"""Output helpers shared by every command."""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from fauxsim.errors import FauxError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

console = Console()
error_console = Console(stderr=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a container stopping), handled as Ctrl-C is: the command cleans
    up and says what it kept; the exit code is 143, as for a process the signal ended."""


def terminate_like_ctrl_c() -> None:
    """From now on, SIGTERM raises :class:`Terminated` in the main thread."""

    def on_sigterm(_signal: int, _frame: FrameType | None) -> None:
        raise Terminated

    signal.signal(signal.SIGTERM, on_sigterm)


@contextmanager
def report_user_errors() -> Iterator[None]:
    """Turn a :class:`FauxError` into its message on stderr and its exit code."""
    try:
        yield
    except FauxError as error:
        # The message may quote user input such as "[/bold]": never read it as markup.
        # soft_wrap keeps each problem on one line when piped.
        error_console.print(
            f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True
        )
        sys.exit(error.exit_code)
    except KeyboardInterrupt as interrupted:
        # A command may say what it kept (see run_command).
        kept = f"; {interrupted}" if str(interrupted) else ""
        stopped = "terminated" if isinstance(interrupted, Terminated) else "interrupted"
        error_console.print(f"{stopped}{escape(kept)}", highlight=False, soft_wrap=True)
        sys.exit(143 if isinstance(interrupted, Terminated) else 130)
