#!/usr/bin/env bash
# Installs, from Debian 12 packages only, whatever the build and the tests need and the machine
# lacks. Idempotent: a second run installs nothing. Needs root or sudo when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache git lld
  libssl-dev zlib1g-dev
  protobuf-compiler libprotobuf-dev protobuf-compiler-grpc libgrpc++-dev
  librdkafka-dev librocksdb-dev
  nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libxml2-utils libxml2-dev
  libjemalloc-dev
  python3 python3-grpcio python3-protobuf
  yamllint prometheus
)

# The deploy checks' npm tools (buf, Kubernetes schemas), pinned by deploy/tools/package-lock.json.
# Runs `npm ci` only when that lock changed since the last install; without npm (Node 20) it says
# so and the tests that need the tools skip.
install_npm_tools() {
  local dir stamp
  dir="$(dirname "$0")/../deploy/tools"
  stamp="$dir/node_modules/.claims-lock.sha256"
  if ! command -v npm >/dev/null; then
    echo "install-deps: npm not found; deploy checks that need deploy/tools will skip"
    return 0
  fi
  if [ -f "$stamp" ] && sha256sum <"$dir/package-lock.json" | cmp -s - "$stamp"; then
    return 0
  fi
  echo "install-deps: npm ci in deploy/tools"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  sha256sum <"$dir/package-lock.json" >"$stamp"
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  install_npm_tools
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_npm_tools
