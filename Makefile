# bd3ed build: the engine library (model/), the bd3 tool (model/cli/), the editor (editor/),
# one cmocka test program per module (tests/test_*.c) and script tests (tests/test_*.sh).
#   make            build build/bd3ed and build/bd3
#   make check      build and run every test (SANITIZE=1: under ASan/UBSan, in build-san/;
#                   SANITIZE=thread: under ThreadSanitizer, in build-tsan/)
#   make bench      engine speed figures (bd3 bench) with the default model
#   make deps       install the Debian packages (root or sudo) and npm test fixtures
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
PKG_CONFIG ?= pkg-config
PYTHON  ?= /usr/bin/python3

ifeq ($(SANITIZE),1)
BUILD   ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT     ?= -O1
else ifeq ($(SANITIZE),thread)
BUILD   ?= build-tsan
SANFLAGS = -fsanitize=thread -fno-omit-frame-pointer
OPT     ?= -O1
else
BUILD   ?= build
SANFLAGS =
OPT     ?= -O2
endif
ifeq ($(FUZZER),1)
SANFLAGS += -fsanitize=fuzzer-no-link # coverage feedback from the library code too
endif

VERSION := 0.1.0
WARN    := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
PKGS    := ncursesw libutf8proc openblas
CFLAGS  ?= $(OPT) -g
DATADIR := $(PREFIX)/share/bd3ed
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DBD3ED_VERSION='"$(VERSION)"' $(DATADIR_FLAG) \
	$(WARN) $(CFLAGS) $(SANFLAGS) -pthread -MMD -MP -Imodel -Ieditor \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LIBS_MODEL  = $(shell $(PKG_CONFIG) --libs libutf8proc openblas 2>/dev/null) -lm -pthread
LIBS_EDITOR = $(shell $(PKG_CONFIG) --libs ncursesw 2>/dev/null) $(LIBS_MODEL)
LIBS_TEST   = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

MODEL_SRC  := $(wildcard model/*.c)
CLI_SRC    := $(wildcard model/cli/*.c)
EDITOR_SRC := $(filter-out editor/main.c,$(wildcard editor/*.c))
TEST_SRC   := $(wildcard tests/test_*.c)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)

MODEL_OBJ  := $(MODEL_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=$(BUILD)/%.o)
EDITOR_OBJ := $(EDITOR_SRC:%.c=$(BUILD)/%.o)
TEST_BIN   := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/fuzz/%)
TEST_SCRIPTS := $(sort $(wildcard tests/test_*.sh))

.PHONY: all check check-deps test-bin bench deps install uninstall clean run fuzz FORCE
all: $(BUILD)/bd3ed $(BUILD)/bd3

# The installed data folder is baked into the two objects that look for data there. Its value
# is kept in a stamp that is rewritten only when it changes, so `make install PREFIX=/opt/x`
# after `make` rebuilds those objects (and relinks) instead of installing binaries that look
# under the old PREFIX.
DATADIR_OBJ := $(BUILD)/editor/main.o $(BUILD)/model/paths.o
$(DATADIR_OBJ): DATADIR_FLAG = -DBD3ED_DATADIR='"$(DATADIR)"'
$(DATADIR_OBJ): $(BUILD)/datadir.stamp
$(BUILD)/datadir.stamp: FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' '$(DATADIR)' | cmp -s - $@ || printf '%s\n' '$(DATADIR)' > $@
FORCE:

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libbd3.a: $(MODEL_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libbd3ed.a: $(EDITOR_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bd3: $(CLI_OBJ) $(BUILD)/libbd3.a
	$(CC) $(ALL_CFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libbd3.a $(LDFLAGS) $(LIBS_MODEL)

$(BUILD)/bd3ed: $(BUILD)/editor/main.o $(BUILD)/libbd3ed.a $(BUILD)/libbd3.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(LIBS_EDITOR)

# A test may add link flags (e.g. -Wl,--wrap=sym) in tests/NAME.ldflags.
$(BUILD)/tests/%: tests/%.c $(BUILD)/libbd3ed.a $(BUILD)/libbd3.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(BUILD)/libbd3ed.a $(BUILD)/libbd3.a \
		$(shell cat tests/$*.ldflags 2>/dev/null) $(LDFLAGS) $(LIBS_EDITOR) $(LIBS_TEST)

# Fuzz targets: built with a replay driver so that `make check` runs them over their seeds and
# random inputs; `make fuzz CC=clang` builds libFuzzer binaries instead.
ifeq ($(FUZZER),1)
FUZZ_MAIN  :=
FUZZ_FLAGS := -fsanitize=fuzzer
else
FUZZ_MAIN  := tests/fuzz/driver.c
FUZZ_FLAGS :=
endif
$(BUILD)/tests/fuzz/%: tests/fuzz/%.c $(FUZZ_MAIN) $(BUILD)/libbd3ed.a $(BUILD)/libbd3.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FUZZ_FLAGS) -Itests -o $@ $< $(FUZZ_MAIN) $(BUILD)/libbd3ed.a $(BUILD)/libbd3.a $(LDFLAGS) $(LIBS_EDITOR)

fuzz:
	$(MAKE) FUZZER=1 CC=clang BUILD=build-fuzz SANITIZE=1 $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/tests/fuzz/%)

test-bin: all $(TEST_BIN) $(FUZZ_BIN)

# Runs the layer rules, every cmocka program, every fuzz target over its seeds, then every
# script test. The last line is the summary: "check: N passed, N failed".
check: check-deps test-bin
	@BUILD=$(BUILD) PYTHON=$(PYTHON) BD3ED_MAKE_VARS='SANITIZE=$(SANITIZE) CC=$(CC)' \
		sh tests/run-all.sh $(TEST_BIN) -- $(FUZZ_BIN) -- $(TEST_SCRIPTS)

# The layers point one way: curses only in editor/term.c; nothing of editor/ in model/;
# model/bd3.h only in the editor's model files; struct editor (editor-core.h) only in the core.
check-deps:
	@sh tests/check-deps.sh

bench: all
	$(BUILD)/bd3 bench

run: all
	$(BUILD)/bd3ed editor/samples/notes.txt

deps:
	sh .ci/deps

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/bd3ed/keymaps \
		$(DESTDIR)$(PREFIX)/share/bd3ed/themes $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/bd3ed $(BUILD)/bd3 $(DESTDIR)$(PREFIX)/bin/
	install -m 644 keymaps/*.keys $(DESTDIR)$(PREFIX)/share/bd3ed/keymaps/
	install -m 644 themes/*.theme $(DESTDIR)$(PREFIX)/share/bd3ed/themes/
	if [ -f model/default.gguf ]; then install -m 644 model/default.gguf $(DESTDIR)$(PREFIX)/share/bd3ed/; fi
	install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/bd3ed $(DESTDIR)$(PREFIX)/bin/bd3 \
		$(DESTDIR)$(PREFIX)/share/man/man1/bd3ed.1 $(DESTDIR)$(PREFIX)/share/man/man1/bd3.1
	rm -rf $(DESTDIR)$(PREFIX)/share/bd3ed

clean:
	rm -rf build build-san build-tsan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
