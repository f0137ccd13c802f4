#!/usr/bin/env bash
# The C parts under AddressSanitizer and UBSan, held to their Python twins on random
# scenarios (the differential fuzz of the reviews, in the repository).
#
#   tools/sanitized_fuzz.sh              # 100 random scenarios (a review's run, minutes)
#   tools/sanitized_fuzz.sh 10           # bounded, as CI runs it
#
# Copies the working tree into a temporary folder, compiles fauxsim's C parts there with
# -fsanitize=address,undefined (by the project's own build hook, hatch_build.py), and runs,
# with that copy first on the path and the sanitizers preloaded into this venv's Python:
# - tests/simulation/test_twins_on_random_scenarios.py with N examples each: random
#   scenarios with every optional feature on, the compiled parts against their twins
#   (events, row versions, Arrow columns);
# - the tests of the C parts themselves (test_visit.py, test_row_converters.py), whose
#   hostile inputs the reviews found.
# Any sanitizer report fails the run (halt_on_error). Leak checking is off: CPython's own
# allocations at exit would drown it.
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-100}"
python="$PWD/.venv/bin/python"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== copy of the tree in $work"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work"

echo "== C parts built with AddressSanitizer and UBSan"
export CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1 -g"
export LDFLAGS="-fsanitize=address,undefined"
(cd "$work" && "$python" - <<'EOF'
from pathlib import Path

import hatch_build

for module in hatch_build.EXTENSIONS:
    print(hatch_build.compile_in_place(Path.cwd(), module))
EOF
)
unset CFLAGS LDFLAGS

echo "== differential fuzz ($examples scenarios) and the C parts' tests, sanitized"
asan="$(gcc -print-file-name=libasan.so)"
ubsan="$(gcc -print-file-name=libubsan.so)"
cd "$work"
export LD_PRELOAD="$asan $ubsan" PYTHONPATH="$work" FAUXSIM_FUZZ_EXAMPLES="$examples"
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# The sanitized builds are the ones imported, or the run proves nothing.
"$python" - <<'EOF'
import os

from fauxsim.simulation import _visit
from fauxsim.sinks.files import _rows_to_arrow

for module in (_visit, _rows_to_arrow):
    assert module.__file__.startswith(os.environ["PYTHONPATH"]), module.__file__
    print("sanitized:", module.__file__)
EOF
"$python" -m pytest -q -p no:cacheprovider \
    tests/simulation/test_twins_on_random_scenarios.py \
    tests/simulation/test_visit.py \
    tests/sinks/test_row_converters.py \
    -k "not without_a_c_compiler"  # a wheel build, not the C: slow under the sanitizers
echo "== no sanitizer report, twins equal on $examples scenarios"
