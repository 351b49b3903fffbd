#!/usr/bin/env bash
# The peer for `npm run bench:scale`: Prefect (PyPI), in its own venv so it never touches the
# project's Python tools (.driftline/venv). Idempotent: an existing venv with the pinned version is kept.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${DRIFTLINE_PREFECT_VENV:-.driftline/prefect-venv}"
VERSION="${PREFECT_VERSION:-3.9.1}"
PYTHON="${PYTHON:-python3}"
if [ -x "$VENV/bin/prefect" ] && "$VENV/bin/python" -c "import prefect,sys; sys.exit(prefect.__version__ != '$VERSION')" 2>/dev/null; then
  echo "prefect $VERSION already in $VENV"
  exit 0
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet "prefect==$VERSION"
"$VENV/bin/python" -c "import prefect; print('prefect', prefect.__version__, 'in $VENV')"
