#!/usr/bin/env bash
# The main job: installs what is missing (Debian packages only), builds, then runs the whole
# pipeline on loopback with a generated demo year (deploy/local/run.sh) until Ctrl-C.
# Arguments go to deploy/local/run.sh (e.g. --no-wait, --members N); see its --help.
# The worked conformance cases stay one command away: build/tools/claimsctl/claimsctl conformance.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh build
exec ./deploy/local/run.sh --build-dir build "$@"
