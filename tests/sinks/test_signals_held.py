"""``folder.signals_held``: a stop during a block of renames waits for its end, then acts."""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING

import pytest

from fauxsim.sinks.files.folder import signals_held

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

pytestmark = pytest.mark.usefixtures("restored_handlers")


class _Termed(BaseException):
    pass


def _raise_termed(_number: int, _frame: FrameType | None) -> None:
    raise _Termed


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    """SIGINT and SIGTERM as they were after the test, whatever it set."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


def _stopped_during_a_block(*stops: signal.Signals, done: list[str] | None = None) -> list[str]:
    """Send ``stops`` to this process inside a held block; what the block did."""
    done = [] if done is None else done
    with signals_held():
        for stop in stops:
            os.kill(os.getpid(), stop)
        done.append("the whole block")
    return done


def test_a_stop_waits_for_the_block_then_acts():
    signal.signal(signal.SIGTERM, _raise_termed)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    done: list[str] = []
    with pytest.raises(_Termed):
        _stopped_during_a_block(signal.SIGTERM, done=done)
    assert done == ["the whole block"]  # the stop came inside it, and acted at its end


def test_an_ignored_ctrl_c_does_not_hide_the_sigterm_after_it():
    """A worker ignores SIGINT; a terminal's Ctrl-C reaches it, then its parent's SIGTERM:
    the SIGTERM still stops it once the block is done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_termed)
    with pytest.raises(_Termed):
        _stopped_during_a_block(signal.SIGINT, signal.SIGTERM)
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN


def test_sigterm_wins_when_both_came():
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_termed)
    with pytest.raises(_Termed):
        _stopped_during_a_block(signal.SIGINT, signal.SIGTERM)


def test_nothing_happens_without_a_stop():
    assert _stopped_during_a_block() == ["the whole block"]
