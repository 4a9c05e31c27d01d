# edgellm — GNU Make build.
#
# Every module is a folder under src/; every .c in it is compiled into the static library
# $(BUILD)/libedgellm.a, except src/cli/ which makes the `edgellm` binary. New files need no
# Makefile edit. ISA-specific kernels live in src/kernels/x86/ and src/kernels/arm/ and get
# their -m flags from their file-name suffix (only those files; the rest stays portable).
#
# Variants build into their own folder so flags never mix:
#   build/        normal           build-asan/   ASan+UBSan
#   build-fuzz/   libFuzzer (clang) build-aarch64/ cross (aarch64-linux-gnu-gcc, run under qemu)

CC       ?= cc
BUILD    ?= build
OPT      ?= -O2 -g
WERROR   ?=
SAN      ?=
EXTRA_CFLAGS ?=
WARN     := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla \
            -Wformat=2
CPPFLAGS += -D_GNU_SOURCE -Iinclude -Isrc -MMD -MP
CFLAGS_ALL = $(OPT) $(WARN) $(WERROR) $(SAN) $(EXTRA_CFLAGS) -pthread
LDLIBS   += -lcjson -lmicrohttpd -lm -lpthread
RUNNER   ?=
TESTDATA ?= ../shared/testdata
FUZZ_TIME ?= 20
JOBS     ?= 2

ARCH := $(shell $(CC) -dumpmachine | cut -d- -f1)

LIB_SRC := $(filter-out src/cli/%,$(wildcard src/*/*.c))
ifeq ($(ARCH),x86_64)
LIB_SRC += $(wildcard src/kernels/x86/*.c)
endif
ifeq ($(ARCH),aarch64)
LIB_SRC += $(wildcard src/kernels/arm/*.c)
endif
CLI_SRC  := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
LIB      := $(BUILD)/libedgellm.a
BIN      := $(BUILD)/edgellm

# Per-file ISA flags, by suffix.
ISA_avx2    := -mavx2 -mfma -mf16c
ISA_avx512  := -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni \
               -mavx512bf16
ISA_neon    := -march=armv8-a
ISA_dotprod := -march=armv8.2-a+dotprod+fp16
ISA_i8mm    := -march=armv8.6-a+dotprod+i8mm+fp16
isa_flags = $(foreach s,avx2 avx512 neon dotprod i8mm,$(if $(filter %_$(s).c,$(1)),$(ISA_$(s))))

.PHONY: all bins test asan tsan fuzz fuzz-build cross cross-test deps format help clean check-werror
.DEFAULT_GOAL := all

all: $(BIN) edgellm

edgellm: $(BIN)
	@if [ "$(BUILD)" = "build" ]; then cp -f $(BIN) edgellm; fi

# ISA_SAN: the sanitizer flags of the ISA kernel files (*_avx2.c ... *_i8mm.c); the same as
# everything else's unless a build says otherwise (fuzz-build: none, see there).
ISA_SAN ?= $(SAN)
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(filter-out $(SAN),$(CFLAGS_ALL)) \
		$(if $(strip $(call isa_flags,$<)),$(ISA_SAN),$(SAN)) $(call isa_flags,$<) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(CFLAGS_ALL) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/test.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS_ALL) -o $@ $< $(LIB) $(LDLIBS)

## test: build everything and run the whole suite (unit + CLI tests); last line "N passed, N failed"
test: $(BIN) $(TEST_BIN)
	@EL_TESTDATA=$(TESTDATA) EL_BIN=$(BIN) EL_BUILD=$(BUILD) RUNNER="$(RUNNER)" \
		sh tests/run.sh $(TEST_BIN) $(wildcard tests/cli/test_*.sh)

## asan: the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer
asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g" \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

## tsan: the whole suite under ThreadSanitizer
tsan:
	$(MAKE) BUILD=build-tsan OPT="-O1 -g" SAN="-fsanitize=thread" test

## check-werror: build everything with -Werror
check-werror:
	$(MAKE) BUILD=build-werror WERROR=-Werror bins

bins: $(BIN) $(TEST_BIN)

FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
## fuzz: build the libFuzzer harnesses (clang) and run each for FUZZ_TIME seconds on its seed corpus
fuzz: fuzz-build
	@EL_TESTDATA=$(TESTDATA) sh tests/fuzz/run.sh $(FUZZ_TIME) $(FUZZ_BIN)

# The SIMD kernel files are built without instrumentation here: no harness reaches them
# (they fuzz parsers), the ASan+UBSan suite covers them, and clang's coverage and ASan
# passes over their unrolled tile bodies took 20+ minutes for gemm_avx512.c alone.
fuzz-build:
	$(MAKE) BUILD=build-fuzz CC=clang OPT="-O1 -g" ISA_SAN= \
		SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
		build-fuzz/libedgellm.a $(FUZZ_BIN)

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c build-fuzz/libedgellm.a
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) -Itests -O1 -g -fsanitize=fuzzer,address,undefined -o $@ $< \
		build-fuzz/libedgellm.a $(LDLIBS)

## cross: cross-build for aarch64 and run the kernel tests under qemu-aarch64 -cpu max
CROSS_TESTS ?= test_quants test_kernels test_cpu test_attn test_gemm
cross:
	$(MAKE) BUILD=build-aarch64 CC=aarch64-linux-gnu-gcc AR=aarch64-linux-gnu-ar \
		RUNNER="qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu" \
		LDLIBS="-lm -lpthread" \
		TEST_BIN="$(foreach t,$(CROSS_TESTS),$(if $(wildcard tests/unit/$(t).c),build-aarch64/tests/$(t)))" \
		BIN= cross-test

cross-test: $(TEST_BIN)
	@EL_TESTDATA=$(TESTDATA) RUNNER="$(RUNNER)" sh tests/run.sh $(TEST_BIN)

## bench-kernels: vec_dot GB/s per weight type and CPU level, one thread (BENCH_ARGS="--mb 256")
.PHONY: bench-kernels
bench-kernels: $(BUILD)/bench/kernels
	$(RUNNER) $(BUILD)/bench/kernels $(BENCH_ARGS)

$(BUILD)/bench/kernels: bench/kernels.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS_ALL) -o $@ $< $(LIB) $(LDLIBS)

## bench-gemm: prefill tile kernels vs vec_dot per weight type and CPU level (BENCH_ARGS="--cols 128")
.PHONY: bench-gemm
bench-gemm: $(BUILD)/bench/gemm
	$(RUNNER) $(BUILD)/bench/gemm $(BENCH_ARGS)

$(BUILD)/bench/gemm: bench/gemm.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS_ALL) -o $@ $< $(LIB) $(LDLIBS)

## deps: install the Debian packages the build, tests and CI need (run as root)
deps:
	sh tools/deps.sh

## format: clang-format every C file in place
format:
	clang-format -i $(wildcard src/*/*.c src/*/*.h src/*/*/*.c src/*/*/*.h include/*.h tests/*/*.c tests/*.h)

## help: list the targets
help:
	@grep -E '^## ' Makefile | sed 's/^## /  make /'

clean:
	rm -rf build build-* edgellm

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
