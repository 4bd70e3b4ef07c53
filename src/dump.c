/* dump.c - the --dump-functions and --dump-probe-aliases listings.
 *
 * Both read the whole tapset library: every file the tapset index found
 * is parsed (the index alone knows names, not signatures or alias
 * bodies).  Lines are sorted and duplicates dropped, so the listing does
 * not depend on the order of directories or files.
 *
 *   --dump-functions      NAME:TYPE (ARG:TYPE, ...), one per function,
 *                         tapset functions and the runtime's builtins
 *   --dump-probe-aliases  NAME = POINT, POINT?, one per alias definition
 *
 * Names starting with an underscore are the library's internals and are
 * left out, as are private definitions.
 */
#include "elab/elab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort, drop repeated lines, print, free. */
static void print_sorted_unique(Vec *lines)
{
	if (lines->len)
		qsort(lines->data, (size_t)lines->len, sizeof(char *), cmp_lines);
	for (int i = 0; i < lines->len; i++) {
		if (i == 0 || strcmp(lines->data[i], lines->data[i - 1]) != 0)
			printf("%s\n", (char *)lines->data[i]);
	}
	for (int i = 0; i < lines->len; i++)
		free(lines->data[i]);
	free(lines->data);
}

static const char *declared_type(Type t)
{
	return t == TY_LONG || t == TY_STRING ? type_name(t) : "unknown";
}

static char *function_line(const Func *f)
{
	StrBuf b = {0};
	sb_printf(&b, "%s:%s (", f->name, f->ret_declared ? declared_type(f->ret) : "unknown");
	for (int i = 0; i < f->nparams; i++)
		sb_printf(&b, "%s%s:%s", i ? ", " : "", f->params[i].name,
			  declared_type(f->params[i].type));
	sb_puts(&b, ")");
	return sb_steal(&b);
}

static char *builtin_line(const Builtin *bi)
{
	StrBuf b = {0};
	sb_printf(&b, "%s:%s (", bi->name, bi->ret == TY_VOID ? "unknown" : declared_type(bi->ret));
	int shown = bi->max_args < 0 ? bi->min_args : bi->max_args;
	for (int i = 0; i < shown && i < 6; i++)
		sb_printf(&b, "%sarg%d:%s", i ? ", " : "", i + 1, declared_type(bi->args[i]));
	if (bi->max_args < 0)
		sb_puts(&b, shown ? ", ..." : "...");
	sb_puts(&b, ")");
	return sb_steal(&b);
}

static char *alias_line(const Probe *p, const ProbePoint *name)
{
	StrBuf b = {0};
	unparse_point(&b, name);
	sb_puts(&b, p->alias_epilogue ? " += " : " = ");
	for (int i = 0; i < p->npoints; i++) {
		if (i)
			sb_puts(&b, ", ");
		unparse_point(&b, p->points[i]);
	}
	return sb_steal(&b);
}

static bool is_internal(const char *name)
{
	return name[0] == '_';
}

/* Parse every file of the library; NULL entries for files that fail. */
static TapsetIndex *load_library(Session *s)
{
	TapsetIndex *ix = tapset_index_build(s);
	for (int i = 0; i < ix->files.len; i++) {
		TapsetFile *tf = ix->files.data[i];
		tf->script = parse_path(s, tf->path, true);
		tf->loaded = true;
	}
	return ix;
}

int dump_functions(Session *s)
{
	TapsetIndex *ix = load_library(s);
	Vec lines = {0};
	for (int i = 0; i < ix->files.len; i++) {
		Script *sc = ((TapsetFile *)ix->files.data[i])->script;
		for (int j = 0; sc && j < sc->functions.len; j++) {
			Func *f = sc->functions.data[j];
			if (!f->is_private && !is_internal(f->name))
				vec_push(&lines, function_line(f));
		}
	}
	const char *names[512];
	int n = builtin_names(names, 512);
	for (int i = 0; i < n; i++)
		vec_push(&lines, builtin_line(builtin_lookup(names[i])));
	print_sorted_unique(&lines);
	return s->errors ? 1 : 0;
}

int dump_probe_aliases(Session *s)
{
	TapsetIndex *ix = load_library(s);
	Vec lines = {0};
	for (int i = 0; i < ix->files.len; i++) {
		Script *sc = ((TapsetFile *)ix->files.data[i])->script;
		for (int j = 0; sc && j < sc->probes.len; j++) {
			Probe *p = sc->probes.data[j];
			if (!p->is_alias || p->is_private)
				continue;
			for (int k = 0; k < p->nalias_names; k++) {
				ProbePoint *name = p->alias_names[k];
				if (name->ncomps && !is_internal(name->comps[0].name))
					vec_push(&lines, alias_line(p, name));
			}
		}
	}
	print_sorted_unique(&lines);
	return s->errors ? 1 : 0;
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* --dump-probe-types: the probe point patterns the providers accept, as
 * stap lists them (a component's argument shown as (number) or (string)). */
int dump_probe_types(Session *s)
{
	static const char *const types[] = {
		"begin", "begin(number)", "end", "end(number)", "error", "error(number)", "never",
		"kernel.function(string)", "kernel.function(string).call", "kernel.function(string).inline",
		"kernel.function(string).return", "kernel.statement(string)", "kernel.trace(string)",
		"module(string).function(string)", "module(string).function(string).call",
		"module(string).function(string).return", "perf.hw.NAME", "perf.hw.NAME.sample(number)",
		"perf.hw_cache.NAME", "perf.sw.NAME", "perf.sw.NAME.hz(number)", "perf.sw.NAME.sample(number)",
		"perf.type(number).config(number)", "perf.type(number).config(number).hz(number)",
		"perf.type(number).config(number).sample(number)", "process(number).begin",
		"process(number).end", "process(number).function(string)",
		"process(number).function(string).return", "process(number).mark(string)",
		"process(number).statement(number)", "process(number).syscall",
		"process(number).syscall.return", "process(number).thread.begin", "process(number).thread.end",
		"process(string).begin", "process(string).end", "process(string).function(string)",
		"process(string).function(string).call", "process(string).function(string).return",
		"process(string).mark(string)", "process(string).statement(number)",
		"process(string).statement(string)", "process(string).syscall",
		"process(string).syscall.return", "process(string).thread.begin",
		"process(string).thread.end", "process.begin", "process.end", "procfs(string).read",
		"procfs(string).write", "procfs.read", "procfs.write", "timer.hz(number)",
		"timer.jiffies(number)", "timer.jiffies(number).randomize(number)", "timer.ms(number)",
		"timer.ms(number).randomize(number)", "timer.msec(number)",
		"timer.msec(number).randomize(number)", "timer.ns(number)", "timer.ns(number).randomize(number)", "timer.nsec(number)",
		"timer.nsec(number).randomize(number)",
		"timer.profile", "timer.s(number)", "timer.s(number).randomize(number)", "timer.sec(number)",
		"timer.sec(number).randomize(number)", "timer.us(number)", "timer.us(number).randomize(number)",
		"timer.usec(number)", "timer.usec(number).randomize(number)",
	};
	(void)s;
	size_t n = sizeof types / sizeof types[0];
	const char **sorted = xmalloc(sizeof types);
	memcpy(sorted, types, sizeof types);
	qsort(sorted, n, sizeof *sorted, cmp_cstr);
	for (size_t i = 0; i < n; i++)
		puts(sorted[i]);
	free(sorted);
	return 0;
}
