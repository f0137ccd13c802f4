"""The scenarios shipped in the ``scenarios`` package, so ``fauxsim run black_friday`` works."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

import fauxsim
from fauxsim.scenario.yaml_source import parse_yaml

_SUFFIX = ".yaml"


@dataclass(frozen=True, slots=True)
class BundledScenario:
    name: str
    path: Path
    summary: str  # the first line of its description


def bundled_folder() -> Path:
    """Where the bundled scenario files are, in a source tree or an installed wheel.

    The ``scenarios`` package sits beside ``fauxsim`` in both. It is found from here, not
    imported: another ``scenarios`` earlier on ``sys.path`` (a user's own folder of
    scenarios, a test helper module) would be imported instead and hide the bundled ones.
    """
    return Path(fauxsim.__file__).parent.parent / "scenarios"


def bundled_scenarios() -> list[BundledScenario]:
    """Every bundled scenario, sorted by name."""
    return [
        BundledScenario(path.stem, path, _summary(path))
        for path in sorted(bundled_folder().glob(f"*{_SUFFIX}"))
    ]


def find_bundled(name: str) -> Path | None:
    """The bundled file called ``name`` (with or without ``.yaml``), if there is one."""
    stem = name.removesuffix(_SUFFIX)
    if not stem or stem != Path(stem).name:  # a path, not a bare name
        return None
    path = bundled_folder() / f"{stem}{_SUFFIX}"
    return path if path.is_file() else None


def _summary(path: Path) -> str:
    try:
        data = parse_yaml(path.read_text(encoding="utf-8")).data
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return "(unreadable; run `fauxsim validate` on it)"
    description = data.get("description") if isinstance(data, dict) else None
    lines = str(description or "").strip().splitlines()
    return lines[0].strip() if lines else ""
