# traind — `make` builds, `make test` tests, `make run` starts the daemon,
# `make bench` measures. SAN=1 builds and tests with ASan + UBSan, SAN=thread
# with ThreadSanitizer (`make race` runs the concurrent tests under it).

SAN ?= 0
CC ?= cc
BUILD := build

CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O3 -g \
          -fno-math-errno -Wall -Wextra -Wshadow -Wstrict-prototypes -MMD -MP
LDFLAGS :=
ifeq ($(SAN),1)
  BUILD := build-san
  CFLAGS += -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(SAN),thread)
  BUILD := build-tsan
  CFLAGS += -O1 -fsanitize=thread -fno-omit-frame-pointer
  LDFLAGS += -fsanitize=thread
endif

BLAS_LIBS := -lopenblas
CORE_LIBS := $(BLAS_LIBS) -lpthread -lm

CORE_SRC := $(wildcard core/*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
LIBNN := $(BUILD)/libnn.a

SERVER_SRC := $(wildcard server/*.c)
# The dashboard (clients/web) is compiled in as one generated source.
WEB_ASSETS := $(BUILD)/web_assets
# ONNX's schema, vendored with its licence (server/onnx/), is compiled by
# protoc-c at build time for the ONNX exporter (docs/onnx.md says why).
ONNX_PB := $(BUILD)/onnx/onnx.pb-c
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o) $(WEB_ASSETS).o $(ONNX_PB).o
SERVER_LIB_OBJ := $(filter-out $(BUILD)/server/main.o,$(SERVER_OBJ))
SERVER_LIBS := -lmicrohttpd -lgnutls -lcjson -lyajl -lsodium -lsqlite3 -luv -lprotobuf-c
TRAIND := $(BUILD)/traind

# traind-rank (server/rank/): one rank of a data-parallel run on Open MPI,
# core and MPI only; server/*.c does not include it.
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS := $(shell pkg-config --libs ompi-c 2>/dev/null)
RANK_SRC := $(wildcard server/rank/*.c)
RANK_OBJ := $(RANK_SRC:%.c=$(BUILD)/%.o)
TRAIND_RANK := $(BUILD)/traind-rank

TRAINCTL_SRC := $(wildcard clients/trainctl/*.c)
TRAINCTL_OBJ := $(TRAINCTL_SRC:%.c=$(BUILD)/%.o)
TRAINCTL := $(BUILD)/trainctl

UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(BUILD)/tests/unit_tests
SERVER_TEST_SRC := $(wildcard tests/server/*.c)
SERVER_TEST_OBJ := $(SERVER_TEST_SRC:%.c=$(BUILD)/%.o)
SERVER_TEST_BIN := $(BUILD)/tests/server_tests

.PHONY: all deps test unit server-unit e2e mpi-test test-browser tools-deps race run valgrind \
        bench bench-http bench-peers clean
all: $(LIBNN) $(TRAIND) $(TRAINCTL) $(TRAIND_RANK)

deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# Directories are prerequisites too, so adding or removing a file regenerates.
$(WEB_ASSETS).c: scripts/web_assets.py $(shell find clients/web ! -name '.*')
	@mkdir -p $(dir $@)
	/usr/bin/python3 scripts/web_assets.py clients/web $@

$(WEB_ASSETS).o: $(WEB_ASSETS).c
	$(CC) $(CFLAGS) -Iserver -c $< -o $@

$(ONNX_PB).c $(ONNX_PB).h &: server/onnx/onnx.proto
	@mkdir -p $(dir $@)
	protoc-c -Iserver/onnx --c_out=$(dir $@) server/onnx/onnx.proto

$(ONNX_PB).o: $(ONNX_PB).c
	$(CC) $(CFLAGS) -I$(dir $@) -c $< -o $@

# the exporter's files, and the tests that read its messages back
ONNX_USERS := server/onnx_export.o server/onnx_graph.o server/onnx_nodes.o server/onnx_table.o \
  tests/server/test_onnx_export.o
$(ONNX_USERS:%=$(BUILD)/%): CFLAGS += -I$(BUILD)/onnx
$(ONNX_USERS:%=$(BUILD)/%): $(ONNX_PB).h

$(LIBNN): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	ar rcs $@ $^

$(TRAIND): $(SERVER_OBJ) $(LIBNN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(SERVER_OBJ) $(LIBNN) $(SERVER_LIBS) $(CORE_LIBS)

$(RANK_OBJ): CFLAGS += $(MPI_CFLAGS)

# The wire format to the daemon's workers (server/rank_proto.c) is shared.
$(TRAIND_RANK): $(RANK_OBJ) $(BUILD)/server/rank_proto.o $(LIBNN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(RANK_OBJ) $(BUILD)/server/rank_proto.o $(LIBNN) $(MPI_LIBS) \
	  $(CORE_LIBS)

$(TRAINCTL): $(TRAINCTL_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(TRAINCTL_OBJ) -lcurl -lcjson

# Serves on 127.0.0.1:8080 with the database in the working directory.
run: deps $(TRAIND)
	exec $(TRAIND) --db ./traind.db

$(UNIT_BIN): $(UNIT_OBJ) $(LIBNN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(UNIT_OBJ) $(LIBNN) -lcriterion $(CORE_LIBS)

# Unit tests run from the repository root (fixtures are found by relative path).
unit: $(UNIT_BIN)
	OPENBLAS_NUM_THREADS=1 $(UNIT_BIN)

$(SERVER_TEST_BIN): $(SERVER_TEST_OBJ) $(SERVER_LIB_OBJ) $(LIBNN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(SERVER_TEST_OBJ) $(SERVER_LIB_OBJ) $(LIBNN) -lcriterion \
	  $(SERVER_LIBS) $(CORE_LIBS)

server-unit: $(SERVER_TEST_BIN)
	OPENBLAS_NUM_THREADS=1 $(SERVER_TEST_BIN)

test: deps
	$(MAKE) unit server-unit e2e test-browser

# Real mpirun runs of traind-rank on loopback, from files and launched by the
# daemon's workers (tests/e2e/test_mpi.py, test_mpi_daemon.py; e2e runs them
# too), alone.
mpi-test: $(TRAIND_RANK) $(TRAIND)
	TRAIND_RANK_BIN=$(abspath $(TRAIND_RANK)) TRAIND_BIN=$(abspath $(TRAIND)) \
	  PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	  tests/e2e/test_mpi.py tests/e2e/test_mpi_daemon.py

# The disk-full tests' fault injector (tests/fault/enospc.c): preloaded into
# a test daemon, never linked, so it is built without sanitizers.
ENOSPC_LIB := $(BUILD)/tests/fault/libenospc.so
$(ENOSPC_LIB): tests/fault/enospc.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -g -Wall -Wextra -Wshadow -Wstrict-prototypes -fPIC -shared -o $@ $< -ldl

# Outside tools the end-to-end tests check the daemon with (tests/tools): a
# standard EventSource, a validating OpenAPI proxy (Prism) and an OpenAPI
# linter (Redocly), pure JavaScript from the npm registry, the locked
# versions only and no install scripts run.
TOOLS_DEPS := tests/tools/node_modules/.package-lock.json
$(TOOLS_DEPS): tests/tools/package.json tests/tools/package-lock.json
	cd tests/tools && npm ci --no-audit --no-fund --ignore-scripts

tools-deps: $(TOOLS_DEPS)

# ONNX Runtime for the ONNX export's tests (tests/e2e/test_onnx.py): npm ci
# installs the locked onnxruntime-node, whose CPU binaries are in the
# package; its install script (a download) is skipped.
ONNX_DEPS := tests/onnx/node_modules/.package-lock.json
$(ONNX_DEPS): tests/onnx/package.json tests/onnx/package-lock.json
	cd tests/onnx && npm ci --ignore-scripts --no-audit --no-fund

# End-to-end: the real daemon on free ports with temporary databases, driven
# through the Python client (tests/e2e; SAN=1 tests the sanitized daemon).
# The load test runs LOAD_SECONDS; a sanitized daemon is several times slower.
LOAD_SECONDS ?= $(if $(filter 0,$(SAN)),60,30)
e2e: export TRAIND_LOAD_SECONDS = $(LOAD_SECONDS)
e2e: $(TRAIND) $(TRAINCTL) $(ENOSPC_LIB) $(TOOLS_DEPS) $(ONNX_DEPS) $(TRAIND_RANK)
	TRAIND_BIN=$(abspath $(TRAIND)) TRAINCTL_BIN=$(abspath $(TRAINCTL)) \
	  TRAIND_RANK_BIN=$(abspath $(TRAIND_RANK)) \
	  ENOSPC_LIB=$(abspath $(ENOSPC_LIB)) PYTHONDONTWRITEBYTECODE=1 \
	  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e

# The dashboard in Debian's headless Chromium, driven by playwright-core
# (tests/browser, node's test runner) against the real daemon; a screenshot
# of each page lands in $(BUILD)/browser-shots. npm ci installs the locked
# packages only: no browser is downloaded.
BROWSER_DEPS := tests/browser/node_modules/.package-lock.json
$(BROWSER_DEPS): tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund

test-browser: $(TRAIND) $(BROWSER_DEPS)
	cd tests/browser && TRAIND_BIN=$(abspath $(TRAIND)) SHOTS_DIR=$(abspath $(BUILD))/browser-shots \
	  node --test --test-concurrency=1

# Data races: the daemon under ThreadSanitizer through the end-to-end tests
# that run workers, predictions, cancels, stops, waits for disk space, crash
# loops, pinned-version predictions, gradient checks, the search scheduler and
# data-parallel jobs' supervision concurrently. A report makes the daemon exit
# non-zero at its stop, which fails the test.
# (Criterion 2.4's runner does not start under ThreadSanitizer: it cannot
# map its sandbox's shared arena, or with -j1 crashes inside libcriterion.)
race: export TRAIND_LOAD_SECONDS = 30
race: deps $(TRAIND_RANK) $(TRAINCTL)
	$(MAKE) SAN=thread build-tsan/traind build-tsan/tests/fault/libenospc.so tools-deps
	TSAN_OPTIONS=halt_on_error=1 TRAIND_BIN=$(abspath build-tsan/traind) PYTHONDONTWRITEBYTECODE=1 \
	  TRAIND_RANK_BIN=$(abspath $(TRAIND_RANK)) TRAINCTL_BIN=$(abspath $(TRAINCTL)) \
	  ENOSPC_LIB=$(abspath build-tsan/tests/fault/libenospc.so) \
	  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e/test_training.py \
	  tests/e2e/test_crash.py tests/e2e/test_metrics.py tests/e2e/test_threads.py \
	  tests/e2e/test_events.py tests/e2e/test_disk_full.py tests/e2e/test_load.py \
	  tests/e2e/test_slow_clients.py tests/e2e/test_crash_loop.py tests/e2e/test_v2.py \
	  tests/e2e/test_diagnostics.py tests/e2e/test_search.py tests/e2e/test_mpi_daemon.py

# Leak check of the core and server unit tests. Criterion runs each test in a
# child process, so children are traced; a leak or memory error there makes
# the child exit 99, which Criterion reports as a crash.
VALGRIND := OPENBLAS_NUM_THREADS=1 valgrind --quiet --trace-children=yes --leak-check=full \
  --suppressions=tests/valgrind.supp --errors-for-leak-kinds=definite,indirect --error-exitcode=99
valgrind: deps $(UNIT_BIN) $(SERVER_TEST_BIN)
	$(VALGRIND) $(UNIT_BIN) -j1
	$(VALGRIND) $(SERVER_TEST_BIN) -j1

# Benchmarks (bench/README.md): our core, FANN and the data the Python peers read.
BENCH_WORKLOAD := $(BUILD)/bench/workload.o
BENCH_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard bench/*.c))

$(BUILD)/bench/bench_core: $(BUILD)/bench/bench_core.o $(BENCH_WORKLOAD) $(LIBNN)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

$(BUILD)/bench/bench_fann: $(BUILD)/bench/bench_fann.o $(BENCH_WORKLOAD)
	$(CC) $(LDFLAGS) -o $@ $^ -lfloatfann -lm

$(BUILD)/bench/bench_data: $(BUILD)/bench/bench_data.o $(BENCH_WORKLOAD)
	$(CC) $(LDFLAGS) -o $@ $^ -lm

# run.sh builds what it runs itself, so it also works on its own. `bench`
# trains our core and the peers that are installed, `bench-http` measures
# the daemon (needs wrk), `bench-peers` installs every peer and runs both.
# Each writes bench/RESULTS.md.
bench: deps
	bench/run.sh -b $(BUILD) train ingest

bench-http: deps
	bench/run.sh -b $(BUILD) http

bench-peers:
	@scripts/deps.sh bench
	bench/run.sh -b $(BUILD) train ingest http

-include $(BENCH_OBJ:.o=.d)

# Installs what `make` built and never builds itself (so `sudo make install`
# leaves no root-owned objects behind): run `make` first. trainctl and its man
# page are installed when $(TRAINCTL) was built. DESTDIR stages a package.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
.PHONY: install uninstall
install:
	@test -x $(TRAIND) || { echo "install: $(TRAIND) is not built: run make$(if $(filter 1,$(SAN)), SAN=1) first" >&2; exit 1; }
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 755 $(TRAIND) $(DESTDIR)$(BINDIR)/traind
	install -m 644 docs/man/traind.8 $(DESTDIR)$(MANDIR)/man8/traind.8
	if [ -x $(TRAINCTL) ]; then \
	  install -d $(DESTDIR)$(MANDIR)/man1 && \
	  install -m 755 $(TRAINCTL) $(DESTDIR)$(BINDIR)/trainctl && \
	  install -m 644 docs/man/trainctl.1 $(DESTDIR)$(MANDIR)/man1/trainctl.1; \
	fi
	if [ -x $(TRAIND_RANK) ]; then install -m 755 $(TRAIND_RANK) $(DESTDIR)$(BINDIR)/traind-rank; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/traind $(DESTDIR)$(BINDIR)/trainctl $(DESTDIR)$(BINDIR)/traind-rank \
	  $(DESTDIR)$(MANDIR)/man8/traind.8 $(DESTDIR)$(MANDIR)/man1/trainctl.1

# Fuzzing (tests/fuzz/README.md): libFuzzer targets for the parsers, the
# checkpoint loader and the router, built with clang into build-fuzz/ (the
# library too, with coverage and ASan + UBSan). `make fuzz` runs each for
# FUZZ_TIME seconds from its committed seeds (tests/fuzz/corpus/<target>); a
# crash, a leak or a broken invariant fails it. `make fuzz-run-csv` runs one.
FUZZ_CC ?= clang-14
FUZZ_TIME ?= 60
FUZZ_BUILD := build-fuzz
FUZZ_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O1 -g -fno-omit-frame-pointer \
  -Wall -Wextra -Wshadow -Wstrict-prototypes -MMD -MP \
  -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_LIB := $(FUZZ_BUILD)/libtraind.a
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(CORE_SRC) $(filter-out server/main.c,$(SERVER_SRC))) \
  $(FUZZ_BUILD)/web_assets.o $(FUZZ_BUILD)/onnx.pb-c.o
FUZZ_TARGETS := spec job dataset_json csv checkpoint router table model_file rank_proto
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
# Longest input per target: room for realistic bodies and checkpoints, small
# enough that a run explores structure rather than bulk.
FUZZ_MAX_LEN_spec := 4096
FUZZ_MAX_LEN_job := 2048
FUZZ_MAX_LEN_dataset_json := 8192
FUZZ_MAX_LEN_csv := 4096
FUZZ_MAX_LEN_checkpoint := 8192
FUZZ_MAX_LEN_router := 1024
FUZZ_MAX_LEN_table := 4096
FUZZ_MAX_LEN_model_file := 8192
FUZZ_MAX_LEN_rank_proto := 4096
FUZZ_ENV := OPENBLAS_NUM_THREADS=1 ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer \
  UBSAN_OPTIONS=print_stacktrace=1

.PHONY: fuzz fuzz-build fuzz-seeds
$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/web_assets.o: $(WEB_ASSETS).c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Iserver -c $< -o $@

$(FUZZ_BUILD)/onnx.pb-c.o: $(ONNX_PB).c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I$(dir $<) -c $< -o $@

FUZZ_ONNX_USERS := $(filter server/%,$(ONNX_USERS)) tests/fuzz/fuzz_model_file.o
$(FUZZ_ONNX_USERS:%=$(FUZZ_BUILD)/%): FUZZ_CFLAGS += -I$(BUILD)/onnx
$(FUZZ_ONNX_USERS:%=$(FUZZ_BUILD)/%): $(ONNX_PB).h

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	ar rcs $@ $^

$(FUZZ_BINS): $(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(SERVER_LIBS) $(CORE_LIBS)

fuzz-build:
	@scripts/deps.sh fuzz
	$(MAKE) $(FUZZ_BINS)

# New inputs go to build-fuzz/corpus/<target>, crashes to build-fuzz/crashes/;
# the committed seeds are only read.
fuzz-run-%: $(FUZZ_BUILD)/fuzz_%
	@mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_BUILD)/crashes
	@echo "== fuzz_$* for $(FUZZ_TIME) s (log: $(FUZZ_BUILD)/fuzz_$*.log)"
	@$(FUZZ_ENV) $< -max_total_time=$(FUZZ_TIME) -max_len=$(FUZZ_MAX_LEN_$*) -timeout=30 \
	  -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/crashes/$*- \
	  $(if $(wildcard tests/fuzz/$*.dict),-dict=tests/fuzz/$*.dict) \
	  $(FUZZ_BUILD)/corpus/$* tests/fuzz/corpus/$* >$(FUZZ_BUILD)/fuzz_$*.log 2>&1 || \
	  { tail -n 80 $(FUZZ_BUILD)/fuzz_$*.log; echo "fuzz_$*: FAILED (input in $(FUZZ_BUILD)/crashes/)"; exit 1; }
	@sed -n 's/^stat::number_of_executed_units: */fuzz_$*: passed, inputs run: /p' $(FUZZ_BUILD)/fuzz_$*.log

fuzz: fuzz-build
	$(MAKE) $(FUZZ_TARGETS:%=fuzz-run-%)

# Regenerates the checkpoint seeds from core (tests/fuzz/gen_checkpoints.c).
fuzz-seeds: $(BUILD)/tests/gen_checkpoints
	OPENBLAS_NUM_THREADS=1 $< tests/fuzz/corpus/checkpoint

$(BUILD)/tests/gen_checkpoints: $(BUILD)/tests/fuzz/gen_checkpoints.o $(LIBNN)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/tests/fuzz/fuzz_%.d)

clean:
	rm -rf build build-san build-tsan build-fuzz

-include $(CORE_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(SERVER_OBJ:.o=.d) $(SERVER_TEST_OBJ:.o=.d) $(TRAINCTL_OBJ:.o=.d) \
  $(RANK_OBJ:.o=.d)
