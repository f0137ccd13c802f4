"""``fauxsim serve``: settings reach the uvicorn workers; bad options fail before starting."""

from __future__ import annotations

import json
import os
import socket

import psycopg
import pytest
import uvicorn

from cli.serve_command import APP_FACTORY, default_public_url, serve
from fauxsim.errors import FauxError
from fauxsim.sinks.postgres.connection import mask_password
from fauxsim.sinks.postgres.migrate import upgrade
from genie_litestar.settings import GenieSettings


@pytest.fixture
def started(monkeypatch):
    """uvicorn.run recorded instead of run; GENIE_* variables restored afterwards."""
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append((args, kwargs)))
    saved = {name: value for name, value in os.environ.items() if name.startswith("GENIE_")}
    for name in saved:
        del os.environ[name]
    yield calls
    for name in [name for name in os.environ if name.startswith("GENIE_")]:
        del os.environ[name]
    os.environ.update(saved)


def test_serve_hands_its_options_to_the_workers_through_the_environment(
    postgres_url, started, monkeypatch
):
    monkeypatch.setenv("GENIE_CURSOR_SECRET", "a-secret-shared-by-every-worker")
    serve(db=postgres_url, port=8123, chaos="flaky", chaos_seed=5, rate_limit_burst=7)
    ((args, kwargs),) = started
    assert args == (APP_FACTORY,)
    assert kwargs["factory"] is True
    assert kwargs["port"] == 8123
    assert kwargs["access_log"] is False  # our own access log redacts credentials
    # Slow clients: a deadline per request (protocol) and a bound on connections.
    assert kwargs["http"] == "genie_litestar.slow_clients:DeadlineH11Protocol"
    assert kwargs["limit_concurrency"] == 1000
    assert os.environ["GENIE_REQUEST_DEADLINE_SECONDS"] == "10.0"
    settings = GenieSettings()
    assert settings.database_url == postgres_url
    assert settings.base_url == "http://127.0.0.1:8123"
    assert settings.rate_limit_burst == 7
    assert settings.chaos is not None
    assert settings.chaos.seed == 5
    assert settings.cursor_secret.get_secret_value() == "a-secret-shared-by-every-worker"


def test_serve_passes_the_request_deadline_and_concurrency_limit(postgres_url, started):
    serve(db=postgres_url, request_deadline_seconds=2.5, limit_concurrency=64)
    ((_, kwargs),) = started
    assert kwargs["limit_concurrency"] == 64
    assert os.environ["GENIE_REQUEST_DEADLINE_SECONDS"] == "2.5"


@pytest.mark.parametrize(
    ("option", "value"), [("request_deadline_seconds", 0.0), ("limit_concurrency", 0)]
)
def test_a_deadline_or_limit_below_one_is_refused(postgres_url, started, option, value):
    with pytest.raises(FauxError, match=option.replace("_", "-")):
        serve(db=postgres_url, **{option: value})
    assert started == []


@pytest.mark.usefixtures("started")
def test_serve_leaves_the_cursor_key_to_the_database_when_no_secret_is_given(postgres_url):
    """No per-start secret: every worker and every start reads the key kept in Postgres."""
    serve(db=postgres_url, cors_origin=("https://a.example",))
    settings = GenieSettings()
    assert settings.cursor_secret is None
    assert json.loads(os.environ["GENIE_CORS_ALLOW_ORIGINS"]) == ["https://a.example"]


def test_unknown_chaos_profile_fails_before_starting(postgres_url, started):
    with pytest.raises(FauxError, match="Valid values are: gentle, flaky, hostile"):
        serve(db=postgres_url, chaos="wild")
    assert started == []


def test_invalid_option_fails_with_the_option_named(postgres_url, started):
    with pytest.raises(FauxError, match="--rate-limit-per-second: Input should be greater than 0"):
        serve(db=postgres_url, rate_limit_per_second=0)
    assert started == []


def test_a_busy_port_fails_before_the_database_is_touched(started):
    """Nothing is started (an embedded Postgres would be left running) when the port is taken."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # An unreachable database: reaching it first would fail with another message.
        with pytest.raises(FauxError, match=f"port {port} on 127.0.0.1 is already in use"):
            serve(db="postgresql://nobody@127.0.0.1:1/none", port=port)
    assert started == []


def test_a_redis_url_that_is_not_one_is_refused_in_one_line(started):
    with pytest.raises(FauxError, match="--redis-url 'notredis' is not a Redis URL"):
        serve(db="postgresql://nobody@127.0.0.1:1/none", redis_url="notredis")
    assert started == []


@pytest.mark.parametrize("port", [0, -1, 70000])
def test_a_port_out_of_range_is_named_as_the_port(started, port):
    with pytest.raises(FauxError, match=f"--port must be between 1 and 65535, got {port}"):
        serve(db="postgresql://nobody@127.0.0.1:1/none", port=port)
    assert started == []


@pytest.mark.parametrize(
    ("host", "url"),
    [("127.0.0.1", "http://127.0.0.1:8000"), ("localhost", "http://localhost:8000"),
     ("0.0.0.0", "http://127.0.0.1:8000"), ("::", "http://[::1]:8000"),  # noqa: S104
     ("::1", "http://[::1]:8000")],
)  # fmt: skip
def test_the_default_public_url_is_one_a_client_can_use(host, url):
    assert default_public_url(host, 8000) == url


def test_an_empty_cursor_secret_variable_counts_as_none(monkeypatch):
    """docker compose passes ``${GENIE_CURSOR_SECRET:-}`` as an empty variable."""
    monkeypatch.setenv("GENIE_CURSOR_SECRET", "")
    assert GenieSettings(database_url="postgresql://x").cursor_secret is None


def test_a_bad_public_url_names_the_option(postgres_url, started):
    with pytest.raises(FauxError) as caught:
        serve(db=postgres_url, public_url="notaurl")
    assert str(caught.value).startswith("--public-url: Input should be a valid URL")
    assert "public_base_url" not in str(caught.value)
    assert started == []


def test_a_short_cursor_secret_names_the_variable_and_hides_the_value(
    postgres_url, started, monkeypatch
):
    monkeypatch.setenv("GENIE_CURSOR_SECRET", "abc")
    with pytest.raises(FauxError) as caught:
        serve(db=postgres_url)
    assert str(caught.value) == "GENIE_CURSOR_SECRET: must have at least 16 characters"
    assert started == []


@pytest.mark.usefixtures("started")
def test_serve_says_what_it_serves_and_how_to_get_a_token(postgres_url, capsys):
    serve(db=postgres_url, port=8124)
    out = capsys.readouterr().out
    assert "Genie serves postgresql://" in out
    assert "dataset  none yet: load one with `fauxsim run SCENARIO`" in out
    assert "docs http://127.0.0.1:8124/docs" in out
    assert "fauxsim token create --name me --scopes read:all" in out


@pytest.mark.usefixtures("started")
def test_serve_says_how_far_a_dataset_of_shards_is_served(postgres_url, capsys):
    """Up to the moment every shard has committed (its lowest watermark), as the API
    serves it; and the token command names the database serve was given."""
    upgrade(postgres_url)

    def committed(shard: int, watermark: str) -> None:
        with psycopg.connect(postgres_url) as writer:
            writer.execute(
                "INSERT INTO runs (scenario_name, scenario_digest, seed, code_version, status,"
                " watermark, shard, shards) VALUES ('sharded', 'digest', 1, 'test', 'running',"
                " %s, %s, 3)",
                (watermark, shard),
            )

    committed(0, "2024-11-20T00:00:00Z")
    committed(1, "2024-11-10T00:00:00Z")
    serve(db=postgres_url, port=8124)
    out = capsys.readouterr().out
    assert "sharded (seed 1), not every shard has committed yet" in out
    # The URL itself, unless it holds a password (masked, it would not connect).
    given = postgres_url if mask_password(postgres_url) == postgres_url else "<the URL given"
    assert f"fauxsim token create --name me --scopes read:all --db '{given}" in out
    committed(2, "2024-11-15T00:00:00Z")
    serve(db=postgres_url, port=8124)
    assert "sharded (seed 1), complete up to 2024-11-10T00:00:00Z" in capsys.readouterr().out


def test_serve_live_refuses_a_scenario_of_several_shards_before_starting(tmp_path, started):
    scenario = tmp_path / "shop.yaml"
    scenario.write_text("name: s\nstart: 2024-05-01\nend: 2024-05-02\nshards: 2\n")
    with pytest.raises(FauxError, match="has 2 shards, and a live run takes one for now"):
        serve(live=str(scenario))
    assert started == []
