/* lex.c - pass 1a: script text to tokens.
 *
 * The lexer reads a whole SrcFile into a singly linked list of tokens that
 * ends with TK_EOF.  It never stops at an error: a bad number, an
 * unterminated string or embedded block is reported (stap's "at:" layout)
 * and lexing goes on, so that one run shows every problem.
 *
 * Tokens and their texts live in a bump arena (arena_alloc) because a
 * front end makes millions of tiny objects that all die together; this
 * keeps `stap -p1` on a 100,000-line script well under 100 ms.
 *
 * This file also holds the pass-1 error reporter shared by the
 * preprocessor and the parser: it knows about tokens, so it can add the
 * "in expansion of macro" notes that diag.c cannot.
 */
#include "stap.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ the arena */

#define ARENA_CHUNK (256 * 1024)

typedef struct ArenaChunk {
	struct ArenaChunk *prev;
	size_t used, size;
	max_align_t data[];
} ArenaChunk;

/* The arena is process-wide: pass-1 objects live until the process ends
 * (or until a fuzzer calls arena_release_all between inputs). */
static ArenaChunk *arena_top;

void *arena_alloc(size_t n)
{
	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (!arena_top || arena_top->size - arena_top->used < n) {
		size_t size = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;
		ArenaChunk *c = xmalloc(sizeof(*c) + size);
		c->used = 0;
		c->size = size;
		/* a big one-off block goes under the current chunk so that the
		 * chunk's free space is not wasted */
		if (arena_top && size != ARENA_CHUNK) {
			c->prev = arena_top->prev;
			arena_top->prev = c;
			c->used = n;
			return memset(c->data, 0, n);
		}
		c->prev = arena_top;
		arena_top = c;
	}
	void *p = (char *)arena_top->data + arena_top->used;
	arena_top->used += n;
	return memset(p, 0, n);
}

char *arena_strndup(const char *s, size_t n)
{
	char *p = arena_alloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void arena_release_all(void)
{
	while (arena_top) {
		ArenaChunk *prev = arena_top->prev;
		free(arena_top);
		arena_top = prev;
	}
}

/* ------------------------------------------------------ token describing */

static const char *const keywords[] = {
	"probe", "global", "function", "private", "if", "else", "for", "foreach",
	"in", "limit", "return", "delete", "while", "do", "break", "continue",
	"next", "try", "catch", "string", "long", NULL,
};

bool tok_is_keyword(const char *name)
{
	/* keywords are lowercase, 2 to 8 letters */
	if (name[0] < 'b' || name[0] > 'w' || !name[1])
		return false;
	for (int i = 0; keywords[i]; i++)
		if (name[0] == keywords[i][0] && strcmp(name, keywords[i]) == 0)
			return true;
	return false;
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

/* The labels ("saw:", "source:") are right-aligned under "parse error:". */
#define LABEL_WIDTH 12

static void print_source_caret(SrcLoc loc)
{
	if (!loc.file || loc.line < 1)
		return;
	const char *line = diag_source_line(loc.file, loc.line);
	fprintf(stderr, "%*s %s\n", LABEL_WIDTH, "source:", line);
	StrBuf b = {0};
	for (int i = 0; i <= LABEL_WIDTH; i++)
		sb_putc(&b, ' ');
	size_t len = strlen(line);
	for (int i = 0; i + 1 < loc.col && (size_t)i < len; i++)
		sb_putc(&b, line[i] == '\t' ? '\t' : ' ');
	sb_putc(&b, '^');
	fprintf(stderr, "%s\n", b.s);
	free(b.s);
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
	fputs("parse error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	if (!desc)
		desc = tok_describe(t);
	bool at_end = t && t->kind == TK_EOF;
	fprintf(stderr, "%*s %s", LABEL_WIDTH, label, desc);
	if (!at_end && loc.file)
		fprintf(stderr, " at %s:%d:%d", loc.file->name, loc.line, loc.col);
	fputc('\n', stderr);
	if (!at_end)
		print_source_caret(loc);
	const Token *shown = NULL;
	for (const Token *m = t ? t->macro_call : NULL; m; m = m->macro_call) {
		/* a recursive macro would repeat the same note many times */
		if (shown && shown->loc.line == m->loc.line && shown->loc.col == m->loc.col &&
		    shown->loc.file == m->loc.file)
			continue;
		shown = m;
		fprintf(stderr, "\tin expansion of macro: %s at %s:%d:%d\n", tok_describe(m),
			m->loc.file ? m->loc.file->name : "?", m->loc.line, m->loc.col);
		print_source_caret(m->loc);
	}
	fputc('\n', stderr);
	if (s)
		s->errors++;
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

typedef struct Lexer {
	Session *s;
	SrcFile *f;
	const char *p, *end;
	const char *line_start;
	int line;
	bool space;       /* whitespace or a comment since the last token */
	Token head, *tail;
	Token *pool;      /* tokens are allocated a batch at a time */
	int pool_left;
} Lexer;

/* Operators, longest first within each starting character's use. */
static const char *const ops3[] = { "<<<", ">>>", "<<=", ">>=", NULL };
static const char *const ops2[] = {
	"==", "!=", "<=", ">=", "&&", "||", "++", "--", "+=", "-=", "*=", "/=", "%=",
	"&=", "|=", "^=", ".=", "->", "<<", ">>", "=~", "!~", NULL,
};
static const char ops1[] = "{}()[];,.+-*/%<>=!~&|^?:";

static SrcLoc here(const Lexer *lx, const char *p)
{
	return (SrcLoc){ lx->f, lx->line, (int)(p - lx->line_start) + 1 };
}

static Token *new_token(Lexer *lx, TokenKind kind, const char *start, char *text, size_t len)
{
	if (lx->pool_left == 0) {
		lx->pool = arena_alloc(sizeof(Token) * 512);
		lx->pool_left = 512;
	}
	Token *t = lx->pool++;
	lx->pool_left--;
	t->kind = kind;
	t->text = text;
	t->len = len;
	t->loc = here(lx, start);
	t->space_before = lx->space;
	lx->space = false;
	lx->tail->next = t;
	lx->tail = t;
	return t;
}

static void lex_error(Lexer *lx, const char *start, const char *fmt, const char *arg)
{
	Token junk = { .kind = TK_OP, .text = "", .loc = here(lx, start) };
	p1_error_at(lx->s, &junk, junk.loc, "junk ''", fmt, arg);
}

static void newline(Lexer *lx, const char *after)
{
	lx->line++;
	lx->line_start = after;
}

/* Skip blanks and comments; a comment counts as a space.  '#' starts a
 * comment except in $# and @# (handled by the caller before we get here). */
static void skip_space(Lexer *lx)
{
	const char *p = lx->p;
	for (;;) {
		if (p >= lx->end)
			break;
		char c = *p;
		if (c == '\n') {
			newline(lx, ++p);
			lx->space = true;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			p++;
			lx->space = true;
		} else if (c == '#' || (c == '/' && p + 1 < lx->end && p[1] == '/')) {
			while (p < lx->end && *p != '\n')
				p++;
			lx->space = true;
		} else if (c == '/' && p + 1 < lx->end && p[1] == '*') {
			/* an unterminated comment runs to the end, as in stap */
			p += 2;
			while (p < lx->end && !(p[0] == '*' && p + 1 < lx->end && p[1] == '/')) {
				if (*p == '\n')
					newline(lx, p + 1);
				p++;
			}
			p = p < lx->end ? p + 2 : p;
			lx->space = true;
		} else {
			break;
		}
	}
	lx->p = p;
}

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static const char *scan_ident(const Lexer *lx, const char *p)
{
	while (p < lx->end && is_ident_char(*p))
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

static void lex_number(Lexer *lx)
{
	const char *start = lx->p;
	const char *p = scan_ident(lx, start);
	size_t n = (size_t)(p - start);
	Token *t = new_token(lx, TK_NUMBER, start, arena_strndup(start, n), n);
	if (!lex_parse_number(start, n, &t->num))
		p1_error_saw(lx->s, t, "number invalid or out of range");
	lx->p = p;
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

/* Decode the escape after a backslash at p; append the byte, return the
 * position after the escape. */
static const char *decode_escape(const Lexer *lx, const char *p, StrBuf *b)
{
	char c = *p++;
	switch (c) {
	case 'n': sb_putc(b, '\n'); return p;
	case 't': sb_putc(b, '\t'); return p;
	case 'r': sb_putc(b, '\r'); return p;
	case 'a': sb_putc(b, '\a'); return p;
	case 'b': sb_putc(b, '\b'); return p;
	case 'f': sb_putc(b, '\f'); return p;
	case 'v': sb_putc(b, '\v'); return p;
	case 'x': {
		int v = 0, nd = 0;
		while (nd < 2 && p < lx->end && hex_value(*p) >= 0) {
			v = v * 16 + hex_value(*p++);
			nd++;
		}
		sb_putc(b, nd ? (char)v : 'x');
		return p;
	}
	default:
		if (c >= '0' && c <= '7') {
			int v = c - '0', nd = 1;
			while (nd < 3 && p < lx->end && *p >= '0' && *p <= '7') {
				v = v * 8 + (*p++ - '0');
				nd++;
			}
			sb_putc(b, (char)v);
			return p;
		}
		/* \\ \" \' \? and any other character stand for themselves */
		sb_putc(b, c);
		return p;
	}
}

static void lex_string(Lexer *lx)
{
	const char *start = lx->p;
	const char *p = start + 1;
	StrBuf b = {0};
	while (p < lx->end && *p != '"' && *p != '\n') {
		if (*p == '\\' && p + 1 < lx->end && p[1] != '\n')
			p = decode_escape(lx, p + 1, &b);
		else
			sb_putc(&b, *p++);
	}
	if (p >= lx->end || *p != '"') {
		lex_error(lx, start, "Could not find matching closing quote%s", "");
		/* take the string as ending with the line, so that the parser
		 * does not report the same mistake again */
	}
	new_token(lx, TK_STRING, start, arena_strndup(b.s ? b.s : "", b.len), b.len);
	free(b.s);
	lx->p = p < lx->end && *p == '"' ? p + 1 : p;
}

/* %{ code %}: the text between the braces, verbatim. */
static void lex_embedded(Lexer *lx)
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
		return;
	}
	size_t n = (size_t)(p - (start + 2));
	new_token(lx, TK_EMBEDDED, start, arena_strndup(start + 2, n), n);
	lx->line = line;
	lx->line_start = line_start;
	lx->p = p + 2;
}

/* $name $$vars $1 $# and a bare $ or $$ (a suffix, as in $var$$). */
static void lex_dollar_or_at(Lexer *lx)
{
	const char *start = lx->p;
	const char *p = start + 1;
	char sigil = *start;
	if (p < lx->end && (*p == '#' || is_digit(*p))) {
		p = *p == '#' ? p + 1 : p;
		while (p < lx->end && is_digit(*p))
			p++;
		new_token(lx, TK_ARG, start, arena_strndup(start, (size_t)(p - start)), (size_t)(p - start));
		lx->p = p;
		return;
	}
	if (sigil == '$' && p < lx->end && *p == '$')
		p++;
	p = scan_ident(lx, p);
	size_t n = (size_t)(p - start);
	TokenKind kind = sigil == '$' ? TK_DOLLAR : TK_AT;
	new_token(lx, kind, start, arena_strndup(start, n), n);
	lx->p = p;
}

static void lex_operator(Lexer *lx)
{
	const char *p = lx->p;
	size_t left = (size_t)(lx->end - p);
	for (int i = 0; ops3[i]; i++)
		if (left >= 3 && memcmp(p, ops3[i], 3) == 0) {
			new_token(lx, TK_OP, p, (char *)ops3[i], 3);
			lx->p = p + 3;
			return;
		}
	for (int i = 0; ops2[i]; i++)
		if (left >= 2 && p[0] == ops2[i][0] && p[1] == ops2[i][1]) {
			new_token(lx, TK_OP, p, (char *)ops2[i], 2);
			lx->p = p + 2;
			return;
		}
	const char *one = *p ? strchr(ops1, *p) : NULL;
	if (one) {
		new_token(lx, TK_OP, p, arena_strndup(one, 1), 1);
	} else {
		/* junk: a token of its own that the parser will refuse */
		char text[8];
		unsigned char c = (unsigned char)*p;
		if (c >= 0x20 && c < 0x7f)
			snprintf(text, sizeof text, "%c", c);
		else
			snprintf(text, sizeof text, "\\x%02x", c);
		new_token(lx, TK_OP, p, arena_strndup(text, strlen(text)), strlen(text));
	}
	lx->p = p + 1;
}

static void lex_one(Lexer *lx)
{
	const char *p = lx->p;
	char c = *p;
	char next = p + 1 < lx->end ? p[1] : '\0';
	if (is_ident_start(c)) {
		const char *e = scan_ident(lx, p);
		Token *t = new_token(lx, TK_IDENT, p, arena_strndup(p, (size_t)(e - p)), (size_t)(e - p));
		t->is_keyword = tok_is_keyword(t->text);
		lx->p = e;
	} else if (is_digit(c)) {
		lex_number(lx);
	} else if (c == '"') {
		lex_string(lx);
	} else if (c == '$' || (c == '@' && (is_ident_start(next) || is_digit(next) || next == '#'))) {
		lex_dollar_or_at(lx);
	} else if (c == '%' && next == '{') {
		lex_embedded(lx);
	} else if (c == '%' && (next == '(' || next == '?' || next == ':' || next == ')')) {
		static const char *const pp[] = { "%(", "%?", "%:", "%)" };
		const char *text = pp[next == '(' ? 0 : next == '?' ? 1 : next == ':' ? 2 : 3];
		new_token(lx, TK_PP, p, (char *)text, 2);
		lx->p = p + 2;
	} else {
		lex_operator(lx);
	}
}

Token *lex(Session *s, SrcFile *f)
{
	Lexer lx = { .s = s, .f = f, .p = f->text, .end = f->text + f->len,
		     .line_start = f->text, .line = 1, .space = true };
	lx.tail = &lx.head;
	for (;;) {
		skip_space(&lx);
		if (lx.p >= lx.end)
			break;
		lex_one(&lx);
	}
	new_token(&lx, TK_EOF, lx.p, "", 0);
	return lx.head.next;
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
