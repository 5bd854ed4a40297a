# Sourced by the bench scripts (from the repository root): builds, in Release, the targets a
# script runs, so that every command in docs/performance.md works from a fresh clone.
bench_build() {
  if [ ! -f build/build.ninja ] && [ ! -f build/Makefile ]; then
    cmake -S . -B build $(command -v ninja >/dev/null && echo "-G Ninja") -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build build -j "$(nproc)" --target "$@" >/dev/null || { echo "bench: building $* failed" >&2; exit 1; }
}
