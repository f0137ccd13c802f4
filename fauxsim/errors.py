"""User-facing errors.

Every mistake a user can make (a broken scenario, an unreachable database, a bad
option) raises a subclass of :class:`FauxError`. The CLI prints its message and exits
with ``exit_code``; anything else is a programming error and keeps its traceback.
"""


class FauxError(Exception):
    """A problem the user can fix; its message says what to do."""

    exit_code: int = 1


class ScenarioError(FauxError):
    """The scenario file is unreadable or invalid. The message lists every problem."""

    exit_code = 2


class UsageError(FauxError):
    """A command-line option or combination of options is invalid."""

    exit_code = 2


class SinkError(FauxError):
    """A sink could not be opened or written (an unwritable folder, a full disk, ...).

    Exit code 3, as for the database: the place the output goes cannot be used.
    """

    exit_code = 3
