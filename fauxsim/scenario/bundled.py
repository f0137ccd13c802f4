"""The scenarios shipped with Faux Genie, so ``fauxsim run black_friday`` works."""

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


# Where a wheel puts the files of the source tree's `scenarios` folder (pyproject.toml).
WHEEL_FOLDER = "bundled_scenarios"


def bundled_folder() -> Path:
    """Where the bundled scenario files are, in an installed wheel or a source tree.

    A wheel carries them inside ``fauxsim`` as data; a source tree (and an editable
    install) has the ``scenarios`` folder beside ``fauxsim``. Found by path, never
    imported: nothing on ``sys.path`` can hide them.
    """
    package = Path(fauxsim.__file__).parent
    installed = package / WHEEL_FOLDER
    return installed if installed.is_dir() else package.parent / "scenarios"


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
