/* symbols.c - addresses to names, for backtraces and symname().
 *
 * The kernel side only collects addresses (bpf_get_stack); staprun names
 * them here, where reading files is cheap and safe:
 *   - kernel addresses from /proc/kallsyms, read once on first use into a
 *     table sorted by address (a symbol's size is the distance to the
 *     next one), searched by bisection;
 *   - user addresses from /proc/PID/maps (which file, at which offset)
 *     and the ELF .symtab and .dynsym of that file, read once per path
 *     and cached, searched the same way.
 * Frames print in stap's layout:
 *    0xffffffff8120f4a0 : vfs_read+0x0/0x170 [kernel]
 */
#include "rt.h"

#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sym {
	uint64_t addr, size;
	char *name;
	char *module;            /* kallsyms [module], NULL for the kernel */
};

struct symtab {
	struct sym *syms;
	size_t n, cap;
};

static void symtab_add(struct symtab *t, uint64_t addr, uint64_t size, const char *name, const char *module)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 1024;
		t->syms = realloc(t->syms, t->cap * sizeof *t->syms);
		if (!t->syms)
			abort();
	}
	t->syms[t->n++] = (struct sym){addr, size, strdup(name), module ? strdup(module) : NULL};
}

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Sort; symbols without a size reach to the next symbol. */
static void symtab_finish(struct symtab *t)
{
	qsort(t->syms, t->n, sizeof *t->syms, cmp_sym);
	for (size_t i = 0; i < t->n; i++)
		if (!t->syms[i].size && i + 1 < t->n)
			t->syms[i].size = t->syms[i + 1].addr - t->syms[i].addr;
}

/* The symbol whose range holds addr (the last one at or below it when
 * sizes are unknown), or NULL. */
static const struct sym *symtab_find(const struct symtab *t, uint64_t addr)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	const struct sym *s = &t->syms[lo - 1];
	if (s->size && addr >= s->addr + s->size)
		return NULL;
	return s;
}

/* ------------------------------------------------------------ kernel */

static struct symtab kernel_syms;
static int kernel_loaded;

static void load_kallsyms(void)
{
	kernel_loaded = 1;
	FILE *f = fopen("/proc/kallsyms", "r");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		unsigned long long addr;
		char type, name[256], module[128] = "";
		int n = sscanf(line, "%llx %c %255s [%127[^]]]", &addr, &type, name, module);
		if (n < 3 || !addr)
			continue;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		symtab_add(&kernel_syms, addr, 0, name, n == 4 ? module : NULL);
	}
	fclose(f);
	symtab_finish(&kernel_syms);
}

static const struct sym *kernel_sym(uint64_t addr)
{
	if (!kernel_loaded)
		load_kallsyms();
	return symtab_find(&kernel_syms, addr);
}

/* ------------------------------------------------------------- user */

struct elf_syms {
	char *path;
	struct symtab t;
	/* the executable PT_LOADs (where code lives), to turn a file offset
	 * into a link-time address (file_vaddr) */
	struct { uint64_t off, size, vaddr; } segs[16];
	int nsegs;
	Dwarf *dwarf;            /* source lines, opened on first use (NULL: none) */
	int dwarf_fd, dwarf_tried;
	struct elf_syms *next;
};

static struct elf_syms *elf_cache;

static void read_elf_symbols(struct elf_syms *es, Elf *elf)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; d && i < n; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_value)
				continue;
			const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (name && *name)
				symtab_add(&es->t, sym.st_value, sym.st_size, name, NULL);
		}
	}
	size_t nph = 0;
	elf_getphdrnum(elf, &nph);
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (es->nsegs < (int)(sizeof es->segs / sizeof es->segs[0])) {
			es->segs[es->nsegs].off = ph.p_offset;
			es->segs[es->nsegs].size = ph.p_filesz;
			es->segs[es->nsegs++].vaddr = ph.p_vaddr;
		}
	}
}

/* A file offset of a mapped file as its link-time address: code may be
 * in several executable segments, each with its own distance; an offset
 * in none of them goes by the first. */
static uint64_t file_vaddr(const struct elf_syms *es, uint64_t file_off)
{
	for (int i = 0; i < es->nsegs; i++)
		if (file_off >= es->segs[i].off && file_off < es->segs[i].off + es->segs[i].size)
			return file_off - es->segs[i].off + es->segs[i].vaddr;
	return es->nsegs ? file_off - es->segs[0].off + es->segs[0].vaddr : file_off;
}

static struct elf_syms *elf_syms_of(const char *path)
{
	for (struct elf_syms *es = elf_cache; es; es = es->next)
		if (!strcmp(es->path, path))
			return es;
	struct elf_syms *es = calloc(1, sizeof *es);
	if (!es)
		abort();
	es->path = strdup(path);
	es->next = elf_cache;
	elf_cache = es;
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return es;
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf) {
		read_elf_symbols(es, elf);
		elf_end(elf);
	}
	close(fd);
	symtab_finish(&es->t);
	return es;
}

/* The file mapped at addr in process pid, and addr as a file offset. */
static int find_mapping(int pid, uint64_t addr, char *path, size_t pathlen, uint64_t *file_off)
{
	char maps[64];
	snprintf(maps, sizeof maps, "/proc/%d/maps", pid);
	FILE *f = fopen(maps, "r");
	if (!f)
		return 0;
	char line[4096];
	int found = 0;
	while (!found && fgets(line, sizeof line, f)) {
		unsigned long long lo, hi, off;
		int name_at = 0;
		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %n", &lo, &hi, &off, &name_at) < 3 || !name_at)
			continue;
		if (addr < lo || addr >= hi || line[name_at] != '/')
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(path, pathlen, "%s", line + name_at);
		*file_off = addr - lo + off;
		found = 1;
	}
	fclose(f);
	return found;
}

/* ------------------------------------------------------------ lookup */

/* Where an address is, found once for all that is asked of it. */
struct where {
	const struct sym *sym;   /* its symbol, or NULL */
	uint64_t off;            /* its offset in sym */
	const char *module;      /* the [name] stap prints ("kernel", a kernel
				  * module, or the file's path), or NULL */
	struct elf_syms *es;     /* a user address: the file mapped there */
	uint64_t vaddr;          /* ... and the address's link-time address in it */
	char path[4096];
};

/* Name addr: kernel when pid < 0, else in process pid. */
static void lookup(int pid, uint64_t addr, struct where *w)
{
	w->sym = NULL;
	w->off = 0;
	w->module = NULL;
	w->es = NULL;
	if (pid < 0) {
		w->sym = kernel_sym(addr);
		if (w->sym) {
			w->off = addr - w->sym->addr;
			w->module = w->sym->module ? w->sym->module : "kernel";
		}
		return;
	}
	uint64_t file_off;
	if (!find_mapping(pid, addr, w->path, sizeof w->path, &file_off))
		return;
	w->module = w->path;
	w->es = elf_syms_of(w->path);
	w->vaddr = file_vaddr(w->es, file_off);
	w->sym = symtab_find(&w->es->t, w->vaddr);
	if (w->sym)
		w->off = w->vaddr - w->sym->addr;
}

static void where_text(char *buf, size_t size, uint64_t addr, const struct where *w, int with_data)
{
	if (!w->sym)
		snprintf(buf, size, "0x%llx", (unsigned long long)addr);
	else if (!with_data)
		snprintf(buf, size, "%s", w->sym->name);
	else
		snprintf(buf, size, "%s+0x%llx/0x%llx [%s]", w->sym->name, (unsigned long long)w->off,
			 (unsigned long long)w->sym->size, w->module);
}

void rt_symbol_text(char *buf, size_t size, int pid, uint64_t addr, int with_data)
{
	struct where w;
	lookup(pid, addr, &w);
	where_text(buf, size, addr, &w, with_data);
}

/* ------------------------------------------------------ source lines */

/* Where an address is in the sources, from its file's DWARF line table;
 * 0 when it has none there.  Kernel addresses have no DWARF here (no
 * debuginfo), user ones have it when the file was built with -g. */
static int source_line(const struct where *w, const char **file, int *line)
{
	struct elf_syms *es = w->es;
	if (!es)
		return 0;
	if (!es->dwarf_tried) {
		es->dwarf_tried = 1;
		es->dwarf_fd = open(es->path, O_RDONLY | O_CLOEXEC);
		if (es->dwarf_fd >= 0)
			es->dwarf = dwarf_begin(es->dwarf_fd, DWARF_C_READ);
	}
	Dwarf_Die cu;
	if (!es->dwarf || !dwarf_addrdie(es->dwarf, w->vaddr, &cu))
		return 0;
	Dwarf_Line *l = dwarf_getsrc_die(&cu, w->vaddr);
	if (!l || !(*file = dwarf_linesrc(l, NULL, NULL)) || dwarf_lineno(l, line) != 0)
		return 0;
	return 1;
}

void rt_symbol_where(char *buf, size_t size, int pid, uint64_t addr, enum rt_sym_what what)
{
	struct where w;
	const char *file = NULL;
	int line = 0;
	lookup(pid, addr, &w);
	if (what == RT_SYM_MODULE)
		snprintf(buf, size, "%s", w.module ? w.module : "");
	else if (!source_line(&w, &file, &line))
		snprintf(buf, size, "0x%llx", (unsigned long long)addr);
	else if (what == RT_SYM_FILE)
		snprintf(buf, size, "%s", file);
	else if (what == RT_SYM_LINE)
		snprintf(buf, size, "%d", line);
	else
		snprintf(buf, size, "%s:%d", file, line);
}

/* ------------------------------------------------------------ frames */

/* One frame in a style (RT_FRAME_*):
 *   full      " 0x00000000004004f6 : main+0x1d/0x30 [/tmp/prog]"
 *   fileline  the same and " at /tmp/prog.c:5" where DWARF knows
 *   brief     "main+0x1d", or "0x4004f6"
 *   simple    "main+0x1d [/tmp/prog]", or "0x4004f6 [/tmp/prog+0x4f6]" or
 *             "0x4004f6" (sprint_syms)
 * and a newline. */
static int frame_text(char *buf, size_t size, int pid, uint64_t ip, enum rt_frame_style style)
{
	struct where w;
	lookup(pid, ip, &w);
	unsigned long long a = ip, o = w.off;
	if (style == RT_FRAME_BRIEF)
		return w.sym ? snprintf(buf, size, "%s+0x%llx\n", w.sym->name, o) : snprintf(buf, size, "0x%llx\n", a);
	if (style == RT_FRAME_SIMPLE) {
		if (w.sym)
			return snprintf(buf, size, "%s+0x%llx [%s]\n", w.sym->name, o, w.module);
		if (w.es)
			return snprintf(buf, size, "0x%llx [%s+0x%llx]\n", a, w.path, (unsigned long long)w.vaddr);
		return snprintf(buf, size, "0x%llx\n", a);
	}
	char text[512];
	where_text(text, sizeof text, ip, &w, 1);
	const char *file = NULL;
	int line = 0;
	if (style == RT_FRAME_FILELINE && source_line(&w, &file, &line))
		return snprintf(buf, size, " 0x%016llx : %s at %s:%d\n", a, text, file, line);
	return snprintf(buf, size, " 0x%016llx : %s\n", a, text);
}

void rt_print_frames(struct stp_session *s, int pid, const uint64_t *ips, size_t n, enum rt_frame_style style)
{
	for (size_t i = 0; i < n && ips[i]; i++) {
		char line[4800];
		int len = frame_text(line, sizeof line, pid, ips[i], style);
		rt_out_write(s, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
	}
}

/* The addresses of a backtrace() string ("0xffffffff8120f4a0 0xff..."). */
static size_t parse_stack_text(const char *text, size_t len, uint64_t *ips, size_t max)
{
	size_t n = 0;
	char buf[4096];
	snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), text);
	for (char *p = buf, *end; n < max; p = end) {
		unsigned long long v = strtoull(p, &end, 16);
		if (end == p)
			break;
		ips[n++] = v;
	}
	return n;
}

/* A backtrace() string, as print_stack() is given it. */
void rt_print_stack_text(struct stp_session *s, int pid, const char *text, size_t len)
{
	uint64_t ips[STP_MAXBACKTRACE * 4];
	size_t n = parse_stack_text(text, len, ips, sizeof ips / sizeof ips[0]);
	rt_print_frames(s, pid, ips, n, RT_FRAME_FULL);
}

/* sprint_syms(str) and friends: the frames as text, cut at size - 1. */
void rt_stack_text_lines(char *buf, size_t size, int pid, const char *text, enum rt_frame_style style)
{
	uint64_t ips[STP_MAXBACKTRACE * 4];
	size_t n = parse_stack_text(text, strlen(text), ips, sizeof ips / sizeof ips[0]);
	size_t o = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n && ips[i] && o + 1 < size; i++) {
		char line[4800];
		frame_text(line, sizeof line, pid, ips[i], style);
		o += (size_t)snprintf(buf + o, size - o, "%s", line);
		if (o >= size)
			o = size - 1;
	}
}

/* module_size(): bytes of the module file's allocated sections: code,
 * initialized data (read-only included), zeroed data. */
void rt_module_sections(const char *path, unsigned long long *text, unsigned long long *data,
			unsigned long long *bss)
{
	*text = *data = *bss = 0;
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	for (Elf_Scn *scn = NULL; elf && (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC))
			continue;
		if (sh.sh_type == SHT_NOBITS)
			*bss += sh.sh_size;
		else if (sh.sh_flags & SHF_EXECINSTR)
			*text += sh.sh_size;
		else
			*data += sh.sh_size;
	}
	if (elf)
		elf_end(elf);
	close(fd);
}
