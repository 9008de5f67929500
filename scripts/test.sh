#!/usr/bin/env bash
# Every test on a fresh Debian 12 machine: install, build, run the unit
# tests (ctest), then the same tests built with AddressSanitizer,
# UndefinedBehaviorSanitizer and LeakSanitizer.
# TC_SKIP_SANITIZE=1 skips the sanitizer pass; TC_LONG_TESTS=1 adds the long suites.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build
ctest --test-dir build --output-on-failure -j2
# Same bits for any thread count must not depend on the BLAS kernel: run the
# tests that compare thread counts under each kernel OpenBLAS can be told to
# use (docs/determinism.md). A kernel the CPU cannot run is skipped, said so.
bash scripts/test-coretypes.sh build
if [ "${TC_SKIP_SANITIZE:-0}" != 1 ]; then
  bash scripts/build.sh build-sanitize -DTC_SANITIZE=ON -DTC_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
  # leak checking is on by default with ASan on Linux; make it explicit
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    LSAN_OPTIONS=suppressions=$(pwd)/tests/lsan.supp \
    ctest --test-dir build-sanitize --output-on-failure -j2 -L sanitize
fi
