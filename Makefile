# motorpool: the two commands are `make run` and `make test`.
# build/        Release (the server binary is build/motorpool)
# build-asan/   clang, ASan+UBSan at -O0 -g, with the fuzz targets: what `make test` builds and runs

JOBS        ?= $(shell nproc)
GENERATOR   := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
BUILD_DIR   := build
ASAN_DIR    := build-asan
FORMAT_DIRS := src tests bench fuzz
SOURCES      = $(shell find $(FORMAT_DIRS) -name '*.cpp' -o -name '*.hpp' 2>/dev/null)

export ASAN_OPTIONS  ?= detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

.PHONY: all build web run demo-charging test test-unit asan fuzz bench format format-check lint clean

all: build

$(BUILD_DIR)/build.ninja $(BUILD_DIR)/Makefile:
	cmake -S . -B $(BUILD_DIR) $(GENERATOR) -DCMAKE_BUILD_TYPE=Release

build: web | $(BUILD_DIR)/$(if $(GENERATOR),build.ninja,Makefile)
	cmake --build $(BUILD_DIR) -j $(JOBS) --target motorpool

# The dashboard (web/: Vite + TypeScript, npm packages pinned in web/package-lock.json) into
# web/dist, with .br and .gz beside each file; motorpool serves it at / (MOTORPOOL_WEB_DIR).
web:
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent

run: build
	./$(BUILD_DIR)/motorpool serve

# With `make run` serving in another terminal: a demo site of simulated chargers (scripts/demo-charging).
demo-charging: build
	scripts/demo-charging

# clang (the Release build is g++'s: two compilers' warnings), with libFuzzer's coverage hooks in
# the libraries so the same build carries the fuzz targets (fuzz/, docs/decisions.md).
$(ASAN_DIR)/build.ninja $(ASAN_DIR)/Makefile:
	CXX=clang++ cmake -S . -B $(ASAN_DIR) $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug -DMOTORPOOL_SANITIZE=address,undefined \
	  -DMOTORPOOL_FUZZ=ON -DMOTORPOOL_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g"

asan: | $(ASAN_DIR)/$(if $(GENERATOR),build.ninja,Makefile)
	cmake --build $(ASAN_DIR) -j $(JOBS)

# The Release server is built too (what `make run` serves: -O3 warnings differ). Every test, under
# ASan+UBSan: unit tests, then the database and integration suites on SQLite,
# on a PostgreSQL that scripts/with-postgres starts (and always stops), and through PgBouncer.
test: format-check asan build
	scripts/with-postgres ctest --test-dir $(ASAN_DIR) --output-on-failure -j $(JOBS)

test-unit: asan
	ctest --test-dir $(ASAN_DIR) --output-on-failure -j $(JOBS) -LE 'postgres|pgbouncer'

# Every fuzz target for FUZZ_SECONDS each (`make test` gives each 15 s); the corpus grows in
# build-asan/fuzz-work/corpus/, crashes land in build-asan/fuzz-work/artifacts/ (fuzz/run.sh).
FUZZ_SECONDS ?= 300
FUZZ_TARGETS ?= http_session ws_hub json_body csv_import vin smartcar_webhook query ocpp_frame availability upload_headers
fuzz: | $(ASAN_DIR)/$(if $(GENERATOR),build.ninja,Makefile)
	cmake --build $(ASAN_DIR) -j $(JOBS) --target motorpool_fuzz
	@for target in $(FUZZ_TARGETS); do \
	  fuzz/run.sh $(ASAN_DIR)/fuzz/motorpool_fuzz $$target $(ASAN_DIR)/fuzz-work $(FUZZ_SECONDS) || exit 1; \
	done

# Every bench script builds the Release targets it runs (bench/lib.sh); this one is the headline.
bench:
	bench/http_health.sh

format:
	clang-format -i $(SOURCES)

format-check:
	clang-format --dry-run --Werror $(SOURCES)

# clang-tidy with the Release compile database: slow on Beast-heavy files, so not part of `make test`.
# LINT_FILES narrows it, e.g. `make lint LINT_FILES=src/core/config.cpp`.
LINT_FILES ?= $(shell find src -name '*.cpp')
lint: | $(BUILD_DIR)/$(if $(GENERATOR),build.ninja,Makefile)
	clang-tidy --dump-config >/dev/null
	clang-tidy -p $(BUILD_DIR) --quiet --extra-arg=-Wno-unknown-warning-option $(LINT_FILES)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
