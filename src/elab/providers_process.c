/* providers_process.c - user-space probe points and procfs.
 *
 *   process.begin / process.end                       every process
 *   process("PATH") / process(PID), then
 *     .begin .end .thread.begin .thread.end            PK_PROCESS
 *     .syscall[.return]                                PK_SYSCALL, filtered
 *     .function("FN[@FILE[:LINES]]")[.call|.return]    PK_UPROBE (ELF symbols;
 *     .statement("FN@FILE:LINES")                        DWARF for files, lines)
 *     .statement(ADDR)[.absolute]                      PK_UPROBE
 *     .mark("NAME")                                    PK_USDT (.note.stapsdt)
 *   procfs[("NAME")].read / .write                     PK_PROCFS
 *
 * PATH without a '/' is looked up in $PATH, as stap does, and every path
 * is made canonical (realpath), so process("ls") is process("/usr/bin/ls").
 * Functions come from the ELF symbol tables (.symtab and .dynsym), marks
 * from the SystemTap SDT notes; a binary is read once per session.
 *
 * Resolved conventions: PK_PROCESS has is_return set for .end;
 * thread-level events set mark to "thread".  PK_SYSCALL from here has
 * path or pid set.  PK_PROCFS has path = the file name under
 * /proc/systemtap/MODULE and mark = "read" or "write".
 *
 * Targets: USDT $arg1..$argN are TA_FUNC_ARG (index N-1, read with
 * bpf_usdt_arg); .syscall gives $syscall (TA_SYSCALL_ARG index -1),
 * $arg1..$arg6 (TA_SYSCALL_ARG 0..5) and on .return $return (TA_FUNC_RET);
 * .function(...).return gives $return; procfs gives $value (a string the
 * runtime provides: TA_C_EXPR with c_expr "value").
 */
#include "elab/dwarf.h"
#include "elab/kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <libelf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct ElfSym {
	char *name;
	uint64_t addr;
} ElfSym;

typedef struct SdtNote {
	char *provider, *name, *args;
	uint64_t pc;  /* adjusted for prelink, a virtual address */
	int nargs;
} SdtNote;

typedef struct ElfInfo {
	char *path;
	bool ok;
	ElfSym *syms;    /* sorted by name, unique */
	int nsyms;
	SdtNote *notes;
	int nnotes;
	GElf_Phdr *loads; /* PT_LOAD segments, to turn addresses into file offsets */
	int nloads;
} ElfInfo;

/* ---- reading a binary */

static int cmp_sym(const void *a, const void *b)
{
	const ElfSym *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->addr > y->addr) - (x->addr < y->addr);
}

static void read_symbols(Elf *elf, Elf_Scn *scn, GElf_Shdr *sh, Vec *out)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	if (!data || !sh->sh_entsize)
		return;
	size_t n = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(data, (int)i, &sym))
			continue;
		int type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		const char *name = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		ElfSym *s = xmalloc(sizeof *s);
		s->name = xstrndup(name, strcspn(name, "@"));
		s->addr = sym.st_value;
		vec_push(out, s);
	}
}

static void read_sdt_notes(Elf *elf, Elf_Scn *scn, uint64_t base_addr, bool have_base, Vec *out)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;
	while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const char *nname = (const char *)data->d_buf + name_off;
		if (nh.n_type != 3 || nh.n_namesz != 8 || memcmp(nname, "stapsdt", 8) != 0 ||
		    nh.n_descsz < 3 * 8 + 3)
			continue;
		const char *d = (const char *)data->d_buf + desc_off;
		const char *end = d + nh.n_descsz;
		uint64_t pc, base;
		memcpy(&pc, d, 8);
		memcpy(&base, d + 8, 8);
		const char *prov = d + 24;
		const char *name = prov + strnlen(prov, (size_t)(end - prov)) + 1;
		if (name >= end)
			continue;
		const char *args = name + strnlen(name, (size_t)(end - name)) + 1;
		if (args > end)
			args = end;
		SdtNote *n = xcalloc(1, sizeof *n);
		n->provider = xstrdup(prov);
		n->name = xstrndup(name, strnlen(name, (size_t)(end - name)));
		n->args = args < end ? xstrndup(args, strnlen(args, (size_t)(end - args))) : xstrdup("");
		/* a prelinked binary moved .stapsdt.base: move the pc with it */
		n->pc = have_base ? pc + (base_addr - base) : pc;
		for (const char *p = n->args; *p;) {
			while (*p == ' ')
				p++;
			if (!*p)
				break;
			n->nargs++;
			while (*p && *p != ' ')
				p++;
		}
		vec_push(out, n);
	}
}

static void load_elf(ElfInfo *info)
{
	int fd = open(info->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		close(fd);
		return;
	}
	size_t nph = 0, shstrndx = 0;
	elf_getphdrnum(elf, &nph);
	info->loads = xcalloc(nph ? nph : 1, sizeof(GElf_Phdr));
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			info->loads[info->nloads++] = ph;
	}
	elf_getshdrstrndx(elf, &shstrndx);
	Vec syms = { 0 }, notes = { 0 };
	Elf_Scn *scn = NULL, *sdt = NULL;
	uint64_t base_addr = 0;
	bool have_base = false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM)
			read_symbols(elf, scn, &sh, &syms);
		else if (name && strcmp(name, ".note.stapsdt") == 0)
			sdt = scn;
		else if (name && strcmp(name, ".stapsdt.base") == 0) {
			base_addr = sh.sh_addr;
			have_base = true;
		}
	}
	if (sdt)
		read_sdt_notes(elf, sdt, base_addr, have_base, &notes);
	/* sort and keep one symbol per name */
	ElfSym *arr = xmalloc((size_t)(syms.len ? syms.len : 1) * sizeof(ElfSym));
	for (int i = 0; i < syms.len; i++) {
		arr[i] = *(ElfSym *)VEC_AT(&syms, i);
		free(VEC_AT(&syms, i));
	}
	qsort(arr, (size_t)syms.len, sizeof(ElfSym), cmp_sym);
	int w = 0;
	for (int i = 0; i < syms.len; i++) {
		if (w && strcmp(arr[w - 1].name, arr[i].name) == 0) {
			free(arr[i].name);
			continue;
		}
		arr[w++] = arr[i];
	}
	free(syms.data);
	info->syms = arr;
	info->nsyms = w;
	info->notes = xmalloc((size_t)(notes.len ? notes.len : 1) * sizeof(SdtNote));
	for (int i = 0; i < notes.len; i++) {
		info->notes[i] = *(SdtNote *)VEC_AT(&notes, i);
		free(VEC_AT(&notes, i));
	}
	info->nnotes = notes.len;
	free(notes.data);
	info->ok = true;
	elf_end(elf);
	close(fd);
}

static ElfInfo *elf_info(Session *s, const char *path)
{
	KernelFacts *kf = kernel_facts(s);
	for (int i = 0; i < kf->elfs.len; i++) {
		ElfInfo *e = VEC_AT(&kf->elfs, i);
		if (strcmp(e->path, path) == 0)
			return e;
	}
	ElfInfo *e = xcalloc(1, sizeof *e);
	e->path = xstrdup(path);
	load_elf(e);
	vec_push(&kf->elfs, e);
	return e;
}

/* The file offset of virtual address `addr` (what uprobes attach to). */
static uint64_t file_offset(const ElfInfo *e, uint64_t addr)
{
	for (int i = 0; i < e->nloads; i++) {
		const GElf_Phdr *p = &e->loads[i];
		if (addr >= p->p_vaddr && addr < p->p_vaddr + p->p_memsz)
			return addr - p->p_vaddr + p->p_offset;
	}
	return addr;
}

/* ---- finding the binary */

static bool is_executable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* "ls" -> "/usr/bin/ls" via $PATH; "/bin/ls" -> "/usr/bin/ls". */
char *kernel_find_executable(const char *name)
{
	char resolved[PATH_MAX];
	if (strchr(name, '/'))
		return is_executable_file(name) && realpath(name, resolved) ? xstrdup(resolved) : NULL;
	const char *path = getenv("PATH");
	char *copy = xstrdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	char *found = NULL;
	for (char *dir = strtok(copy, ":"); dir && !found; dir = strtok(NULL, ":")) {
		char *p = xasprintf("%s/%s", *dir ? dir : ".", name);
		if (is_executable_file(p) && access(p, X_OK) == 0 && realpath(p, resolved))
			found = xstrdup(resolved);
		free(p);
	}
	free(copy);
	return found;
}

/* Every binary process("PATTERN") names (char*, canonical, sorted). */
static void find_executables(const char *pattern, Vec *out)
{
	if (!kernel_has_wildcard(pattern)) {
		char *p = kernel_find_executable(pattern);
		if (p)
			vec_push(out, p);
		return;
	}
	glob_t g;
	if (glob(pattern, 0, NULL, &g) != 0)
		return;
	char resolved[PATH_MAX];
	for (size_t i = 0; i < g.gl_pathc; i++) {
		if (!is_executable_file(g.gl_pathv[i]) || !realpath(g.gl_pathv[i], resolved))
			continue;
		bool dup = false;
		for (int j = 0; j < out->len && !dup; j++)
			dup = strcmp(VEC_AT(out, j), resolved) == 0;
		if (!dup)
			vec_push(out, xstrdup(resolved));
	}
	globfree(&g);
}

/* ---- process(...) */

typedef struct Target {
	char *path;     /* canonical binary, or NULL for process.begin */
	int64_t pid;
	char *pp;       /* "process(\"/usr/bin/ls\")", "process(42)", "process" */
} Target;

static const char *const process_events[] = { "begin", "end", "thread", "syscall", "function",
					       "statement", "mark" };

static Resolved *process_event(const ProbePoint *pt, const Target *t, ProbeKind kind, const char *suffix)
{
	Resolved *r = kernel_new_resolved(kind, pt, xasprintf("%s%s", t->pp, suffix));
	r->path = t->path ? xstrdup(t->path) : NULL;
	r->pid = t->pid;
	return r;
}

static int process_lifecycle(Session *s, const ProbePoint *pt, const Target *t, int i, Vec *out)
{
	bool thread = strcmp(pt->comps[i].name, "thread") == 0;
	int ev = thread ? i + 1 : i;
	if (ev >= pt->ncomps || (strcmp(pt->comps[ev].name, "begin") != 0 &&
				 strcmp(pt->comps[ev].name, "end") != 0)) {
		static const char *const ends[] = { "begin", "end" };
		if (ev >= pt->ncomps)
			kernel_point_error(s, pt, i, "probe point is incomplete");
		else
			kernel_mismatch(s, pt, ev, ends, 2);
		return -1;
	}
	if (ev + 1 < pt->ncomps) {
		kernel_point_error(s, pt, ev + 1, "invalid suffix for probe");
		return -1;
	}
	bool end = strcmp(pt->comps[ev].name, "end") == 0;
	char *suffix = xasprintf("%s.%s", thread ? ".thread" : "", end ? "end" : "begin");
	Resolved *r = process_event(pt, t, PK_PROCESS, suffix);
	free(suffix);
	r->is_return = end;
	if (thread)
		r->mark = xstrdup("thread");
	vec_push(out, r);
	return 1;
}

static int process_syscall(Session *s, const ProbePoint *pt, const Target *t, int i, Vec *out)
{
	bool ret = i + 1 < pt->ncomps && strcmp(pt->comps[i + 1].name, "return") == 0;
	int next = ret ? i + 2 : i + 1;
	if (next < pt->ncomps) {
		kernel_point_error(s, pt, next, "invalid suffix for probe");
		return -1;
	}
	Resolved *r = process_event(pt, t, PK_SYSCALL, ret ? ".syscall.return" : ".syscall");
	r->is_return = ret;
	vec_push(out, r);
	return 1;
}

static void suggest_user_functions(Session *s, const ProbePoint *pt, const ElfInfo *e, const char *fn)
{
	const char **names = xmalloc((size_t)(e->nsyms ? e->nsyms : 1) * sizeof(char *));
	for (int i = 0; i < e->nsyms; i++)
		names[i] = e->syms[i].name;
	char *sim = kernel_similar_names(fn, names, e->nsyms);
	free(names);
	if (sim)
		kernel_point_error(s, pt, -1, "no match (similar functions: %s)", sim);
	else
		kernel_point_error(s, pt, -1, "no match");
	free(sim);
}

/* What .function / .statement asked for, once parsed. */
typedef struct FuncQuery {
	bool statement, ret;
	const char *suffix;  /* "", ".call", ".return", ".absolute" */
	char *name;          /* function name pattern */
	char *file;          /* "@FILE" pattern, or NULL */
	/* the lines after FILE: ":N", ":N-M,K", ":*" or "+N" */
	int nranges;         /* 0: none given */
	int (*ranges)[2];    /* first and last line of each */
	bool all_lines;      /* ":*" */
	bool relative;       /* "+N": from the function's declaration line */
} FuncQuery;

/* One probe point on a function: with debuginfo (uf) it is named as stap
 * names it, "add@/src/t.c:8", and an entry probe stops after the prologue,
 * where the parameters are in their homes. */
static void push_function_point(const ProbePoint *pt, const Target *t, const ElfInfo *e, const FuncQuery *q,
				const char *name, uint64_t addr, const UserFunc *uf, int line, Vec *out)
{
	char *shown = uf && uf->file ? xasprintf("%s@%s:%d", name, uf->file, line ? line : uf->line) : xstrdup(name);
	char *quoted = kernel_quote(shown);
	char *sfx = xasprintf(".%s(%s)%s", q->statement ? "statement" : "function", quoted, q->suffix);
	Resolved *r = process_event(pt, t, PK_UPROBE, sfx);
	free(quoted);
	free(shown);
	free(sfx);
	r->function = xstrdup(name);
	r->offset = file_offset(e, addr);
	r->is_return = q->ret;
	vec_push(out, r);
}

/* FILE patterns match as written or after any directory ("t.c" is
 * "*\/t.c"), as stap does. */
static bool file_matches(const char *pattern, const char *file)
{
	if (!file)
		return false;
	if (kernel_glob(pattern, file))
		return true;
	char *any_dir = xasprintf("*/%s", pattern);
	bool m = kernel_glob(any_dir, file);
	free(any_dir);
	return m;
}

/* Whether `line` of uf is one the query names. */
static bool line_wanted(const FuncQuery *q, const UserFunc *uf, int line)
{
	int base = q->relative ? uf->line : 0;
	for (int i = 0; i < q->nranges; i++)
		if (line >= base + q->ranges[i][0] && line <= base + q->ranges[i][1])
			return true;
	return q->all_lines;
}

/* One line asked for by number (":N" or "+N") rather than a range. */
static bool single_line(const FuncQuery *q)
{
	return !q->all_lines && q->nranges == 1 && q->ranges[0][0] == q->ranges[0][1];
}

/* .statement("FN@FILE:N") where no function FN has code on line N:
 * stap's error, with the nearest line of uf (one of them) that has some. */
static void no_line_records(Session *s, const ProbePoint *pt, const Target *t, const FuncQuery *q,
			    const UserFunc *uf)
{
	int line = (q->relative ? uf->line : 0) + q->ranges[0][0];
	UserLine *lines;
	int nlines = udwarf_lines(s, t->path, uf, &lines);
	int near = 0;
	for (int i = 0; i < nlines; i++)
		if (!near || abs(lines[i].line - line) < abs(near - line))
			near = lines[i].line;
	free(lines);
	if (near)
		kernel_point_error(s, pt, -1, "no line records for %s:%d [man error::dwarf] (try :%d)", uf->file, line, near);
	else
		kernel_point_error(s, pt, -1, "no line records for %s:%d [man error::dwarf]", uf->file, line);
}

/* The statement points of uf that the query's lines name, each at the
 * first instruction of its line (the prologue's line too, as stap). */
static int statement_points(Session *s, const ProbePoint *pt, const Target *t, const ElfInfo *e,
			    const FuncQuery *q, const UserFunc *uf, Vec *out)
{
	UserLine *lines;
	int nlines = udwarf_lines(s, t->path, uf, &lines);
	int n = 0;
	for (int i = 0; i < nlines; i++) {
		if (!line_wanted(q, uf, lines[i].line))
			continue;
		push_function_point(pt, t, e, q, uf->name, lines[i].addr, uf, lines[i].line, out);
		n++;
	}
	free(lines);
	return n;
}

/* Whether .function("FN@FILE:LINES") takes uf: declared on one of the
 * lines, or with code on one. */
static bool function_on_lines(Session *s, const Target *t, const FuncQuery *q, const UserFunc *uf)
{
	if (!q->nranges && !q->all_lines)
		return true;
	if (line_wanted(q, uf, uf->line))
		return true;
	UserLine *lines;
	int nlines = udwarf_lines(s, t->path, uf, &lines);
	bool found = false;
	for (int i = 0; i < nlines && !found; i++)
		found = line_wanted(q, uf, lines[i].line);
	free(lines);
	return found;
}

/* .function("NAME@FILE[:LINES]") and .statement("NAME@FILE:LINES"), from
 * the DWARF of the binary. */
static int source_points(Session *s, const ProbePoint *pt, const Target *t, const ElfInfo *e, const FuncQuery *q,
			 Vec *out)
{
	const UserFunc *funcs;
	int nfuncs = udwarf_functions(s, t->path, &funcs);
	if (!nfuncs) {
		kernel_point_error(s, pt, -1, "'%s' has no debuginfo (DWARF) for source files and lines", t->path);
		return -1;
	}
	int n = 0;
	const UserFunc *named = NULL;
	for (int k = 0; k < nfuncs; k++) {
		const UserFunc *uf = &funcs[k];
		if (!kernel_glob(q->name, uf->name) || !file_matches(q->file, uf->file))
			continue;
		named = named ? named : uf;
		if (q->statement && (q->nranges || q->all_lines)) {
			n += statement_points(s, pt, t, e, q, uf, out);
			continue;
		}
		if (!function_on_lines(s, t, q, uf))
			continue;
		push_function_point(pt, t, e, q, uf->name, q->ret ? uf->entry : uf->body, uf, 0, out);
		n++;
	}
	if (!n && named && q->statement && single_line(q) && !kernel_point_quiet(s, pt)) {
		no_line_records(s, pt, t, q, named);
		return -1;
	}
	return n;
}

/* "N", "N-M", lists of those joined by ',', "*" after ':'; "N" after '+'. */
static bool parse_lines(const char *text, bool relative, FuncQuery *q)
{
	if (!relative && !strcmp(text, "*")) {
		q->all_lines = true;
		return true;
	}
	const char *c = text;
	do {
		char *end;
		long lo = strtol(c, &end, 10), hi = lo;
		if (end == c || lo < 0 || lo > INT32_MAX)
			return false;
		if (*end == '-' && !relative) {
			c = end + 1;
			hi = strtol(c, &end, 10);
			if (end == c || hi < lo || hi > INT32_MAX)
				return false;
		}
		q->ranges = xrealloc(q->ranges, (size_t)(q->nranges + 1) * sizeof *q->ranges);
		q->ranges[q->nranges][0] = (int)lo;
		q->ranges[q->nranges][1] = (int)hi;
		q->nranges++;
		c = end;
	} while (*c == ',' && !relative && *++c && *c != ',');
	return !*c && c[-1] != ',' && (relative || q->ranges[0][0] > 0);
}

static bool parse_source_pattern(Session *s, const ProbePoint *pt, int i, const char *text, FuncQuery *q)
{
	const char *at = strchr(text, '@');
	q->name = xstrndup(text, (size_t)(at - text));
	const char *sep = strpbrk(at + 1, ":+");
	q->file = sep ? xstrndup(at + 1, (size_t)(sep - at - 1)) : xstrdup(at + 1);
	if (!sep)
		return true;
	q->relative = *sep == '+';
	if (!parse_lines(sep + 1, q->relative, q)) {
		kernel_point_error(s, pt, i, "malformed specification '%s'", text);
		return false;
	}
	return true;
}

/* .function("FN")[.call|.return] and .statement("FN") */
static int process_function(Session *s, const ProbePoint *pt, const Target *t, int i, Vec *out)
{
	FuncQuery q = { .statement = strcmp(pt->comps[i].name, "statement") == 0, .suffix = "" };
	int64_t addr;
	const char *fn = kernel_comp_string(&pt->comps[i]);
	bool by_addr = q.statement && kernel_comp_number(&pt->comps[i], &addr);
	if (!fn && !by_addr) {
		kernel_point_error(s, pt, i, "expected a string argument");
		return -1;
	}
	int next = i + 1;
	if (next < pt->ncomps && !q.statement &&
	    (strcmp(pt->comps[next].name, "return") == 0 || strcmp(pt->comps[next].name, "call") == 0)) {
		q.ret = strcmp(pt->comps[next].name, "return") == 0;
		q.suffix = q.ret ? ".return" : ".call";
		next++;
	} else if (next < pt->ncomps && q.statement && strcmp(pt->comps[next].name, "absolute") == 0) {
		q.suffix = ".absolute";
		next++;
	}
	if (next < pt->ncomps) {
		kernel_point_error(s, pt, next, "invalid suffix for probe");
		return -1;
	}
	if (!t->path) {
		kernel_point_error(s, pt, i, "a process path or pid is needed for .%s", pt->comps[i].name);
		return -1;
	}
	ElfInfo *e = elf_info(s, t->path);
	if (!e->ok) {
		kernel_point_error(s, pt, 0, "cannot read ELF file '%s'", t->path);
		return -1;
	}
	if (by_addr) {
		Resolved *r = process_event(pt, t, PK_UPROBE, "");
		free(r->pp);
		r->pp = xasprintf("%s.statement(0x%llx)%s", t->pp, (unsigned long long)addr, q.suffix);
		r->offset = file_offset(e, (uint64_t)addr);
		vec_push(out, r);
		return 1;
	}
	if (strchr(fn, '@')) {
		int n = parse_source_pattern(s, pt, i, fn, &q) ? source_points(s, pt, t, e, &q, out) : -1;
		free(q.name);
		free(q.file);
		free(q.ranges);
		return n;
	}
	int n = 0;
	for (int k = 0; k < e->nsyms; k++) {
		if (!kernel_glob(fn, e->syms[k].name))
			continue;
		const UserFunc *uf = udwarf_function_at(s, t->path, e->syms[k].addr);
		if (uf && uf->entry != e->syms[k].addr)
			uf = NULL;
		uint64_t at = uf && !q.ret ? uf->body : e->syms[k].addr;
		push_function_point(pt, t, e, &q, e->syms[k].name, at, uf, 0, out);
		n++;
	}
	if (!n && !kernel_point_quiet(s, pt) && !kernel_has_wildcard(fn)) {
		suggest_user_functions(s, pt, e, fn);
		return -1;
	}
	return n;
}

/* .mark("NAME"): "provider:name" or just the name (any provider) */
static int process_mark(Session *s, const ProbePoint *pt, const Target *t, int i, Vec *out)
{
	const char *pat = kernel_comp_string(&pt->comps[i]);
	if (!pat) {
		kernel_point_error(s, pt, i, "expected a string argument");
		return -1;
	}
	if (i + 1 < pt->ncomps) {
		kernel_point_error(s, pt, i + 1, "invalid suffix for probe");
		return -1;
	}
	if (!t->path) {
		kernel_point_error(s, pt, i, "a process path or pid is needed for .mark");
		return -1;
	}
	ElfInfo *e = elf_info(s, t->path);
	const char *colon = strchr(pat, ':');
	char *prov_glob = colon ? xstrndup(pat, (size_t)(colon - pat)) : xstrdup("*");
	const char *name_glob = colon ? colon + 1 : pat;
	int n = 0;
	for (int k = 0; e->ok && k < e->nnotes; k++) {
		const SdtNote *note = &e->notes[k];
		/* stap writes marks with "__" where the source has "-" */
		if (!kernel_glob(prov_glob, note->provider) || !kernel_glob(name_glob, note->name))
			continue;
		/* libbpf attaches every site of provider:name at once */
		bool seen = false;
		for (int j = 0; j < k && !seen; j++)
			seen = !strcmp(e->notes[j].provider, note->provider) && !strcmp(e->notes[j].name, note->name);
		if (seen)
			continue;
		char *q = kernel_quote(note->name);
		char *sfx = xasprintf(".mark(%s)", q);
		free(q);
		Resolved *r = process_event(pt, t, PK_USDT, sfx);
		free(sfx);
		r->sdt_provider = xstrdup(note->provider);
		r->mark = xstrdup(note->name);
		r->offset = file_offset(e, note->pc);
		vec_push(out, r);
		n++;
	}
	free(prov_glob);
	return n;
}

/* process(...).* and the like: the events that need no argument. */
static int process_wildcard(Session *s, const ProbePoint *pt, const Target *t, Vec *out)
{
	static const char *const simple[][2] = {
		{ "begin", NULL },  { "end", NULL },       { "thread", "begin" },
		{ "thread", "end" }, { "syscall", NULL },  { "syscall", "return" },
	};
	if (pt->ncomps > 3)
		return 0;
	int n = 0;
	for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
		int len = simple[i][1] ? 3 : 2;
		if (len != pt->ncomps)
			continue;
		if (!kernel_glob(pt->comps[1].name, simple[i][0]) ||
		    (len == 3 && !kernel_glob(pt->comps[2].name, simple[i][1])))
			continue;
		ProbePoint one = *pt;
		PointComp comps[3] = { pt->comps[0], { .name = (char *)simple[i][0], .loc = pt->comps[1].loc } };
		if (len == 3)
			comps[2] = (PointComp){ .name = (char *)simple[i][1], .loc = pt->comps[2].loc };
		one.comps = comps;
		one.ncomps = len;
		int k = strcmp(simple[i][0], "syscall") == 0 ? process_syscall(s, &one, t, 1, out)
							    : process_lifecycle(s, &one, t, 1, out);
		n += k > 0 ? k : 0;
	}
	return n;
}

static int process_at(Session *s, const ProbePoint *pt, const Target *t, Vec *out)
{
	if (pt->ncomps < 2) {
		kernel_point_error(s, pt, 0, "probe point is incomplete");
		return -1;
	}
	const char *ev = pt->comps[1].name;
	if (kernel_has_wildcard(ev) || (pt->ncomps == 3 && kernel_has_wildcard(pt->comps[2].name) &&
					!pt->comps[1].arg))
		return process_wildcard(s, pt, t, out);
	if (strcmp(ev, "begin") == 0 || strcmp(ev, "end") == 0 || strcmp(ev, "thread") == 0)
		return process_lifecycle(s, pt, t, 1, out);
	if (strcmp(ev, "syscall") == 0)
		return process_syscall(s, pt, t, 1, out);
	if (strcmp(ev, "function") == 0 || strcmp(ev, "statement") == 0)
		return process_function(s, pt, t, 1, out);
	if (strcmp(ev, "mark") == 0)
		return process_mark(s, pt, t, 1, out);
	kernel_mismatch(s, pt, 1, process_events, (int)(sizeof process_events / sizeof *process_events));
	return -1;
}

static int process_at_path(Session *s, const ProbePoint *pt, const char *path, Vec *out)
{
	char *q = kernel_quote(path);
	Target t = { .path = (char *)path, .pp = xasprintf("process(%s)", q) };
	free(q);
	int n = process_at(s, pt, &t, out);
	free(t.pp);
	return n;
}

/* process.function(...) and the others that need a binary, written
 * without one: stap takes the program of the -c command. */
static char *target_command_binary(Session *s, const ProbePoint *pt)
{
	static const char *const need_path[] = { "function", "statement", "mark" };
	if (!s->target_cmd || pt->ncomps < 2)
		return NULL;
	bool needs = false;
	for (size_t i = 0; i < sizeof need_path / sizeof need_path[0]; i++)
		needs |= strcmp(pt->comps[1].name, need_path[i]) == 0;
	if (!needs)
		return NULL;
	const char *cmd = s->target_cmd + strspn(s->target_cmd, " \t");
	char *word = xstrndup(cmd, strcspn(cmd, " \t"));
	char *path = kernel_find_executable(word);
	free(word);
	return path;
}

static int process_resolve(Session *s, const ProbePoint *pt, Vec *out)
{
	const PointComp *c = &pt->comps[0];
	int64_t pid;
	if (!c->arg) {
		char *cmd = target_command_binary(s, pt);
		if (cmd) {
			int n = process_at_path(s, pt, cmd, out);
			free(cmd);
			return n;
		}
		Target t = { .pp = "process" };
		return process_at(s, pt, &t, out);
	}
	if (kernel_comp_number(c, &pid)) {
		char *exe = xasprintf("/proc/%lld/exe", (long long)pid);
		char resolved[PATH_MAX];
		ssize_t len = readlink(exe, resolved, sizeof resolved - 1);
		free(exe);
		if (len <= 0) {
			kernel_point_error(s, pt, 0, "cannot find process %lld", (long long)pid);
			return -1;
		}
		resolved[len] = '\0';
		Target t = { .path = resolved, .pid = pid, .pp = xasprintf("process(%lld)", (long long)pid) };
		int n = process_at(s, pt, &t, out);
		free(t.pp);
		return n;
	}
	const char *path = kernel_comp_string(c);
	Vec paths = { 0 };
	find_executables(path, &paths);
	if (paths.len == 0) {
		if (kernel_has_wildcard(path) || kernel_point_quiet(s, pt))
			return 0;
		kernel_point_error(s, pt, -1, "cannot find executable '%s'", path);
		return -1;
	}
	int total = 0;
	for (int i = 0; i < paths.len && total >= 0; i++) {
		int n = process_at_path(s, pt, VEC_AT(&paths, i), out);
		total = n < 0 ? -1 : total + n;
	}
	for (int i = 0; i < paths.len; i++)
		free(VEC_AT(&paths, i));
	free(paths.data);
	return total;
}

static void push_long(Vec *names, Vec *accesses, const char *name, int kind, int index)
{
	TargetAccess *ta = kernel_new_access(kind, TY_LONG, "long");
	ta->index = index;
	ta->size = 8;
	ta->is_signed = true;
	vec_push(names, xstrdup(name));
	vec_push(accesses, ta);
}

static const SdtNote *find_note(Session *s, const Resolved *r)
{
	ElfInfo *e = r->path ? elf_info(s, r->path) : NULL;
	for (int k = 0; e && k < e->nnotes; k++)
		if (strcmp(e->notes[k].provider, r->sdt_provider) == 0 &&
		    strcmp(e->notes[k].name, r->mark) == 0 && file_offset(e, e->notes[k].pc) == r->offset)
			return &e->notes[k];
	return NULL;
}

/* The virtual address of file offset `off` (where a uprobe was placed). */
static uint64_t virtual_address(const ElfInfo *e, uint64_t off)
{
	for (int i = 0; i < e->nloads; i++) {
		const GElf_Phdr *p = &e->loads[i];
		if (off >= p->p_offset && off < p->p_offset + p->p_filesz)
			return off - p->p_offset + p->p_vaddr;
	}
	return off;
}

/* The function with debuginfo a uprobe point stops in, and where. */
static const UserFunc *probed_function(Session *s, const Resolved *r, uint64_t *pc)
{
	ElfInfo *e = r->path ? elf_info(s, r->path) : NULL;
	if (!e || !e->ok)
		return NULL;
	*pc = virtual_address(e, r->offset);
	return udwarf_function_at(s, r->path, *pc);
}

uint64_t process_entry_offset(Session *s, const Resolved *ret)
{
	uint64_t pc;
	const UserFunc *uf = probed_function(s, ret, &pc);
	ElfInfo *e = elf_info(s, ret->path);
	return uf && uf->entry == pc ? file_offset(e, uf->body) : ret->offset;
}

static void process_target_list(Session *s, const Resolved *r, Vec *names, Vec *accesses)
{
	char name[16];
	switch (r->kind) {
	case PK_USDT: {
		const SdtNote *n = find_note(s, r);
		for (int i = 0; n && i < n->nargs; i++) {
			snprintf(name, sizeof name, "arg%d", i + 1);
			push_long(names, accesses, name, TA_FUNC_ARG, i);
		}
		break;
	}
	case PK_SYSCALL:
		/* sys_exit's record has the return value where sys_enter's has args[0] */
		if (r->is_return)
			push_long(names, accesses, "return", TA_SYSCALL_ARG, 0);
		push_long(names, accesses, "syscall", TA_SYSCALL_ARG, -1);
		for (int i = 0; i < 6; i++) {
			snprintf(name, sizeof name, "arg%d", i + 1);
			push_long(names, accesses, name, TA_SYSCALL_ARG, i);
		}
		break;
	case PK_UPROBE: {
		uint64_t pc;
		const UserFunc *uf = probed_function(s, r, &pc);
		if (uf)
			udwarf_variables(s, r->path, uf, pc, r->is_return, names, accesses);
		else if (r->is_return)
			push_long(names, accesses, "return", TA_FUNC_RET, 0);
		break;
	}
	default:
		break;
	}
}

/* $$name and $$provider of a mark: the parts of its point, as strings. */
static TargetAccess *mark_part(const Resolved *r, const char *name)
{
	const char *text = !strcmp(name, "$name") ? r->mark : !strcmp(name, "$provider") ? r->sdt_provider : NULL;
	if (!text)
		return NULL;
	TargetAccess *ta = kernel_new_access(TA_C_EXPR, TY_STRING, "string");
	ta->c_expr = kernel_quote(text);
	return ta;
}

static TargetAccess *process_target(Session *s, const Resolved *r, const char *name)
{
	if (r->kind == PK_USDT && name[0] == '$')
		return mark_part(r, name);
	TargetAccess *ta = kernel_target_from_list(s, r, name, process_target_list);
	uint64_t pc;
	const UserFunc *uf;
	/* globals: in return probes only by @var("name@file"), read as they
	 * are at the return */
	if (!ta && r->kind == PK_UPROBE && (!r->is_return || strchr(name, '@')) && (uf = probed_function(s, r, &pc)))
		ta = udwarf_global(s, r->path, uf, pc, name);
	return ta;
}

static char *process_target_missing(Session *s, const Resolved *r, const char *name)
{
	uint64_t pc;
	const UserFunc *uf = r->kind == PK_UPROBE ? probed_function(s, r, &pc) : NULL;
	return uf ? udwarf_missing(s, r->path, uf, pc, r->is_return, name) : NULL;
}

static void process_list(Session *s, const ProbePoint *pattern, Vec *out)
{
	kernel_list_by_resolving(s, pattern, out, process_resolve);
}

const Provider provider_process = {
	.name = "process",
	.resolve = process_resolve,
	.target = process_target,
	.target_list = process_target_list,
	.list = process_list,
	.target_missing = process_target_missing,
};

/* ---- procfs */

static int procfs_resolve(Session *s, const ProbePoint *pt, Vec *out)
{
	const char *name = pt->comps[0].arg ? kernel_comp_string(&pt->comps[0]) : "command";
	if (!name || !*name || strstr(name, "..") || name[0] == '/') {
		kernel_point_error(s, pt, 0, "expected a relative file name");
		return -1;
	}
	static const char *const ops[] = { "read", "write" };
	if (pt->ncomps < 2) {
		kernel_point_error(s, pt, 0, "probe point is incomplete");
		return -1;
	}
	const char *op = pt->comps[1].name;
	if (strcmp(op, "read") != 0 && strcmp(op, "write") != 0) {
		kernel_mismatch(s, pt, 1, ops, 2);
		return -1;
	}
	int next = 2;
	int64_t maxsize = 0;
	if (next < pt->ncomps && strcmp(pt->comps[next].name, "maxsize") == 0 && strcmp(op, "read") == 0) {
		if (!kernel_comp_number(&pt->comps[next], &maxsize) || maxsize <= 0) {
			kernel_point_error(s, pt, next, "expected a positive number");
			return -1;
		}
		next++;
	}
	if (next < pt->ncomps) {
		kernel_point_error(s, pt, next, "invalid suffix for probe");
		return -1;
	}
	if (!s->listing_mode) {
		/* -l and -L list the point; a script cannot use it */
		kernel_point_error(s, pt, 0,
				   "procfs probes cannot be provided: they fire when /proc/systemtap/MODULE/%s is "
				   "read or written, and procfs files belong to a kernel module (this stap loads "
				   "none, and eBPF programs cannot create procfs files)", name);
		return -1;
	}
	char *q = kernel_quote(name);
	Resolved *r = kernel_new_resolved(PK_PROCFS, pt, xasprintf("procfs(%s).%s", q, op));
	free(q);
	r->path = xstrdup(name);
	r->mark = xstrdup(op);
	r->sample_period = (uint64_t)maxsize; /* .read.maxsize(N), 0 for the default */
	vec_push(out, r);
	return 1;
}

static void procfs_target_list(Session *s, const Resolved *r, Vec *names, Vec *accesses)
{
	TargetAccess *ta = kernel_new_access(TA_C_EXPR, TY_STRING, "string");
	ta->c_expr = xstrdup("value");
	vec_push(names, xstrdup("value"));
	vec_push(accesses, ta);
}

static TargetAccess *procfs_target(Session *s, const Resolved *r, const char *name)
{
	return kernel_target_from_list(s, r, name, procfs_target_list);
}

static void procfs_list(Session *s, const ProbePoint *pattern, Vec *out)
{
	ProbePoint quiet = *pattern;
	quiet.optional = true;
	Vec rs = { 0 };
	if (procfs_resolve(s, &quiet, &rs) > 0)
		for (int i = 0; i < rs.len; i++)
			vec_push(out, xstrdup(((Resolved *)VEC_AT(&rs, i))->pp));
	kernel_free_resolved(&rs);
}

const Provider provider_procfs = {
	.name = "procfs",
	.resolve = procfs_resolve,
	.target = procfs_target,
	.target_list = procfs_target_list,
	.list = procfs_list,
};
