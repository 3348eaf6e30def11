#!/usr/bin/env bash
# Runs the main job end to end on this machine: onboard → expire → offboard against a local slapd
# and moto, leaving a signed certificate in ./demo-output/certificates (or the folder given).
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/env.sh
source .ci/deps.sh
[ -d node_modules ] || npm ci --no-fund --no-audit
npm run --silent build
node dist/scripts/demo.js "$@"
