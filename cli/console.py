"""Output helpers shared by every command."""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager, suppress
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

    exit_code = 143


class HungUp(Terminated):
    """SIGHUP (the terminal closed, an SSH session lost), handled as SIGTERM; exit code 129."""

    exit_code = 129


# The stops received since handle_stops(). Raising from a signal handler is not enough
# alone: Python raises the exception wherever the main thread happens to be, and code
# there may swallow it (CI saw a SIGTERM vanish inside numpy's Cython set-up during a lazy
# import, and the run went on to finish). raise_if_stopped() raises it again.
_stops_received: list[signal.Signals] = []


def handle_stops() -> None:
    """From now on, Ctrl-C raises KeyboardInterrupt and SIGTERM :class:`Terminated` in the
    main thread, and both are remembered for :func:`raise_if_stopped`."""
    _stops_received.clear()

    def on_stop(number: int, _frame: FrameType | None) -> None:
        _stops_received.append(signal.Signals(number))
        raise_if_stopped()

    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGTERM, on_stop)
    # A hang-up too, unless it is ignored: `nohup fauxsim run ...` is to outlive the terminal.
    if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signal.signal(signal.SIGHUP, on_stop)


def stop_received() -> KeyboardInterrupt | None:
    """The stop received since :func:`handle_stops` (SIGTERM if both came), or None."""
    if not _stops_received:
        return None
    if signal.SIGTERM in _stops_received:
        return Terminated()
    if signal.SIGINT not in _stops_received:
        return HungUp()
    return KeyboardInterrupt()


def raise_if_stopped() -> None:
    """Raise the stop received since :func:`handle_stops`, if any; long work calls this at
    its safe points, so a stop that third-party code swallowed still takes effect."""
    stop = stop_received()
    if stop is not None:
        raise stop


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
        stopped = (
            "hung up"
            if isinstance(interrupted, HungUp)
            else "terminated"
            if isinstance(interrupted, Terminated)
            else "interrupted"
        )
        with suppress(OSError):  # a terminal that hung up can no longer be written to
            error_console.print(f"{stopped}{escape(kept)}", highlight=False, soft_wrap=True)
        sys.exit(_exit_code(interrupted))
    except OSError:
        # Writing to a terminal that hung up (EIO) while the command stopped: the stop is
        # what happened, and its exit code says so.
        received = stop_received()
        if received is None:
            raise
        sys.exit(_exit_code(received))


def _exit_code(stop: KeyboardInterrupt) -> int:
    """As for a process the signal ended: 128 + its number (Ctrl-C: 130)."""
    return stop.exit_code if isinstance(stop, Terminated) else 130
