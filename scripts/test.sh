#!/usr/bin/env bash
# Every test: installs what is missing, builds, runs the whole ctest suite (labels unit,
# integration, e2e), then the unit tests and the Kafka adapter's tests again under
# AddressSanitizer + UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${CLAIMS_JOBS:-2}
# Most tests wait on a broker, a disk or a child process rather than compute: four at a time keep
# two cores busy (an e2e test counts as two, cmake/ClaimsTest.cmake).
test_jobs=${CLAIMS_TEST_JOBS:-4}
./scripts/build.sh build
ctest --test-dir build --output-on-failure -j"$test_jobs" --timeout 600

# Sanitizer pass over the pure code and the Kafka adapter (fast to build): any report fails the run.
./scripts/install-deps.sh >/dev/null
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
[ -f build-asan/CMakeCache.txt ] ||
  cmake -S . -B build-asan "${generator[@]}" -DCMAKE_BUILD_TYPE=Debug -DCLAIMS_SANITIZE=ON \
    -DCLAIMS_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs" --target unit_tests bus_integration_test
# The unit tests, and the Kafka adapter against the dev broker: its threads hand records and
# reports to each other, and a use-after-free there once crashed payout only now and then.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -L unit --timeout 600
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -R '^Bus(Config)?Test[.]' --timeout 600
echo "all tests passed"
