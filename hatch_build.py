"""Hatch build hook: compile fauxsim's two optional C extensions.

- ``fauxsim/sinks/files/_rows_to_arrow.c`` turns sink rows into Arrow buffers about three
  times faster than pyarrow does from Python objects (``fauxsim/sinks/files/arrow_columns.py``);
- ``fauxsim/simulation/_visit.c`` is a visit's hot path: its browsing pages
  (``fauxsim/simulation/session.py``) and the lognormal sampler of dwell times
  (``fauxsim/simulation/sampling.py``).

Each has a twin in Python, with the same output: where one cannot be compiled (no C
compiler or Python headers), the build warns and the package uses its twin, only slower.

setuptools drives the compiler: it knows each platform's flags and file names.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# Each extension's module, and what an install without it does instead.
EXTENSIONS = {
    "fauxsim.sinks.files._rows_to_arrow": "rows will be converted to Arrow in Python",
    "fauxsim.simulation._visit": "visits will walk and draw dwell times in Python",
}


class CompileExtensions(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return  # the sdist ships the C sources; its wheel compiles them
        for module, fallback in EXTENSIONS.items():
            source = source_of(module)
            try:
                built = compile_in_place(Path(self.root), module)
            except Exception as error:  # noqa: BLE001 - any compiler failure: fall back to Python
                self.app.display_warning(
                    f"fauxsim: could not compile {source} ({error}); "
                    f"{fallback} (same output, slower runs)"
                )
                continue
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
            if version != "editable":  # an editable install imports it from the source tree
                build_data["force_include"][str(built)] = built.relative_to(self.root).as_posix()


def source_of(module: str) -> str:
    return module.replace(".", "/") + ".c"


def compile_in_place(root: Path, module: str) -> Path:
    """Compile one extension beside its source; return the built file."""
    from setuptools import Distribution, Extension  # noqa: PLC0415 - only when building

    extension = Extension(module, sources=[source_of(module)])
    distribution = Distribution({"name": "fauxgenie", "ext_modules": [extension]})
    command: Any = distribution.get_command_obj("build_ext")
    with tempfile.TemporaryDirectory() as temp, contextlib.chdir(root):
        command.inplace = True
        command.build_temp = command.build_lib = temp  # nothing left under build/
        command.force = True  # not skipped as "up to date" by file times
        command.ensure_finalized()
        built = root / command.get_ext_fullpath(module)
        # A failed compile must not leave an earlier build beside the source, where an
        # editable install (or the next wheel) would go on importing it.
        built.unlink(missing_ok=True)
        command.run()
        return built
