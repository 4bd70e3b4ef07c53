# stapng - SystemTap on eBPF and BTF.
#
#   make            build/stap and build/staprun (optimised, warnings on)
#   make check      set-up, sanitizer build, every test; ends "N passed, N failed"
#   make demo       set-up, build, run a real tracing script
#   make fuzz       run the front-end fuzzer for longer
#   make bench      run the benchmarks in bench/
#   make install    PREFIX=/usr/local

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
WARN    := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
ifeq ($(CI),true)
WARN    += -Werror
endif
OPT     ?= -O2 -g
SAN     :=
CFLAGS  := -std=gnu11 $(OPT) $(WARN) $(SAN) -D_GNU_SOURCE -Isrc -Iruntime $(EXTRA_CFLAGS)
LDFLAGS := $(SAN) $(EXTRA_LDFLAGS)

STAP_SRCS    := $(wildcard src/*.c src/elab/*.c src/translate/*.c)
STAP_LIBSRCS := $(filter-out src/main.c,$(STAP_SRCS))
RT_SRCS      := $(wildcard runtime/*.c)
RT_LIBSRCS   := $(filter-out runtime/staprun.c,$(RT_SRCS))
UNIT_SRCS    := $(wildcard tests/unit/test_*.c)

STAP_OBJS    := $(STAP_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/runtime/format.o
STAP_LIBOBJS := $(STAP_LIBSRCS:%.c=$(BUILD)/obj/%.o)
RT_OBJS      := $(RT_SRCS:%.c=$(BUILD)/obj/%.o)
RT_LIBOBJS   := $(RT_LIBSRCS:%.c=$(BUILD)/obj/%.o)
UNIT_BINS    := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

STAP_LIBS    := -lbpf -ldw -lelf -lz
RT_LIBS      := -lbpf -ldw -lelf -lz -ldl

.PHONY: all check demo fuzz bench install clean setup unit docs
all: $(BUILD)/stap $(BUILD)/staprun

$(BUILD)/stap: $(STAP_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(STAP_LIBS)

# staprun exports the stp_rt_* functions that module host code calls.
$(BUILD)/staprun: $(RT_OBJS)
	$(CC) $(LDFLAGS) -rdynamic -o $@ $^ $(RT_LIBS)

$(BUILD)/obj/%.o: %.c $(wildcard src/*.h src/elab/*.h src/translate/*.h runtime/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Pass 1 (lexer, preprocessor, parser, -p1 printer) is the hot path of
# `stap -p1` on a large script: -O3 takes ~5% off it (bench/parse.sh).
ifeq ($(OPT),-O2 -g)
$(addprefix $(BUILD)/obj/src/,lex.o preprocess.o parse.o unparse.o): CFLAGS += -O3
endif

$(BUILD)/tests/%: tests/unit/%.c $(STAP_LIBOBJS) $(RT_LIBOBJS) tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(STAP_LIBOBJS) $(RT_LIBOBJS) $(LDFLAGS) -ldw $(RT_LIBS)

unit: $(UNIT_BINS)

# Tapset man pages (doc/function::*, doc/probe::*) from the library's doc comments.
docs:
	@scripts/gen-tapset-docs tapset doc

setup:
	@scripts/setup.sh

# The test build uses AddressSanitizer and UBSan, in its own directory.
check: setup
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g" \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		build/asan/stap build/asan/staprun unit
	@$(MAKE) --no-print-directory all
	@STAP_BUILD=build/asan tests/run.sh

demo: setup all
	@scripts/demo.sh

fuzz: setup
	@tests/fuzz/run.sh 300

bench: setup all
	@for b in bench/*.sh; do echo "== $$b"; $$b || exit 1; done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/stapng/tapset \
		$(DESTDIR)$(PREFIX)/share/stapng/runtime/target \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man3 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(BUILD)/stap $(BUILD)/staprun scripts/stap-prep $(DESTDIR)$(PREFIX)/bin/
	cp -r tapset/. $(DESTDIR)$(PREFIX)/share/stapng/tapset/
	install -m 644 runtime/*.h $(DESTDIR)$(PREFIX)/share/stapng/runtime/
	install -m 644 runtime/target/*.h $(DESTDIR)$(PREFIX)/share/stapng/runtime/target/
	install -m 644 doc/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 doc/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 doc/*.3stap $(DESTDIR)$(PREFIX)/share/man/man3/

clean:
	rm -rf build
