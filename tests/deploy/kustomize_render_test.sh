#!/usr/bin/env bash
# Every overlay of deploy/k8s renders with `kubectl kustomize`, to a non-trivial set of objects.
#   kustomize_render_test.sh REPO_ROOT
source "$(dirname "$0")/lib.sh"
root=$1
need kubectl
overlays=("$root"/deploy/k8s/overlays/*/)
[ ${#overlays[@]} -ge 2 ] || fail "expected the dev and prod overlays"
for dir in "${overlays[@]}"; do
  overlay=$(basename "$dir")
  render "$root" "$overlay"
  count=$(grep -c '^kind: ' "$scratch/$overlay.yaml" || true)
  [ "$count" -ge 20 ] || fail "$overlay renders only $count objects"
  echo "$overlay: $count objects"
done
