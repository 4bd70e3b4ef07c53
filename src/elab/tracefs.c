/* tracefs.c - tracepoints: their names and the layout of their records.
 *
 * Names come from directory names only (events/SYSTEM/EVENT/), which is
 * cheap: listing all ~2,500 events reads ~100 directories.  A format file
 * is read and parsed only when someone asks for that event's fields, and
 * kept for the session.  A format line looks like
 *
 *     field:__data_loc char[] filename;	offset:8;	size:4;	signed:0;
 *
 * and we keep, for each field that is not common_*, its name, its C type
 * with the name taken out ("char[16]"), offset, size, signedness, and what
 * kind of thing it is (integer, char array, __data_loc string, pointer).
 */
#include "elab/kernel.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <fnmatch.h>
#include <bpf/btf.h>

static bool has_events(const char *root)
{
	char *p = xasprintf("%s/events", root);
	struct stat st;
	bool ok = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
	free(p);
	return ok;
}

const char *tracefs_root(Session *s)
{
	KernelFacts *kf = kernel_facts(s);
	if (kf->tracefs_probed)
		return kf->tracefs_root;
	kf->tracefs_probed = true;
	/* -r for another kernel: this machine's tracefs says nothing of it */
	if (kernel_is_foreign(s))
		return NULL;
	const char *env = getenv("STAPNG_TRACEFS");
	if (env) {
		kf->tracefs_root = has_events(env) ? xstrdup(env) : NULL;
		return kf->tracefs_root;
	}
	if (!has_events("/sys/kernel/tracing"))
		mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL); /* may fail: not root */
	if (has_events("/sys/kernel/tracing"))
		kf->tracefs_root = xstrdup("/sys/kernel/tracing");
	else if (has_events("/sys/kernel/debug/tracing"))
		kf->tracefs_root = xstrdup("/sys/kernel/debug/tracing");
	return kf->tracefs_root;
}

/* ---- format files */

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* "key:VALUE;" inside a line: VALUE (malloc'ed), or NULL. */
static char *attr(const char *line, const char *key)
{
	const char *p = strstr(line, key);
	if (!p)
		return NULL;
	p += strlen(key);
	const char *e = strchr(p, ';');
	return e ? xstrndup(p, (size_t)(e - p)) : NULL;
}

static TpFieldKind classify(const char *type, bool is_array, bool data_loc)
{
	if (data_loc)
		return strncmp(type, "char", 4) == 0 ? TPF_DATA_LOC : TPF_DATA_LOC_OTHER;
	if (is_array)
		return strcmp(type, "char") == 0 || strcmp(type, "const char") == 0 ||
				       strcmp(type, "unsigned char") == 0 ? TPF_CHAR_ARRAY : TPF_ARRAY;
	if (strchr(type, '*'))
		return TPF_POINTER;
	if (strncmp(type, "struct ", 7) == 0 || strncmp(type, "union ", 6) == 0)
		return TPF_OTHER;
	return TPF_INT;
}

/* Split "unsigned char addr[16]" into type "unsigned char[16]" and name
 * "addr"; "__data_loc char[] name" into "__data_loc char[]" and "name";
 * "const char * filename" into "const char *" and "filename". */
static bool parse_decl(char *decl, TpField *f)
{
	decl = trim(decl);
	bool data_loc = strncmp(decl, "__data_loc ", 11) == 0;
	char *bracket = NULL;
	char *end = decl + strlen(decl);
	/* a trailing [N] belongs to the name */
	if (end > decl && end[-1] == ']' && !data_loc) {
		bracket = strrchr(decl, '[');
		if (!bracket)
			return false;
		*bracket = '\0';
		end = bracket;
	}
	while (end > decl && isspace((unsigned char)end[-1]))
		end--;
	char *name_end = end;
	while (end > decl && (isalnum((unsigned char)end[-1]) || end[-1] == '_'))
		end--;
	if (end == name_end || end == decl)
		return false;
	f->name = xstrndup(end, (size_t)(name_end - end));
	*end = '\0';
	char *type = trim(decl);
	if (bracket) {
		f->array_len = atoi(bracket + 1);
		f->c_type = xasprintf("%s[%s", type, bracket + 1);
	} else {
		f->c_type = xstrdup(type);
	}
	f->kind = classify(data_loc ? type + 11 : type, bracket != NULL, data_loc);
	return true;
}

static bool parse_field_line(char *line, TpField *f)
{
	char *decl = attr(line, "field:");
	char *off = attr(line, "offset:"), *size = attr(line, "size:"), *sgn = attr(line, "signed:");
	bool ok = decl && off && size && parse_decl(decl, f);
	if (ok) {
		f->offset = atoi(off);
		f->size = atoi(size);
		f->is_signed = sgn && atoi(sgn) != 0;
	}
	free(decl);
	free(off);
	free(size);
	free(sgn);
	return ok;
}

TpFormat *tracefs_parse_format(const char *system, const char *event, const char *text,
			       const char **err)
{
	TpFormat *f = xcalloc(1, sizeof *f);
	f->system = xstrdup(system);
	f->event = xstrdup(event);
	f->id = -1;
	int cap = 0;
	bool in_format = false;
	char *copy = xstrdup(text);
	for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
		char *l = trim(line);
		if (strncmp(l, "ID:", 3) == 0)
			f->id = atoi(l + 3);
		else if (strcmp(l, "format:") == 0)
			in_format = true;
		else if (strncmp(l, "print fmt:", 10) == 0)
			break;
		if (!in_format || strncmp(l, "field:", 6) != 0)
			continue;
		TpField fld = { 0 };
		if (!parse_field_line(l, &fld)) {
			free(fld.name);
			free(fld.c_type);
			continue;
		}
		if (strncmp(fld.name, "common_", 7) == 0) {
			free(fld.name);
			free(fld.c_type);
			continue;
		}
		if (f->nfields == cap) {
			cap = cap ? cap * 2 : 8;
			f->fields = xrealloc(f->fields, (size_t)cap * sizeof(TpField));
		}
		f->fields[f->nfields++] = fld;
	}
	free(copy);
	if (!in_format) {
		if (err)
			*err = "no \"format:\" section";
		tracefs_free_format(f);
		return NULL;
	}
	return f;
}

void tracefs_free_format(TpFormat *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->nfields; i++) {
		free(f->fields[i].name);
		free(f->fields[i].c_type);
	}
	free(f->fields);
	free(f->system);
	free(f->event);
	free(f);
}

/* ---- the per-session cache of parsed formats: an open-addressing table */

struct TpFormatCache {
	char **keys;
	TpFormat **values; /* NULL value: known to be missing */
	size_t cap, len;
};

static size_t slot_of(struct TpFormatCache *c, const char *key)
{
	size_t i = hash64(key, strlen(key), 0) & (c->cap - 1);
	while (c->keys[i] && strcmp(c->keys[i], key) != 0)
		i = (i + 1) & (c->cap - 1);
	return i;
}

static void cache_grow(struct TpFormatCache *c)
{
	struct TpFormatCache old = *c;
	c->cap = old.cap ? old.cap * 2 : 64;
	c->keys = xcalloc(c->cap, sizeof(char *));
	c->values = xcalloc(c->cap, sizeof(TpFormat *));
	for (size_t i = 0; i < old.cap; i++) {
		if (!old.keys[i])
			continue;
		size_t j = slot_of(c, old.keys[i]);
		c->keys[j] = old.keys[i];
		c->values[j] = old.values[i];
	}
	free(old.keys);
	free(old.values);
}

static TpFormat *read_format(Session *s, const char *system, const char *event)
{
	const char *root = tracefs_root(s);
	if (!root || strchr(system, '/') || strchr(event, '/'))
		return NULL;
	char *path = xasprintf("%s/events/%s/%s/format", root, system, event);
	char *text = read_file(path, NULL);
	free(path);
	if (!text)
		return NULL;
	TpFormat *f = tracefs_parse_format(system, event, text, NULL);
	free(text);
	return f;
}

TpFormat *tracefs_format(Session *s, const char *system, const char *event)
{
	KernelFacts *kf = kernel_facts(s);
	if (!kf->formats)
		kf->formats = xcalloc(1, sizeof(struct TpFormatCache));
	struct TpFormatCache *c = kf->formats;
	if ((c->len + 1) * 2 > c->cap)
		cache_grow(c);
	char *key = xasprintf("%s:%s", system, event);
	size_t i = slot_of(c, key);
	if (c->keys[i]) {
		free(key);
		return c->values[i];
	}
	c->keys[i] = key;
	c->values[i] = read_format(s, system, event);
	c->len++;
	return c->values[i];
}

/* ---- the list of events */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dir_entry(const struct dirent *d)
{
	return d->d_name[0] != '.' && (d->d_type == DT_DIR || d->d_type == DT_UNKNOWN);
}

static void events_from_tracefs(const char *root, Vec *out)
{
	char *evdir = xasprintf("%s/events", root);
	DIR *top = opendir(evdir);
	if (!top) {
		free(evdir);
		return;
	}
	struct dirent *sys;
	while ((sys = readdir(top))) {
		if (!is_dir_entry(sys) || strcmp(sys->d_name, "ftrace") == 0)
			continue;
		char *sysdir = xasprintf("%s/%s", evdir, sys->d_name);
		DIR *d = opendir(sysdir);
		struct dirent *ev;
		while (d && (ev = readdir(d)))
			if (is_dir_entry(ev))
				vec_push(out, xasprintf("%s:%s", sys->d_name, ev->d_name));
		if (d)
			closedir(d);
		free(sysdir);
	}
	closedir(top);
	free(evdir);
}

/* Without tracefs: BTF has a typedef btf_trace_EVENT for every tracepoint
 * (the system is not recorded, so it is "*"). */
static void events_from_btf(Session *s, Vec *out)
{
	KernelBtf *kb = kbtf_get(s, NULL, NULL);
	if (!kb)
		return;
	const struct btf *btf = kbtf_raw(kb);
	int n = (int)btf__type_cnt(btf);
	for (int id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!btf_is_typedef(t))
			continue;
		const char *name = btf__name_by_offset(btf, t->name_off);
		if (strncmp(name, "btf_trace_", 10) == 0)
			vec_push(out, xasprintf("*:%s", name + 10));
	}
}

const Vec *tracefs_events(Session *s)
{
	KernelFacts *kf = kernel_facts(s);
	if (kf->events_loaded)
		return &kf->events;
	kf->events_loaded = true;
	const char *root = tracefs_root(s);
	if (root)
		events_from_tracefs(root, &kf->events);
	else
		events_from_btf(s, &kf->events);
	if (kf->events.len)
		qsort(kf->events.data, (size_t)kf->events.len, sizeof(char *), cmp_str);
	return &kf->events;
}

/* An exact "system:event" in the sorted list, or the same event known from
 * BTF only ("*:event"); NULL when neither is there. */
static const char *find_event(const Vec *all, const char *sys, const char *event)
{
	char *key = xasprintf("%s:%s", sys, event);
	char **hit = all->len ? bsearch(&key, all->data, (size_t)all->len, sizeof(char *), cmp_str) : NULL;
	if (!hit && all->len) {
		free(key);
		key = xasprintf("*:%s", event);
		hit = bsearch(&key, all->data, (size_t)all->len, sizeof(char *), cmp_str);
	}
	free(key);
	return hit ? *hit : NULL;
}

int tracefs_events_matching(Session *s, const char *sys_glob, const char *event_glob, Vec *out)
{
	const Vec *all = tracefs_events(s);
	int n = 0;
	/* a plain name (each syscall.NAME alias names one): a look-up, not a
	 * pattern match over every event, which hundreds of aliases make slow */
	if (!kernel_has_wildcard(sys_glob) && !kernel_has_wildcard(event_glob) && !strchr(event_glob, '\\')) {
		const char *se = find_event(all, sys_glob, event_glob);
		if (se)
			vec_push(out, (void *)se);
		return se != NULL;
	}
	for (int i = 0; i < all->len; i++) {
		const char *se = VEC_AT(all, i);
		const char *colon = strchr(se, ':');
		if (fnmatch(event_glob, colon + 1, 0) != 0)
			continue;
		char sys[256];
		size_t len = (size_t)(colon - se);
		if (len >= sizeof sys)
			continue;
		memcpy(sys, se, len);
		sys[len] = '\0';
		if (strcmp(sys, "*") != 0 && fnmatch(sys_glob, sys, 0) != 0)
			continue;
		vec_push(out, (void *)se);
		n++;
	}
	return n;
}
