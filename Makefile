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
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o)
SERVER_LIB_OBJ := $(filter-out $(BUILD)/server/main.o,$(SERVER_OBJ))
SERVER_LIBS := -lmicrohttpd -lgnutls -lcjson -lsqlite3 -luv
TRAIND := $(BUILD)/traind

TRAINCTL_SRC := $(wildcard clients/trainctl/*.c)
TRAINCTL_OBJ := $(TRAINCTL_SRC:%.c=$(BUILD)/%.o)
TRAINCTL := $(BUILD)/trainctl

UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(BUILD)/tests/unit_tests
SERVER_TEST_SRC := $(wildcard tests/server/*.c)
SERVER_TEST_OBJ := $(SERVER_TEST_SRC:%.c=$(BUILD)/%.o)
SERVER_TEST_BIN := $(BUILD)/tests/server_tests

.PHONY: all deps test unit server-unit e2e race run valgrind bench clean
all: $(LIBNN) $(TRAIND) $(TRAINCTL)

deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIBNN): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	ar rcs $@ $^

$(TRAIND): $(SERVER_OBJ) $(LIBNN)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(SERVER_OBJ) $(LIBNN) $(SERVER_LIBS) $(CORE_LIBS)

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
	$(MAKE) unit server-unit e2e

# End-to-end: the real daemon on free ports with temporary databases, driven
# through the Python client (tests/e2e; SAN=1 tests the sanitized daemon).
# The load test runs LOAD_SECONDS; a sanitized daemon is several times slower.
LOAD_SECONDS ?= $(if $(filter 0,$(SAN)),60,30)
e2e: export TRAIND_LOAD_SECONDS = $(LOAD_SECONDS)
e2e: $(TRAIND) $(TRAINCTL)
	TRAIND_BIN=$(abspath $(TRAIND)) TRAINCTL_BIN=$(abspath $(TRAINCTL)) PYTHONDONTWRITEBYTECODE=1 \
	  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e

# Data races: the daemon under ThreadSanitizer through the end-to-end tests
# that run workers, predictions, cancels and stops concurrently. A report
# makes the daemon exit non-zero at its stop, which fails the test. (The
# Criterion runner itself does not run under ThreadSanitizer.)
race: export TRAIND_LOAD_SECONDS = 30
race: deps
	$(MAKE) SAN=thread build-tsan/traind
	TSAN_OPTIONS=halt_on_error=1 TRAIND_BIN=$(abspath build-tsan/traind) PYTHONDONTWRITEBYTECODE=1 \
	  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e/test_training.py \
	  tests/e2e/test_crash.py tests/e2e/test_metrics.py \
	  tests/e2e/test_load.py tests/e2e/test_slow_clients.py

# Leak check of the core and server unit tests. Criterion runs each test in a
# child process, so children are traced; a leak or memory error there makes
# the child exit 99, which Criterion reports as a crash.
VALGRIND := OPENBLAS_NUM_THREADS=1 valgrind --quiet --trace-children=yes --leak-check=full \
  --suppressions=tests/valgrind.supp --errors-for-leak-kinds=definite,indirect --error-exitcode=99
valgrind: deps $(UNIT_BIN) $(SERVER_TEST_BIN)
	$(VALGRIND) $(UNIT_BIN) -j1
	$(VALGRIND) $(SERVER_TEST_BIN) -j1

# Benchmarks (bench/README.md): our core, FANN and the data PyTorch reads.
BENCH_WORKLOAD := $(BUILD)/bench/workload.o
BENCH_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard bench/*.c))

$(BUILD)/bench/bench_core: $(BUILD)/bench/bench_core.o $(BENCH_WORKLOAD) $(LIBNN)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

$(BUILD)/bench/bench_fann: $(BUILD)/bench/bench_fann.o $(BENCH_WORKLOAD)
	$(CC) $(LDFLAGS) -o $@ $^ -lfloatfann -lm

$(BUILD)/bench/bench_data: $(BUILD)/bench/bench_data.o $(BENCH_WORKLOAD)
	$(CC) $(LDFLAGS) -o $@ $^ -lm

# run.sh builds the three programs above itself, so it also works on its own.
bench:
	@scripts/deps.sh bench
	bench/run.sh $(BUILD)

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

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/traind $(DESTDIR)$(BINDIR)/trainctl $(DESTDIR)$(MANDIR)/man8/traind.8 $(DESTDIR)$(MANDIR)/man1/trainctl.1

clean:
	rm -rf build build-san build-tsan

-include $(CORE_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(SERVER_OBJ:.o=.d) $(SERVER_TEST_OBJ:.o=.d) $(TRAINCTL_OBJ:.o=.d)
