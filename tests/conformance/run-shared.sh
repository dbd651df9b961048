#!/usr/bin/env bash
# Runs every case file in ../shared/conformance (beside the repository), where new cases appear.
# Exit 77 (ctest: skipped) when there is no such folder, e.g. on a clone outside the workplace.
set -euo pipefail
claimsctl=$1
repo=$2
shared="$repo/../shared/conformance"
shopt -s nullglob
files=("$shared"/*.jsonl)
if [ ${#files[@]} -eq 0 ]; then
  echo "no ../shared/conformance/*.jsonl beside the repository: skipped"
  exit 77
fi
exec "$claimsctl" conformance --plan "$repo/config/plans/six-guarantees-v1.textproto" "${files[@]}"
