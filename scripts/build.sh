#!/usr/bin/env bash
# Installs what is missing (Debian packages only), then configures and builds.
#   scripts/build.sh [BUILD_DIR] [extra cmake args...]     default BUILD_DIR: build
# Environment: CLAIMS_JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
shift || true
./scripts/install-deps.sh
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
else
  cmake -S . -B "$build_dir" "$@" >/dev/null
fi
cmake --build "$build_dir" -j"${CLAIMS_JOBS:-2}"
