"""``fauxsim serve``: run Genie, the HTTP API over the dataset, with uvicorn."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from cyclopts import Parameter

from cli.console import console, error_console, handle_stops
from fauxsim.errors import SinkError, UsageError

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

    from cli.live_generator import LiveGenerator

# Workers start the app from this factory, reading settings from GENIE_* variables.
APP_FACTORY = "genie_litestar.serving:app_from_environment"


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    db: str | None = None,
    public_url: str | None = None,
    workers: int = 1,
    settle_seconds: float = 60.0,
    rate_limit_burst: int = 40,
    rate_limit_per_second: float = 4.0,
    redis_url: str | None = None,
    chaos: str | None = None,
    chaos_seed: int = 0,
    statement_timeout_ms: int = 5_000,
    cors_origin: Annotated[tuple[str, ...], Parameter(negative=())] = (),
    live: str | None = None,
    speed: float | None = None,
    replace: bool = False,
    request_deadline_seconds: float = 10.0,
    limit_concurrency: int = 1000,
) -> None:
    """Serve the dataset as a read-only, token-protected HTTP API (docs at /docs).

    With --live SCENARIO, a live generator runs beside the API on the same database:
    the whole set-up of a living shop in one command.

    Parameters
    ----------
    host
        Interface to listen on; 0.0.0.0 to accept connections from other machines.
    port
        TCP port.
    db
        Postgres URL (default: $DATABASE_URL, else the embedded database).
    public_url
        The URL clients use to reach this server, for Link headers
        (default: made of --host and --port, e.g. http://127.0.0.1:8000; for 0.0.0.0,
        the loopback address).
    workers
        uvicorn worker processes. With more than one, use --redis-url so that rate
        limits hold across workers.
    settle_seconds
        Rows changed this recently are left to the next paging run, so that rows
        committed late are never skipped.
    rate_limit_burst
        Requests a token may make at once.
    rate_limit_per_second
        Sustained requests per second per token.
    redis_url
        Keep rate-limit buckets in Redis (e.g. redis://localhost:6379/0).
    chaos
        Misbehave on purpose, to practise retries: gentle, flaky or hostile.
    chaos_seed
        Seed of the chaos, so a failure sequence can be replayed.
    statement_timeout_ms
        Queries running longer are cancelled and answered with 503 + Retry-After.
    cors_origin
        Allow browser pages from this origin (repeatable); no CORS headers otherwise.
    live
        Run this scenario live beside the API (`fauxsim run SCENARIO --live` in a child
        process, restarted if it dies): history at once, then new rows as the clock moves.
    speed
        With --live: simulated seconds per wall-clock second (default 1).
    replace
        With --live: replace a dataset of another scenario in the database.
    request_deadline_seconds
        A request must arrive whole within this many seconds of its connection opening
        (or of the previous response); slower clients get 408 and are disconnected.
    limit_concurrency
        Connections and requests each worker holds at once; beyond it, 503.
    """
    from fauxsim.sinks.postgres.connection import libpq_url, resolve_database_url  # noqa: PLC0415
    from fauxsim.sinks.postgres.migrate import upgrade  # noqa: PLC0415
    from genie_litestar.settings import chaos_profile  # noqa: PLC0415
    from genie_litestar.slow_clients import DEADLINE_VARIABLE  # noqa: PLC0415

    if workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    if not request_deadline_seconds > 0:
        raise UsageError(
            f"--request-deadline-seconds must be positive, got {request_deadline_seconds}"
        )
    if limit_concurrency < 1:
        raise UsageError(f"--limit-concurrency must be at least 1, got {limit_concurrency}")
    if redis_url:
        check_redis_url(redis_url)
    check_live_options(live, speed, replace=replace)
    check_port_free(host, port)  # before the database: an embedded one would be left running
    url = resolve_database_url(db)
    upgrade(url)
    environment: dict[str, Any] = {
        "database_url": libpq_url(url),
        "public_base_url": public_url or default_public_url(host, port),
        "settle_seconds": settle_seconds,
        "rate_limit_burst": rate_limit_burst,
        "rate_limit_per_second": rate_limit_per_second,
        "statement_timeout_ms": statement_timeout_ms,
        "cors_allow_origins": list(cors_origin),
        # No cursor secret: the workers share the key kept in the database, which
        # outlives restarts. GENIE_CURSOR_SECRET, when set, is inherited and replaces it.
    }
    if redis_url:
        environment["redis_url"] = redis_url
    if chaos:
        environment["chaos"] = chaos_profile(chaos, chaos_seed).model_dump_json()
    if live is not None:
        environment["live_generator"] = True
    export_settings(environment)
    if public_url is None and host in {"0.0.0.0", "::"}:  # noqa: S104 - a user's choice
        error_console.print(
            f"note: Link headers point at {environment['public_base_url']}; clients on other "
            "machines need --public-url with the address they reach this one at",
            highlight=False,
            soft_wrap=True,
        )
    if workers > 1 and not redis_url:
        error_console.print(
            "note: without --redis-url each worker keeps its own rate-limit buckets",
            highlight=False,
        )
    # Read by the protocol in each worker (slowloris defence, see slow_clients.py).
    os.environ[DEADLINE_VARIABLE] = str(request_deadline_seconds)
    print_what_is_served(url, environment["public_base_url"], live, named=db is not None)
    generator = start_live_generator(live, speed, url, replace=replace)
    run_server(host, port, workers, generator, limit_concurrency=limit_concurrency)


def run_server(
    host: str,
    port: int,
    workers: int,
    generator: LiveGenerator | None,
    *,
    limit_concurrency: int = 1000,
) -> None:
    """uvicorn until it stops; then the live generator, if any, stops too."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    from genie_litestar.slow_clients import PROTOCOL  # noqa: PLC0415

    if generator is not None:
        # uvicorn raises the stop signal again once it has shut down: handled, it stops
        # the generator below (unhandled, it would end serve there and then).
        handle_stops()
        if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
            # uvicorn shuts down gracefully on SIGTERM, and knows nothing of a hang-up.
            signal.signal(signal.SIGHUP, lambda *_: os.kill(os.getpid(), signal.SIGTERM))
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            # A deadline for each request (slow clients), and a bound on connections.
            http=PROTOCOL,
            limit_concurrency=limit_concurrency,
            # Genie writes its own access log, with credentials redacted.
            access_log=False,
            log_level="info",
        )
    finally:
        if generator is not None:
            generator.stop()
    if generator is not None and generator.failure:
        raise SinkError(f"{generator.failure}; Genie stopped with it")


def print_what_is_served(url: str, base_url: str, live: str | None, *, named: bool = False) -> None:
    """The database, the dataset in it, where the docs are and how to get a token (with
    ``named``, the database was given by --db: the token command needs it too)."""
    from fauxsim.clock import to_micros, to_rfc3339  # noqa: PLC0415
    from fauxsim.sinks.postgres import ledger  # noqa: PLC0415
    from fauxsim.sinks.postgres.connection import connect, mask_password  # noqa: PLC0415

    with connect(url) as connection, connection.cursor() as cursor:
        committed = ledger.read_committed(cursor)
        # Of several shards, the moment every shard has committed up to (None before).
        standing = cursor.execute(f"SELECT {ledger.DATASET_WATERMARK}").fetchone()
    if committed is None:
        dataset = (
            "none yet: the live generator loads it (the API answers empty pages until then)"
            if live is not None
            else "none yet: load one with `fauxsim run SCENARIO` (the API answers empty pages)"
        )
    else:
        identity = committed.identity
        reached = None if standing is None or standing[0] is None else to_micros(standing[0])
        dataset = f"{identity.scenario_name} (seed {identity.seed}), " + (
            "not every shard has committed yet (the API answers empty pages until then)"
            if reached is None
            else f"complete up to {to_rfc3339(reached)[:19]}Z"
        )
    if live is not None:
        dataset += f"; live generator: fauxsim run {live} --live"
    base = base_url.rstrip("/")
    create_one = "fauxsim token create --name me --scopes read:all"
    if named:  # (a masked password would not connect: then the URL is the user's to give)
        shown = mask_password(url)
        create_one += f" --db '{shown}'" if shown == url else " --db '<the URL given to --db>'"
    lines = [
        f"Genie serves {mask_password(url)}",
        f"  dataset  {dataset}",
        f"  API      {base}/v1/orders (and the other resources), docs {base}/docs",
        f"  token    {create_one}   (send it as Authorization: Bearer fg_...)",
    ]
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


def check_live_options(live: str | None, speed: float | None, *, replace: bool) -> None:
    """Refuse a broken scenario or speed before anything starts (the generator would)."""
    from fauxsim.live import SPEEDS, check_pacing  # noqa: PLC0415
    from fauxsim.scenario.loading import load_scenario  # noqa: PLC0415

    if live is None:
        if speed is not None or replace:
            raise UsageError("--speed and --replace go with --live SCENARIO; add it, or drop them")
        return
    check_pacing("--speed", speed, SPEEDS)
    shards = load_scenario(Path(live), ()).shards
    if shards > 1:  # (the generator would refuse it, naming an option serve does not have)
        raise UsageError(
            f"{live} has {shards} shards, and a live run takes one for now: set shards: 1 in it"
        )


def start_live_generator(
    live: str | None, speed: float | None, url: str, *, replace: bool
) -> LiveGenerator | None:
    """The live generator of ``--live SCENARIO``, started; None without --live."""
    if live is None:
        return None
    from cli.live_generator import LiveGenerator  # noqa: PLC0415

    run_args = [live, "--live", *(["--speed", str(speed)] if speed is not None else [])]
    generator = LiveGenerator(run_args, url, first_args=["--replace"] if replace else [])
    generator.start()
    error_console.print(
        f"fauxsim serve: live generator started: fauxsim run {' '.join(run_args)}",
        highlight=False,
        soft_wrap=True,
    )
    return generator


def check_redis_url(url: str) -> None:
    """Refuse a --redis-url the Redis client would reject deep inside the app's startup."""
    from urllib.parse import urlsplit  # noqa: PLC0415

    if urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
        raise UsageError(
            f"--redis-url {url!r} is not a Redis URL; use e.g. redis://localhost:6379/0 "
            "(or rediss:// for TLS, unix:///path/to/redis.sock)"
        )


def check_port_free(host: str, port: int) -> None:
    """Say so at once when the port is out of range or something already listens on it."""
    import errno  # noqa: PLC0415
    import socket  # noqa: PLC0415

    if not 1 <= port <= 65535:  # noqa: PLR2004 - the TCP port range
        raise UsageError(f"--port must be between 1 and 65535, got {port}")
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise UsageError(f"--host {host!r}: {error.strerror}") from None
    for family, kind, proto, _, address in addresses:  # uvicorn binds each of them
        with socket.socket(family, kind, proto) as probe:
            # As uvicorn binds: SO_REUSEADDR, so a port in TIME_WAIT counts as free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    raise UsageError(
                        f"port {port} on {host} is already in use; pick another with --port, "
                        "or stop what listens there"
                    ) from None
                raise UsageError(f"cannot listen on {host}:{port}: {error.strerror}") from None


def default_public_url(host: str, port: int) -> str:
    """The URL of this server for Link headers when --public-url is not given.

    A wildcard host (all interfaces) is no address a client can use: the loopback one
    stands in, and clients elsewhere need --public-url. IPv6 addresses go in brackets.
    """
    import ipaddress  # noqa: PLC0415

    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a name, e.g. localhost
        return f"http://{host}:{port}"
    if address.is_unspecified:
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")  # noqa: PLR2004
    shown = f"[{address}]" if address.version == 6 else str(address)  # noqa: PLR2004
    return f"http://{shown}:{port}"


def export_settings(values: dict[str, Any]) -> None:
    """Put settings in GENIE_* variables, which every uvicorn worker inherits."""
    import json  # noqa: PLC0415

    from pydantic import ValidationError  # noqa: PLC0415

    from genie_litestar.settings import GenieSettings  # noqa: PLC0415

    for key, value in values.items():
        text = json.dumps(value) if isinstance(value, list) else str(value)
        os.environ[f"GENIE_{key.upper()}"] = text
    try:  # fail here, with a message, rather than in every worker
        GenieSettings()
    except ValidationError as error:
        problems = "; ".join(
            f"{_named_as_set(str(item['loc'][0]) if item['loc'] else '')}: "
            f"{item['msg'].removeprefix('Value error, ')}{_shown(item)}"
            for item in error.errors()
        )
        raise UsageError(problems) from None


# The option of serve that sets each setting; the others come from GENIE_* variables.
_OPTION_OF_SETTING = {
    "database_url": "--db",
    "public_base_url": "--public-url",
    "settle_seconds": "--settle-seconds",
    "rate_limit_burst": "--rate-limit-burst",
    "rate_limit_per_second": "--rate-limit-per-second",
    "redis_url": "--redis-url",
    "chaos": "--chaos",
    "statement_timeout_ms": "--statement-timeout-ms",
    "cors_allow_origins": "--cors-origin",
}


def _named_as_set(setting: str) -> str:
    """A setting as the user set it: the option, or the GENIE_* variable."""
    return _OPTION_OF_SETTING.get(setting) or f"GENIE_{setting.upper()}"


def _shown(item: ErrorDetails) -> str:
    """The value received, except a secret's (a password in a URL, a signing key)."""
    setting = str(item["loc"][0]) if item["loc"] else ""
    if "secret" in setting or setting == "database_url":
        return ""
    return f" (got {item['input']!r})"
