#!/usr/bin/env bash
# Installs kustomize (pinned) into .driftline/bin for test/infra.test.ts, which renders every overlay
# under infra/k8s the way `kubectl apply -k` would. Built with `go install` from the Go module proxy,
# so no download site is needed. Idempotent. (The Python validators come from scripts/setup-python.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
KUSTOMIZE_VERSION=v5.7.1
BIN="${DRIFTLINE_TOOLS_BIN:-$PWD/.driftline/bin}"
mkdir -p "$BIN"
if [ -x "$BIN/kustomize" ] && "$BIN/kustomize" version 2>/dev/null | grep -q "$KUSTOMIZE_VERSION"; then
  echo "kustomize $KUSTOMIZE_VERSION already in $BIN"
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "setup-infra-tools: Go is needed to build kustomize (or put kustomize ${KUSTOMIZE_VERSION} in $BIN yourself)." >&2
  exit 1
fi
echo "building kustomize ${KUSTOMIZE_VERSION} with go install (about a minute)"
GOBIN="$BIN" go install "sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}"
"$BIN/kustomize" version
