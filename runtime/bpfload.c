/* bpfload.c - the module's BPF object: open it from the module's bytes,
 * find the shared global block, set globals before load, load, attach
 * every kernel-context probe by its kind, and detach it all again.
 *
 * Names the generated BPF object must use:
 *   - the global block is the libbpf internal map whose name ends with
 *     mod->globals_section (".data"); it starts with struct stp_state;
 *   - kernel output goes to a BPF_MAP_TYPE_RINGBUF map named "stp_events"
 *     (optional: without it the kernel side has no output);
 *   - each probe's program is named by stp_probe_desc.bpf_prog;
 *   - arrays and stats live in maps named by stp_global_desc.map_name.
 */
#include "rt.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RINGBUF_MAP "stp_events"

static int libbpf_verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && libbpf_verbose < 3)
		return 0;
	if (level == LIBBPF_INFO && libbpf_verbose < 2)
		return 0;
	if (level == LIBBPF_WARN && libbpf_verbose < 1)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static struct bpf_map *find_globals_map(struct stp_session *s)
{
	const char *suffix = s->mod->globals_section ? s->mod->globals_section : ".data";
	size_t sl = strlen(suffix);
	struct bpf_map *map;
	bpf_object__for_each_map(map, s->obj) {
		const char *name = bpf_map__name(map);
		size_t nl = strlen(name);
		if (nl >= sl && strcmp(name + nl - sl, suffix) == 0)
			return map;
	}
	return NULL;
}

static void point_globals(struct stp_session *s)
{
	struct bpf_map *map = find_globals_map(s);
	size_t size = 0;
	s->globals = map ? (void *)bpf_map__initial_value(map, &size) : NULL;
	if (!s->globals || size < sizeof(struct stp_state)) {
		size_t want = s->mod->globals_size > sizeof(struct stp_state) ? s->mod->globals_size
									       : sizeof(struct stp_state);
		if (!s->own_globals)
			s->own_globals = calloc(1, want);
		s->globals = s->own_globals;
	}
	s->ctx.globals = s->globals;
}

/* After load the block must be the kernel's own map memory: libbpf 1.1
 * maps it only for skeletons, so map it here (shared, read-write). */
static int map_globals(struct stp_session *s)
{
	struct bpf_map *map = find_globals_map(s);
	if (!map)
		return 0;
	size_t size = bpf_map__value_size(map);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	s->globals_len = (size + page - 1) / page * page;
	void *p = mmap(NULL, s->globals_len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "ERROR: cannot map the global block %s: %s\n", bpf_map__name(map), strerror(errno));
		s->globals_len = 0;
		return -1;
	}
	s->globals_map = p;
	s->globals = p;
	s->ctx.globals = p;
	return 0;
}

static size_t round_pow2(size_t v)
{
	size_t p = 4096;
	while (p < v)
		p <<= 1;
	return p;
}

int rt_bpf_open(struct stp_session *s)
{
	libbpf_verbose = s->opt.verbose;
	libbpf_set_print(print_libbpf);
	if (!s->mod->bpf_obj || !s->mod->bpf_obj_len) {
		point_globals(s);
		return 0;
	}
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = s->mod->name);
	s->obj = bpf_object__open_mem(s->mod->bpf_obj, s->mod->bpf_obj_len, &opts);
	if (!s->obj) {
		fprintf(stderr, "ERROR: cannot open the BPF object in %s: %s\n", s->opt.module_path, strerror(errno));
		return -1;
	}
	point_globals(s);
	struct bpf_map *rb = bpf_object__find_map_by_name(s->obj, RINGBUF_MAP);
	if (rb && s->opt.bufsize_mb > 0)
		bpf_map__set_max_entries(rb, (uint32_t)round_pow2((size_t)s->opt.bufsize_mb << 20));
	return 0;
}

/* ------------------------------------------------- function probes */

/* Each kernel.function point comes as two programs with one handler:
 * fentry/fexit (the cheaper, and the only way where kprobes are off) and
 * kprobe/kretprobe (where the kernel refuses trampolines, as with some
 * lockdown or CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS off).  Which one
 * is decided once, by trying the smallest program of each kind, and only
 * that kind is loaded: the other would fail the whole object.
 * STAPNG_KFUNC=fentry|kprobe forces a mechanism (for tests and for
 * working around a kernel that accepts but misbehaves). */

static int has_function_probes(struct stp_session *s)
{
	for (int i = 0; i < s->mod->nprobes; i++)
		if (s->mod->probes[i].kind == STP_PROBE_KPROBE)
			return 1;
	return 0;
}

static const char *kfunc_mech_name(int mech)
{
	return mech == STP_KFUNC_FENTRY ? "fentry/fexit" : mech == STP_KFUNC_KPROBE ? "kprobes" : "none";
}

static void choose_kfunc_mech(struct stp_session *s, char *fentry_why, char *kprobe_why, size_t n)
{
	const char *force = getenv("STAPNG_KFUNC");
	int want_fentry = !force || !*force || !strcmp(force, "fentry");
	int want_kprobe = !force || !*force || !strcmp(force, "kprobe");
	snprintf(fentry_why, n, "not tried (STAPNG_KFUNC=%s)", force ? force : "");
	snprintf(kprobe_why, n, "not tried (STAPNG_KFUNC=%s)", force ? force : "");
	s->kfunc_mech = STP_KFUNC_NONE;
	if (want_fentry && rt_fentry_usable(NULL, fentry_why, n) == 0)
		s->kfunc_mech = STP_KFUNC_FENTRY;
	else if (want_kprobe && rt_kprobes_usable(kprobe_why, n) == 0)
		s->kfunc_mech = STP_KFUNC_KPROBE;
}

static void set_autoload(struct stp_session *s, const char *name, int on)
{
	struct bpf_program *p = name ? bpf_object__find_program_by_name(s->obj, name) : NULL;
	if (p)
		bpf_program__set_autoload(p, on);
}

/* The kretprobe form cannot read arguments at return (the registers
 * are gone): a kprobe named PROG_entry saves them at entry. */
static char *entry_prog_name(const char *kprobe_prog)
{
	size_t n = strlen(kprobe_prog) + sizeof "_entry";
	char *name = malloc(n);
	if (name)
		snprintf(name, n, "%s_entry", kprobe_prog);
	return name;
}

/* The program a kernel.function point attaches with the chosen mechanism
 * (an address has only the kprobe form), or NULL. */
static const char *kfunc_prog(struct stp_session *s, const struct stp_probe_desc *p)
{
	if (s->kfunc_mech == STP_KFUNC_KPROBE)
		return p->bpf_prog_kprobe;
	if (s->kfunc_mech == STP_KFUNC_FENTRY && p->function)
		return p->bpf_prog;
	return NULL;
}

/* Load only the chosen kind; a point the kernel cannot serve fails the
 * session with the missing features named, unless it is optional. */
static int prepare_function_probes(struct stp_session *s)
{
	if (!has_function_probes(s))
		return 0;
	char fentry_why[256], kprobe_why[256];
	choose_kfunc_mech(s, fentry_why, kprobe_why, sizeof fentry_why);
	if (s->opt.verbose)
		fprintf(stderr, "staprun: kernel.function probes attach by %s (fentry: %s; kprobes: %s)\n",
			kfunc_mech_name(s->kfunc_mech), fentry_why, kprobe_why);
	for (int i = 0; i < s->mod->nprobes; i++) {
		const struct stp_probe_desc *p = &s->mod->probes[i];
		if (p->kind != STP_PROBE_KPROBE)
			continue;
		const char *chosen = kfunc_prog(s, p);
		if (p->function)
			set_autoload(s, p->bpf_prog, chosen == p->bpf_prog);
		set_autoload(s, p->bpf_prog_kprobe, chosen == p->bpf_prog_kprobe);
		char *entry = p->bpf_prog_kprobe ? entry_prog_name(p->bpf_prog_kprobe) : NULL;
		set_autoload(s, entry, chosen == p->bpf_prog_kprobe);
		free(entry);
		if (chosen || p->optional)
			continue;
		fprintf(stderr, "ERROR: %s needs %s, which this kernel lacks (fentry: %s; kprobes: %s)\n", p->pp,
			p->function ? "fentry or kprobes" : "kprobes", fentry_why, kprobe_why);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------- kernel symbols */

/* @var("name") reads a kernel global through a typeless __ksym extern,
 * which libbpf resolves from /proc/kallsyms at load.  A kernel built
 * without CONFIG_KALLSYMS_ALL lists no data symbols: say so by name
 * rather than let the whole load fail with ESRCH. */
static int kallsyms_has(const char *name)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512];
	size_t n = strlen(name);
	int found = 0;
	while (f && !found && fgets(line, sizeof line, f)) {
		char *sym = strchr(line, ' ');
		sym = sym ? strchr(sym + 1, ' ') : NULL;
		if (sym && strncmp(sym + 1, name, n) == 0 && (sym[n + 1] == '\n' || sym[n + 1] == '\t'))
			found = 1;
	}
	if (f)
		fclose(f);
	return found;
}

static int check_kernel_symbols(struct stp_session *s)
{
	const struct btf *btf = bpf_object__btf(s->obj);
	int sec = btf ? btf__find_by_name_kind(btf, ".ksyms", BTF_KIND_DATASEC) : -1;
	if (sec < 0)
		return 0;
	const struct btf_type *t = btf__type_by_id(btf, (uint32_t)sec);
	const struct btf_var_secinfo *v = btf_var_secinfos(t);
	for (int i = 0; i < btf_vlen(t); i++, v++) {
		const char *name = btf__name_by_offset(btf, btf__type_by_id(btf, v->type)->name_off);
		if (kallsyms_has(name))
			continue;
		fprintf(stderr, "ERROR: @var(\"%s\"): the kernel's symbol table (/proc/kallsyms) has no '%s'%s\n",
			name, name, " (data symbols need CONFIG_KALLSYMS_ALL)");
		return -1;
	}
	return 0;
}

/* set_user_* write with bpf_probe_write_user(), which a kernel in lockdown
 * (integrity or confidentiality) refuses to every program.  When a load
 * fails, a call of it in the object (the instruction "call 36", looked
 * for in the ELF image: subprograms are not separate programs before the
 * load) on such a kernel is named, rather than the verifier's "cannot use
 * helper". */
static int refused_write_user(struct stp_session *s)
{
	static const unsigned char call[8] = {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_probe_write_user, 0, 0, 0};
	const unsigned char *obj = s->mod->bpf_obj;
	size_t n = s->mod->bpf_obj_len;
	bool uses = false;
	for (size_t i = 0; i + sizeof call <= n && !uses; i += 8)
		uses = !memcmp(obj + i, call, sizeof call);
	if (!uses)
		return 0;
	/* libbpf_probe_bpf_helper() takes lockdown's refusal for support: ask
	 * the verifier (the call's arguments are wrong either way) */
	struct bpf_insn probe[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1},
		{.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_probe_write_user},
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	char log[4096] = "";
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof log, .log_level = 1);
	int fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", probe, 4, &opts);
	if (fd >= 0)
		close(fd);
	if (!strstr(log, "cannot use helper"))
		return 0;
	fprintf(stderr, "ERROR: set_user_*(): this kernel refuses bpf_probe_write_user(), so user memory cannot be "
			"written (kernel lockdown: see /sys/kernel/security/lockdown)\n");
	return 1;
}

/* Perf events and netfilter links are plain fds: closing one detaches. */
static int add_perf_fd(struct stp_session *s, int fd)
{
	int *f = realloc(s->perf_fds, sizeof(*f) * (size_t)(s->nperf_fds + 1));
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	s->perf_fds = f;
	s->perf_fds[s->nperf_fds++] = fd;
	return 0;
}

/* ------------------------------------------------- netfilter hooks */

/* The kernel's numbers (uapi linux/bpf.h, Linux 6.4), which libbpf 1.1
 * and its headers predate: its programs are typed here, and linked with
 * bpf(BPF_LINK_CREATE) directly. */
#define STP_PROG_TYPE_NETFILTER 32
#define STP_ATTACH_NETFILTER 45

static void type_netfilter_programs(struct stp_session *s)
{
	for (int i = 0; i < s->mod->nprobes; i++) {
		const struct stp_probe_desc *p = &s->mod->probes[i];
		struct bpf_program *prog = p->kind == STP_PROBE_NETFILTER && p->bpf_prog
						   ? bpf_object__find_program_by_name(s->obj, p->bpf_prog)
						   : NULL;
		if (!prog)
			continue;
		bpf_program__set_type(prog, (enum bpf_prog_type)STP_PROG_TYPE_NETFILTER);
		bpf_program__set_expected_attach_type(prog, (enum bpf_attach_type)STP_ATTACH_NETFILTER);
	}
}

/* The link's fd joins the perf fds (add_perf_fd). */
static int attach_netfilter(struct stp_session *s, const struct stp_probe_desc *p, struct bpf_program *prog,
			    const char **why)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.link_create.prog_fd = (uint32_t)bpf_program__fd(prog);
	a.link_create.attach_type = STP_ATTACH_NETFILTER;
	/* link_create.netfilter: pf, hooknum, priority, flags, after the
	 * 16 bytes of prog_fd, target_fd, attach_type and flags */
	uint32_t nf[4] = {p->nf_pf, p->nf_hook, (uint32_t)(int32_t)p->priority, 0};
	memcpy((char *)&a.link_create + 16, nf, sizeof nf);
	int fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof a);
	if (fd < 0) {
		int err = errno;
		if (err == EAFNOSUPPORT)
			*why = "this kernel links BPF programs to the NFPROTO_IPV4 and NFPROTO_IPV6 hooks only";
		else if (err == ERANGE)
			*why = "this kernel refuses the hook's first and last priorities to BPF programs";
		else if (err == EINVAL || err == EOPNOTSUPP)
			*why = "BPF netfilter links (Linux 6.4, CONFIG_NETFILTER_BPF_LINK)";
		return -err;
	}
	return add_perf_fd(s, fd);
}

int rt_bpf_load(struct stp_session *s)
{
	if (s->obj) {
		if (prepare_function_probes(s) || check_kernel_symbols(s))
			return -1;
		type_netfilter_programs(s);
		int err = bpf_object__load(s->obj);
		if (err && refused_write_user(s))
			return -1;
		if (err) {
			fprintf(stderr, "ERROR: the kernel refused the BPF programs of %s: %s%s\n",
				s->opt.module_path, strerror(-err),
				s->opt.verbose ? "" : " (run with -v for the verifier's log)");
			return -1;
		}
		if (map_globals(s))
			return -1;
		struct bpf_map *rb = bpf_object__find_map_by_name(s->obj, RINGBUF_MAP);
		if (rb) {
			s->rb = ring_buffer__new(bpf_map__fd(rb), rt_handle_record, s, NULL);
			if (!s->rb) {
				fprintf(stderr, "ERROR: cannot open ring buffer %s: %s\n", RINGBUF_MAP, strerror(errno));
				return -1;
			}
		}
	}
	return rt_maps_create_missing(s);
}

/* --------------------------------------------------------- globals */

static const struct stp_global_desc *find_scalar(struct stp_session *s, const char *name, size_t len)
{
	for (int i = 0; i < s->mod->nglobals; i++) {
		const struct stp_global_desc *g = &s->mod->globals[i];
		if (strlen(g->name) == len && strncmp(g->name, name, len) == 0)
			return g;
	}
	return NULL;
}

/* name=value, from -G or a module argument; before begin probes run. */
int rt_set_global(struct stp_session *s, const char *assign)
{
	const char *eq = strchr(assign, '=');
	if (!eq || eq == assign) {
		fprintf(stderr, "ERROR: expected name=value, not '%s'\n", assign);
		return -1;
	}
	const struct stp_global_desc *g = find_scalar(s, assign, (size_t)(eq - assign));
	if (!g) {
		fprintf(stderr, "ERROR: the module has no global '%.*s'\n", (int)(eq - assign), assign);
		return -1;
	}
	if (g->nkeys || g->type == STP_T_STATS) {
		fprintf(stderr, "ERROR: global '%s' is not a number or string and cannot be set\n", g->name);
		return -1;
	}
	const char *val = eq + 1;
	char *p = (char *)s->globals + g->offset;
	if (g->type == STP_T_LONG) {
		char *end;
		errno = 0;
		long long v = strtoll(val, &end, 0);
		if (*val == '\0' || *end || errno) {
			fprintf(stderr, "ERROR: global '%s' is a number; '%s' is not\n", g->name, val);
			return -1;
		}
		int64_t v64 = v;
		memcpy(p, &v64, 8);
	} else {
		size_t size = g->value_size ? g->value_size : 1;
		snprintf(p, size, "%s", val);
	}
	return 0;
}

/* ---------------------------------------------------------- attaching */

static int add_link(struct stp_session *s, struct bpf_link *link)
{
	struct bpf_link **l = realloc(s->links, sizeof(*l) * (size_t)(s->nlinks + 1));
	if (!l) {
		bpf_link__destroy(link);
		return -ENOMEM;
	}
	s->links = l;
	s->links[s->nlinks++] = link;
	return 0;
}


/* Online CPUs, from "0-3,5" in sysfs; bit i of the result's array. */
static int online_cpus(int *cpus, int max)
{
	FILE *f = fopen("/sys/devices/system/cpu/online", "r");
	int n = 0;
	if (!f)
		return 0;
	int a, b;
	char sep;
	while (fscanf(f, "%d", &a) == 1) {
		b = a;
		if (fscanf(f, "%c", &sep) == 1 && sep == '-') {
			if (fscanf(f, "%d", &b) != 1)
				b = a;
			if (fscanf(f, "%c", &sep) != 1)
				sep = '\n';
		}
		for (int c = a; c <= b && n < max; c++)
			cpus[n++] = c;
		if (sep != ',')
			break;
	}
	fclose(f);
	return n;
}

static int attach_perf(struct stp_session *s, const struct stp_probe_desc *p, struct bpf_program *prog)
{
	struct perf_event_attr attr = { .size = sizeof(attr) };
	if (p->kind == STP_PROBE_PROFILE) {
		attr.type = PERF_TYPE_SOFTWARE;
		attr.config = PERF_COUNT_SW_CPU_CLOCK;
		attr.sample_period = p->sample_period ? p->sample_period : p->period_ns ? p->period_ns : 4000000;
	} else {
		attr.type = p->perf_type;
		attr.config = p->perf_config;
		attr.sample_period = p->sample_period ? p->sample_period : 1000000;
	}
	int cpus[1024];
	int n = online_cpus(cpus, 1024);
	if (n == 0)
		return -ENODEV;
	for (int i = 0; i < n; i++) {
		int fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpus[i], -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (add_perf_fd(s, fd))
			return -ENOMEM;
		struct bpf_link *link = bpf_program__attach_perf_event(prog, fd);
		if (!link)
			return -errno;
		if (add_link(s, link))
			return -ENOMEM;
	}
	return 0;
}

/* A kernel.function point by the chosen mechanism: the fentry/fexit
 * program finds its function from its section; a kprobe attaches by name
 * (or by address for kernel.statement(ADDR)), and a kretprobe also
 * attaches its entry half, which saves the arguments. */
static int attach_function(struct stp_session *s, const struct stp_probe_desc *p, struct bpf_program *prog)
{
	if (bpf_program__type(prog) == BPF_PROG_TYPE_TRACING) {
		struct bpf_link *link = bpf_program__attach_trace(prog);
		return link ? add_link(s, link) : (errno ? -errno : -EINVAL);
	}
	char *entry_name = p->is_return ? entry_prog_name(bpf_program__name(prog)) : NULL;
	struct bpf_program *entry = entry_name ? bpf_object__find_program_by_name(s->obj, entry_name) : NULL;
	free(entry_name);
	if (entry) {
		LIBBPF_OPTS(bpf_kprobe_opts, eo, .offset = p->function ? 0 : (size_t)p->offset);
		struct bpf_link *link = bpf_program__attach_kprobe_opts(entry, p->function, &eo);
		if (!link)
			return errno ? -errno : -EINVAL;
		if (add_link(s, link))
			return -ENOMEM;
	}
	LIBBPF_OPTS(bpf_kprobe_opts, o, .retprobe = p->is_return, .offset = p->function ? 0 : (size_t)p->offset);
	struct bpf_link *link = bpf_program__attach_kprobe_opts(prog, p->function, &o);
	return link ? add_link(s, link) : (errno ? -errno : -EINVAL);
}

static struct bpf_link *attach_uprobe(struct stp_session *s, const struct stp_probe_desc *p, struct bpf_program *prog)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = p->is_return);
	if (p->function && !p->offset)
		opts.func_name = p->function;
	return bpf_program__attach_uprobe_opts(prog, -1, p->path, (size_t)p->offset, &opts);
}

/* Attaches one kernel-context probe; returns 0 or -errno, with *why set
 * to the missing kernel feature where one is known. */
static int attach_one(struct stp_session *s, const struct stp_probe_desc *p, struct bpf_program *prog,
		      const char **why)
{
	struct bpf_link *link = NULL;
	*why = NULL;
	switch (p->kind) {
	case STP_PROBE_TRACEPOINT:
	case STP_PROBE_PROCESS:
		/* handlers that read TP_PROTO arguments are raw tracepoint programs */
		if (bpf_program__type(prog) == BPF_PROG_TYPE_RAW_TRACEPOINT)
			link = bpf_program__attach_raw_tracepoint(prog, p->tp_event);
		else
			link = bpf_program__attach_tracepoint(prog, p->tp_system, p->tp_event);
		break;
	case STP_PROBE_SYSCALL:
		link = bpf_program__attach_tracepoint(prog, "raw_syscalls", p->is_return ? "sys_exit" : "sys_enter");
		break;
	case STP_PROBE_PERF:
	case STP_PROBE_PROFILE:
		return attach_perf(s, p, prog);
	case STP_PROBE_KPROBE:
		*why = kfunc_mech_name(s->kfunc_mech);
		return attach_function(s, p, prog);
	case STP_PROBE_UPROBE:
		link = attach_uprobe(s, p, prog);
		break;
	case STP_PROBE_NETFILTER:
		return attach_netfilter(s, p, prog, why);
	case STP_PROBE_USDT:
		/* tp_system is the provider, tp_event the probe name */
		link = bpf_program__attach_usdt(prog, -1, p->path, p->tp_system, p->tp_event, NULL);
		break;
	default:
		return -EINVAL;
	}
	if (!link)
		return errno ? -errno : -EINVAL;
	return add_link(s, link);
}

int rt_attach_all(struct stp_session *s)
{
	for (int i = 0; i < s->mod->nprobes; i++) {
		const struct stp_probe_desc *p = &s->mod->probes[i];
		if (!p->bpf_prog)
			continue;
		const char *name = p->kind == STP_PROBE_KPROBE ? kfunc_prog(s, p) : p->bpf_prog;
		if (!name) {
			/* an optional function probe this kernel cannot serve */
			s->skipped_optional++;
			if (s->opt.verbose)
				fprintf(stderr, "staprun: skipped optional probe %s: no fentry or kprobes\n", p->pp);
			continue;
		}
		struct bpf_program *prog = s->obj ? bpf_object__find_program_by_name(s->obj, name) : NULL;
		const char *why = NULL;
		int err = prog ? attach_one(s, p, prog, &why) : -ENOENT;
		if (!err) {
			s->attached++;
			continue;
		}
		if (p->optional) {
			s->skipped_optional++;
			if (s->opt.verbose)
				fprintf(stderr, "staprun: skipped optional probe %s: %s\n", p->pp, strerror(-err));
			continue;
		}
		if (!prog)
			fprintf(stderr, "ERROR: probe %s: the module has no BPF program '%s'\n", p->pp, name);
		else
			fprintf(stderr, "ERROR: cannot attach probe %s: %s%s%s\n", p->pp, why ? why : "",
				why ? ": " : "", strerror(-err));
		return -1;
	}
	if (s->opt.verbose)
		fprintf(stderr, "staprun: attached %d probe%s (%d links), skipped %d optional\n", s->attached,
			s->attached == 1 ? "" : "s", s->nlinks, s->skipped_optional);
	return 0;
}

/* Releasing a tracepoint or perf attachment waits for an RCU grace period
 * (60-80 ms each here), which would make every session end slowly.  The
 * handlers already return at once (the session is STOPPING), so the last
 * references are handed to a child that lives until this process has
 * exited and then lets the kernel release them in the background.  The
 * child closes stdio so that nobody waits on its pipes. */
static void release_in_background(void)
{
	int alive[2];
	if (pipe(alive) != 0)
		return;
	pid_t pid = fork();
	if (pid < 0) {
		close(alive[0]);
		close(alive[1]);
		return;
	}
	if (pid == 0) {
		setsid();
		close(alive[1]);
		for (int fd = 0; fd < 3; fd++)
			if (fd != alive[0])
				close(fd);
		char c;
		while (read(alive[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0); /* the parent is gone: the kernel releases the rest */
	}
	close(alive[0]);
	/* alive[1] stays open until this process exits */
}

void rt_detach_all(struct stp_session *s)
{
	if (s->nlinks + s->nperf_fds > 0 && !getenv("STAPNG_SYNC_DETACH")) {
		release_in_background();
		/* the child holds the attachments now: drop ours without waiting */
		for (int i = 0; i < s->nlinks; i++)
			bpf_link__disconnect(s->links[i]);
	}
	for (int i = 0; i < s->nlinks; i++)
		bpf_link__destroy(s->links[i]);
	free(s->links);
	s->links = NULL;
	s->nlinks = 0;
	for (int i = 0; i < s->nperf_fds; i++)
		close(s->perf_fds[i]);
	free(s->perf_fds);
	s->perf_fds = NULL;
	s->nperf_fds = 0;
}

int rt_drain(struct stp_session *s)
{
	if (!s->rb)
		return 0;
	return ring_buffer__consume(s->rb);
}

void rt_bpf_close(struct stp_session *s)
{
	rt_detach_all(s);
	ring_buffer__free(s->rb);
	s->rb = NULL;
	rt_maps_close(s);
	if (s->globals_map)
		munmap(s->globals_map, s->globals_len);
	s->globals_map = NULL;
	s->globals = NULL;
	s->ctx.globals = NULL;
	bpf_object__close(s->obj);
	s->obj = NULL;
	free(s->own_globals);
	s->own_globals = NULL;
}
