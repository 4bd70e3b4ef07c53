/* lex.c - pass 1a: script text to tokens.
 *
 * The lexer works on demand: the parser pulls tokens through the
 * preprocessor as it needs them, the lexer makes them a run of up to 64
 * at a time (lex_ahead: one loop, one table lookup and switch per byte
 * class), hands them out one by one (lexer_next) or as a run
 * (lexer_next_run), and tokens go back to a pool (token_free) once their
 * declaration is parsed, so a 100,000-line script never has more than a
 * few hundred tokens alive.
 * lex() makes the whole list of a file, for the library macro files and
 * the tests.  The lexer never stops at an error: a bad number, an
 * unterminated string or embedded block is reported (stap's "at:" layout)
 * and lexing goes on, so that one run shows every problem.
 *
 * Token texts do not live in tokens: names and numbers are interned (one
 * copy per spelling), strings and embedded code copied, into a bump arena
 * (arena_alloc) that also holds the AST, because a front end makes
 * millions of tiny objects that all die together.
 *
 * This file also holds the pass-1 error reporter shared by the
 * preprocessor and the parser: it knows about tokens, so it can add the
 * "in expansion of macro" notes that diag.c cannot, and it holds reports
 * back while the stages run interleaved (p1_hold).
 */
#include "stap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ------------------------------------------------------------ the arena */

/* Chunks are mapped straight from the kernel, 2 MB aligned and marked for
 * transparent huge pages: a 100,000-line script makes ~100 MB of AST, and
 * taking it in 4 KB page faults would cost more than parsing it.  Fresh
 * mappings are already zero, so allocation need not clear memory. */
#define ARENA_CHUNK (4u << 20)
#define ARENA_ALIGN 8
#define HUGE_PAGE (2u << 20)

typedef struct ArenaChunk {
	struct ArenaChunk *prev;
	size_t used, size; /* bytes of data[] */
	size_t map_size;   /* the whole mapping, header included */
	char data[];
} ArenaChunk;

/* The arena is process-wide: pass-1 objects live until the process ends
 * (or until a fuzzer calls arena_release_all between inputs). */
static ArenaChunk *arena_top;

static ArenaChunk *arena_map(size_t need)
{
	size_t size = need + sizeof(ArenaChunk) > ARENA_CHUNK ? need + sizeof(ArenaChunk) : ARENA_CHUNK;
	size = (size + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
	/* map one huge page more, then trim to a 2 MB boundary */
	char *raw = mmap(NULL, size + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) {
		fprintf(stderr, "stap: out of memory\n");
		exit(1);
	}
	char *start = (char *)(((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (start > raw)
		munmap(raw, (size_t)(start - raw));
	size_t tail = (size_t)(raw + size + HUGE_PAGE - (start + size));
	if (tail)
		munmap(start + size, tail);
	madvise(start, size, MADV_HUGEPAGE);
	ArenaChunk *c = (ArenaChunk *)start;
	c->used = 0;
	c->size = size - sizeof(ArenaChunk);
	c->map_size = size;
	return c;
}

/* n bytes (aligned) from a new chunk. */
static __attribute__((noinline)) void *arena_alloc_fresh(size_t n)
{
	ArenaChunk *c = arena_top;
	ArenaChunk *fresh = arena_map(n);
	/* a big one-off block goes under the current chunk so that the
	 * chunk's free space is not wasted */
	if (c && fresh->size - n < c->size - c->used) {
		fresh->prev = c->prev;
		c->prev = fresh;
		fresh->used = n;
		return fresh->data;
	}
	fresh->prev = c;
	arena_top = fresh;
	fresh->used = n;
	return fresh->data;
}

/* Zeroed memory that lives until arena_release_all. */
void *arena_alloc(size_t n)
{
	n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	ArenaChunk *c = arena_top;
	if (!c || c->size - c->used < n)
		return arena_alloc_fresh(n);
	void *p = c->data + c->used;
	c->used += n;
	return p;
}

/* The copy is 8-aligned and zero up to the next multiple of 8 (arena
 * memory is fresh from the kernel): the intern table reads it by words. */
char *arena_strndup(const char *s, size_t n)
{
	char *p = arena_alloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* ------------------------------------------------------------ interning */

/* Identifiers and number spellings are kept once per distinct text: a
 * script names the same few hundred variables a hundred thousand times.
 * A slot holds the first 8 bytes of its text as a number, so that most
 * names (8 bytes or shorter) are found without a memcmp, and the keyword
 * test is made once per name, here, not once per token. */
typedef struct InternSlot {
	uint64_t head;       /* text[0..7], zero-padded (text_word) */
	char *text;
	uint32_t hash;
	uint32_t len : 27;
	uint32_t keyword : 5; /* Keyword */
} InternSlot;

static InternSlot *intern_slots;
static size_t intern_cap, intern_count;

/* The k <= 8 bytes at s as a number, zero-padded.  A whole word is read
 * in one load; the byte order of the number does not matter, as long as
 * it is always made the same way (bytes in memory order). */
static inline uint64_t text_word(const char *s, size_t k)
{
	uint64_t w = 0;
	if (k >= 8) {
		memcpy(&w, s, 8);
		return w;
	}
	memcpy(&w, s, k);
	return w;
}

/* The first min(n, 8) bytes at s, zero-padded, when the text may be
 * read up to `end` (the lexer's input): one load for short names. */
static inline uint64_t text_head(const char *s, size_t n, const char *end)
{
	if (n < 8 && end - s >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		return w & ~(~(uint64_t)0 >> (8 * n));
#else
		return w & ~(~(uint64_t)0 << (8 * n));
#endif
	}
	return text_word(s, n);
}

static inline uint64_t hash_step(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 32);
}

/* Names are hashed a word at a time; head and second are the first two
 * words (text_word at s and s + 8; second is 0 for names of 8 bytes or
 * fewer).  A multiplication carries a byte's bits only upwards, so the
 * last step multiplies once more after folding the high half down: else
 * the table index (the low bits) would not depend on a word's last bytes,
 * and names such as counts1, counts2, ... would all fall in one cluster. */
static inline uint32_t hash_words(const char *s, size_t n, uint64_t head, uint64_t second)
{
	uint64_t h = hash_step(n, head);
	if (n > 8)
		h = hash_step(h, second);
	for (size_t i = 16; i < n; i += 8)
		h = hash_step(h, text_word(s + i, n - i));
	return (uint32_t)hash_step(h, 0);
}

static void intern_grow(void)
{
	size_t cap = intern_cap ? intern_cap * 2 : 4096;
	/* from the arena (its huge pages): the old tables are not given back,
	 * together they are smaller than the last */
	InternSlot *slots = arena_alloc(cap * sizeof *slots);
	for (size_t i = 0; i < intern_cap; i++) {
		InternSlot *old = &intern_slots[i];
		if (!old->text)
			continue;
		size_t j = old->hash & (cap - 1);
		while (slots[j].text)
			j = (j + 1) & (cap - 1);
		slots[j] = *old;
	}
	intern_slots = slots;
	intern_cap = cap;
}

static int keyword_of(const char *name);

/* A new slot for s at free slot i (or wherever it goes after growing). */
static __attribute__((noinline)) InternSlot *intern_insert(const char *s, size_t n, uint64_t head,
							   uint32_t h, size_t i)
{
	if (2 * (intern_count + 1) > intern_cap) {
		intern_grow();
		for (i = h & (intern_cap - 1); intern_slots[i].text; i = (i + 1) & (intern_cap - 1))
			;
	}
	InternSlot *slot = &intern_slots[i];
	slot->text = arena_strndup(s, n);
	slot->head = head;
	slot->hash = h;
	slot->len = (uint32_t)n;
	slot->keyword = (uint32_t)keyword_of(slot->text);
	intern_count++;
	return slot;
}

/* The rest of an interned text after its first 8 bytes is s + 8.  An
 * interned copy (arena_strndup) is 8-aligned and padded with zeros to a
 * multiple of 8 bytes, so its second word is read in one load. */
static inline bool same_tail(const char *text, const char *s, size_t n, uint64_t second)
{
	if (n <= 8)
		return true;
	uint64_t w;
	memcpy(&w, text + 8, 8);
	return w == second && (n <= 16 || memcmp(text + 16, s + 16, n - 16) == 0);
}

/* The slot of s (n bytes, first words head and second as hash_words
 * takes them), made if new. */
static inline InternSlot *intern_slot(const char *s, size_t n, uint64_t head, uint64_t second)
{
	uint32_t h = hash_words(s, n, head, second);
	size_t mask = intern_cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		InternSlot *slot = &intern_slots[i];
		if (slot->head == head && slot->len == n && slot->text && same_tail(slot->text, s, n, second))
			return slot;
		if (!slot->text)
			return intern_insert(s, n, head, h, i);
	}
}

/* intern for the lexer: the text may be read up to end. */
static inline InternSlot *intern_scanned(const char *s, size_t n, const char *end)
{
	uint64_t head = text_head(s, n, end);
	uint64_t second = n > 8 ? text_head(s + 8, n - 8, end) : 0;
	return intern_slot(s, n, head, second);
}

char *intern(const char *s, size_t n)
{
	if (!intern_slots)
		intern_grow();
	uint64_t head = text_word(s, n);
	uint64_t second = n > 8 ? text_word(s + 8, n - 8) : 0;
	return intern_slot(s, n, head, second)->text;
}

/* ------------------------------------------------------------ token pool */

/* Tokens are recycled: the on-demand pipeline hands each one back when
 * the parser has finished the declaration it belongs to, so a script of
 * any size needs only a few pages of them. */
static Token *token_free_list;

/* Under AddressSanitizer a token in the free list is poisoned, so that a
 * token used after token_free is reported like any use after free. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON_TOKEN(t) ASAN_POISON_MEMORY_REGION((t), sizeof(Token))
#define UNPOISON_TOKEN(t) ASAN_UNPOISON_MEMORY_REGION((t), sizeof(Token))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define POISON_TOKEN(t) ASAN_POISON_MEMORY_REGION((t), sizeof(Token))
#define UNPOISON_TOKEN(t) ASAN_UNPOISON_MEMORY_REGION((t), sizeof(Token))
#endif
#endif
#ifndef POISON_TOKEN
#define POISON_TOKEN(t) ((void)(t))
#define UNPOISON_TOKEN(t) ((void)(t))
#else
#define TOKEN_POISONING 1
#endif

/* A token whose every field the caller sets. */
static inline Token *token_alloc(void)
{
	Token *t = token_free_list;
	if (!t)
		return arena_alloc(sizeof(Token));
	UNPOISON_TOKEN(t);
	token_free_list = t->next;
	return t;
}

Token *token_new(void)
{
	Token *t = token_alloc();
	memset(t, 0, sizeof *t);
	return t;
}

void token_free(Token *t)
{
	t->next = token_free_list;
	token_free_list = t;
	POISON_TOKEN(t);
}

void token_free_chain(Token *first, Token *last)
{
	Token *after = token_free_list;
	token_free_list = first;
#ifdef TOKEN_POISONING
	for (Token *t = first; t != last;) {
		Token *next = t->next;
		POISON_TOKEN(t);
		t = next;
	}
#endif
	last->next = after;
	POISON_TOKEN(last);
}

void token_free_until(Token *first, const Token *stop)
{
	while (first != stop) {
		Token *next = first->next;
		first->next = token_free_list;
		token_free_list = first;
		POISON_TOKEN(first);
		first = next;
	}
}

void arena_release_all(void)
{
	for (Token *t = token_free_list; t;) {
		UNPOISON_TOKEN(t);
		Token *next = t->next;
		t = next;
	}
	while (arena_top) {
		ArenaChunk *prev = arena_top->prev;
		munmap(arena_top, arena_top->map_size);
		arena_top = prev;
	}
	token_free_list = NULL;
	intern_slots = NULL;
	intern_cap = intern_count = 0;
}

/* ------------------------------------------------------ token describing */

/* In the order of enum Keyword, from KW_PROBE. */
static const char *const keywords[] = {
	"probe", "global", "function", "private", "if", "else", "for", "foreach",
	"in", "limit", "return", "delete", "while", "do", "break", "continue",
	"next", "try", "catch", "string", "long", NULL,
};

/* The Keyword name spells, KW_NONE for other names. */
static int keyword_of(const char *name)
{
	/* keywords are lowercase, 2 to 8 letters */
	if (name[0] < 'b' || name[0] > 'w' || !name[1])
		return KW_NONE;
	for (int i = 0; keywords[i]; i++)
		if (name[0] == keywords[i][0] && strcmp(name, keywords[i]) == 0)
			return KW_PROBE + i;
	return KW_NONE;
}

bool tok_is_keyword(const char *name)
{
	return keyword_of(name) != KW_NONE;
}

/* Called for every token at every precedence level: compare the first
 * byte before calling strcmp. */
bool tok_is(const Token *t, const char *text)
{
	return t->text[0] == text[0] &&
	       (t->kind == TK_IDENT || t->kind == TK_OP || t->kind == TK_PP) &&
	       strcmp(t->text, text) == 0;
}

/* stap's wording: "identifier 'foo'", "keyword", "operator '}'",
 * "string \"x\"", "number '12'", "embedded-code", "<input> EOF". */
const char *tok_describe(const Token *t)
{
	static char *buf;
	free(buf);
	switch (t->kind) {
	case TK_IDENT:
		buf = t->is_keyword ? xstrdup("keyword")
					      : xasprintf("identifier '%s'", t->text);
		break;
	case TK_NUMBER:
		buf = xasprintf("number '%s'", t->text);
		break;
	case TK_STRING: {
		StrBuf b = {0};
		sb_puts(&b, "string '");
		sb_putn(&b, t->text, strnlen(t->text, t->len));
		sb_putc(&b, '\'');
		buf = sb_steal(&b);
		break;
	}
	case TK_EMBEDDED:
		buf = xstrdup("embedded-code");
		break;
	case TK_EOF:
		buf = xasprintf("%s EOF", t->loc.file ? t->loc.file->name : "<input>");
		break;
	default: /* operators, $vars, @ops, %( and friends, $1 */
		buf = xasprintf("operator '%s'", t->text);
		break;
	}
	return buf;
}

/* ------------------------------------------------- pass-1 error reports */

/* parse_path runs the lexer, the two preprocessor sweeps and the parser
 * interleaved, a token at a time.  To print errors in the order of a
 * stage-by-stage run (every lexer error, then every macro error, ...),
 * reports are held per stage while p1_hold is on. */
static StrBuf held[P1_NSTAGES];
static int holding;
static enum P1Stage stage_now = P1_PARSE;

enum P1Stage p1_stage(enum P1Stage stage)
{
	enum P1Stage was = stage_now;
	stage_now = stage;
	return was;
}

void p1_hold(bool on)
{
	holding += on ? 1 : -1;
	if (holding)
		return;
	for (int i = 0; i < P1_NSTAGES; i++) {
		if (held[i].len)
			fwrite(held[i].s, 1, held[i].len, stderr);
		free(held[i].s);
		held[i] = (StrBuf){0};
	}
}

/* The labels ("saw:", "source:") are right-aligned under "parse error:". */
#define LABEL_WIDTH 12

static void print_source_caret(StrBuf *out, SrcLoc loc)
{
	if (!loc.file || loc.line < 1)
		return;
	const char *line = diag_source_line(loc.file, loc.line);
	sb_printf(out, "%*s %s\n", LABEL_WIDTH, "source:", line);
	for (int i = 0; i <= LABEL_WIDTH; i++)
		sb_putc(out, ' ');
	size_t len = strlen(line);
	for (int i = 0; i + 1 < loc.col && (size_t)i < len; i++)
		sb_putc(out, line[i] == '\t' ? '\t' : ' ');
	sb_puts(out, "^\n");
}

/* One error in stap's pass-1 layout:
 *
 *   parse error: MESSAGE
 *           saw: DESCRIPTION at FILE:LINE:COL      (label "at:" for lexer
 *        source: LINE                               and preprocessor)
 *                ^
 *           in expansion of macro: ...              (once per expansion)
 *
 * desc NULL means: describe token t.  The end of input has no position. */
static void p1_report(Session *s, const char *label, const Token *t, SrcLoc loc,
		      const char *desc, const char *fmt, va_list ap)
{
	StrBuf out = {0};
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (s)
		s->errors++;
	if (!diag_first_time(s, "parse error", msg ? msg : fmt)) {
		free(msg);
		return;
	}
	sb_printf(&out, "parse error: %s\n", msg ? msg : fmt);
	free(msg);
	if (!desc)
		desc = tok_describe(t);
	bool at_end = t && t->kind == TK_EOF;
	sb_printf(&out, "%*s %s", LABEL_WIDTH, label, desc);
	if (!at_end && loc.file)
		sb_printf(&out, " at %s:%d:%d", loc.file->name, loc.line, loc.col);
	sb_putc(&out, '\n');
	if (!at_end)
		print_source_caret(&out, loc);
	const Token *shown = NULL;
	for (const Token *m = t ? t->macro_call : NULL; m; m = m->macro_call) {
		/* a recursive macro would repeat the same note many times */
		if (shown && shown->loc.line == m->loc.line && shown->loc.col == m->loc.col &&
		    shown->loc.file == m->loc.file)
			continue;
		shown = m;
		sb_printf(&out, "\tin expansion of macro: %s at %s:%d:%d\n", tok_describe(m),
			  m->loc.file ? m->loc.file->name : "?", m->loc.line, m->loc.col);
		print_source_caret(&out, m->loc);
	}
	sb_putc(&out, '\n');
	if (holding) {
		sb_putn(&held[stage_now], out.s, out.len);
	} else {
		fwrite(out.s, 1, out.len, stderr);
	}
	free(out.s);
}

void p1_error_saw(Session *s, const Token *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	p1_report(s, "saw:", t, t->loc, NULL, fmt, ap);
	va_end(ap);
}

void p1_error_at(Session *s, const Token *t, SrcLoc loc, const char *desc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	p1_report(s, "at:", t, t ? t->loc : loc, desc, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ the lexer */

struct Lexer {
	Session *s;
	SrcFile *f;
	const char *p, *end;
	const char *line_start;
	int line;
	bool space;       /* whitespace or a comment since the last token */
	bool saw_tokens;  /* a token other than TK_EOF was made */
	bool on_demand;   /* lexer_open: errors belong to stage P1_LEX */
	Token *ahead;     /* lexed, not yet handed out (lex_ahead) */
	Token *held;      /* lexed, to start the next run (a tok_swept token) */
};

/* Character classes, so that the hot loops test one table entry. */
enum { C_OTHER, C_BLANK, C_NEWLINE, C_LETTER, C_DIGIT };
static const unsigned char char_class[256] = {
	[' '] = C_BLANK, ['\t'] = C_BLANK, ['\r'] = C_BLANK, ['\f'] = C_BLANK, ['\v'] = C_BLANK,
	['\n'] = C_NEWLINE,
	['a' ... 'z'] = C_LETTER, ['A' ... 'Z'] = C_LETTER, ['_'] = C_LETTER,
	['0' ... '9'] = C_DIGIT,
};

static int class_of(char c)
{
	return char_class[(unsigned char)c];
}

static SrcLoc here(const Lexer *lx, const char *p)
{
	return (SrcLoc){ lx->f, lx->line, (int)(p - lx->line_start) + 1 };
}

static inline __attribute__((always_inline)) Token *new_token(Lexer *lx, TokenKind kind, const char *start,
							  char *text, size_t len)
{
	Token *t = token_alloc();
	*t = (Token){ .kind = kind, .space_before = lx->space, .text = text, .len = len,
		      .loc = here(lx, start) };
	lx->space = false;
	return t;
}

/* The lexer's own errors: with the on-demand pipeline they are held with
 * the lexer stage's (a lexer of a fragment reports in its caller's). */
static enum P1Stage lexer_stage(const Lexer *lx)
{
	return lx->on_demand ? p1_stage(P1_LEX) : p1_stage(stage_now);
}

static void lex_error(Lexer *lx, const char *start, const char *fmt, const char *arg)
{
	Token junk = { .kind = TK_OP, .text = "", .loc = here(lx, start) };
	enum P1Stage was = lexer_stage(lx);
	p1_error_at(lx->s, &junk, junk.loc, "junk ''", fmt, arg);
	p1_stage(was);
}

static void newline(Lexer *lx, const char *after)
{
	lx->line++;
	lx->line_start = after;
}

static bool is_ident_start(char c)
{
	return class_of(c) == C_LETTER;
}

static bool is_ident_char(char c)
{
	return class_of(c) >= C_LETTER;
}

static bool is_digit(char c)
{
	return class_of(c) == C_DIGIT;
}

/* (The NUL after the text stops it.) */
static const char *scan_ident(const Lexer *lx, const char *p)
{
	while (is_ident_char(*p))
		p++;
	return p;
}

/* Parse the spelling of an integer literal: decimal, 0x hex or 0 octal,
 * up to 2**64-1 (values above 2**63-1 wrap, as stap's do). */
bool lex_parse_number(const char *s, size_t n, int64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	size_t i = 0;
	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
		if (n == 2)
			return false;
	} else if (n >= 2 && s[0] == '0') {
		base = 8;
		i = 1;
	}
	for (; i < n; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		if (d >= base)
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = (int64_t)v;
	return true;
}

static Token *lex_number(Lexer *lx)
{
	const char *start = lx->p;
	const char *p = scan_ident(lx, start);
	size_t n = (size_t)(p - start);
	Token *t = new_token(lx, TK_NUMBER, start, intern_scanned(start, n, lx->end)->text, n);
	if (!lex_parse_number(start, n, &t->num)) {
		enum P1Stage was = lexer_stage(lx);
		p1_error_saw(lx->s, t, "number invalid or out of range");
		p1_stage(was);
	}
	lx->p = p;
	return t;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode the escape after a backslash at p into *out (one byte); return
 * the position after the escape. */
static const char *decode_escape(const Lexer *lx, const char *p, char **out)
{
	char c = *p++;
	char v = c; /* \\ \" \' \? and any other character stand for themselves */
	switch (c) {
	case 'n': v = '\n'; break;
	case 't': v = '\t'; break;
	case 'r': v = '\r'; break;
	case 'a': v = '\a'; break;
	case 'b': v = '\b'; break;
	case 'f': v = '\f'; break;
	case 'v': v = '\v'; break;
	case 'x': {
		int x = 0, nd = 0;
		while (nd < 2 && p < lx->end && hex_value(*p) >= 0) {
			x = x * 16 + hex_value(*p++);
			nd++;
		}
		v = nd ? (char)x : 'x';
		break;
	}
	default:
		if (c >= '0' && c <= '7') {
			int o = c - '0', nd = 1;
			while (nd < 3 && p < lx->end && *p >= '0' && *p <= '7') {
				o = o * 8 + (*p++ - '0');
				nd++;
			}
			v = (char)o;
		}
		break;
	}
	*(*out)++ = v;
	return p;
}

/* The end of a string's text from p: its closing quote, or the end of
 * the line (or of the input) when it has none.  An escape is never the
 * end, and what an escape spans never holds a quote or a newline. */
static const char *string_end(const Lexer *lx, const char *p)
{
	while (p < lx->end && *p != '"' && *p != '\n')
		p += *p == '\\' && p + 1 < lx->end && p[1] != '\n' ? 2 : 1;
	return p;
}

static Token *lex_string(Lexer *lx)
{
	const char *start = lx->p;
	const char *p = start + 1;
	/* most strings have no escapes: copy them straight from the text */
	while (p < lx->end && *p != '"' && *p != '\n' && *p != '\\')
		p++;
	if (p < lx->end && *p == '"') {
		size_t n = (size_t)(p - (start + 1));
		lx->p = p + 1;
		return new_token(lx, TK_STRING, start, arena_strndup(start + 1, n), n);
	}
	/* decoded, the text is no longer than as written */
	const char *end = string_end(lx, p);
	char *text = arena_alloc((size_t)(end - start));
	size_t plain = (size_t)(p - (start + 1));
	memcpy(text, start + 1, plain);
	char *out = text + plain;
	while (p < end) {
		if (*p == '\\' && p + 1 < lx->end && p[1] != '\n')
			p = decode_escape(lx, p + 1, &out);
		else
			*out++ = *p++;
	}
	*out = '\0';
	if (p >= lx->end || *p != '"') {
		lex_error(lx, start, "Could not find matching closing quote%s", "");
		/* take the string as ending with the line, so that the parser
		 * does not report the same mistake again */
	}
	Token *t = new_token(lx, TK_STRING, start, text, (size_t)(out - text));
	lx->p = p < lx->end && *p == '"' ? p + 1 : p;
	return t;
}

/* %{ code %}: the text between the braces, verbatim.  NULL (after an
 * error) when it never ends: the rest of the file is dropped. */
static Token *lex_embedded(Lexer *lx)
{
	const char *start = lx->p;
	const char *p = start + 2;
	int line = lx->line;
	const char *line_start = lx->line_start;
	while (p + 1 < lx->end && !(p[0] == '%' && p[1] == '}')) {
		if (*p == '\n') {
			line++;
			line_start = p + 1;
		}
		p++;
	}
	if (p + 1 >= lx->end) {
		lex_error(lx, start, "Could not find matching '%%}' to close embedded function block%s", "");
		lx->p = lx->end;
		return NULL;
	}
	size_t n = (size_t)(p - (start + 2));
	Token *t = new_token(lx, TK_EMBEDDED, start, arena_strndup(start + 2, n), n);
	lx->line = line;
	lx->line_start = line_start;
	lx->p = p + 2;
	return t;
}

/* $name $$vars $1 $# and a bare $ or $$ (a suffix, as in $var$$). */
static Token *lex_dollar_or_at(Lexer *lx)
{
	const char *start = lx->p;
	const char *p = start + 1;
	char sigil = *start;
	TokenKind kind = sigil == '$' ? TK_DOLLAR : TK_AT;
	if (*p == '#' || is_digit(*p)) {
		p = *p == '#' ? p + 1 : p;
		while (is_digit(*p))
			p++;
		kind = TK_ARG;
	} else {
		if (sigil == '$' && *p == '$')
			p++;
		p = scan_ident(lx, p);
	}
	size_t n = (size_t)(p - start);
	lx->p = p;
	return new_token(lx, kind, start, intern_scanned(start, n, lx->end)->text, n);
}

/* The spelling of the operator at p (longest match), or NULL.  Bytes
 * after p are read only while they may still extend the operator, so
 * the NUL after the text stops the reading. */
static const char *match_operator(const char *p)
{
	char c = p[0], d = p[1];
	switch (c) {
	case '<':
		if (d == '<')
			return p[2] == '<' ? "<<<" : p[2] == '=' ? "<<=" : "<<";
		return d == '=' ? "<=" : "<";
	case '>':
		if (d == '>')
			return p[2] == '>' ? ">>>" : p[2] == '=' ? ">>=" : ">>";
		return d == '=' ? ">=" : ">";
	case '=': return d == '=' ? "==" : d == '~' ? "=~" : "=";
	case '!': return d == '=' ? "!=" : d == '~' ? "!~" : "!";
	case '&': return d == '&' ? "&&" : d == '=' ? "&=" : "&";
	case '|': return d == '|' ? "||" : d == '=' ? "|=" : "|";
	case '+': return d == '+' ? "++" : d == '=' ? "+=" : "+";
	case '-': return d == '-' ? "--" : d == '=' ? "-=" : d == '>' ? "->" : "-";
	case '*': return d == '=' ? "*=" : "*";
	case '/': return d == '=' ? "/=" : "/";
	case '%': return d == '=' ? "%=" : "%";
	case '^': return d == '=' ? "^=" : "^";
	case '.': return d == '=' ? ".=" : ".";
	case '{': return "{";
	case '}': return "}";
	case '(': return "(";
	case ')': return ")";
	case '[': return "[";
	case ']': return "]";
	case ';': return ";";
	case ',': return ",";
	case '~': return "~";
	case '?': return "?";
	case ':': return ":";
	default: return NULL;
	}
}

/* junk: a token of its own that the parser will refuse */
static __attribute__((noinline)) Token *lex_junk(Lexer *lx)
{
	const char *p = lx->p;
	char text[8];
	unsigned char c = (unsigned char)*p;
	if (c >= 0x20 && c < 0x7f)
		snprintf(text, sizeof text, "%c", c);
	else
		snprintf(text, sizeof text, "\\x%02x", c);
	lx->p = p + 1;
	return new_token(lx, TK_OP, p, intern(text, strlen(text)), strlen(text));
}

static inline Token *lex_operator(Lexer *lx)
{
	const char *p = lx->p;
	const char *op = match_operator(p);
	if (!op)
		return lex_junk(lx);
	size_t n = !op[1] ? 1 : !op[2] ? 2 : 3;
	lx->p = p + n;
	return new_token(lx, TK_OP, p, (char *)op, n);
}

/* An identifier or keyword: scanned, then found in the intern table. */
static inline Token *lex_ident(Lexer *lx)
{
	const char *p = lx->p;
	const char *e = scan_ident(lx, p + 1);
	size_t n = (size_t)(e - p);
	InternSlot *name = intern_scanned(p, n, lx->end);
	Token *t = new_token(lx, TK_IDENT, p, name->text, n);
	t->keyword = (unsigned char)name->keyword;
	t->is_keyword = name->keyword != KW_NONE;
	lx->p = e;
	return t;
}

static Token *lex_percent(Lexer *lx)
{
	const char *p = lx->p;
	char next = p[1];
	if (next == '{')
		return lex_embedded(lx);
	if (next == '(' || next == '?' || next == ':' || next == ')') {
		static const char *const pp[] = { "%(", "%?", "%:", "%)" };
		const char *text = pp[next == '(' ? 0 : next == '?' ? 1 : next == ':' ? 2 : 3];
		lx->p = p + 2;
		return new_token(lx, TK_PP, p, (char *)text, 2);
	}
	return lex_operator(lx);
}

Lexer *lexer_open(Session *s, SrcFile *f)
{
	if (!intern_slots)
		intern_grow();
	Lexer *lx = xcalloc(1, sizeof *lx);
	*lx = (Lexer){ .s = s, .f = f, .p = f->text, .end = f->text + f->len,
		       .line_start = f->text, .line = 1, .space = true, .on_demand = true };
	return lx;
}

/* What the lexer does at each byte: one table lookup and one switch per
 * token or blank, instead of a chain of tests. */
enum {
	A_JUNK,     /* a byte no token starts with */
	A_BLANK, A_NEWLINE,
	A_LETTER, A_DIGIT,
	A_PUNCT,    /* a one-byte operator that no other byte may extend */
	A_OP,       /* an operator of one to three bytes */
	A_SLASH,    /* / /= // comment, block comment */
	A_HASH,     /* # comment */
	A_QUOTE, A_DOLLAR, A_AT, A_PERCENT,
	A_NUL,      /* the end of the text (or junk, in the middle of it) */
};
static const unsigned char char_action[256] = {
	[' '] = A_BLANK, ['\t'] = A_BLANK, ['\r'] = A_BLANK, ['\f'] = A_BLANK, ['\v'] = A_BLANK,
	['\n'] = A_NEWLINE,
	['a' ... 'z'] = A_LETTER, ['A' ... 'Z'] = A_LETTER, ['_'] = A_LETTER,
	['0' ... '9'] = A_DIGIT,
	['{'] = A_PUNCT, ['}'] = A_PUNCT, ['('] = A_PUNCT, [')'] = A_PUNCT, ['['] = A_PUNCT,
	[']'] = A_PUNCT, [';'] = A_PUNCT, [','] = A_PUNCT, ['~'] = A_PUNCT, ['?'] = A_PUNCT,
	[':'] = A_PUNCT,
	['<'] = A_OP, ['>'] = A_OP, ['='] = A_OP, ['!'] = A_OP, ['&'] = A_OP, ['|'] = A_OP,
	['+'] = A_OP, ['-'] = A_OP, ['*'] = A_OP, ['^'] = A_OP, ['.'] = A_OP,
	['/'] = A_SLASH, ['#'] = A_HASH, ['"'] = A_QUOTE, ['$'] = A_DOLLAR, ['@'] = A_AT,
	['%'] = A_PERCENT, ['\0'] = A_NUL,
};

/* The spellings of the A_PUNCT bytes. */
static const char *const punct_text[128] = {
	['{'] = "{", ['}'] = "}", ['('] = "(", [')'] = ")", ['['] = "[", [']'] = "]",
	[';'] = ";", [','] = ",", ['~'] = "~", ['?'] = "?", [':'] = ":",
};

/* A comment from p (at its '/' or '#'); returns the position after it. */
static const char *skip_comment(Lexer *lx, const char *p)
{
	const char *end = lx->end;
	if (p[0] == '#' || p[1] == '/') {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		return nl ? nl : end;
	}
	/* an unterminated block comment runs to the end, as in stap */
	p += 2;
	while (p < end && !(p[0] == '*' && p[1] == '/')) {
		if (*p == '\n')
			newline(lx, p + 1);
		p++;
	}
	return p < end ? p + 2 : p;
}

/* The rarer tokens, from lx->p, with lx->space set. NULL when nothing
 * was made (an unterminated embedded block, reported). */
static __attribute__((noinline)) Token *lex_other(Lexer *lx, int action)
{
	const char *p = lx->p;
	switch (action) {
	case A_DIGIT:
		return lex_number(lx);
	case A_QUOTE:
		return lex_string(lx);
	case A_DOLLAR:
		return lex_dollar_or_at(lx);
	case A_AT:
		if (is_ident_start(p[1]) || is_digit(p[1]) || p[1] == '#')
			return lex_dollar_or_at(lx);
		return lex_junk(lx);
	case A_PERCENT:
		return lex_percent(lx);
	case A_SLASH:
		return lex_operator(lx);
	default:
		return lex_junk(lx);
	}
}

/* Lex up to LEX_AHEAD tokens into a chain (at least one: TK_EOF at the
 * end).  Lexing a run of tokens in one loop, not one per call, keeps the
 * lexer's position in a register; the pipeline cannot tell, since lexing
 * does not depend on what follows it, and the lexer's errors are held
 * with its stage's (p1_hold) anyway.  A token for the preprocessor
 * (tok_swept) ends the run before it and starts the next one. */
#define LEX_AHEAD 64

static __attribute__((noinline)) Token *lex_ahead(Lexer *lx)
{
	Token head, *tail = &head;
	const char *p = lx->p;
	bool space = lx->space;
	int n = 0;
	if (lx->held) {
		tail = tail->next = lx->held;
		lx->held = NULL;
		n++;
	}
	while (n < LEX_AHEAD) {
		/* the single space between most tokens, without the switch */
		if (*p == ' ' && p[1] != ' ') {
			p++;
			space = true;
		}
		int action = char_action[(unsigned char)*p];
		Token *t;
		switch (action) {
		case A_BLANK:
			p++;
			space = true;
			continue;
		case A_NEWLINE:
			newline(lx, ++p);
			space = true;
			continue;
		case A_HASH:
			p = skip_comment(lx, p);
			space = true;
			continue;
		case A_SLASH:
			if (p[1] == '/' || p[1] == '*') {
				p = skip_comment(lx, p);
				space = true;
				continue;
			}
			lx->p = p;
			lx->space = space;
			t = lex_operator(lx);
			p = lx->p;
			break;
		case A_LETTER: {
			const char *e = scan_ident(lx, p + 1);
			size_t len = (size_t)(e - p);
			InternSlot *name = intern_scanned(p, len, lx->end);
			lx->space = space;
			t = new_token(lx, TK_IDENT, p, name->text, len);
			t->keyword = (unsigned char)name->keyword;
			t->is_keyword = name->keyword != KW_NONE;
			p = e;
			break;
		}
		case A_PUNCT:
			lx->space = space;
			t = new_token(lx, TK_OP, p, (char *)punct_text[(unsigned char)*p], 1);
			p++;
			break;
		case A_OP:
			lx->p = p;
			lx->space = space;
			t = lex_operator(lx);
			p = lx->p;
			break;
		case A_NUL:
			if (p >= lx->end) {
				lx->space = space;
				tail = tail->next = new_token(lx, TK_EOF, p, "", 0);
				goto out;
			}
			/* a NUL inside the text is junk */
			__attribute__((fallthrough));
		default:
			lx->p = p;
			lx->space = space;
			t = lex_other(lx, action);
			p = lx->p;
			if (!t) {
				space = lx->space;
				continue;
			}
			if (n && tok_swept(t)) {
				lx->held = t;
				space = false;
				goto out;
			}
			break;
		}
		tail = tail->next = t;
		space = false;
		n++;
	}
out:
	lx->p = p;
	lx->space = space;
	tail->next = NULL;
	if (head.next->kind != TK_EOF)
		lx->saw_tokens = true;
	return head.next;
}

Token *lexer_next(Lexer *lx)
{
	Token *t = lx->ahead;
	if (!t)
		t = lex_ahead(lx);
	lx->ahead = t->next;
	t->next = NULL;
	return t;
}

Token *lexer_next_run(Lexer *lx)
{
	Token *run = lx->ahead;
	if (!run)
		run = lex_ahead(lx);
	lx->ahead = NULL;
	return run;
}

void lexer_unread_run(Lexer *lx, Token *run)
{
	Token *last = run;
	if (!run)
		return;
	if (!lx->ahead) {
		lx->ahead = run;
		return;
	}
	while (last->next)
		last = last->next;
	last->next = lx->ahead;
	lx->ahead = run;
}

bool lexer_saw_tokens(const Lexer *lx)
{
	return lx->saw_tokens;
}

void lexer_close(Lexer *lx)
{
	while (lx->ahead)
		token_free(lexer_next(lx));
	if (lx->held)
		token_free(lx->held);
	free(lx);
}

/* Read a whole file into a list of tokens ending with TK_EOF. */
Token *lex(Session *s, SrcFile *f)
{
	if (!intern_slots)
		intern_grow();
	Lexer lx = { .s = s, .f = f, .p = f->text, .end = f->text + f->len,
		     .line_start = f->text, .line = 1, .space = true };
	Token head = {0}, *tail = &head;
	do
		tail = tail->next = lexer_next(&lx);
	while (tail->kind != TK_EOF);
	return head.next;
}

/* Lex a piece of text that stands in for a token elsewhere (a script
 * argument $1): the tokens take the location `loc`. */
Token *lex_fragment(Session *s, const char *text, SrcLoc loc)
{
	SrcFile tmp = { .name = loc.file ? loc.file->name : "<argument>",
			.text = (char *)text, .len = strlen(text) };
	Token *toks = lex(s, &tmp);
	for (Token *t = toks; t; t = t->next)
		t->loc = loc;
	return toks;
}
