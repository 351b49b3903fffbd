#!/usr/bin/env bash
# Builds a real Prometheus server into .driftline/bin/prometheus for test/canary-prometheus.test.ts
# (the Prometheus metrics provider against a server that scrapes the router's /metrics). This
# machine kind reaches the Go module proxy but no download site, so it is `go install` of a pinned
# v0.x module tag (Prometheus 3.x), not a release archive. Idempotent. The build compiles every
# service-discovery plugin and takes a long time on a small machine (tens of minutes on 2 busy cores).
set -euo pipefail
VERSION=${PROMETHEUS_MODULE_VERSION:-v0.316.0}
BIN_DIR=${1:-.driftline/bin}
if [ -x "$BIN_DIR/prometheus" ]; then
  echo "prometheus already in $BIN_DIR: $("$BIN_DIR/prometheus" --version 2>&1 | head -1)"
  exit 0
fi
mkdir -p "$BIN_DIR"
GOBIN=$(cd "$BIN_DIR" && pwd) go install "github.com/prometheus/prometheus/cmd/prometheus@$VERSION"
echo "prometheus ready in $BIN_DIR: $("$BIN_DIR/prometheus" --version 2>&1 | head -1)"
