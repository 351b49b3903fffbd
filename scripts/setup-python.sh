#!/usr/bin/env bash
# Creates .driftline/venv with the Python tools the test suite uses: moto[server] (AWS APIs over
# HTTP for the S3 and SageMaker adapters), scikit-learn (the Python example trainer), and the
# validators behind test/infra.test.ts: kubernetes-validate (Kubernetes JSON schemas, offline),
# check-jsonschema (its vendored Compose Specification schema) and python-hcl2 (Terraform syntax).
# Idempotent; `npm test` finds the venv by itself. Pass a directory to use another location.
set -euo pipefail
VENV=${1:-.driftline/venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5.1,<6' 'scikit-learn>=1.3,<2' 'joblib>=1.3' \
  'kubernetes-validate>=1.37,<2' 'check-jsonschema>=0.29,<1' 'python-hcl2>=8,<9'
"$VENV/bin/python" -c 'import sklearn, moto, kubernetes_validate, check_jsonschema, hcl2; print(f"python tools ready in '"$VENV"': scikit-learn {sklearn.__version__}, moto {moto.__version__}, kubernetes-validate {kubernetes_validate.__version__}")'
