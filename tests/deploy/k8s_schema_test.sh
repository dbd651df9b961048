#!/usr/bin/env bash
# The rendered overlays validate against Kubernetes, KEDA and Strimzi schemas offline
# (deploy/tools/validate-k8s.mjs); a fixture of broken objects is refused, one error each.
#   k8s_schema_test.sh REPO_ROOT
source "$(dirname "$0")/lib.sh"
root=$1
need kubectl
need_npm_tools "$root"
validate="$root/deploy/tools/validate-k8s.mjs"
for overlay in dev prod; do
  render "$root" "$overlay"
  node "$validate" "$scratch/$overlay.yaml" || fail "$overlay does not validate"
done
set +e
node "$validate" "$(dirname "$0")/testdata/invalid-objects.yaml" >"$scratch/invalid.out" 2>&1
code=$?
set -e
cat "$scratch/invalid.out"
[ "$code" -eq 1 ] || fail "the invalid fixture exited $code, expected 1"
for expected in "spec/replicas must be integer" "no schema for example.org/v1 Widget" \
    "spec/maxReplicaCount must be integer" "spec/partitions must be >= 1" \
    "spec must have required property selector" "0 valid, 5 invalid"; do
  grep -qF "$expected" "$scratch/invalid.out" || fail "missing from the report: $expected"
done
