"""``fauxsim token create | list | revoke``: API tokens for Genie.

Tokens live in the dataset's own database (``api_tokens``), so the server and these
commands agree without another service. A token is printed once, at creation; only a
hash of it is stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from cyclopts import App, Parameter
from rich.box import SIMPLE_HEAD
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from cli.console import console, error_console

if TYPE_CHECKING:
    import datetime as dt

    from psycopg import Connection

token_app = App(name="token", help="Create, list and revoke Genie API tokens.")


def _connect(db: str | None) -> Connection[tuple[object, ...]]:
    # Imported here so that `fauxsim --help` does not load the database stack.
    from fauxsim.sinks.postgres.connection import connect, resolve_database_url  # noqa: PLC0415
    from fauxsim.sinks.postgres.migrate import upgrade  # noqa: PLC0415

    url = resolve_database_url(db)
    upgrade(url)
    return connect(url)


def _when(moment: dt.datetime | None, missing: str = "-") -> str:
    return missing if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


@token_app.command
def create(
    name: str,
    *,
    scopes: Annotated[tuple[str, ...], Parameter(consume_multiple=True, negative=())] = (
        "read:all",
    ),
    expires: str = "90d",
    db: str | None = None,
) -> None:
    """Create a token and print it once; only its hash is kept.

    Parameters
    ----------
    name
        A label you will recognise in `fauxsim token list`, e.g. laptop or ci; given
        as `--name laptop` or as the first argument (`fauxsim token create laptop`).
    scopes
        `read:all`, or `read:<resource>` for each resource (comma-separated or repeated),
        e.g. --scopes read:orders,read:order_line_items.
    expires
        Lifetime: a number followed by m, h, d or w (90d, 12h), up to 3650d (10 years),
        or never.
    db
        Postgres URL (default: $DATABASE_URL, else the embedded database).
    """
    from genie_litestar.auth.scopes import parse_scopes  # noqa: PLC0415
    from genie_litestar.auth.store import create_token, parse_expiry  # noqa: PLC0415

    granted = parse_scopes(scopes)
    lifetime = parse_expiry(expires)
    with _connect(db) as connection:
        token, record = create_token(connection, name=name, scopes=granted, expires_in=lifetime)
    # The token on stdout alone, so `TOKEN=$(fauxsim token create ...)` works; the rest
    # goes to stderr.
    print(token)  # noqa: T201 - the one line a script captures
    error_console.print(
        f"created {record.token_id} ({record.name}), scopes {', '.join(record.scopes)},"
        f" expires {_when(record.expires_at, 'never')}. This is the only time the token"
        " is shown: store it now.",
        highlight=False,
    )


@token_app.command(name="list")
def list_(*, db: str | None = None) -> None:
    """List tokens (never their secrets).

    Parameters
    ----------
    db
        Postgres URL (default: $DATABASE_URL, else the embedded database).
    """
    from genie_litestar.auth.store import list_tokens  # noqa: PLC0415

    with _connect(db) as connection:
        records = list_tokens(connection)
    table = Table(
        "id", "name", "scopes", "created", "expires", "revoked", "last used", box=SIMPLE_HEAD
    )
    for record in records:
        table.add_row(
            record.token_id,
            record.name,
            ", ".join(record.scopes),
            _when(record.created_at),
            _when(record.expires_at, "never"),
            _when(record.revoked_at),
            _when(record.last_used_at, "never"),
        )
    # Never squeezed to the terminal (or, piped, to 80 columns): a name cut to "orders…"
    # or a date split over two lines defeats a listing. A wider table wraps, whole. A
    # console of its own, so that the shared one keeps following the terminal's width.
    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    wide = Console(
        width=max(console.width, natural),
        color_system=console.color_system,  # type: ignore[arg-type]  # one of the names it takes
        force_terminal=console.is_terminal,
    )
    wide.print(table)


@token_app.command
def revoke(token_id: str, /, *, db: str | None = None) -> None:
    """Revoke a token at once: every request with it gets 401 from now on.

    Parameters
    ----------
    token_id
        The id shown by `fauxsim token list` (e.g. fg_test_AbCd1234), or the whole token.
    db
        Postgres URL (default: $DATABASE_URL, else the embedded database).
    """
    from genie_litestar.auth.store import revoke_token  # noqa: PLC0415
    from genie_litestar.auth.tokens import id_from_user_text  # noqa: PLC0415

    with _connect(db) as connection:
        record = revoke_token(connection, id_from_user_text(token_id))
    console.print(f"revoked {record.token_id} ({record.name}) at {_when(record.revoked_at)}")
