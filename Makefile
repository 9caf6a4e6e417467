# Petri: one plain GNU make file.  `make` builds build/petrid, build/petri,
# build/petri-verify and build/petri-spawn; `make test` runs every suite;
# `make run` sets the host up and starts petrid on 127.0.0.1:8080.

CC ?= cc
SANITIZER ?=
SANDBOX ?=
# sanitizer builds keep their objects apart from the normal build
ifneq ($(SANITIZER),)
BUILD ?= build/sanitizer
else
BUILD ?= build
endif

CFLAGS ?= -O2 -g
CSTD := -std=c11 -D_GNU_SOURCE
WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wvla -Wmissing-prototypes \
	-Wstrict-prototypes -Wimplicit-fallthrough -Werror
HARDEN := -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIE
LDHARDEN := -pie -Wl,-z,relro,-z,now -Wl,--as-needed
# Every object sees common/ and the libraries; a process folder sees its own
# headers too, and nobody else's (api code cannot include the engine's).
PROCS := parent api engine ws keeper proxyd preview cli
INCS := -Iappliance/common -Iaudit -Ivault -Iproxy -Ipolicies
ALL_INCS := $(INCS) $(PROCS:%=-Iappliance/%) -Iwitness
LIBS := -lmicrohttpd -lsqlite3 -lcurl -ljansson -larchive -lssl -lcrypto \
	-lsodium -lpthread
VERIFY_LIBS := -ljansson -lsodium -lcrypto

ifneq ($(SANITIZER),)
HARDEN := -fstack-protector-strong -fPIE
CFLAGS += -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDHARDEN += -fsanitize=$(SANITIZER)
SANDBOX := null
endif
ifeq ($(SANDBOX),null)
CSTD += -DPETRI_SANDBOX_NULL
endif

# FOLDER_INCS is set per object below: its own process folder, if any.
ALL_CFLAGS = $(CSTD) $(WARN) $(HARDEN) $(INCS) $(FOLDER_INCS) $(CFLAGS) \
	-MMD -MP
TEST_CFLAGS = $(CSTD) $(WARN) $(HARDEN) $(ALL_INCS) $(CFLAGS) -MMD -MP

# libcommon: what every process links (IPC, buffers, logging, config) and
# the pure libraries; one archive per process folder on top of it.
COMMON_SRCS := $(wildcard appliance/common/*.c audit/*.c vault/*.c proxy/*.c \
	policies/*.c)
COMMON_SRCS := $(filter-out %_main.c,$(COMMON_SRCS))
COMMON_LIB := $(BUILD)/libcommon.a
PROC_LIBS := $(PROCS:%=$(BUILD)/lib%.a)
# petrid is all daemon processes in one binary (the parent re-executes it
# once per child); the CLI links only its own folder and libcommon.
DAEMON_LIBS := $(filter-out $(BUILD)/libcli.a,$(PROC_LIBS))
# petri-witness is no petrid process: its own folder, libcommon only.
WITNESS_LIB := $(BUILD)/libwitness.a
LIB := $(PROC_LIBS) $(WITNESS_LIB) $(COMMON_LIB)
WITNESS_LIBS := -lmicrohttpd -ljansson -lsodium -lpthread

DEPS_SCRIPTS := $(wildcard appliance/sandbox/deps/*)
BINS := $(BUILD)/petrid $(BUILD)/petri $(BUILD)/petri-verify \
	$(BUILD)/petri-spawn $(BUILD)/petri-init $(BUILD)/petri-witness \
	$(DEPS_SCRIPTS:appliance/sandbox/deps/%=$(BUILD)/petri-deps/%)

UNIT_SRCS := $(wildcard tests/unit/*/test_*.c tests/unit/*/*/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=$(BUILD)/tests/fuzz/replay-%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: all test unit fuzz-replay fuzz run images setup format format-check \
	layers-check \
	tidy clean bench integration deb
.DEFAULT_GOAL := all

all: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

define proc_folder
$$(BUILD)/obj/appliance/$(1)/%.o: FOLDER_INCS := -Iappliance/$(1)
$$(BUILD)/lib$(1).a: $$(patsubst %.c,$$(BUILD)/obj/%.o,$$(filter-out \
		%_main.c,$$(wildcard appliance/$(1)/*.c)))
	@mkdir -p $$(dir $$@)
	rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach p,$(PROCS),$(eval $(call proc_folder,$(p))))

# The auditor console's static files, compiled into the api.
CONSOLE_ASSETS := $(sort $(wildcard appliance/api/console/*))
$(BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -o $@ $<
$(BUILD)/gen/console_assets.c: $(CONSOLE_ASSETS) $(BUILD)/tools/embed
	@mkdir -p $(dir $@)
	$(BUILD)/tools/embed $(CONSOLE_ASSETS) > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/gen/console_assets.o: $(BUILD)/gen/console_assets.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) -Wall -Werror -Iappliance/api -O2 -fPIE -c $< -o $@
$(BUILD)/libapi.a: $(BUILD)/obj/gen/console_assets.o

$(BUILD)/obj/witness/%.o: FOLDER_INCS := -Iwitness
$(WITNESS_LIB): $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out %_main.c,\
		$(wildcard witness/*.c)))
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/petri-witness: $(BUILD)/obj/witness/witness_main.o $(WITNESS_LIB) \
		$(COMMON_LIB)
	$(CC) $(CFLAGS) $(LDHARDEN) -o $@ $^ $(WITNESS_LIBS)

$(COMMON_LIB): $(COMMON_SRCS:%.c=$(BUILD)/obj/%.o)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/petrid: $(BUILD)/obj/appliance/parent/petrid_main.o $(DAEMON_LIBS) \
		$(COMMON_LIB)
	$(CC) $(CFLAGS) $(LDHARDEN) -o $@ $^ $(LIBS)

$(BUILD)/petri: $(BUILD)/obj/appliance/cli/cli_main.o $(BUILD)/libcli.a \
		$(COMMON_LIB)
	$(CC) $(CFLAGS) $(LDHARDEN) -o $@ $^ $(LIBS)

$(BUILD)/petri-verify: $(BUILD)/obj/audit/verify_main.o $(COMMON_LIB)
	$(CC) $(CFLAGS) $(LDHARDEN) -o $@ $^ $(VERIFY_LIBS) -lpthread

# The install scripts run inside sandbox containers (mounted read-only).
$(BUILD)/petri-deps/%: appliance/sandbox/deps/%
	@mkdir -p $(dir $@)
	install -m 0644 $< $@

# The helper runs inside sandbox containers: static, no library at all.
$(BUILD)/petri-spawn: appliance/sandbox/spawn_main.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -static -o $@ $<

# The supervisor, PID 1 of sandbox containers: static too; it shares only
# the pure frame code with the engine.
$(BUILD)/petri-init: appliance/sandbox/init_main.c appliance/common/supproto.c \
		appliance/common/supproto.h
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -Iappliance/common -O2 -static -o $@ \
		appliance/sandbox/init_main.c appliance/common/supproto.c

# Tests, fuzz targets and benchmarks see every folder's headers.
$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -Itests/unit $(LDHARDEN) -o $@ $< $(LIB) $(LIBS)

$(BUILD)/tests/fuzz/replay-%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(LDHARDEN) -o $@ tests/fuzz/fuzz_$*.c \
		tests/fuzz/replay.c $(LIB) $(LIBS)

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(LDHARDEN) -o $@ $< $(LIB) $(LIBS)

# Everything the suites need, built in one go.
test-bins: $(BINS) $(UNIT_BINS) $(FUZZ_REPLAY)

unit: $(UNIT_BINS)
	@BUILD=$(BUILD) tests/run-unit.sh $(UNIT_BINS)

fuzz-replay: $(FUZZ_REPLAY)
	@BUILD=$(BUILD) tests/run-fuzz-replay.sh $(FUZZ_REPLAY)

# The whole suite: host set-up, build, unit, fuzz replay, integration.
test:
	@BUILD=$(BUILD) SANITIZER=$(SANITIZER) tests/run.sh

integration: $(BINS)
	@BUILD=$(BUILD) tests/run-integration.sh

# libFuzzer builds (clang) of every target, for real fuzzing sessions.
fuzz:
	$(MAKE) BUILD=build/fuzz CC=clang \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" \
		SANITIZER=address,undefined $(LIB:$(BUILD)/%=build/fuzz/%)
	@mkdir -p build/fuzz/bin
	@for f in $(FUZZ_SRCS); do \
		n=$$(basename $$f .c); \
		echo "clang $$n"; \
		clang $(CSTD) $(ALL_INCS) -O1 -g \
			-fsanitize=fuzzer,address,undefined -o build/fuzz/bin/$$n $$f \
			$(LIB:$(BUILD)/%=build/fuzz/%) $(LIBS) || exit 1; \
	done

setup:
	@packaging/setup.sh

images:
	@packaging/images/build.sh

# The Debian package, build/petri_<version>_<arch>.deb (packaging/debian/).
deb:
	@packaging/debian/build.sh

run: setup
	@packaging/images/build.sh
	@$(MAKE) --no-print-directory all
	@mkdir -p var
	exec $(BUILD)/petrid --listen 127.0.0.1:8080 --data-dir ./var

bench: $(BINS) $(BENCH_BINS)
	@bench/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h') && \
		echo "format-check: clean"

# The api's handler files call no other handler file, and no two api files
# call each other (tools/api-callgraph.sh draws the whole graph).
layers-check:
	@tools/api-callgraph.sh --check

tidy:
	clang-tidy --quiet $(COMMON_SRCS) $(wildcard appliance/*/*.c) \
		$(wildcard witness/*.c) -- \
		$(CSTD) $(ALL_INCS)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
