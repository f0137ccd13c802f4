"""Loading a scenario: file or bundled name → YAML → overrides → validated :class:`Scenario`.

Every mistake, wherever it is, ends in one :class:`~fauxsim.errors.ScenarioError` that
lists all the problems found (see ``problems.py``); nothing here lets a traceback reach
the user for a broken file.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from typing import TYPE_CHECKING

import yaml
from pydantic import ValidationError

from fauxsim.errors import ScenarioError
from fauxsim.scenario.bundled import BundledScenario, bundled_scenarios, find_bundled
from fauxsim.scenario.cross_section import cross_section_failures
from fauxsim.scenario.explain import explain
from fauxsim.scenario.model import Scenario
from fauxsim.scenario.overrides import apply_overrides
from fauxsim.scenario.problems import (
    InvalidScenarioError,
    Locator,
    Problem,
    dotted,
    show,
    syntax_problem,
)
from fauxsim.scenario.yaml_source import ParsedYaml, parse_yaml

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

__all__ = [
    "BundledScenario",
    "bundled_scenarios",
    "load_scenario",
    "load_scenario_text",
    "resolve_scenario_path",
    "scenario_digest",
]

# Labels that do not change the generated data, so editing them keeps the digest.
_NOT_DIGESTED = frozenset({"name", "description"})


def resolve_scenario_path(path: Path) -> Path:
    """``path`` itself if it exists, else the bundled scenario of that name, else ``path``."""
    if path.exists():
        return path
    return find_bundled(str(path)) or path


def load_scenario(path: Path, overrides: Sequence[str] = ()) -> Scenario:
    """The validated scenario in ``path`` (or the bundled one named so), with overrides."""
    resolved = resolve_scenario_path(path)
    if resolved.is_dir():
        inside = ", ".join(sorted(child.name for child in resolved.glob("*.yaml"))) or "none"
        message = f"{path} is a folder; give a scenario file inside it (.yaml files: {inside})"
        raise ScenarioError(message)
    try:
        raw = resolved.read_bytes()
    except FileNotFoundError:
        known = [scenario.name for scenario in bundled_scenarios()]
        close = difflib.get_close_matches(path.name.removesuffix(".yaml"), known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        message = (
            f"no scenario file {str(path)!r}; {hint}give a .yaml file or a bundled name: "
            f"{', '.join(known)}"
        )
        raise ScenarioError(message) from None
    except OSError as error:
        raise ScenarioError(f"cannot read scenario {path}: {error.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        message = (
            f"{path} is not a text file (byte 0x{raw[error.start]:02x} at offset {error.start} "
            "is not UTF-8); a scenario is a YAML text file"
        )
        raise ScenarioError(message) from None
    return load_scenario_text(text, str(resolved), overrides)


def load_scenario_text(text: str, source: str, overrides: Sequence[str] = ()) -> Scenario:
    """The validated scenario written in ``text``; ``source`` names it in messages."""
    try:
        parsed = parse_yaml(text)
    except yaml.YAMLError as error:
        raise InvalidScenarioError(source, [syntax_problem(source, error, text)]) from None
    except RecursionError:
        message = "invalid YAML: nested too deeply to read"
        raise InvalidScenarioError(source, [Problem(source, "", message)]) from None
    document = _document(parsed, source, overrides)
    problems = _duplicate_problems(parsed, source)
    applied = apply_overrides(document, overrides)
    problems += applied.problems
    try:
        scenario = Scenario.model_validate(applied.data)
    except ValidationError as error:
        locator = Locator(source, parsed, applied.sources)
        problems += explain(error, applied.data, locator)
        for later in cross_section_failures(applied.data, error):
            problems += explain(later, applied.data, locator)
    if problems:
        raise InvalidScenarioError(source, problems)
    return scenario


def scenario_digest(scenario: Scenario) -> str:
    """A sha256 of everything that shapes the data: equal digests, equal scenarios.

    The name and description are left out: relabelling a scenario does not change it.
    """
    shaping = scenario.model_dump(mode="json", by_alias=True, exclude=set(_NOT_DIGESTED))
    canonical = json.dumps(shaping, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _document(parsed: ParsedYaml, source: str, overrides: Sequence[str]) -> dict[str | int, object]:
    """The top-level mapping, or a problem explaining that the file holds none."""
    data = parsed.data
    if data is None and overrides:  # an empty file can be completed on the command line
        return {}
    if isinstance(data, dict):
        return data
    example = "start: 2025-01-01 and end: 2025-02-01"
    if data is None:
        message = f"the file holds no settings; a scenario needs at least {example}"
        raise InvalidScenarioError(source, [Problem(f"{source}:1:1", "", message, order=(0, 1, 1))])
    message = f"the top level must be a mapping of keys such as {example} (got {show(data)})"
    raise InvalidScenarioError(source, [Problem(f"{source}:1:1", "", message, order=(0, 1, 1))])


def _duplicate_problems(parsed: ParsedYaml, source: str) -> list[Problem]:
    locator = Locator(source, parsed, {})
    problems = []
    for duplicate in parsed.duplicates:
        where, order = locator.at(duplicate.at)
        message = (
            f"key {duplicate.loc[-1]!r} is written twice (first at line {duplicate.first.line}); "
            "YAML keeps only the last one, so remove or merge one of them"
        )
        problems.append(Problem(where, dotted(duplicate.loc), message, order=order))
    return problems
