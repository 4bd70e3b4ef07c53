/* tapset.c - the tapset library: find what defines a name, load on demand.
 *
 * A run needs only the few tapset files that define what the script uses,
 * so the library is indexed cheaply and parsed lazily.  The index is built
 * by a scanner that reads each file's top level only (it skips comments,
 * strings, embedded C and everything inside braces) and records the names
 * after `function`, `global` and `probe NAME =` / `probe NAME +=`.  It never
 * allocates per token, so indexing the whole library takes a few
 * milliseconds.  A file is parsed (parse_path) and registered the first
 * time one of its names is needed; its own references are then resolved
 * like the script's, which may pull in further files.
 *
 * Search path: Session.tapset_dirs in order; in each, *.stp files, the
 * files of subdirectories that are not named after another architecture
 * or a kernel version, and DIR/ARCH/ for the architecture we build for.
 */
#include "elab/elab.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------ scanner */

typedef struct Scan {
	const char *p, *end;
	int depth;
} Scan;

static void skip_space(Scan *sc)
{
	while (sc->p < sc->end) {
		const char *p = sc->p;
		if (isspace((unsigned char)*p)) {
			sc->p++;
		} else if (*p == '#' || (*p == '/' && p + 1 < sc->end && p[1] == '/')) {
			while (sc->p < sc->end && *sc->p != '\n')
				sc->p++;
		} else if (*p == '/' && p + 1 < sc->end && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");
			sc->p = e ? e + 2 : sc->end;
		} else if (*p == '%' && p + 1 < sc->end && p[1] == '{') {
			const char *e = strstr(p + 2, "%}");
			sc->p = e ? e + 2 : sc->end;
		} else if (*p == '%' && p + 1 < sc->end && strchr("(?:)", p[1])) {
			sc->p += 2; /* preprocessor conditionals: index both branches */
		} else {
			return;
		}
	}
}

static void skip_string(Scan *sc)
{
	sc->p++;
	while (sc->p < sc->end && *sc->p != '"') {
		if (*sc->p == '\\' && sc->p + 1 < sc->end)
			sc->p++;
		sc->p++;
	}
	if (sc->p < sc->end)
		sc->p++;
}

static bool is_ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool is_ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Read an identifier at the cursor into buf (truncated); false if none. */
static bool scan_ident(Scan *sc, char *buf, size_t cap)
{
	skip_space(sc);
	if (sc->p >= sc->end || !is_ident_start(*sc->p))
		return false;
	size_t n = 0;
	while (sc->p < sc->end && is_ident_char(*sc->p)) {
		if (n + 1 < cap)
			buf[n++] = *sc->p;
		sc->p++;
	}
	buf[n] = '\0';
	return true;
}

/* Skip a balanced (...) or [...] group at the cursor. */
static void skip_group(Scan *sc, char open, char close)
{
	int d = 0;
	while (sc->p < sc->end) {
		skip_space(sc);
		if (sc->p >= sc->end)
			return;
		char c = *sc->p;
		if (c == '"') {
			skip_string(sc);
			continue;
		}
		sc->p++;
		if (c == open)
			d++;
		else if (c == close && --d <= 0)
			return;
	}
}

typedef struct IndexAdd {
	TapsetIndex *ix;
	TapsetFile *tf;
} IndexAdd;

static void index_name(StrMap *m, const char *name, TapsetFile *tf)
{
	Vec *files = strmap_get(m, name);
	if (!files) {
		files = xcalloc(1, sizeof *files);
		strmap_put(m, name, files);
	}
	if (files->len && files->data[files->len - 1] == tf)
		return;
	vec_push(files, tf);
}

/* global a, b[10], c = 5, d% */
static void scan_globals(Scan *sc, IndexAdd *add)
{
	char name[256];
	while (scan_ident(sc, name, sizeof name)) {
		index_name(&add->ix->globals, name, add->tf);
		skip_space(sc);
		if (sc->p < sc->end && *sc->p == '%')
			sc->p++;
		skip_space(sc);
		if (sc->p < sc->end && *sc->p == '[')
			skip_group(sc, '[', ']');
		skip_space(sc);
		if (sc->p < sc->end && *sc->p == '%')
			sc->p++;
		skip_space(sc);
		if (sc->p < sc->end && *sc->p == '=') {
			sc->p++;
			skip_space(sc);
			if (sc->p < sc->end && *sc->p == '"') {
				skip_string(sc);
			} else {
				if (sc->p < sc->end && *sc->p == '-')
					sc->p++;
				while (sc->p < sc->end && is_ident_char(*sc->p))
					sc->p++;
			}
			skip_space(sc);
		}
		if (sc->p >= sc->end || *sc->p != ',')
			return;
		sc->p++;
	}
}

/* probe a.b, c.d = ... { }  /  probe a.b += ... { }  /  probe x { } */
static void scan_probe(Scan *sc, IndexAdd *add)
{
	Vec names = {0};
	StrBuf cur = {0};
	bool alias = false;
	while (sc->p < sc->end) {
		skip_space(sc);
		if (sc->p >= sc->end)
			break;
		char c = *sc->p;
		if (c == '{')
			break;
		if (c == '"') {
			skip_string(sc);
		} else if (c == '(') {
			skip_group(sc, '(', ')');
		} else if (c == '=' || (c == '+' && sc->p + 1 < sc->end && sc->p[1] == '=')) {
			alias = true;
			break;
		} else if (c == ',') {
			if (cur.len)
				vec_push(&names, sb_steal(&cur));
			sc->p++;
		} else if (c == '.' || c == '*' || is_ident_char(c)) {
			sb_putc(&cur, c);
			sc->p++;
		} else {
			sc->p++;
		}
	}
	if (cur.len)
		vec_push(&names, sb_steal(&cur));
	free(cur.s);
	for (int i = 0; i < names.len; i++) {
		if (alias) {
			vec_push(&add->ix->alias_names, names.data[i]);
			vec_push(&add->ix->alias_files, add->tf);
		} else {
			free(names.data[i]);
		}
	}
	free(names.data);
}

static void index_text(TapsetIndex *ix, TapsetFile *tf, const char *text, size_t len)
{
	Scan sc = {text, text + len, 0};
	IndexAdd add = {ix, tf};
	char word[256];
	while (sc.p < sc.end) {
		skip_space(&sc);
		if (sc.p >= sc.end)
			break;
		char c = *sc.p;
		if (c == '"') {
			skip_string(&sc);
			continue;
		}
		if (c == '{' || c == '}') {
			sc.depth += c == '{' ? 1 : -1;
			if (sc.depth < 0)
				sc.depth = 0;
			sc.p++;
			continue;
		}
		if (!is_ident_start(c)) {
			sc.p++;
			continue;
		}
		scan_ident(&sc, word, sizeof word);
		if (sc.depth)
			continue;
		if (strcmp(word, "function") == 0) {
			if (scan_ident(&sc, word, sizeof word))
				index_name(&ix->functions, word, tf);
		} else if (strcmp(word, "global") == 0) {
			scan_globals(&sc, &add);
		} else if (strcmp(word, "probe") == 0) {
			scan_probe(&sc, &add);
		}
	}
}

/* ------------------------------------------------------------ directories */

static const char *const other_arches[] = {
	"i386", "x86_64", "arm", "arm64", "aarch64", "s390", "powerpc", "ppc64", "ia64",
	"mips", "riscv", "loongarch64", "sparc", NULL,
};

static bool skip_subdir(const char *name, const char *arch)
{
	if (arch && strcmp(name, arch) == 0)
		return false;
	if (isdigit((unsigned char)name[0]))
		return true; /* kernel-version directories */
	for (int i = 0; other_arches[i]; i++)
		if (strcmp(name, other_arches[i]) == 0)
			return true;
	return name[0] == '.';
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void index_dir(TapsetIndex *ix, const char *dir, const char *arch, int depth)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	Vec names = {0};
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			vec_push(&names, xstrdup(de->d_name));
	closedir(d);
	if (names.len)
		qsort(names.data, (size_t)names.len, sizeof(char *), cmp_names);
	for (int i = 0; i < names.len; i++) {
		char *name = names.data[i];
		char *path = xasprintf("%s/%s", dir, name);
		struct stat st;
		size_t n = strlen(name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (depth < 4 && !skip_subdir(name, arch))
				index_dir(ix, path, arch, depth + 1);
			free(path);
		} else if (n > 4 && strcmp(name + n - 4, ".stp") == 0) {
			size_t len;
			char *text = read_file(path, &len);
			if (!text) {
				free(path);
			} else {
				TapsetFile *tf = xcalloc(1, sizeof *tf);
				tf->path = path;
				vec_push(&ix->files, tf);
				index_text(ix, tf, text, len);
				free(text);
			}
		} else {
			free(path);
		}
		free(name);
	}
	free(names.data);
}

TapsetIndex *tapset_index_build(Session *s)
{
	TapsetIndex *ix = xcalloc(1, sizeof *ix);
	const char *arch = s->arch ? s->arch : "x86_64";
	for (int i = 0; i < s->tapset_dirs.len; i++)
		index_dir(ix, s->tapset_dirs.data[i], arch, 0);
	return ix;
}

/* ------------------------------------------------------------ loading */

static bool load_file(Elab *E, TapsetFile *tf)
{
	if (tf->loaded)
		return false;
	tf->loaded = true;
	tf->script = parse_path(E->s, tf->path, true);
	if (!tf->script)
		return false;
	E->prog->nlibrary_files++;
	elab_register_script(E, tf->script);
	return true;
}

static bool load_defining(Elab *E, StrMap *m, const char *name)
{
	if (!E->tapsets)
		return false;
	Vec *files = strmap_get(m, name);
	bool any = false;
	for (int i = 0; files && i < files->len; i++)
		any |= load_file(E, files->data[i]);
	return any;
}

bool tapset_load_function(Elab *E, const char *name)
{
	return E->tapsets && load_defining(E, &E->tapsets->functions, name);
}

bool tapset_load_global(Elab *E, const char *name)
{
	return E->tapsets && load_defining(E, &E->tapsets->globals, name);
}

/* The dotted name of a point's components, or NULL if a component has an
 * argument (aliases have none). */
static char *point_pattern(const ProbePoint *pt)
{
	StrBuf b = {0};
	for (int i = 0; i < pt->ncomps; i++) {
		if (pt->comps[i].arg) {
			free(b.s);
			return NULL;
		}
		sb_printf(&b, "%s%s", i ? "." : "", pt->comps[i].name);
	}
	return sb_steal(&b);
}

void tapset_load_aliases_matching(Elab *E, const ProbePoint *pt)
{
	if (!E->tapsets)
		return;
	char *pat = point_pattern(pt);
	if (!pat)
		return;
	TapsetIndex *ix = E->tapsets;
	for (int i = 0; i < ix->alias_names.len; i++) {
		TapsetFile *tf = ix->alias_files.data[i];
		if (!tf->loaded && glob_match(pat, ix->alias_names.data[i]))
			load_file(E, tf);
	}
	free(pat);
}

int tapset_similar_functions(Elab *E, const char *name, const char **out, int max)
{
	if (!E->tapsets)
		return 0;
	StrMap *m = &E->tapsets->functions;
	int n = 0;
	for (int i = 0; i < m->cap && n < max; i++)
		if (m->keys[i] && edit_distance(name, m->keys[i]) <= 3)
			out[n++] = m->keys[i];
	return n;
}

/* Names of every alias in the index (for -l), as dotted text. */
const Vec *tapset_alias_names(Elab *E)
{
	return E->tapsets ? &E->tapsets->alias_names : NULL;
}
