#!/usr/bin/env bash
# Accelerator check, ready to run on a machine that has torch, transformers, peft and accelerate
# but no internet:
#   1. installs teachloop and the dependencies the machine lacks from carried wheels (offline);
#   2. runs a 2-round tiny-student episode on CUDA, bf16 (`python -m teachloop run`);
#   3. times GRPO steps of a random-initialised model of SmolLM2-135M's shape, bf16,
#      64 completions x 128 tokens a step;
#   4. prints one summary line and writes OUT_DIR/device_check.json.
#
# Usage:  benchmarks/device_check.sh OUT_DIR [--cpu] [--steps N]
#   --cpu      skip the CUDA parts: the same code on the CPU, small (the test suite runs this).
# Variables:
#   PYTHON     interpreter to use (default: python3)
#   WHEELS     folder of wheels to install from, offline (default: benchmarks/wheels). Used only
#              when teachloop or a dependency is not importable yet.
#
# Building the wheel folder (on a machine with internet, for the target's Python, e.g. 3.12;
# --no-deps because torch, transformers, peft, accelerate and their dependencies are already
# there, and resolving them would download gigabytes of CUDA wheels):
#   pip download --dest benchmarks/wheels --no-deps --only-binary=:all: \
#       --python-version 3.12 --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
#       -r benchmarks/device_wheels.txt
# benchmarks/device_wheels.txt lists what teachloop needs beyond those four packages (63 wheels).
# The folder travels with the repository (carry it; with the tree it must stay under 64 MiB):
# delete the wheels of packages the target already has (pyarrow, scipy, pandas and matplotlib are
# the large ones). Only wheels of distributions the machine lacks are installed, with --no-index
# --no-deps, then the imports are checked again and a missing module is named in one line.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 1 ] && [ "${1#-}" = "$1" ] || { echo "usage: benchmarks/device_check.sh OUT_DIR [--cpu] [--steps N]" >&2; exit 2; }
out=$1
shift
PY=${PYTHON:-python3}
WHEELS=${WHEELS:-benchmarks/wheels}
mkdir -p "$out"

check='import teachloop.training.grpo, teachloop.agents.teacher, teachloop.episode, trl'
if ! "$PY" -c "$check" >/dev/null 2>&1; then
    [ -d "$WHEELS" ] || { echo "device_check: teachloop is not installed and there is no wheel folder $WHEELS (see the header of $0)" >&2; exit 2; }
    # Carried wheels whose distribution the machine lacks (never replace its own torch & co), then
    # teachloop itself; offline and without resolving, so nothing is fetched or upgraded.
    mapfile -t wheels < <("$PY" - "$WHEELS" <<'PYEOF'
import importlib.metadata as md, pathlib, sys
for w in sorted(pathlib.Path(sys.argv[1]).glob("*.whl")):
    try:
        md.version(w.name.split("-")[0])
    except md.PackageNotFoundError:
        print(w)
PYEOF
)
    echo "device_check: installing ${#wheels[@]} wheels from $WHEELS and teachloop, offline (log: $out/pip.log)" >&2
    if ! "$PY" -m pip install --no-index --find-links "$WHEELS" --no-deps "${wheels[@]}" -e . >"$out/pip.log" 2>&1; then
        echo "device_check: offline install failed: $(grep -m1 -iE 'error' "$out/pip.log" || tail -n1 "$out/pip.log")" >&2
        exit 2
    fi
    if ! missing=$("$PY" -c "$check" 2>&1); then
        echo "device_check: still missing after the install: $(tail -n1 <<<"$missing") (add its wheel to $WHEELS)" >&2
        exit 2
    fi
fi
exec "$PY" benchmarks/device_check.py "$out" "$@"
