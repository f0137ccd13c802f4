"""Output helpers shared by every command."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from fauxsim.errors import FauxError

if TYPE_CHECKING:
    from collections.abc import Iterator

console = Console()
error_console = Console(stderr=True)


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
        error_console.print(f"interrupted{escape(kept)}", highlight=False, soft_wrap=True)
        sys.exit(130)
