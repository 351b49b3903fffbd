#!/usr/bin/env bash
# Creates .driftline/venv with the Python tools the test suite uses: moto[server] (AWS APIs over
# HTTP for the S3 and SageMaker adapters) and scikit-learn (the Python example trainer).
# Idempotent; `npm test` finds the venv by itself. Pass a directory to use another location.
set -euo pipefail
VENV=${1:-.driftline/venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5.1,<6' 'scikit-learn>=1.3,<2' 'joblib>=1.3'
"$VENV/bin/python" -c 'import sklearn, moto; print(f"python tools ready in '"$VENV"': scikit-learn {sklearn.__version__}, moto {moto.__version__}")'
