# rill - one non-recursive Makefile.
#   make                  library (build/librill.a, .so), CLI (build/rill), broker (build/rilld)
#   make SAN=address,undefined [test]   sanitizer build in build/san-address-undefined/
#   make test             every unit, fault, fuzz-replay and integration test under a timeout
#   make run              build, then run a single-node broker (rilld) in the foreground
#   make demo             build and show the embedded log at work (no broker)
#   make bench            storage (rill bench log) and client benchmarks (scripts/bench.sh)
#   make bench-compare    rill side by side with Redis Streams, NATS JetStream, raw disk and
#                         loopback TCP, throughput and fixed-rate latency
#   make fuzz             libFuzzer (clang) on every fuzz target for FUZZ_SECONDS each
#   make format | format-check | tidy | clean | install PREFIX=/usr/local

comma := ,
SAN ?=
ifeq ($(SAN),)
BUILD := build
else
BUILD := build/san-$(subst $(comma),-,$(SAN))
endif
OBJ := $(BUILD)/obj

# Install missing -dev packages before pkg-config is asked (scripts/deps.sh explains).
NODEPS_GOALS := clean format format-check help
ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
DEPS_STATUS := $(shell scripts/deps.sh >&2 && echo ok)
ifneq ($(DEPS_STATUS),ok)
$(error missing build dependencies; see the message above)
endif
endif

PKGS := liburing liblz4 libxxhash msgpack
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC ?= cc
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
        -Wvla -Wundef -fno-common
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -Iinclude -I. $(PKG_CFLAGS) -MMD -MP
ifneq ($(SAN),)
CFLAGS_BASE += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all -DRILL_DEBUG
LDFLAGS_SAN := -fsanitize=$(SAN)
endif
CFLAGS_LIB := $(CFLAGS_BASE) -fPIC -fvisibility=hidden
LDLIBS := $(PKG_LIBS) -lpthread -lm

LIB_SRCS := $(sort $(wildcard common/*.c log/*.c proto/*.c client/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(OBJ)/%.o)
# Broker code stays out of librill: libbroker.a holds every broker object but main.c (rilld),
# and the broker-side consumer group logic in consumer/.
BROKER_SRCS := $(sort $(wildcard broker/*.c consumer/*.c))
BROKER_LIB_SRCS := $(filter-out broker/main.c,$(BROKER_SRCS))
BROKER_LIB_OBJS := $(BROKER_LIB_SRCS:%.c=$(OBJ)/%.o)
RILLD := $(if $(wildcard broker/main.c),$(BUILD)/rilld)
TEST_LIBS := $(BUILD)/libbroker.a $(BUILD)/librill.a
# bench/compare_*.c are the peer drivers of bench/compare, built only by `make bench-compare`.
CLI_SRCS := $(sort $(filter-out bench/compare_%.c,$(wildcard tools/*.c bench/*.c)))
CLI_OBJS := $(CLI_SRCS:%.c=$(OBJ)/%.o)
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c tests/fault/test_*.c))
TEST_BINS := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(TEST_SRCS)))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY_BINS := $(patsubst %.c,$(BUILD)/tests/%_replay,$(notdir $(FUZZ_SRCS)))

.PHONY: all test run demo bench bench-compare fuzz format format-check tidy clean install help
# Test objects are intermediates of pattern rules: keep them, or every run rebuilds them.
.SECONDARY:
all: $(BUILD)/librill.a $(BUILD)/librill.so $(BUILD)/rill $(RILLD)

$(OBJ)/common/%.o $(OBJ)/log/%.o $(OBJ)/proto/%.o $(OBJ)/client/%.o: CFLAGS_USE = $(CFLAGS_LIB)
$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(or $(CFLAGS_USE),$(CFLAGS_BASE)) -c $< -o $@

$(BUILD)/librill.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/librill.so: $(LIB_OBJS) common/rill.map
	$(CC) -shared -o $@ $(LIB_OBJS) -Wl,--version-script=common/rill.map -Wl,-z,defs \
		-Wl,-soname,librill.so.0 $(LDFLAGS_SAN) $(LDLIBS)

$(BUILD)/rill: $(CLI_OBJS) $(BUILD)/librill.a
	$(CC) -o $@ $(CLI_OBJS) $(BUILD)/librill.a $(LDFLAGS_SAN) $(LDLIBS)

# An empty broker/ gives an empty archive, which links as nothing.
$(BUILD)/libbroker.a: $(BROKER_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/rilld: $(OBJ)/broker/main.o $(TEST_LIBS)
	$(CC) -o $@ $< $(TEST_LIBS) $(LDFLAGS_SAN) $(LDLIBS)

# Every test links both archives, so broker tests need no rule of their own.
# Benchmark tests also link the pure bench objects (part of the CLI, not of librill).
BENCH_OBJS := $(OBJ)/bench/bench_hist.o
$(BUILD)/tests/test_bench_%: $(OBJ)/tests/unit/test_bench_%.o $(BENCH_OBJS) $(BUILD)/librill.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(BENCH_OBJS) $(BUILD)/librill.a $(LDFLAGS_SAN) $(LDLIBS)
$(BUILD)/tests/%: $(OBJ)/tests/unit/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(TEST_LIBS) $(LDFLAGS_SAN) $(LDLIBS)
$(BUILD)/tests/%: $(OBJ)/tests/fault/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(TEST_LIBS) $(LDFLAGS_SAN) $(LDLIBS)
$(BUILD)/tests/%_replay: $(OBJ)/tests/fuzz/%.o $(OBJ)/tests/fuzz/replay.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(OBJ)/tests/fuzz/replay.o $(TEST_LIBS) $(LDFLAGS_SAN) $(LDLIBS)

test: all $(TEST_BINS) $(FUZZ_REPLAY_BINS)
	@scripts/run-tests.sh $(BUILD)

# rilld with its embedded defaults: native protocol 127.0.0.1:9700, HTTP 127.0.0.1:9701
# (/metrics, /health), data in ./rill-data. Ctrl-C (SIGINT) drains and stops it cleanly.
# RILLD_ARGS adds flags: make run RILLD_ARGS='--data /tmp/rill --config rilld.conf'.
RILLD_ARGS ?=
run: all
	@echo "rill: starting rilld in the foreground (Ctrl-C stops it); in another terminal try"
	@echo "rill:   build/rill topic create demo --partitions 3"
	@echo "rill:   curl -s 127.0.0.1:9701/metrics | head"
	@RILL_DIAG_LEVEL=$${RILL_DIAG_LEVEL:-info} $(BUILD)/rilld $(RILLD_ARGS)

demo: all
	@scripts/demo.sh $(BUILD)/rill

# The storage engine alone, then the client against a rilld of its own (scripts/bench.sh);
# gnuplot (for the plots in build/bench/) is optional.
bench: all
	@scripts/deps.sh bench || echo "rill: no gnuplot: the client benchmarks run without plots"
	$(BUILD)/rill bench log
	scripts/bench.sh $(BUILD)

# The side-by-side harness (docs/benchmarks.md). build/bench-disk also holds its two ceilings
# (loopback TCP consume, fdatasync group-commit latency). Its peers (redis-server, nats-server) and their
# client libraries (hiredis, libnats) are installed here, never by `make` or `make test`.
# By default the measured block of docs/benchmarks.md is rewritten; COMPARE_ARGS replaces the
# flags: make bench-compare COMPARE_ARGS='--records 200000 --json' (prints only).
COMPARE_ARGS ?= --update-docs docs/benchmarks.md
COMPARE_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -I.
COMPARE_COMMON := bench/compare_common.c bench/compare_common.h
bench-compare: all
	@scripts/deps.sh compare
	@$(MAKE) --no-print-directory $(BUILD)/bench-redis $(BUILD)/bench-nats $(BUILD)/bench-disk
	bench/compare --build $(BUILD) $(COMPARE_ARGS)
$(BUILD)/bench-redis: bench/compare_redis.c $(COMPARE_COMMON)
	$(CC) $(COMPARE_CFLAGS) $$(pkg-config --cflags hiredis) -o $@ $< bench/compare_common.c \
		$$(pkg-config --libs hiredis)
$(BUILD)/bench-nats: bench/compare_nats.c $(COMPARE_COMMON)
	$(CC) $(COMPARE_CFLAGS) $$(pkg-config --cflags libnats) -o $@ $< bench/compare_common.c \
		$$(pkg-config --libs libnats) -lpthread
$(BUILD)/bench-disk: bench/compare_disk.c $(COMPARE_COMMON)
	$(CC) $(COMPARE_CFLAGS) -o $@ $< bench/compare_common.c

# libFuzzer needs clang; objects are rebuilt with coverage instrumentation in build/fuzz/.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -Iinclude -I. $(PKG_CFLAGS) \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
fuzz:
	@scripts/deps.sh fuzz
	@mkdir -p build/fuzz
	@set -e; for src in $(FUZZ_SRCS); do \
		name=$$(basename $$src .c); \
		clang $(FUZZ_CFLAGS) -o build/fuzz/$$name $$src $(LIB_SRCS) $(BROKER_LIB_SRCS) $(LDLIBS); \
		mkdir -p build/fuzz/corpus-$$name; \
		cp -n tests/fuzz/corpus/$$name/* build/fuzz/corpus-$$name/ 2>/dev/null || true; \
		echo "fuzz: $$name for $(FUZZ_SECONDS)s"; \
		build/fuzz/$$name -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
			build/fuzz/corpus-$$name tests/fuzz/corpus/$$name; \
	done

ALL_C := $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(ALL_C)
format-check:
	clang-format --dry-run --Werror $(ALL_C)
tidy:
	clang-tidy --quiet -checks='-*,readability-braces-around-statements,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier' \
		$(LIB_SRCS) -- -std=c11 -D_GNU_SOURCE -Iinclude -I. $(PKG_CFLAGS)

PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include
	install -m 755 $(BUILD)/rill $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(BUILD)/librill.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/librill.so $(DESTDIR)$(PREFIX)/lib/librill.so.0
	ln -sf librill.so.0 $(DESTDIR)$(PREFIX)/lib/librill.so
	install -m 644 include/rill.h $(DESTDIR)$(PREFIX)/include/

clean:
	rm -rf build

help:
	@sed -n '2,11p' Makefile

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
