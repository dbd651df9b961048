# Sourced by the deploy check scripts. ctest registers them with SKIP_RETURN_CODE 77.
set -euo pipefail

# Prints why and exits 77 (ctest: skipped).
skip() {
  echo "SKIP: $*"
  exit 77
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Skips unless every named command is on PATH.
need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null ||
      skip "$tool is not on PATH (deploy/README.md, \"Checks\": where each tool comes from)"
  done
}

# Skips unless deploy/tools has been installed (npm ci in scripts/install-deps.sh).
need_npm_tools() {
  need node
  [ -d "$1/deploy/tools/node_modules/yaml" ] && [ -x "$1/deploy/tools/node_modules/.bin/buf" ] ||
    skip "deploy/tools/node_modules is missing: run scripts/install-deps.sh (npm ci)"
}

# A private scratch directory, removed on exit.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/claims-deploy-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# Renders overlay $2 of repository $1 into $scratch/$2.yaml.
render() {
  kubectl kustomize "$1/deploy/k8s/overlays/$2" >"$scratch/$2.yaml" ||
    fail "kubectl kustomize deploy/k8s/overlays/$2 failed"
}
