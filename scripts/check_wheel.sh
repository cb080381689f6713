#!/bin/sh
# Build the wheel from the committed tree, install it into a fresh virtual environment with torch pinned
# as CI pins it, and run it from an unrelated folder: `ganstudio models` must list the shipped models and
# `ganstudio sample <default>` must write a grid.  Usage: sh scripts/check_wheel.sh [WORK_DIR]
# (default: a new temp folder).  TORCH_SPEC and PYTHON as in the Makefile.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-$(mktemp -d -t ganstudio-wheel-XXXXXX)}
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
mkdir -p "$WORK/src" "$WORK/dist" "$WORK/elsewhere"
git -C "$ROOT" archive HEAD | tar -x -C "$WORK/src"    # what is committed, not the working tree
"$PYTHON" -m pip wheel "$WORK/src" --no-deps -q -w "$WORK/dist"
WHEEL=$(ls "$WORK"/dist/ganstudio-*.whl)
echo "wheel: $WHEEL ($(wc -c < "$WHEEL") bytes)"
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q "$TORCH_SPEC" "$WHEEL"
cd "$WORK/elsewhere"
"$WORK/venv/bin/ganstudio" models
DEFAULT=$("$WORK/venv/bin/python" -c "from ganstudio.pretrained import default_model; print(default_model() or '')")
[ -n "$DEFAULT" ] || { echo "check_wheel: the installed package lists no shipped model" >&2; exit 1; }
CLASS=$("$WORK/venv/bin/python" -c "from ganstudio.pretrained import get_entry; print('--class 0' if get_entry('$DEFAULT').get('classes') else '')")
# shellcheck disable=SC2086  # $CLASS is empty or two words
"$WORK/venv/bin/ganstudio" sample "$DEFAULT" --seeds 0-3 $CLASS --out x.png
echo "check_wheel: ok: $DEFAULT sampled to $WORK/elsewhere/x.png from the wheel installed in $WORK/venv"
