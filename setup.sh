#!/usr/bin/env bash
# One-step setup: a virtualenv in .venv with the CPU build of PyTorch, citebot and its dev tools.
# Safe to re-run. PYTHON picks the interpreter (default python3, 3.10+).
# TORCH_INDEX_URL, if set, is where the CPU torch wheel comes from
# (e.g. https://download.pytorch.org/whl/cpu on a machine without a local CPU wheel).
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-python3}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  echo "setup: installing torch==$TORCH_VERSION (CPU build)" >&2
  if [ -n "${TORCH_INDEX_URL:-}" ]; then
    "${PIP[@]}" install "torch==$TORCH_VERSION" --index-url "$TORCH_INDEX_URL"
  else
    "${PIP[@]}" install "torch==$TORCH_VERSION"
  fi
fi
echo "setup: installing citebot and its dependencies" >&2
if ! "${PIP[@]}" install -e ".[dev]" >.venv/setup.log 2>&1; then
  cat .venv/setup.log >&2
  echo "setup: pip install failed (log above, also in .venv/setup.log)" >&2
  exit 1
fi
.venv/bin/python -c "import torch, sys; sys.exit(0 if not torch.version.cuda else print('setup: warning: a CUDA torch build is installed', file=sys.stderr))"
# Byte-compile citebot's own modules, as a non-editable install would: a cold `citebot ask` then does
# not compile ~30 modules from source when Python may not write bytecode (PYTHONDONTWRITEBYTECODE).
.venv/bin/python -m compileall -q bot index >/dev/null
.venv/bin/citebot --help >/dev/null
# The models' ONNX exports, once per machine (a model cache shared by every index: CITEBOT_CACHE_DIR), so
# that no build, `index add` or question afterwards loads torch.
echo "setup: exporting the models to the model cache (once per machine)" >&2
.venv/bin/citebot prepare >&2
echo "setup: done (.venv/bin/citebot)" >&2
