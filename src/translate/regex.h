/* regex.h - POSIX extended regular expressions compiled to a DFA.
 *
 * stap takes the pattern of every `=~` / `!~` as a literal and compiles it
 * at translate time; the generated code, in the kernel as in staprun, only
 * walks the table built here (stp_regex_match in runtime/target/
 * stp_string.h), so both contexts agree byte for byte.
 *
 * The table answers "does the pattern occur anywhere in the string": the
 * search restarts at every position, so the automaton never needs to back
 * up.  State 0 means no match is possible any more, state 1 that a match
 * was found; the walk stops at either.  The string's terminating NUL is
 * fed as a byte of its own class: it is where `$` holds.
 */
#ifndef REGEX_H
#define REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REGEX_MAX_STATES 1024      /* DFA states of one pattern */
#define REGEX_MAX_CELLS (1 << 16)  /* table cells: states x byte classes */
#define REGEX_MAX_NFA (1 << 16)    /* NFA states while compiling */
#define REGEX_MAX_REPEAT 1000      /* largest count in {m,n} */

enum { REGEX_DEAD = 0, REGEX_FOUND = 1 };

typedef struct Regex {
	int nstates;            /* table rows, REGEX_DEAD and REGEX_FOUND included */
	int start;              /* first state (may already be 0 or 1) */
	int nclasses;           /* table columns: bytes that behave alike */
	uint8_t classmap[256];  /* byte -> class; byte 0 (end of string) has its own */
	uint16_t *next;         /* next[state * nclasses + class] */
	int ngroups;            /* parenthesised subexpressions + 1 (the whole match) */
} Regex;

typedef struct RegexError {
	int pos;                /* offset in the pattern, -1 for the pattern as a whole */
	char msg[160];
} RegexError;

/* Compile pat[0..len); false with *err filled on a bad or too big pattern. */
bool regex_compile(Regex *re, const char *pat, size_t len, RegexError *err);
void regex_free(Regex *re);
/* Whether the pattern occurs in the NUL-terminated s (the runtime's walk). */
bool regex_search(const Regex *re, const char *s);

/* The table as C data named stp_reN_classes / stp_reN_next (see
 * stp_regex_match), and the index mask of stp_reN_next. */
struct StrBuf;
void regex_emit_c(const Regex *re, int id, struct StrBuf *out);
size_t regex_table_mask(const Regex *re);

#endif
