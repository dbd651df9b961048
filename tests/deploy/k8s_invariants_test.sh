#!/usr/bin/env bash
# The rendered overlays follow the deployment rules (k8s_invariants.mjs); each variable given
# to intake and adjudication is one of their flags.
#   k8s_invariants_test.sh REPO_ROOT INTAKE_BINARY ADJUDICATION_BINARY
source "$(dirname "$0")/lib.sh"
root=$1
need kubectl
need_npm_tools "$root"
for overlay in dev prod; do
  render "$root" "$overlay"
  node "$(dirname "$0")/k8s_invariants.mjs" "$root" "$overlay" "$scratch/$overlay.yaml" \
    "intake=$2" "adjudication=$3"
done
