/* listing.c - stap -l PATTERN and stap -L PATTERN.
 *
 * The pattern is a probe point with wildcards: kernel.trace("sched:*"),
 * kernel.function("vfs_*").return, process("ls").function("*").  Each
 * kernel-side provider whose name matches the first component resolves it
 * quietly (nothing matching is no error here); the language side adds
 * aliases and the basic families through elab_list_aliases().  Lines are
 * sorted and printed once each; with -L every line carries its context
 * variables, " $name:type", in the order the event defines them.
 *
 * Exit status as stap's: 0 when something was listed, 1 when nothing was.
 */
#include "elab/kernel.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

const Provider *const kernel_side_providers[] = {
	&provider_kernel, &provider_module, &provider_perf, &provider_process, &provider_procfs,
	&provider_netfilter, NULL,
};

/* ---- the pattern: name[(arg)] { . name[(arg)] } [?|!] */

static SrcFile pattern_file = { .name = "<pattern>" };

static Expr *pattern_arg(const char **p, const char *start)
{
	const char *s = *p;
	Expr *e = xcalloc(1, sizeof *e);
	e->loc = (SrcLoc){ &pattern_file, 1, (int)(s - start) + 1 };
	if (*s == '"') {
		StrBuf b = { 0 };
		for (s++; *s && *s != '"'; s++) {
			if (*s == '\\' && s[1])
				s++;
			sb_putc(&b, *s);
		}
		if (*s != '"') {
			free(b.s);
			free(e);
			return NULL;
		}
		e->kind = E_STR;
		e->str = sb_steal(&b);
		e->len = strlen(e->str);
		*p = s + 1;
		return e;
	}
	char *end;
	bool neg = *s == '-';
	e->kind = E_NUM;
	e->num = (int64_t)strtoull(neg ? s + 1 : s, &end, 0);
	if (neg)
		e->num = -e->num;
	if (end == s || end == s + neg) {
		free(e);
		return NULL;
	}
	*p = end;
	return e;
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '*' || c == '?' || c == '[' || c == ']';
}

/* NULL (with an error printed) if the text is no probe point. */
static ProbePoint *parse_pattern(Session *s, const char *text)
{
	ProbePoint *pt = xcalloc(1, sizeof *pt);
	const char *p = text;
	/* so that errors show the pattern as their source line */
	free(pattern_file.text);
	pattern_file.text = xstrdup(text);
	pattern_file.len = strlen(text);
	int cap = 0;
	for (;;) {
		const char *start = p;
		while (name_char(*p))
			p++;
		if (p == start)
			goto bad;
		if (pt->ncomps == cap) {
			cap = cap ? cap * 2 : 4;
			pt->comps = xrealloc(pt->comps, (size_t)cap * sizeof(PointComp));
		}
		PointComp *c = &pt->comps[pt->ncomps++];
		*c = (PointComp){ .name = xstrndup(start, (size_t)(p - start)),
				  .loc = { &pattern_file, 1, (int)(start - text) + 1 } };
		if (*p == '(') {
			p++;
			c->arg = pattern_arg(&p, text);
			if (!c->arg || *p != ')')
				goto bad;
			p++;
		}
		if (*p != '.')
			break;
		p++;
	}
	if (*p == '?')
		pt->optional = true, p++;
	else if (*p == '!')
		pt->sufficient = true, p++;
	if (*p)
		goto bad;
	pt->loc = pt->comps[0].loc;
	return pt;
bad:
	diag_fatal(s, "invalid probe point pattern '%s' at column %d", text, (int)(p - text) + 1);
	return NULL;
}

/* ---- lines */

static char *line_with_vars(Session *s, const Provider *prov, const Resolved *r)
{
	StrBuf b = { 0 };
	sb_puts(&b, r->pp);
	list_target_vars(s, prov, r, &b);
	return sb_steal(&b);
}

void list_target_vars(Session *s, const Provider *prov, const Resolved *r, StrBuf *b)
{
	if (!prov)
		return;
	Vec names = { 0 }, accesses = { 0 };
	if (prov->target_list)
		prov->target_list(s, r, &names, &accesses);
	for (int i = 0; i < names.len; i++) {
		TargetAccess *ta = VEC_AT(&accesses, i);
		char *ty = r->kind == PK_TRACEPOINT ? kernel_stap_spelling(ta->c_type) : xstrdup(ta->c_type);
		sb_printf(b, " $%s:%s", (char *)VEC_AT(&names, i), ty);
		free(ty);
		free(VEC_AT(&names, i));
		kernel_free_access(ta);
	}
	free(names.data);
	free(accesses.data);
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_pattern(ProbePoint *pt)
{
	for (int i = 0; i < pt->ncomps; i++) {
		free(pt->comps[i].name);
		if (pt->comps[i].arg)
			free(pt->comps[i].arg->str);
		free(pt->comps[i].arg);
	}
	free(pt->comps);
	free(pt);
}

int list_probes(Session *s, const char *pattern, bool verbose)
{
	ProbePoint *pt = parse_pattern(s, pattern);
	if (!pt)
		return 1;
	bool was_listing = s->listing_mode;
	s->listing_mode = true;
	Vec lines = { 0 };
	if (elab_list_aliases)
		elab_list_aliases(s, pattern, verbose, &lines);
	pt->optional = true;
	int errors = s->errors;
	for (int i = 0; kernel_side_providers[i]; i++) {
		const Provider *prov = kernel_side_providers[i];
		if (!kernel_glob(pt->comps[0].name, prov->name))
			continue;
		/* a wildcard family ("*") has no arguments to resolve against */
		if (strcmp(pt->comps[0].name, prov->name) != 0 && pt->ncomps == 1)
			continue;
		ProbePoint named = *pt;
		PointComp first = pt->comps[0];
		first.name = (char *)prov->name;
		PointComp *comps = xmalloc((size_t)pt->ncomps * sizeof(PointComp));
		memcpy(comps, pt->comps, (size_t)pt->ncomps * sizeof(PointComp));
		comps[0] = first;
		named.comps = comps;
		Vec rs = { 0 };
		if (prov->resolve(s, &named, &rs) > 0)
			for (int k = 0; k < rs.len; k++) {
				Resolved *r = VEC_AT(&rs, k);
				vec_push(&lines, verbose ? line_with_vars(s, prov, r) : xstrdup(r->pp));
			}
		kernel_free_resolved(&rs);
		free(comps);
	}
	s->listing_mode = was_listing;
	if (lines.len)
		qsort(lines.data, (size_t)lines.len, sizeof(char *), cmp_line);
	StrBuf out = { 0 };
	int printed = 0;
	for (int i = 0; i < lines.len; i++) {
		char *line = VEC_AT(&lines, i);
		if (i == 0 || strcmp(line, VEC_AT(&lines, i - 1)) != 0) {
			sb_puts(&out, line);
			sb_putc(&out, '\n');
			printed++;
		}
	}
	for (int i = 0; i < lines.len; i++)
		free(VEC_AT(&lines, i));
	free(lines.data);
	if (out.len)
		fwrite(out.s, 1, out.len, stdout);
	free(out.s);
	free_pattern(pt);
	return printed && s->errors == errors ? 0 : 1;
}
