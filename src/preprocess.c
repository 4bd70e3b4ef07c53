/* preprocess.c - pass 1b: macros, script arguments and conditionals.
 *
 * The preprocessor rewrites a token list in two sweeps, as stap does:
 *
 *   1. macros: "@define NAME %( BODY %)" and "@define NAME(a, b) %( BODY %)"
 *      are taken out of the stream and remembered; "@NAME" and
 *      "@NAME(x, y)" are replaced by a copy of the body in which "@a" stands
 *      for the tokens of argument a.  The copy is scanned again, so macros
 *      may use macros.  $1 (tokens of script argument 1), @1 (a string),
 *      $# and @# (the argument count) are replaced in the same sweep.
 *   2. conditionals: "%( COND %? TRUE %: FALSE %)" keeps one branch.
 *
 * Macros are local to the file that defines them, except the library
 * macros of *.stpm files in the tapset directories, which every file sees.
 * Copied tokens remember the @NAME token that produced them (macro_call),
 * so that an error inside a macro body also says where it was invoked.
 *
 * Conditions (see "PREPROCESSING" in man stap):
 *
 *   cond  -> conj { '||' conj }
 *   conj  -> test { '&&' test }
 *   test  -> kernel_v|kernel_vr|systemtap_v  OP "version"  (strverscmp, or
 *                                             fnmatch for == != with wildcards)
 *          | arch|runtime|systemtap_privilege|CONFIG_X ('=='|'!=') "glob"
 *          | guru_mode OP number | CONFIG_X OP number
 *          | "string" OP "string" | number OP number
 *
 * We answer runtime == "kernel": stapng implements the whole language of
 * the classic kernel runtime (not the restricted language of stap's own
 * "bpf" runtime), so scripts should take their full-featured branches.
 */
#include "stap.h"

#include <dirent.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <zlib.h>

#define MAX_MACRO_DEPTH 100   /* nested expansions before we call it recursion */
#define MAX_MACRO_TOKENS 2000000 /* tokens made by expansions in one file */

typedef struct Macro {
	char *name;
	char **params;
	int nparams;
	Token *body;        /* a NULL-terminated list */
	const Token *where; /* the NAME token of the definition */
	SrcFile *file;      /* NULL for library macros (visible everywhere) */
} Macro;

/* What preprocess.c keeps in Session.kernel_config. */
typedef struct PPCache {
	bool config_loaded;
	char **config_names, **config_values; /* open-addressing table */
	size_t config_cap;
	bool library_loaded;
} PPCache;

typedef struct PP {
	Session *s;
	SrcFile *file;
	bool library;       /* reading a .stpm file: definitions are public */
	long budget;        /* tokens expansions may still make (MAX_MACRO_TOKENS) */
} PP;

static PPCache *pp_cache(Session *s)
{
	if (!s->kernel_config)
		s->kernel_config = xcalloc(1, sizeof(PPCache));
	return s->kernel_config;
}

static Token *copy_token(const Token *t)
{
	Token *c = arena_alloc(sizeof *c);
	*c = *t;
	c->next = NULL;
	return c;
}

static bool is_pp(const Token *t, const char *text)
{
	return t->kind == TK_PP && strcmp(t->text, text) == 0;
}

/* --------------------------------------------------------------- macros */

static Macro *find_macro(Session *s, SrcFile *file, const char *name)
{
	Macro *found = NULL;
	for (int i = 0; i < s->macros.len; i++) {
		Macro *m = VEC_AT(&s->macros, i);
		if (strcmp(m->name, name) != 0)
			continue;
		if (m->file == file)
			return m;
		if (!m->file)
			found = m;
	}
	return found;
}

/* After "%(": the tokens up to the matching "%)" (NULL-terminated copy).
 * Sets *after to the token after "%)", or returns false at the end. */
static bool collect_until_close(Token *t, Token **body, Token **after)
{
	Token head = {0}, *tail = &head;
	int depth = 0;
	for (; t->kind != TK_EOF; t = t->next) {
		if (is_pp(t, "%("))
			depth++;
		else if (is_pp(t, "%)") && depth-- == 0) {
			*body = head.next;
			*after = t->next;
			return true;
		}
		tail = tail->next = copy_token(t);
	}
	*after = t;
	return false;
}

/* "@define" NAME [ '(' a { ',' b } ')' ] "%(" BODY "%)"
 * t is the @define token; returns the token after the definition. */
static Token *define_macro(PP *pp, Token *t)
{
	Session *s = pp->s;
	Token *name = t->next;
	if (name->kind != TK_IDENT) {
		p1_error_at(s, name, name->loc, NULL, "expected identifier");
		return name;
	}
	Macro *m = arena_alloc(sizeof *m);
	m->name = name->text;
	m->where = name;
	m->file = pp->library ? NULL : pp->file;
	Token *p = name->next;
	if (tok_is(p, "(") && !p->space_before) {
		Vec params = {0};
		p = p->next;
		while (p->kind == TK_IDENT) {
			vec_push(&params, p->text);
			p = p->next;
			if (!tok_is(p, ","))
				break;
			p = p->next;
		}
		if (!tok_is(p, ")")) {
			p1_error_at(s, p, p->loc, NULL, "expected ')' or ',' in parameter list of macro '@%s'",
				    m->name);
			free(params.data);
			return p;
		}
		m->nparams = params.len;
		m->params = arena_alloc(sizeof(char *) * (size_t)(params.len + 1));
		for (int i = 0; i < params.len; i++)
			m->params[i] = VEC_AT(&params, i);
		free(params.data);
		p = p->next;
	}
	if (!is_pp(p, "%(")) {
		p1_error_at(s, p, p->loc, NULL, "expected '%%('");
		return p;
	}
	Token *after;
	if (!collect_until_close(p->next, &m->body, &after)) {
		p1_error_at(s, p, p->loc, NULL, "could not find matching closing '%%)' for macro '@%s'",
			    m->name);
		return after;
	}
	Macro *old = find_macro(s, m->file, m->name);
	if (old && old->file == m->file) {
		p1_error_at(s, name, name->loc, NULL, "attempt to redefine macro '@%s' in the same file",
			    m->name);
		p1_error_at(s, old->where, old->where->loc, NULL, "macro '@%s' first defined here",
			    m->name);
		return after;
	}
	vec_push(&s->macros, m);
	return after;
}

static int macro_depth(const Token *t)
{
	int n = 0;
	for (; t; t = t->macro_call)
		n++;
	return n;
}

typedef struct Args {
	Token **first; /* each a NULL-terminated copy */
	int n;
} Args;

/* The token after the ')' that closes an invocation (t is inside it, at
 * bracket depth `depth`), or the end token. */
static Token *skip_to_close(Token *t, int depth)
{
	for (; t->kind != TK_EOF; t = t->next) {
		if (tok_is(t, "(") || tok_is(t, "[") || tok_is(t, "{"))
			depth++;
		else if ((tok_is(t, ")") || tok_is(t, "]") || tok_is(t, "}")) && depth-- == 0)
			return t->next;
	}
	return t;
}

/* '(' arg { ',' arg } ')' after a macro name; args are token runs with
 * balanced brackets.  Returns the token after ')', or NULL when the
 * invocation never ends; args->n is -1 after a reported error. */
static Token *collect_args(PP *pp, Token *call, const Macro *m, Args *args)
{
	Token *t = call->next->next; /* past '(' */
	args->first = arena_alloc(sizeof(Token *) * (size_t)(m->nparams + 1));
	args->n = 0;
	Token head = {0}, *tail = &head;
	int depth = 0;
	bool empty_call = tok_is(t, ")");
	for (; t->kind != TK_EOF; t = t->next) {
		bool opener = tok_is(t, "(") || tok_is(t, "[") || tok_is(t, "{");
		bool closer = tok_is(t, ")") || tok_is(t, "]") || tok_is(t, "}");
		if (depth == 0 && (tok_is(t, ",") || tok_is(t, ")"))) {
			if (!(empty_call && m->nparams == 0)) {
				int total = args->n + (tok_is(t, ",") ? 2 : 1);
				if (total > m->nparams) {
					p1_error_at(pp->s, t, t->loc, NULL,
						    "too many parameters for macro '@%s' (expected %d)",
						    m->name, m->nparams);
					args->n = -1;
					return skip_to_close(t, depth);
				}
				args->first[args->n++] = head.next;
			}
			head.next = NULL;
			tail = &head;
			if (tok_is(t, ")")) {
				if (args->n < m->nparams) {
					p1_error_at(pp->s, t, t->loc, NULL,
						    "too few parameters for macro '@%s' (expected %d)",
						    m->name, m->nparams);
					args->n = -1;
				}
				return t->next;
			}
			continue;
		}
		depth += opener ? 1 : closer ? -1 : 0;
		if (depth < 0)
			break;
		tail = tail->next = copy_token(t);
	}
	p1_error_at(pp->s, call, call->loc, NULL, "could not find end of macro invocation");
	return NULL;
}

/* Copy macro m's body for the invocation `call`, with parameters replaced.
 * Returns the first token of the copy, linked to `rest`. */
static Token *expand_body(const Macro *m, const Token *call, const Args *args, Token *rest,
			  long *budget)
{
	Token head = {0}, *tail = &head;
	long made = 0;
	for (const Token *b = m->body; b; b = b->next) {
		int param = -1;
		if (b->kind == TK_AT)
			for (int i = 0; i < m->nparams; i++)
				if (strcmp(b->text + 1, m->params[i]) == 0)
					param = i;
		if (param < 0) {
			tail = tail->next = copy_token(b);
			/* the body's own tokens were produced by this invocation */
			tail->macro_call = (Token *)call;
			made++;
			continue;
		}
		for (const Token *a = args->first[param]; a; a = a->next, made++)
			tail = tail->next = copy_token(a);
	}
	*budget -= made + 1;
	tail->next = rest;
	return head.next;
}

/* ------------------------------------------------------ script arguments */

/* $N, @N, $#, @# -> their tokens, linked to `rest`. */
static Token *substitute_arg(PP *pp, Token *t, Token *rest)
{
	Session *s = pp->s;
	int nargs = s->script_args.len;
	bool as_string = t->text[0] == '@';
	Token *r = copy_token(t);
	r->next = rest;
	if (t->text[1] == '#') {
		r->text = arena_strndup("", 0);
		if (as_string) {
			char buf[24];
			int n = snprintf(buf, sizeof buf, "%d", nargs);
			r->kind = TK_STRING;
			r->text = arena_strndup(buf, (size_t)n);
			r->len = (size_t)n;
		} else {
			char buf[24];
			int n = snprintf(buf, sizeof buf, "%d", nargs);
			r->kind = TK_NUMBER;
			r->text = arena_strndup(buf, (size_t)n);
			r->len = (size_t)n;
			r->num = nargs;
		}
		return r;
	}
	long which = strtol(t->text + 1, NULL, 10);
	if (which < 1 || which > nargs) {
		p1_error_at(s, NULL, t->loc, "junk ''", "command line argument out of range [1-%d]", nargs);
		/* a stand-in, so that the parser does not report the gap too */
		r->kind = as_string ? TK_STRING : TK_NUMBER;
		r->text = arena_strndup(as_string ? "" : "0", as_string ? 0 : 1);
		r->len = as_string ? 0 : 1;
		r->num = 0;
		return r;
	}
	const char *arg = VEC_AT(&s->script_args, which - 1);
	if (as_string) {
		r->kind = TK_STRING;
		r->text = arena_strndup(arg, strlen(arg));
		r->len = strlen(arg);
		return r;
	}
	Token *toks = lex_fragment(s, arg, t->loc);
	Token head = {0}, *tail = &head;
	for (Token *a = toks; a->kind != TK_EOF; a = a->next) {
		tail = tail->next = a;
		a->macro_call = t->macro_call;
		a->space_before = a == toks ? t->space_before : true;
	}
	tail->next = rest;
	return head.next;
}

/* A number 0 in place of a macro invocation that failed (and was
 * reported), so that the parser does not complain about the gap too. */
static Token *placeholder(const Token *call, Token *rest)
{
	Token *z = copy_token(call);
	z->kind = TK_NUMBER;
	z->text = arena_strndup("0", 1);
	z->len = 1;
	z->num = 0;
	z->next = rest;
	return z;
}

/* Sweep 1: definitions, invocations and script arguments. */
static Token *expand_macros(PP *pp, Token *toks)
{
	Session *s = pp->s;
	Token head = {0}, *tail = &head;
	Token *t = toks;
	while (t) {
		if (t->kind == TK_ARG) {
			t = substitute_arg(pp, t, t->next);
			continue;
		}
		if (t->kind == TK_AT && strcmp(t->text, "@define") == 0) {
			t = define_macro(pp, t);
			continue;
		}
		const Macro *m = t->kind == TK_AT ? find_macro(s, pp->file, t->text + 1) : NULL;
		if (!m) {
			Token *next = t->next;
			tail = tail->next = t;
			t = next;
			continue;
		}
		if (pp->budget < 0) {
			/* a macro that doubles itself would expand for ever */
			if (pp->budget != -2)
				p1_error_at(s, t, t->loc, NULL, "macro expansion makes more than %d tokens",
					    MAX_MACRO_TOKENS);
			pp->budget = -2;
			t = placeholder(t, t->next);
			continue;
		}
		if (macro_depth(t) > MAX_MACRO_DEPTH) {
			p1_error_at(s, t, t->loc, NULL, "macro '@%s' expands too deeply (recursive?)", m->name);
			/* expand nothing more in this file: a recursive macro
			 * would report this once per branch of its expansion */
			pp->budget = -2;
			t = placeholder(t, t->next);
			continue;
		}
		Args args = {0};
		Token *rest = t->next;
		if (m->nparams > 0) {
			if (!tok_is(t->next, "(")) {
				p1_error_at(s, t->next, t->next->loc, NULL,
					    "expected '(' in invocation of macro '@%s' taking %d parameter%s",
					    m->name, m->nparams, m->nparams == 1 ? "" : "s");
				t = placeholder(t, t->next);
				continue;
			}
			rest = collect_args(pp, t, m, &args);
			if (rest && args.n < 0) {
				t = placeholder(t, rest);
				continue;
			}
			if (!rest) {
				/* skip the rest of the file: the invocation never ends */
				while (t->kind != TK_EOF)
					t = t->next;
				continue;
			}
		}
		t = expand_body(m, t, &args, rest, &pp->budget);
	}
	tail->next = NULL;
	return head.next;
}

/* -------------------------------------------------------- kernel config */

static void config_put(PPCache *c, const char *name, size_t nlen, const char *value, size_t vlen)
{
	if (c->config_cap == 0) {
		c->config_cap = 16384;
		c->config_names = xcalloc(c->config_cap, sizeof(char *));
		c->config_values = xcalloc(c->config_cap, sizeof(char *));
	}
	size_t i = hash64(name, nlen, 0) & (c->config_cap - 1);
	for (size_t probes = 0; probes < c->config_cap; probes++, i = (i + 1) & (c->config_cap - 1)) {
		if (!c->config_names[i]) {
			c->config_names[i] = xstrndup(name, nlen);
			c->config_values[i] = xstrndup(value, vlen);
			return;
		}
		if (strlen(c->config_names[i]) == nlen && memcmp(c->config_names[i], name, nlen) == 0)
			return;
	}
}

static const char *config_get(PPCache *c, const char *name)
{
	if (c->config_cap == 0)
		return "";
	size_t i = hash64(name, strlen(name), 0) & (c->config_cap - 1);
	for (size_t probes = 0; probes < c->config_cap; probes++, i = (i + 1) & (c->config_cap - 1)) {
		if (!c->config_names[i])
			return "";
		if (strcmp(c->config_names[i], name) == 0)
			return c->config_values[i];
	}
	return "";
}

/* Read a kernel .config (plain or gzip: gzread reads both). */
static char *read_config_text(const char *path)
{
	gzFile gz = gzopen(path, "rb");
	if (!gz)
		return NULL;
	StrBuf b = {0};
	char chunk[65536];
	int n;
	while ((n = gzread(gz, chunk, sizeof chunk)) > 0)
		sb_putn(&b, chunk, (size_t)n);
	gzclose(gz);
	return sb_steal(&b);
}

static void load_kernel_config(Session *s, PPCache *c)
{
	c->config_loaded = true;
	struct utsname u;
	bool running = uname(&u) == 0 && s->kernel_release && strcmp(u.release, s->kernel_release) == 0;
	char *boot = xasprintf("/boot/config-%s", s->kernel_release ? s->kernel_release : u.release);
	const char *paths[] = {
		s->kernel_config_path,
		running ? "/proc/config.gz" : NULL,
		boot,
	};
	char *text = NULL;
	for (size_t i = 0; i < sizeof paths / sizeof paths[0] && !text; i++)
		if (paths[i])
			text = read_config_text(paths[i]);
	free(boot);
	if (!text)
		return;
	for (char *line = text; *line;) {
		char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char *eq = memchr(line, '=', len);
		if (strncmp(line, "CONFIG_", 7) == 0 && eq)
			config_put(c, line, (size_t)(eq - line), eq + 1, len - (size_t)(eq - line) - 1);
		line += len + (end ? 1 : 0);
	}
	free(text);
}

/* ----------------------------------------------------------- conditions */

static const char cond_expected[] =
	"expected 'arch', 'kernel_v', 'kernel_vr', 'systemtap_v',\n"
	"             'runtime', 'systemtap_privilege', 'CONFIG_...', or\n"
	"             comparison between strings or integers";

typedef struct Cond {
	PP *pp;
	Token *t;     /* the next token */
	bool failed;
} Cond;

static int compare_result(const char *op, int cmp)
{
	if (strcmp(op, "==") == 0) return cmp == 0;
	if (strcmp(op, "!=") == 0) return cmp != 0;
	if (strcmp(op, "<") == 0) return cmp < 0;
	if (strcmp(op, "<=") == 0) return cmp <= 0;
	if (strcmp(op, ">") == 0) return cmp > 0;
	return cmp >= 0; /* ">=" */
}

static bool is_compare_op(const Token *t)
{
	static const char *const ops[] = { "==", "!=", "<", "<=", ">", ">=", NULL };
	if (t->kind != TK_OP)
		return false;
	for (int i = 0; ops[i]; i++)
		if (strcmp(t->text, ops[i]) == 0)
			return true;
	return false;
}

static bool has_wildcard(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static void cond_fail(Cond *c, const Token *t, const char *msg)
{
	if (!c->failed)
		p1_error_at(c->pp->s, t, t->loc, NULL, "%s", msg);
	c->failed = true;
}

/* A number literal, possibly negated. */
static bool cond_number(Cond *c, int64_t *v)
{
	bool neg = tok_is(c->t, "-");
	Token *t = neg ? c->t->next : c->t;
	if (t->kind != TK_NUMBER)
		return false;
	*v = neg ? (int64_t)(0 - (uint64_t)t->num) : t->num;
	c->t = t->next;
	return true;
}

static const char *cond_string(Cond *c)
{
	if (c->t->kind != TK_STRING) {
		cond_fail(c, c->t, "expected string literal");
		return "";
	}
	const char *v = c->t->text;
	c->t = c->t->next;
	return v;
}

static bool eval_version(Cond *c, const char *op, const char *have)
{
	const char *want = cond_string(c);
	bool eq = strcmp(op, "==") == 0, ne = strcmp(op, "!=") == 0;
	if ((eq || ne) && has_wildcard(want))
		return (fnmatch(want, have, 0) == 0) == eq;
	return compare_result(op, strverscmp(have, want));
}

static bool eval_glob(Cond *c, const Token *optok, const char *have)
{
	const char *op = optok->text;
	if (strcmp(op, "==") != 0 && strcmp(op, "!=") != 0) {
		cond_fail(c, optok, "expected '==' or '!='");
		return false;
	}
	const char *want = cond_string(c);
	return (fnmatch(want, have, 0) == 0) == (op[0] == '=');
}

static bool eval_number_rhs(Cond *c, const char *op, int64_t have)
{
	int64_t want;
	if (!cond_number(c, &want)) {
		cond_fail(c, c->t, "expected number");
		return false;
	}
	return compare_result(op, have < want ? -1 : have > want);
}

static char *kernel_v(const char *release)
{
	size_t n = strcspn(release, "-");
	return xstrndup(release, n);
}

/* test -> see the grammar at the top of this file */
static bool eval_test(Cond *c)
{
	Session *s = c->pp->s;
	Token *lhs = c->t;
	int64_t num;
	if (lhs->kind == TK_STRING || lhs->kind == TK_NUMBER || tok_is(lhs, "-")) {
		bool is_str = lhs->kind == TK_STRING;
		if (is_str)
			c->t = lhs->next;
		else
			cond_number(c, &num);
		Token *op = c->t;
		if (!is_compare_op(op)) {
			cond_fail(c, op, "expected comparison operator");
			return false;
		}
		c->t = op->next;
		if (!is_str)
			return eval_number_rhs(c, op->text, num);
		return compare_result(op->text, strcmp(lhs->text, cond_string(c)));
	}
	if (lhs->kind != TK_IDENT) {
		cond_fail(c, lhs, cond_expected);
		return false;
	}
	const char *name = lhs->text;
	Token *op = lhs->next;
	bool known = strcmp(name, "kernel_v") == 0 || strcmp(name, "kernel_vr") == 0 ||
		     strcmp(name, "systemtap_v") == 0 || strcmp(name, "arch") == 0 ||
		     strcmp(name, "runtime") == 0 || strcmp(name, "systemtap_privilege") == 0 ||
		     strcmp(name, "guru_mode") == 0 || strncmp(name, "CONFIG_", 7) == 0;
	if (!known) {
		cond_fail(c, lhs, cond_expected);
		return false;
	}
	if (!is_compare_op(op)) {
		cond_fail(c, op, "expected comparison operator");
		return false;
	}
	c->t = op->next;
	const char *release = s->kernel_release ? s->kernel_release : "";
	if (strcmp(name, "kernel_vr") == 0)
		return eval_version(c, op->text, release);
	if (strcmp(name, "kernel_v") == 0) {
		char *v = kernel_v(release);
		bool r = eval_version(c, op->text, v);
		free(v);
		return r;
	}
	if (strcmp(name, "systemtap_v") == 0)
		return eval_version(c, op->text, STAP_LANG_VERSION);
	if (strcmp(name, "arch") == 0)
		return eval_glob(c, op, s->arch ? s->arch : "");
	if (strcmp(name, "runtime") == 0)
		return eval_glob(c, op, "kernel");
	if (strcmp(name, "systemtap_privilege") == 0)
		return eval_glob(c, op, s->privilege ? s->privilege : "stapdev");
	if (strcmp(name, "guru_mode") == 0)
		return eval_number_rhs(c, op->text, s->guru ? 1 : 0);
	/* CONFIG_... */
	PPCache *cache = pp_cache(s);
	if (!cache->config_loaded)
		load_kernel_config(s, cache);
	const char *value = config_get(cache, name);
	if (c->t->kind == TK_NUMBER || tok_is(c->t, "-"))
		return eval_number_rhs(c, op->text, strtoll(value, NULL, 0));
	return eval_glob(c, op, value);
}

/* conj -> test { '&&' test } ; cond -> conj { '||' conj } */
static bool eval_cond(Cond *c)
{
	bool any = false;
	for (;;) {
		bool all = true;
		for (;;) {
			all = eval_test(c) && all;
			if (c->failed || !tok_is(c->t, "&&"))
				break;
			c->t = c->t->next;
		}
		any = any || all;
		if (c->failed || !tok_is(c->t, "||"))
			return any;
		c->t = c->t->next;
	}
}

/* ------------------------------------------------------- conditionals */

/* From the token after "%?": split into the true and false branches and
 * return the token after the closing "%)", or NULL at the end of input
 * (then *eof is the end token). */
static Token *split_branches(Token *t, Token **yes, Token **no, Token **eof)
{
	Token yes_head = {0}, no_head = {0};
	Token *tail = &yes_head;
	bool in_else = false;
	int depth = 0;
	for (; t->kind != TK_EOF; t = t->next) {
		if (is_pp(t, "%(")) {
			depth++;
		} else if (depth == 0 && is_pp(t, "%:") && !in_else) {
			tail->next = NULL;
			tail = &no_head;
			in_else = true;
			continue;
		} else if (is_pp(t, "%)") && depth-- == 0) {
			tail->next = NULL;
			*yes = yes_head.next;
			*no = no_head.next;
			return t->next;
		}
		tail = tail->next = t;
	}
	*eof = t;
	return NULL;
}

/* t is a "%(": evaluate the conditional and return the stream that
 * follows it: the kept branch, then the tokens after "%)". */
static Token *resolve_conditional(PP *pp, Token *t)
{
	Cond c = { pp, t->next, false };
	bool value = eval_cond(&c);
	if (!c.failed && !is_pp(c.t, "%?"))
		cond_fail(&c, c.t, "expected '%?' marker for conditional");
	Token *start = c.t;
	if (c.failed) {
		/* skip to the "%?" so the branches still pair up */
		while (start->kind != TK_EOF && !is_pp(start, "%?"))
			start = start->next;
	}
	Token *yes = NULL, *no = NULL, *eof = start;
	Token *after = start->kind == TK_EOF ? NULL : split_branches(start->next, &yes, &no, &eof);
	if (!after) {
		p1_error_at(pp->s, t, t->loc, NULL, "incomplete conditional at end of file");
		return eof;
	}
	Token *kept = c.failed ? NULL : value ? yes : no;
	if (!kept)
		return after;
	Token *last = kept;
	while (last->next)
		last = last->next;
	last->next = after;
	return kept;
}

/* Sweep 2: keep one branch of each conditional.  The kept branch is put
 * back into the stream, so its own conditionals are handled in turn. */
static Token *eval_conditionals(PP *pp, Token *toks)
{
	Token head = {0}, *tail = &head;
	Token *t = toks;
	while (t) {
		if (t->kind != TK_PP) {
			Token *next = t->next;
			tail = tail->next = t;
			t = next;
		} else if (is_pp(t, "%(")) {
			t = resolve_conditional(pp, t);
		} else {
			p1_error_at(pp->s, t, t->loc, NULL, "incomplete conditional - missing '%%('");
			t = t->next;
		}
	}
	tail->next = NULL;
	return head.next;
}

/* ------------------------------------------------------ library macros */

static void load_macro_file(Session *s, const char *path)
{
	size_t len;
	char *text = read_file(path, &len);
	if (!text)
		return;
	SrcFile *f = session_add_file(s, path, text, len, true);
	PP pp = { s, f, true, MAX_MACRO_TOKENS };
	/* definitions, possibly inside conditionals that choose them; the
	 * bodies are kept as written (their %( %) are evaluated where used) */
	Token *t = lex(s, f);
	while (t->kind != TK_EOF) {
		if (t->kind == TK_AT && strcmp(t->text, "@define") == 0) {
			t = define_macro(&pp, t);
		} else if (is_pp(t, "%(")) {
			t = resolve_conditional(&pp, t);
		} else {
			p1_error_saw(s, t, "unexpected token in library macro file (only @define is allowed)");
			return;
		}
	}
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load *.stpm files of dir and its subdirectories (sorted, for stable
 * error order). */
static void load_macro_dir(Session *s, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	Vec names = {0};
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			vec_push(&names, xstrdup(e->d_name));
	closedir(d);
	qsort(names.data, (size_t)names.len, sizeof(char *), compare_names);
	for (int i = 0; i < names.len; i++) {
		char *name = VEC_AT(&names, i);
		char *path = xasprintf("%s/%s", dir, name);
		size_t n = strlen(name);
		struct stat st;
		if (n > 5 && strcmp(name + n - 5, ".stpm") == 0)
			load_macro_file(s, path);
		else if (depth < 3 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			load_macro_dir(s, path, depth + 1);
		free(path);
		free(name);
	}
	free(names.data);
}

static void load_library_macros(Session *s)
{
	PPCache *c = pp_cache(s);
	if (c->library_loaded)
		return;
	c->library_loaded = true;
	for (int i = 0; i < s->tapset_dirs.len; i++)
		load_macro_dir(s, VEC_AT(&s->tapset_dirs, i), 0);
}

Token *preprocess(Session *s, Token *toks)
{
	if (!toks)
		return toks;
	load_library_macros(s);
	Token *end = toks;
	while (end->kind != TK_EOF)
		end = end->next;
	PP pp = { s, end->loc.file, false, MAX_MACRO_TOKENS };
	toks = expand_macros(&pp, toks);
	toks = eval_conditionals(&pp, toks);
	return toks;
}
