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
	struct RegexCaps *caps; /* regex_caps(): the sub-match tables, or NULL */
} Regex;

/* The sub-match pass (matched(), ngroups()), run only after the DFA said
 * "match": a Pike VM over the pattern's NFA, its epsilon closures worked
 * out here.  A thread is a state that consumes a byte (or the match, the
 * last thread) and its slots, where group g began (2g) and ended (2g+1).
 * Closure c of a thread's successor, or of the start, lists in priority
 * order the threads it reaches and what the path did to the slots: the
 * bits of `set` take the position, those of `clr` become -1 (unset).
 * Closures: 2t + eol after thread t took a byte, 2 * nthreads + 2bol + eol
 * for the start, eol when the next byte is the end (`$` holds there), bol
 * at position 0.  Rule: the leftmost-longest whole match (as the DFA); of
 * the paths that give it, the first in priority order, where an
 * alternation prefers its left side, a repetition one more iteration (an
 * iteration of * or + that matches nothing is not taken), and each
 * iteration starts with the groups inside it unset (a group reports its
 * last iteration, a group within it only that iteration's match). */
#define REGEX_CAP_MAX_THREADS 64   /* consuming NFA states + 1 */
#define REGEX_CAP_MAX_GROUPS 16    /* the whole match included: 32 slots */
#define REGEX_CAP_MAX_STEPS 4096   /* walk steps per byte (bpf_loop's bound) */

typedef struct RegexCaps {
	int nthreads;           /* consuming states, then the match */
	int nslots;             /* 2 * ngroups */
	int nclosures;          /* 2 * nthreads + 4 */
	uint8_t *acc;           /* acc[t * nclasses + class]: thread t takes bytes of the class */
	uint16_t *first;        /* closure c: entries first[c] .. first[c + 1] - 1 */
	uint16_t *to;           /* entry: the thread reached */
	uint32_t *set, *clr;    /* entry: slots given the position, slots unset */
	int nents;
	int steps;              /* walk steps per byte at most */
} RegexCaps;

typedef struct RegexError {
	int pos;                /* offset in the pattern, -1 for the pattern as a whole */
	char msg[160];
} RegexError;

/* Compile pat[0..len); false with *err filled on a bad or too big pattern. */
bool regex_compile(Regex *re, const char *pat, size_t len, RegexError *err);
void regex_free(Regex *re);
/* Add the sub-match tables to a compiled re (same pattern); false with
 * *err filled when they would be too big. */
bool regex_caps(Regex *re, const char *pat, size_t len, RegexError *err);
/* Whether the pattern occurs in the NUL-terminated s (the runtime's walk). */
bool regex_search(const Regex *re, const char *s);

/* The table as C data named stp_reN_classes / stp_reN_next (see
 * stp_regex_match), and the index mask of stp_reN_next. */
struct StrBuf;
void regex_emit_c(const Regex *re, int id, struct StrBuf *out);
size_t regex_table_mask(const Regex *re);
/* The sub-match tables as C named stp_reN_acc / _first / _to / _set /
 * _clr (see stp_regex_caps), and the arguments that call takes after
 * the string and the match: "stp_reN_classes, ..., steps". */
void regex_emit_caps_c(const Regex *re, int id, struct StrBuf *out);
char *regex_caps_args(const Regex *re, int id);

#endif
