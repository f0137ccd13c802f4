"""The live generator beside Genie (``fauxsim serve --live SCENARIO``).

The generator is ``fauxsim run SCENARIO --live --db URL`` in a child process: the same
command a user would type, so it resumes, stops and reports exactly as that command
does, and its progress lines go to serve's log. A thread watches it:

- it ends with 0: the scenario's end was reached; Genie serves the finished dataset;
- it ends with 2 or 3 (a mistake in the scenario or options, a database it cannot use,
  another writer): restarting would fail the same way, so serve stops, with exit code 3
  and a message pointing at the generator's own error above it;
- it dies any other way (a crash, the OOM killer, ``kill -9``): it is started again
  after a pause that doubles each time (1 s up to 30 s), and the same command resumes
  where it stood; after 5 deaths within 10 minutes serve gives up as above.

While no generator writes, ``/health`` says so (Genie reads the database's writer lock).
Stopping serve stops the generator (SIGTERM, then SIGKILL after 10 s); if serve itself
is killed, Linux sends the generator SIGTERM (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from typing import Any

from cli.console import error_console

# The exit codes of user mistakes (fauxsim.errors): a restart would fail the same way.
_USER_MISTAKES = {2, 3}
# Ctrl-C (or a hang-up) in a terminal reaches serve and the generator alike: serve is
# stopping too.
_STOPPED = {129, 130, 143}
_STOP_NOTICE_SECONDS = 2.0
_MAX_DEATHS = 5
_DEATH_WINDOW_SECONDS = 600.0
_FIRST_PAUSE_SECONDS = 1.0
_LONGEST_PAUSE_SECONDS = 30.0
_STOP_SECONDS = 10.0


def _end_with_parent() -> None:
    """In the child before exec: be sent SIGTERM when serve dies (Linux only)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc: Any = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LiveGenerator:
    """Runs and watches the live generator; :attr:`failure` says why serve must stop."""

    def __init__(
        self, run_args: list[str], database_url: str, *, first_args: list[str] | None = None
    ) -> None:
        self._run_args = run_args  # after "fauxsim run"
        self._database_url = database_url  # passed in the environment: no password in ps
        self._first_args = first_args or []  # only for the first start (--replace)
        self._child: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._deaths: deque[float] = deque()
        self._thread = threading.Thread(target=self._watch, name="fauxsim-live", daemon=True)
        self.failure: str | None = None

    def start(self) -> None:
        self._child = self._spawn(self._first_args)
        self._thread.start()

    def stop(self) -> None:
        """Stop the generator (it keeps what it committed) and the watching thread."""
        self._stopping.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self._thread.join(_STOP_SECONDS)

    def _spawn(self, extra: list[str]) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "cli.app", "run", *self._run_args, *extra]
        return subprocess.Popen(  # noqa: S603 - our interpreter and our own command
            command,
            preexec_fn=_end_with_parent,  # noqa: PLW1509 - prctl only, before exec
            env={**os.environ, "DATABASE_URL": self._database_url},
        )

    def _watch(self) -> None:
        pause = _FIRST_PAUSE_SECONDS
        while True:
            child = self._child
            assert child is not None  # noqa: S101 - started before the thread
            code = child.wait()
            if code in _STOPPED:
                self._stopping.wait(_STOP_NOTICE_SECONDS)
            if self._stopping.is_set():
                return
            if code == 0:
                _say("the live generator reached the scenario's end; serving the finished dataset")
                return
            if code in _USER_MISTAKES:
                self._give_up(f"the live generator stopped (exit code {code}): see its error above")
                return
            now = time.monotonic()
            self._deaths.append(now)
            while self._deaths and now - self._deaths[0] > _DEATH_WINDOW_SECONDS:
                self._deaths.popleft()
            if len(self._deaths) >= _MAX_DEATHS:
                self._give_up(
                    f"the live generator died {len(self._deaths)} times in "
                    f"{_DEATH_WINDOW_SECONDS / 60:.0f} minutes (last exit code {code})"
                )
                return
            _say(f"the live generator died (exit code {code}); restarting it in {pause:g} s")
            if self._stopping.wait(pause):
                return
            pause = min(pause * 2, _LONGEST_PAUSE_SECONDS)
            self._child = self._spawn([])

    def _give_up(self, why: str) -> None:
        self.failure = why
        _say(f"{why}; stopping serve")
        os.kill(os.getpid(), signal.SIGTERM)  # uvicorn shuts down gracefully on SIGTERM


def _say(text: str) -> None:
    error_console.print(f"fauxsim serve: {text}", highlight=False, soft_wrap=True)
