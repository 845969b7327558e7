# Eddy build. `make` builds everything into build/; `make run` and `make test`
# first install missing Debian packages (scripts/setup.sh).
#
# Layout: every src/**/*.c except src/main.c and src/tools/ goes into
# build/libeddy.a; build/eddy is src/main.c linked against it. Each
# src/tools/<name>.c is one command-line tool (build/<name>, on librdkafka).
# Each tests/unit/test_*.c is one unit-test binary. SAN=1 builds the same
# tree with clang, AddressSanitizer + UBSan into build-san/ (so CI compiles
# with both gcc and clang); its objects also carry libFuzzer's coverage
# hooks, so the fuzz targets (tests/fuzz/fuzz_*.c -> build-san/fuzz_*) link
# against the same library. TSAN=1 builds the broker and the unit tests with
# ThreadSanitizer into build-tsan/ (`make tsan`): the flusher's workers, the
# pager, cleaner and housekeeper share partitions with the loop thread.

CC      ?= cc
ifeq ($(SAN),1)
CC       = clang
BUILD   ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT      = -O1
FUZZFLAGS = -fsanitize=fuzzer-no-link
else ifeq ($(TSAN),1)
CC       = clang
BUILD   ?= build-tsan
SANFLAGS = -fsanitize=thread -fno-omit-frame-pointer
OPT      = -O1
else
BUILD   ?= build
SANFLAGS =
OPT      = -O2
endif

CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=c17 -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc $(SANFLAGS) $(FUZZFLAGS)
LDFLAGS += $(SANFLAGS)
LIBS     = -lpthread -lz -lzstd -llz4 -lsnappy -lssl -lcrypto -lm
RDKAFKA  = -lrdkafka

LIB_SRC   := $(shell find src -name '*.c' ! -path 'src/tools/*' ! -name main.c | sort)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TOOL_SRC  := $(wildcard src/tools/*.c)
TOOL_COMMON := $(wildcard src/tools/common/*.c)
TOOL_BIN  := $(patsubst src/tools/%.c,$(BUILD)/%,$(TOOL_SRC))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
ITEST_SRC := $(wildcard tests/integration/c/*.c)
ITEST_BIN := $(patsubst tests/integration/c/%.c,$(BUILD)/itest/%,$(ITEST_SRC))
DEPS      := $(LIB_OBJ:.o=.d)

.PHONY: all run test setup clean fuzz san tsan bench chaos
all: $(BUILD)/eddy $(TOOL_BIN) $(UNIT_BIN) $(BENCH_BIN) $(ITEST_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libeddy.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/eddy: src/main.c $(BUILD)/libeddy.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libeddy.a $(LIBS)

$(BUILD)/%: src/tools/%.c $(TOOL_COMMON) $(BUILD)/libeddy.a
	$(CC) $(CFLAGS) $(LDFLAGS) -Isrc/tools -o $@ $< $(TOOL_COMMON) $(BUILD)/libeddy.a $(RDKAFKA) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libeddy.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -Itests/unit -o $@ $< $(BUILD)/libeddy.a $(LIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libeddy.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libeddy.a $(RDKAFKA) $(LIBS)

# Small librdkafka programs driven by the integration tests.
$(BUILD)/itest/%: tests/integration/c/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(RDKAFKA)

# libFuzzer targets: clang, linked against the sanitizer build's library.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
fuzz:
	$(MAKE) SAN=1 $(patsubst tests/fuzz/%.c,build-san/%,$(FUZZ_SRC))
build-san/fuzz_%: tests/fuzz/fuzz_%.c build-san/libeddy.a
	clang $(CFLAGS) -fsanitize=fuzzer -o $@ $< build-san/libeddy.a $(LIBS)

san:
	$(MAKE) SAN=1 all

# Ten minutes of topic churn, producers, a group and kill -9 on the
# ASan/UBSan broker (tests/stress/chaos.py; CHAOS_SECONDS to change).
chaos: san
	EDDY_BIN=build-san/eddy EDDY_BUILD=build-san /usr/bin/python3 tests/stress/chaos.py

tsan:
	$(MAKE) TSAN=1 build-tsan/eddy $(patsubst tests/unit/%.c,build-tsan/tests/%,$(UNIT_SRC))

setup:
	scripts/setup.sh

run: setup
	$(MAKE) -j$(shell nproc) all
	./$(BUILD)/eddy server

JOBS ?= $(shell nproc)
test: setup
	$(MAKE) -j$(JOBS) all
	$(MAKE) -j$(JOBS) SAN=1 all
	$(MAKE) -j$(JOBS) fuzz
	$(MAKE) -j$(JOBS) tsan
	/usr/bin/python3 tests/run_tests.py

bench: all
	bench/run.sh

clean:
	rm -rf build build-san build-tsan

-include $(DEPS)
