"""Hatch build hook: compile the C row converter, ``fauxsim/sinks/files/_rows_to_arrow.c``.

It turns sink rows into Arrow buffers about three times faster than pyarrow does from
Python objects (see ``fauxsim/sinks/files/arrow_columns.py``). It is optional: where it
cannot be compiled (no C compiler or Python headers), the build warns and the package
converts rows in Python, with the same output, only slower.

setuptools drives the compiler: it knows each platform's flags and file names.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

EXTENSION = "fauxsim.sinks.files._rows_to_arrow"
SOURCE = "fauxsim/sinks/files/_rows_to_arrow.c"


class CompileRowConverter(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return  # the sdist ships the C source; its wheel compiles it
        try:
            built = compile_in_place(Path(self.root))
        except Exception as error:  # noqa: BLE001 - any compiler failure: fall back to Python
            self.app.display_warning(
                f"fauxsim: could not compile {SOURCE} ({error}); "
                "rows will be converted in Python (same output, slower runs)"
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":  # an editable install imports it from the source tree
            build_data["force_include"][str(built)] = built.relative_to(self.root).as_posix()


def compile_in_place(root: Path) -> Path:
    """Compile the extension beside its source; return the built file."""
    from setuptools import Distribution, Extension  # noqa: PLC0415 - only when building

    extension = Extension(EXTENSION, sources=[SOURCE])
    distribution = Distribution({"name": "fauxgenie", "ext_modules": [extension]})
    command: Any = distribution.get_command_obj("build_ext")
    with tempfile.TemporaryDirectory() as temp, contextlib.chdir(root):
        command.inplace = True
        command.build_temp = command.build_lib = temp  # nothing left under build/
        command.force = True  # not skipped as "up to date" by file times
        command.ensure_finalized()
        built = root / command.get_ext_fullpath(EXTENSION)
        # A failed compile must not leave an earlier build beside the source, where an
        # editable install (or the next wheel) would go on importing it.
        built.unlink(missing_ok=True)
        command.run()
        return built
