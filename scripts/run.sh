#!/usr/bin/env bash
# The main job. For now: the rules engine over the worked conformance cases, printing every
# decision with its trace (the running pipeline replaces this as the services land).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh build
cases=(tests/conformance/*.jsonl)
shopt -s nullglob
shared=(../shared/conformance/*.jsonl)
exec ./build/tools/claimsctl/claimsctl conformance --print-decisions \
  --plan config/plans/six-guarantees-v1.textproto "${cases[@]}" "${shared[@]}"
