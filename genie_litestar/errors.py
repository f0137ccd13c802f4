"""User mistakes around the API (a bad scope, an unknown token, a malformed duration)."""

from __future__ import annotations

from fauxsim.errors import FauxError


class GenieError(FauxError):
    """A Genie setting, token or option the user can fix; the message says how."""

    exit_code = 2
