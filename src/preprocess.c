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
 * Both sweeps run on demand: the parser asks pp_next for a token, the
 * conditional sweep asks the macro sweep, which asks the lexer.  Neither
 * looks further ahead than the construct in hand (a definition, a macro's
 * arguments, one conditional), so no token list of the whole file is made
 * and token memory is recycled.  preprocess() runs the same stages over a
 * token list.
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
	const char *at_name; /* "@NAME", interned: found by pointer, as @ tokens are interned */
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

/* The two sweeps over one source.  Tokens travel one at a time; the
 * queues hold what a sweep has read ahead or made and must read next. */
struct PPStream {
	PP pp;
	Lexer *lx;          /* the source: a lexer, or ... */
	Token *list;        /* ... the rest of a token list */
	Token *pending;     /* read by the macro sweep before the source: expansions, put-back tokens */
	Token *kept;        /* read by the conditional sweep before the macro sweep: kept branches */
	bool recycle;       /* tokens dropped here go back to the pool (lexer source) */
};

static PPCache *pp_cache(Session *s)
{
	if (!s->kernel_config)
		s->kernel_config = xcalloc(1, sizeof(PPCache));
	return s->kernel_config;
}

static Token *copy_token(const Token *t)
{
	Token *c = token_new();
	*c = *t;
	c->next = NULL;
	return c;
}

/* A copy that lives as long as the arena: macro bodies, the definition's
 * name, and the @NAME tokens that expanded tokens point back to. */
static Token *keep_token(const Token *t)
{
	Token *c = arena_alloc(sizeof *c);
	*c = *t;
	c->next = NULL;
	return c;
}

static void drop_token(PPStream *ps, Token *t)
{
	if (ps->recycle)
		token_free(t);
}

static bool is_pp(const Token *t, const char *text)
{
	return t->kind == TK_PP && t->text[1] == text[1];
}

/* Pop the first token of a queue. */
static Token *pop(Token **queue)
{
	Token *t = *queue;
	*queue = t->next;
	t->next = NULL;
	return t;
}

/* Push a NULL-terminated list (or one token) in front of a queue. */
static void push_front(Token **queue, Token *list)
{
	if (!list)
		return;
	Token *last = list;
	while (last->next)
		last = last->next;
	last->next = *queue;
	*queue = list;
}

static void unread(PPStream *ps, Token *t)
{
	t->next = ps->pending;
	ps->pending = t;
}

/* The next token as written (or as an expansion made it), before macro
 * processing.  At the end of a list the same TK_EOF comes again. */
static Token *raw_next(PPStream *ps)
{
	if (ps->pending)
		return pop(&ps->pending);
	if (ps->lx)
		return lexer_next(ps->lx); /* its errors go to stage P1_LEX */
	Token *t = ps->list;
	if (t->kind != TK_EOF) {
		ps->list = t->next;
		t->next = NULL;
	}
	return t;
}

/* --------------------------------------------------------------- macros */

/* The macro that @NAME (at_name, interned) calls in file. */
static Macro *find_macro(Session *s, SrcFile *file, const char *at_name)
{
	Macro *found = NULL;
	for (int i = 0; i < s->macros.len; i++) {
		Macro *m = VEC_AT(&s->macros, i);
		if (m->at_name != at_name)
			continue;
		if (m->file == file)
			return m;
		if (!m->file)
			found = m;
	}
	return found;
}

/* After "%(": kept copies of the tokens up to the matching "%)", which is
 * consumed.  False at the end of input (the TK_EOF is put back). */
static bool collect_until_close(PPStream *ps, Token **body)
{
	Token head = {0}, *tail = &head;
	int depth = 0;
	for (;;) {
		Token *t = raw_next(ps);
		if (t->kind == TK_EOF) {
			unread(ps, t);
			return false;
		}
		if (is_pp(t, "%("))
			depth++;
		else if (is_pp(t, "%)") && depth-- == 0) {
			drop_token(ps, t);
			*body = head.next;
			return true;
		}
		tail = tail->next = keep_token(t);
		drop_token(ps, t);
	}
}

/* "@define" NAME [ '(' a { ',' b } ')' ] "%(" BODY "%)"
 * The @define token has been read.  At an error, the token that is not
 * what was expected is put back, to be read as ordinary input. */
static void define_macro(PPStream *ps)
{
	PP *pp = &ps->pp;
	Session *s = pp->s;
	Token *name = raw_next(ps);
	if (name->kind != TK_IDENT) {
		p1_error_at(s, name, name->loc, NULL, "expected identifier");
		unread(ps, name);
		return;
	}
	Macro *m = arena_alloc(sizeof *m);
	m->name = name->text;
	char *at_name = xasprintf("@%s", name->text);
	m->at_name = intern(at_name, strlen(at_name));
	free(at_name);
	m->where = keep_token(name);
	m->file = pp->library ? NULL : pp->file;
	drop_token(ps, name);
	Token *p = raw_next(ps);
	if (tok_is(p, "(") && !p->space_before) {
		Vec params = {0};
		drop_token(ps, p);
		p = raw_next(ps);
		while (p->kind == TK_IDENT) {
			vec_push(&params, p->text);
			drop_token(ps, p);
			p = raw_next(ps);
			if (!tok_is(p, ","))
				break;
			drop_token(ps, p);
			p = raw_next(ps);
		}
		if (!tok_is(p, ")")) {
			p1_error_at(s, p, p->loc, NULL, "expected ')' or ',' in parameter list of macro '@%s'",
				    m->name);
			free(params.data);
			unread(ps, p);
			return;
		}
		m->nparams = params.len;
		m->params = arena_alloc(sizeof(char *) * (size_t)(params.len + 1));
		for (int i = 0; i < params.len; i++)
			m->params[i] = VEC_AT(&params, i);
		free(params.data);
		drop_token(ps, p);
		p = raw_next(ps);
	}
	if (!is_pp(p, "%(")) {
		p1_error_at(s, p, p->loc, NULL, "expected '%%('");
		unread(ps, p);
		return;
	}
	if (!collect_until_close(ps, &m->body)) {
		p1_error_at(s, p, p->loc, NULL, "could not find matching closing '%%)' for macro '@%s'",
			    m->name);
		drop_token(ps, p);
		return;
	}
	drop_token(ps, p);
	Macro *old = find_macro(s, m->file, m->at_name);
	if (old && old->file == m->file) {
		p1_error_at(s, m->where, m->where->loc, NULL,
			    "attempt to redefine macro '@%s' in the same file", m->name);
		p1_error_at(s, old->where, old->where->loc, NULL, "macro '@%s' first defined here",
			    m->name);
		return;
	}
	vec_push(&s->macros, m);
}

static int macro_depth(const Token *t)
{
	int n = 0;
	for (; t; t = t->macro_call)
		n++;
	return n;
}

typedef struct Args {
	Token **first; /* each a NULL-terminated list */
	int n;
} Args;

/* Read on to the ')' that closes an invocation (t, already read, is inside
 * it at bracket depth `depth`), consuming it; a TK_EOF is put back. */
static void skip_to_close(PPStream *ps, Token *t, int depth)
{
	for (;; t = raw_next(ps)) {
		if (t->kind == TK_EOF) {
			unread(ps, t);
			return;
		}
		if (tok_is(t, "(") || tok_is(t, "[") || tok_is(t, "{"))
			depth++;
		else if ((tok_is(t, ")") || tok_is(t, "]") || tok_is(t, "}")) && depth-- == 0) {
			drop_token(ps, t);
			return;
		}
		drop_token(ps, t);
	}
}

/* '(' arg { ',' arg } ')' after a macro name (the '(' has been read);
 * args are token runs with balanced brackets.  Returns false when the
 * invocation never ends (reported); args->n is -1 after a reported
 * error in the arguments. */
static bool collect_args(PPStream *ps, const Token *call, const Macro *m, Args *args)
{
	PP *pp = &ps->pp;
	args->first = arena_alloc(sizeof(Token *) * (size_t)(m->nparams + 1));
	args->n = 0;
	Token head = {0}, *tail = &head;
	int depth = 0;
	Token *t = raw_next(ps);
	bool empty_call = tok_is(t, ")");
	for (; t->kind != TK_EOF; t = raw_next(ps)) {
		bool opener = tok_is(t, "(") || tok_is(t, "[") || tok_is(t, "{");
		bool closer = tok_is(t, ")") || tok_is(t, "]") || tok_is(t, "}");
		if (depth == 0 && (tok_is(t, ",") || tok_is(t, ")"))) {
			bool is_close = tok_is(t, ")");
			if (!(empty_call && m->nparams == 0)) {
				int total = args->n + (is_close ? 1 : 2);
				if (total > m->nparams) {
					p1_error_at(pp->s, t, t->loc, NULL,
						    "too many parameters for macro '@%s' (expected %d)",
						    m->name, m->nparams);
					args->n = -1;
					skip_to_close(ps, t, depth);
					return true;
				}
				args->first[args->n++] = head.next;
			}
			head.next = NULL;
			tail = &head;
			if (is_close) {
				if (args->n < m->nparams) {
					p1_error_at(pp->s, t, t->loc, NULL,
						    "too few parameters for macro '@%s' (expected %d)",
						    m->name, m->nparams);
					args->n = -1;
				}
				drop_token(ps, t);
				return true;
			}
			drop_token(ps, t);
			continue;
		}
		depth += opener ? 1 : closer ? -1 : 0;
		if (depth < 0)
			break;
		tail = tail->next = t;
	}
	p1_error_at(pp->s, call, call->loc, NULL, "could not find end of macro invocation");
	/* the rest of the file goes: the invocation never ends */
	if (t->kind != TK_EOF) {
		drop_token(ps, t);
		while ((t = raw_next(ps))->kind != TK_EOF)
			drop_token(ps, t);
	}
	unread(ps, t);
	return false;
}

/* Copy macro m's body for the invocation `call` (a kept token), with
 * parameters replaced.  Returns the copy, a NULL-terminated list. */
static Token *expand_body(const Macro *m, Token *call, const Args *args, long *budget)
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
			tail->macro_call = call;
			made++;
			continue;
		}
		for (const Token *a = args->first[param]; a; a = a->next, made++)
			tail = tail->next = copy_token(a);
	}
	*budget -= made + 1;
	return head.next;
}

static void drop_args(PPStream *ps, Args *args)
{
	for (int i = 0; i < args->n; i++)
		for (Token *a = args->first[i], *next; a; a = next) {
			next = a->next;
			drop_token(ps, a);
		}
}

/* ------------------------------------------------------ script arguments */

/* $N, @N, $#, @# -> their tokens (a NULL-terminated list). */
static Token *substitute_arg(PP *pp, Token *t)
{
	Session *s = pp->s;
	int nargs = s->script_args.len;
	bool as_string = t->text[0] == '@';
	Token *r = copy_token(t);
	if (t->text[1] == '#') {
		char buf[24];
		int n = snprintf(buf, sizeof buf, "%d", nargs);
		r->kind = as_string ? TK_STRING : TK_NUMBER;
		r->text = arena_strndup(buf, (size_t)n);
		r->len = (size_t)n;
		r->num = as_string ? 0 : nargs;
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
	token_free(r);
	Token *toks = lex_fragment(s, arg, t->loc);
	Token head = {0}, *tail = &head;
	for (Token *a = toks; a->kind != TK_EOF; a = a->next) {
		tail = tail->next = a;
		a->macro_call = t->macro_call;
		a->space_before = a == toks ? t->space_before : true;
	}
	tail->next = NULL;
	return head.next;
}

/* A number 0 in place of a macro invocation that failed (and was
 * reported), so that the parser does not complain about the gap too. */
static Token *placeholder(const Token *call)
{
	Token *z = copy_token(call);
	z->kind = TK_NUMBER;
	z->text = "0";
	z->len = 1;
	z->num = 0;
	return z;
}

/* Expand the invocation of m at `call` (read, not yet dropped): the
 * expansion goes in front of the pending tokens.  Returns a placeholder
 * to hand on instead, or NULL. */
static Token *invoke_macro(PPStream *ps, Token *call, const Macro *m)
{
	PP *pp = &ps->pp;
	Args args = {0};
	if (m->nparams > 0) {
		Token *open = raw_next(ps);
		if (!tok_is(open, "(")) {
			p1_error_at(pp->s, open, open->loc, NULL,
				    "expected '(' in invocation of macro '@%s' taking %d parameter%s",
				    m->name, m->nparams, m->nparams == 1 ? "" : "s");
			unread(ps, open);
			return placeholder(call);
		}
		drop_token(ps, open);
		if (!collect_args(ps, call, m, &args))
			return NULL;
		if (args.n < 0)
			return placeholder(call);
	}
	Token *expansion = expand_body(m, keep_token(call), &args, &pp->budget);
	drop_args(ps, &args);
	push_front(&ps->pending, expansion);
	return NULL;
}

/* Sweep 1: definitions, invocations and script arguments; the next
 * token after them. */
static Token *macro_next(PPStream *ps)
{
	PP *pp = &ps->pp;
	Session *s = pp->s;
	for (;;) {
		Token *t = raw_next(ps);
		if (t->kind == TK_ARG) {
			push_front(&ps->pending, substitute_arg(pp, t));
			drop_token(ps, t);
			continue;
		}
		if (t->kind != TK_AT)
			return t;
		if (t->len == 7 && memcmp(t->text, "@define", 7) == 0) {
			drop_token(ps, t);
			define_macro(ps);
			continue;
		}
		const Macro *m = find_macro(s, pp->file, t->text);
		if (!m)
			return t;
		Token *instead;
		if (pp->budget < 0) {
			/* a macro that doubles itself would expand for ever */
			if (pp->budget != -2)
				p1_error_at(s, t, t->loc, NULL, "macro expansion makes more than %d tokens",
					    MAX_MACRO_TOKENS);
			pp->budget = -2;
			instead = placeholder(t);
		} else if (macro_depth(t) > MAX_MACRO_DEPTH) {
			p1_error_at(s, t, t->loc, NULL, "macro '@%s' expands too deeply (recursive?)", m->name);
			/* expand nothing more in this file: a recursive macro
			 * would report this once per branch of its expansion */
			pp->budget = -2;
			instead = placeholder(t);
		} else {
			instead = invoke_macro(ps, t, m);
		}
		drop_token(ps, t);
		if (instead)
			return instead;
	}
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
	int64_t num = 0;
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

/* From the token after "%?": split into the true and false branches
 * (NULL-terminated lists).  False when there is no closing "%)" (then
 * *eof is the end token). */
static bool split_branches(Token *t, Token **yes, Token **no, Token **eof)
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
			return true;
		}
		tail = tail->next = t;
	}
	*eof = t;
	return false;
}

/* t is a "%(" heading a linked run of tokens that ends with its "%)", or
 * with TK_EOF.  Evaluate the conditional; return the tokens to read in
 * its place: the kept branch (a NULL-terminated list, perhaps empty), or
 * the TK_EOF when the conditional never ends. */
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
	if (start->kind == TK_EOF || !split_branches(start->next, &yes, &no, &eof)) {
		p1_error_at(pp->s, t, t->loc, NULL, "incomplete conditional at end of file");
		eof->next = NULL;
		return eof;
	}
	return c.failed ? NULL : value ? yes : no;
}

/* Read a whole conditional: from the "%(" t (already read) through the
 * first "%?", then to the matching "%)" or the end of input.  The tokens
 * are linked behind t. */
static void read_conditional(PPStream *ps, Token *t, Token *(*read)(PPStream *))
{
	bool in_branches = false;
	int depth = 0;
	while (t->kind != TK_EOF) {
		Token *next = read(ps);
		t = t->next = next;
		if (!in_branches) {
			in_branches = is_pp(t, "%?");
		} else if (is_pp(t, "%(")) {
			depth++;
		} else if (is_pp(t, "%)") && depth-- == 0) {
			break;
		}
	}
	t->next = NULL;
}

/* Replace the conditional at t (its tokens linked behind it) by what
 * it keeps; recycled tokens are copied out and the conditional freed. */
static Token *conditional(PPStream *ps, Token *t)
{
	if (!ps->recycle)
		return resolve_conditional(&ps->pp, t);
	/* resolving relinks the tokens: note them all first (most
	 * conditionals are short: no malloc for them) */
	Token *local[64], **read = local;
	size_t n = 0, cap = 64;
	for (Token *r = t; r; r = r->next) {
		if (n == cap) {
			cap *= 2;
			read = read == local ? memcpy(xmalloc(cap * sizeof *read), local, sizeof local)
					     : xrealloc(read, cap * sizeof *read);
		}
		read[n++] = r;
	}
	Token *kept = resolve_conditional(&ps->pp, t);
	Token head = {0}, *tail = &head;
	for (Token *k = kept; k; k = k->next)
		tail = tail->next = copy_token(k);
	for (size_t i = 0; i < n; i++)
		token_free(read[i]);
	if (read != local)
		free(read);
	return head.next;
}

static Token *kept_or_macro_next(PPStream *ps)
{
	if (ps->kept)
		return pop(&ps->kept);
	enum P1Stage was = p1_stage(P1_MACRO);
	Token *t = macro_next(ps);
	p1_stage(was);
	return t;
}

/* Sweep 2: keep one branch of each conditional.  The kept branch is read
 * again, so its own conditionals are handled in turn. */
static Token *cond_next(PPStream *ps)
{
	for (;;) {
		Token *t = kept_or_macro_next(ps);
		if (t->kind != TK_PP)
			return t;
		if (is_pp(t, "%(")) {
			read_conditional(ps, t, kept_or_macro_next);
			push_front(&ps->kept, conditional(ps, t));
		} else {
			p1_error_at(ps->pp.s, t, t->loc, NULL, "incomplete conditional - missing '%%('");
			drop_token(ps, t);
		}
	}
}

/* ------------------------------------------------------ library macros */

static void load_macro_file(Session *s, const char *path)
{
	size_t len;
	char *text = read_file(path, &len);
	if (!text)
		return;
	SrcFile *f = session_add_file(s, path, text, len, true);
	PPStream ps = { .pp = { s, f, true, MAX_MACRO_TOKENS }, .list = lex(s, f) };
	/* definitions, possibly inside conditionals that choose them; the
	 * bodies are kept as written (their %( %) are evaluated where used) */
	for (;;) {
		Token *t = raw_next(&ps);
		if (t->kind == TK_EOF)
			return;
		if (t->kind == TK_AT && strcmp(t->text, "@define") == 0) {
			define_macro(&ps);
		} else if (is_pp(t, "%(")) {
			read_conditional(&ps, t, raw_next);
			push_front(&ps.pending, resolve_conditional(&ps.pp, t));
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

PPStream *pp_open(Session *s, SrcFile *f, Lexer *lx, Token *toks)
{
	PPStream *ps = xcalloc(1, sizeof *ps);
	if (!f && toks) {
		Token *end = toks;
		while (end->kind != TK_EOF)
			end = end->next;
		f = end->loc.file;
	}
	ps->pp = (PP){ s, f, false, MAX_MACRO_TOKENS };
	ps->lx = lx;
	ps->list = toks;
	ps->recycle = lx != NULL;
	enum P1Stage was = p1_stage(P1_MACRO);
	load_library_macros(s);
	p1_stage(was);
	return ps;
}

/* Through both sweeps.  Kept out of line so that pp_next stays small. */
static __attribute__((noinline)) Token *swept_next(PPStream *ps)
{
	enum P1Stage was = p1_stage(P1_COND);
	Token *t = cond_next(ps);
	p1_stage(was);
	return t;
}

Token *pp_next(PPStream *ps)
{
	/* Most tokens are none of the preprocessor's business: straight
	 * through, when neither sweep has tokens in hand. */
	if (ps->lx && !ps->pending && !ps->kept) {
		Token *t = lexer_next(ps->lx);
		if (t->kind != TK_AT && t->kind != TK_ARG && t->kind != TK_PP)
			return t;
		unread(ps, t);
	}
	return swept_next(ps);
}

Token *pp_next_run(PPStream *ps)
{
	/* as pp_next, for the lexer's whole run: only its first token may
	 * be one a sweep must see (lexer_next_run) */
	if (ps->lx && !ps->pending && !ps->kept) {
		Token *run = lexer_next_run(ps->lx);
		if (!tok_swept(run))
			return run;
		lexer_unread_run(ps->lx, run);
	}
	return swept_next(ps);
}

void pp_close(PPStream *ps)
{
	free(ps);
}

Token *preprocess(Session *s, Token *toks)
{
	if (!toks)
		return toks;
	/* errors in sweep order: every macro error, then every conditional one */
	p1_hold(true);
	PPStream *ps = pp_open(s, NULL, NULL, toks);
	Token head = {0}, *tail = &head;
	do
		tail = tail->next = pp_next(ps);
	while (tail->kind != TK_EOF);
	pp_close(ps);
	p1_hold(false);
	return head.next;
}
