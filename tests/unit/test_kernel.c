/* test_kernel.c - the kernel side of pass 2 against this machine: BTF,
 * tracefs formats, the syscall table, providers and CO-RE member chains.
 * Facts are checked against independent sources where there is one
 * (bpftool's dump of the BTF, the format files, a BPF object loaded into
 * the kernel). */
#include "stap.h"
#include "elab/kernel.h"
#include "unit.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <unistd.h>

static Session sess;

static Session *S(void)
{
	if (!sess.prog)
		session_init(&sess);
	return &sess;
}

static KernelBtf *vmlinux(void)
{
	return kbtf_get(S(), NULL, NULL);
}

/* ---- BTF */

TEST(btf_vfs_read_params)
{
	KernelBtf *kb = vmlinux();
	CHECK(kb != NULL);
	if (!kb)
		return;
	int32_t id = kbtf_func_id(kb, "vfs_read");
	CHECK(id > 0);
	KParam *p;
	int n = kbtf_func_params(kb, id, &p);
	CHECK(n == 4);
	if (n != 4)
		return;
	CHECK_STR(p[0].name, "file");
	CHECK_STR(p[0].c_type, "struct file*");
	CHECK_STR(p[1].name, "buf");
	CHECK_STR(p[1].c_type, "char*");
	CHECK_STR(p[2].name, "count");
	CHECK_STR(p[2].c_type, "size_t");
	CHECK_STR(p[3].name, "pos");
	CHECK_STR(p[3].c_type, "loff_t*");
	char *ret = kbtf_type_name(kb, kbtf_func_ret(kb, id));
	CHECK_STR(ret, "ssize_t");
	free(ret);
	kbtf_free_params(p, n);
	CHECK(kbtf_func_id(kb, "no_such_function_xyz") == -1);
}

TEST(btf_const_spelling)
{
	KernelBtf *kb = vmlinux();
	int32_t id = kb ? kbtf_func_id(kb, "getname_kernel") : -1;
	CHECK(id > 0);
	if (id <= 0)
		return;
	KParam *p;
	int n = kbtf_func_params(kb, id, &p);
	CHECK(n == 1);
	if (n == 1)
		CHECK_STR(p[0].c_type, "char const*");
	kbtf_free_params(p, n);
}

TEST(btf_tracepoint_args)
{
	KernelBtf *kb = vmlinux();
	KParam *p;
	int n = kb ? kbtf_tracepoint_args(kb, "sched_switch", &p) : -1;
	CHECK(n == 4);
	if (n == 4) {
		CHECK_STR(p[0].name, "preempt");
		CHECK_STR(p[0].c_type, "bool");
		CHECK_STR(p[1].name, "prev");
		CHECK_STR(p[2].c_type, "struct task_struct*");
		kbtf_free_params(p, n);
	}
	/* sched_wakeup's names come from its class, sched_wakeup_template */
	n = kb ? kbtf_tracepoint_args(kb, "sched_wakeup", &p) : -1;
	CHECK(n == 1);
	if (n == 1) {
		CHECK_STR(p[0].name, "p");
		kbtf_free_params(p, n);
	}
	CHECK(kb && kbtf_tracepoint_args(kb, "no_such_event_zz", &p) == -1);
}

TEST(btf_glob)
{
	KernelBtf *kb = vmlinux();
	if (!kb) {
		CHECK(kb != NULL);
		return;
	}
	Vec v = { 0 };
	int n = kbtf_funcs_matching(kb, "vfs_rea*", &v);
	CHECK(n >= 2);
	bool read = false, readv = false;
	for (int i = 0; i < v.len; i++) {
		read |= strcmp(VEC_AT(&v, i), "vfs_read") == 0;
		readv |= strcmp(VEC_AT(&v, i), "vfs_readv") == 0;
		if (i)
			CHECK(strcmp(VEC_AT(&v, i - 1), VEC_AT(&v, i)) < 0);
	}
	CHECK(read && readv);
	v.len = 0;
	CHECK(kbtf_funcs_matching(kb, "vfs_read", &v) == 1);
	CHECK(kbtf_funcs_matching(kb, "*_no_such_fn_zz*", &v) == 0);
	/* unanchored globs scan everything and still find it */
	v.len = 0;
	CHECK(kbtf_funcs_matching(kb, "*fs_rea?", &v) >= 1);
	free(v.data);
	CHECK(kbtf_func_count(kb) > 10000);
}

/* bits_offset of member `member` in STRUCT 'name' per bpftool, or -1. */
static long bpftool_member_offset(const char *name, const char *member)
{
	char *cmd = xasprintf("bpftool btf dump file /sys/kernel/btf/vmlinux format raw 2>/dev/null");
	FILE *f = popen(cmd, "r");
	free(cmd);
	if (!f)
		return -1;
	char line[512], *head = xasprintf("STRUCT '%s' size=", name), *want = xasprintf("\t'%s' ", member);
	bool in = false;
	long off = -1;
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '[') {
			if (in)
				break;
			in = strstr(line, head) != NULL;
		} else if (in && strncmp(line, want, strlen(want)) == 0) {
			char *b = strstr(line, "bits_offset=");
			if (b)
				off = atol(b + 12);
		}
	}
	while (fgets(line, sizeof line, f))
		; /* let bpftool finish */
	pclose(f);
	free(head);
	free(want);
	return off;
}

TEST(btf_member_offsets_match_bpftool)
{
	if (access("/usr/sbin/bpftool", X_OK) != 0) {
		printf("SKIP bpftool missing\n");
		return;
	}
	KernelBtf *kb = vmlinux();
	int32_t ts = kb ? kbtf_struct_find(kb, "task_struct", false) : -1;
	CHECK(ts > 0);
	if (ts <= 0)
		return;
	KMember m;
	CHECK(kbtf_member_find(kb, ts, "pid", &m));
	CHECK((long)m.bit_offset == bpftool_member_offset("task_struct", "pid"));
	CHECK(kbtf_member_find(kb, ts, "comm", &m));
	CHECK((long)m.bit_offset == bpftool_member_offset("task_struct", "comm"));
	char *ty = kbtf_type_name(kb, m.type_id);
	CHECK_STR(ty, "char[16]");
	free(ty);
	CHECK(!kbtf_member_find(kb, ts, "no_such_member", &m));
}

TEST(btf_anonymous_members)
{
	/* sk_buff's next lives in an anonymous union of anonymous structs,
	 * at the very start; len is a direct member further on */
	KernelBtf *kb = vmlinux();
	int32_t id = kb ? kbtf_struct_find(kb, "sk_buff", false) : -1;
	CHECK(id > 0);
	if (id <= 0)
		return;
	KMember m;
	CHECK(kbtf_member_find(kb, id, "next", &m));
	CHECK(m.bit_offset == 0);
	char *ty = kbtf_type_name(kb, m.type_id);
	CHECK_STR(ty, "struct sk_buff*");
	free(ty);
	CHECK(kbtf_member_find(kb, id, "len", &m));
	CHECK(m.bit_offset > 0 && m.bit_offset % 8 == 0);
}

/* ---- member chains and declarations: compiled by clang and loaded into
 * the kernel, which applies the CO-RE relocations and runs the verifier */

static TargetAccess *param_access(KernelBtf *kb, const char *fn, int index)
{
	KParam *p;
	int n = kbtf_func_params(kb, kbtf_func_id(kb, fn), &p);
	if (n <= index)
		return NULL;
	TargetAccess *ta = kernel_new_access(TA_FUNC_ARG, TY_LONG, p[index].c_type);
	ta->btf_id = p[index].type_id;
	ta->index = index;
	kbtf_free_params(p, n);
	return ta;
}

static TargetAccess *chain_at(const TargetAccess *base, const char *expr, const char *const *members, int n,
			      bool address, char **err)
{
	Component comps[8];
	for (int i = 0; i < n; i++) {
		comps[i] = (Component){ .kind = COMP_MEMBER, .name = (char *)members[i] };
		if (members[i][0] == '[') {
			comps[i].kind = COMP_INDEX;
			comps[i].index = atoi(members[i] + 1);
		}
	}
	int at;
	return kernel_member_access(S(), base, expr, comps, n, NULL, address, err, &at);
}

static TargetAccess *chain(const TargetAccess *base, const char *expr, const char *const *members, int n,
			   char **err)
{
	return chain_at(base, expr, members, n, false, err);
}

TEST(chain_errors)
{
	KernelBtf *kb = vmlinux();
	TargetAccess *file = kb ? param_access(kb, "vfs_read", 0) : NULL;
	CHECK(file != NULL);
	if (!file)
		return;
	char *err;
	static const char *const bad[] = { "f_nosuch" };
	CHECK(chain(file, "x", bad, 1, &err) == NULL);
	CHECK(err && strstr(err, "unable to find member 'f_nosuch' for struct file (alternatives:"));
	free(err);
	static const char *const whole[] = { "f_path" };
	CHECK(chain(file, "x", whole, 1, &err) == NULL);
	CHECK(err && strstr(err, "being accessed instead of a member"));
	free(err);
	static const char *const through_int[] = { "f_flags", "x" };
	CHECK(chain(file, "x", through_int, 2, &err) == NULL);
	CHECK(err && strstr(err, "invalid access '->x'"));
	free(err);
	/* &$file->f_path: a struct member has an address, and nothing is read */
	TargetAccess *addr = chain_at(file, "x", whole, 1, true, &err);
	CHECK(addr && addr->type == TY_LONG && addr->c_expr && strncmp(addr->c_expr, "((unsigned long)&", 17) == 0 &&
	      !strstr(addr->c_expr, "STP_KREAD(struct path"));
	if (addr)
		kernel_free_access(addr);
	kernel_free_access(file);
}

static int run(const char *cmd)
{
	int rc = system(cmd);
	return rc;
}

TEST(chain_compiles_and_loads)
{
	KernelBtf *kb = vmlinux();
	TargetAccess *task = kb ? param_access(kb, "wake_up_process", 0) : NULL;
	TargetAccess *file = kb ? param_access(kb, "vfs_read", 0) : NULL;
	CHECK(task && file);
	if (!task || !file)
		return;
	char *err = NULL;
	static const char *const c1[] = { "real_parent", "pid" };
	static const char *const c2[] = { "comm" };
	static const char *const c3[] = { "fs", "pwd", "dentry", "d_name", "name" };
	static const char *const c4[] = { "f_path", "dentry", "d_name", "name" };
	static const char *const c5[] = { "comm", "[3]" };
	static const char *const c6[] = { "real_parent", "sched_reset_on_fork" };
	TargetAccess *a1 = chain(task, "ctx->args[0]", c1, 2, &err);
	CHECK(a1 && a1->type == TY_LONG && a1->size == 4 && a1->is_signed);
	TargetAccess *a2 = chain(task, "ctx->args[0]", c2, 1, &err);
	CHECK(a2 && a2->type == TY_STRING && a2->strkind == TA_STR_ARRAY && a2->size == 16);
	TargetAccess *a3 = chain(task, "ctx->args[0]", c3, 5, &err);
	CHECK(a3 && a3->type == TY_LONG && a3->size == 8);
	TargetAccess *a4 = chain(file, "ctx->args[1]", c4, 4, &err);
	CHECK(a4 != NULL);
	TargetAccess *a5 = chain(task, "ctx->args[0]", c5, 2, &err);
	CHECK(a5 && a5->type == TY_LONG && a5->size == 1);
	TargetAccess *a6 = chain(task, "ctx->args[0]", c6, 2, &err);
	CHECK(a6 && a6->type == TY_LONG);
	if (err)
		printf("# chain error: %s\n", err);
	if (!a1 || !a2 || !a3 || !a4 || !a5 || !a6)
		return;
	Vec needs = { 0 };
	TargetAccess *all[] = { a1, a2, a3, a4, a5, a6 };
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < all[i]->btf_types.len; j++)
			vec_push(&needs, VEC_AT(&all[i]->btf_types, j));
	StrBuf c = { 0 };
	sb_puts(&c, "#include <linux/types.h>\n#include <bpf/bpf_helpers.h>\n");
	kbtf_emit_decls(kb, &needs, &c);
	/* only what is used: task_struct is declared with a handful of members */
	CHECK(strstr(c.s, "struct task_struct {") && strstr(c.s, "preserve_access_index"));
	CHECK(strstr(c.s, "struct dentry {\n\tstruct qstr d_name;\n}") != NULL);
	CHECK(strstr(c.s, "struct mm_struct {") == NULL);
	sb_puts(&c, "struct raw_args { unsigned long long args[4]; };\n"
		    "char LICENSE[] SEC(\"license\") = \"GPL\";\n"
		    "long out[8];\n"
		    "SEC(\"raw_tracepoint/sched_wakeup\")\n"
		    "int probe(struct raw_args *ctx)\n{\n");
	sb_printf(&c, "\tout[0] = %s;\n", a1->c_expr);
	sb_printf(&c, "\tbpf_probe_read_kernel_str(out + 1, 16, %s);\n", a2->c_expr);
	sb_printf(&c, "\tout[3] = (long)%s;\n", a3->c_expr);
	sb_printf(&c, "\tout[4] = (long)%s;\n", a4->c_expr);
	sb_printf(&c, "\tout[5] = %s;\n", a5->c_expr);
	sb_printf(&c, "\tout[6] = %s;\n", a6->c_expr);
	sb_puts(&c, "\treturn 0;\n}\n");
	char dir[] = "/tmp/stapng-test-kernel.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char *src = xasprintf("%s/chain.bpf.c", dir), *obj = xasprintf("%s/chain.bpf.o", dir);
	FILE *f = fopen(src, "w");
	fputs(c.s, f);
	fclose(f);
	char *cmd = xasprintf("clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I/usr/include/x86_64-linux-gnu -c %s -o %s 2>%s/log", src, obj, dir);
	int rc = run(cmd);
	CHECK(rc == 0);
	if (rc != 0) {
		char *show = xasprintf("head -20 %s/log; cat -n %s | head -80", dir, src);
		run(show);
		free(show);
	}
	if (rc == 0 && geteuid() == 0) {
		struct bpf_object *o = bpf_object__open_file(obj, NULL);
		CHECK(o != NULL);
		/* load = CO-RE relocation against this kernel + the verifier */
		int lrc = o ? bpf_object__load(o) : -1;
		CHECK(lrc == 0);
		if (o)
			bpf_object__close(o);
	}
	char *rm = xasprintf("rm -rf %s", dir);
	run(rm);
	free(rm);
	free(cmd);
	free(src);
	free(obj);
	free(c.s);
	free(needs.data);
	for (int i = 0; i < 6; i++)
		kernel_free_access(all[i]);
	kernel_free_access(task);
	kernel_free_access(file);
}

/* ---- tracefs */

static const char synthetic_format[] =
	"name: demo_event\n"
	"ID: 4242\n"
	"format:\n"
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
	"\n"
	"\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n"
	"\tfield:__data_loc char[] path;\toffset:24;\tsize:4;\tsigned:0;\n"
	"\tfield:const char * name;\toffset:32;\tsize:8;\tsigned:0;\n"
	"\tfield:u8 addr[6];\toffset:40;\tsize:6;\tsigned:0;\n"
	"\tfield:long long delta;\toffset:48;\tsize:8;\tsigned:1;\n"
	"\tfield:__data_loc u32[] ids;\toffset:56;\tsize:4;\tsigned:0;\n"
	"\n"
	"print fmt: \"comm=%s\", REC->comm\n";

TEST(tracefs_parse_synthetic)
{
	const char *err = NULL;
	TpFormat *f = tracefs_parse_format("demo", "demo_event", synthetic_format, &err);
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(f->id == 4242);
	CHECK(f->nfields == 6);
	if (f->nfields != 6)
		return;
	TpField *x = f->fields;
	CHECK_STR(x[0].name, "comm");
	CHECK_STR(x[0].c_type, "char[16]");
	CHECK(x[0].kind == TPF_CHAR_ARRAY && x[0].array_len == 16 && x[0].offset == 8);
	CHECK_STR(x[1].name, "path");
	CHECK_STR(x[1].c_type, "__data_loc char[]");
	CHECK(x[1].kind == TPF_DATA_LOC && x[1].size == 4);
	CHECK_STR(x[2].name, "name");
	CHECK_STR(x[2].c_type, "const char *");
	CHECK(x[2].kind == TPF_POINTER);
	CHECK(x[3].kind == TPF_ARRAY && x[3].array_len == 6);
	CHECK_STR(x[4].c_type, "long long");
	CHECK(x[4].kind == TPF_INT && x[4].is_signed && x[4].size == 8);
	CHECK(x[5].kind == TPF_DATA_LOC_OTHER);
	tracefs_free_format(f);
	CHECK(tracefs_parse_format("a", "b", "name: x\nID: 1\n", &err) == NULL);
	CHECK(err != NULL);
}

TEST(tracefs_real_formats)
{
	if (!tracefs_root(S())) {
		printf("SKIP no tracefs\n");
		return;
	}
	TpFormat *f = tracefs_format(S(), "sched", "sched_switch");
	CHECK(f != NULL);
	if (!f)
		return;
	/* what the file itself says, read with a different method */
	char *text = read_file("/sys/kernel/tracing/events/sched/sched_switch/format", NULL);
	CHECK(text != NULL);
	for (int i = 0; text && i < f->nfields; i++) {
		char *line = xasprintf("%s%s;\toffset:%d;\tsize:%d;\tsigned:%d;", f->fields[i].name,
				       f->fields[i].kind == TPF_CHAR_ARRAY ? "[16]" : "", f->fields[i].offset,
				       f->fields[i].size, f->fields[i].is_signed);
		CHECK(strstr(text, line) != NULL);
		free(line);
	}
	free(text);
	CHECK(f->nfields >= 7);
	CHECK_STR(f->fields[0].name, "prev_comm");
	CHECK(f->fields[0].kind == TPF_CHAR_ARRAY);
	CHECK(tracefs_format(S(), "sched", "sched_switch") == f); /* cached */
	CHECK(tracefs_format(S(), "sched", "no_such_event") == NULL);
	CHECK(tracefs_format(S(), "..", "x") == NULL);
	const Vec *all = tracefs_events(S());
	CHECK(all->len > 500);
	Vec m = { 0 };
	CHECK(tracefs_events_matching(S(), "sched", "sched_swi*", &m) == 1);
	if (m.len == 1)
		CHECK_STR(VEC_AT(&m, 0), "sched:sched_switch");
	m.len = 0;
	CHECK(tracefs_events_matching(S(), "*", "sched_switch", &m) == 1);
	free(m.data);
}

/* ---- syscalls */

TEST(syscall_table)
{
	CHECK(syscall_nr("read") == 0);
	CHECK(syscall_nr("openat") == 257);
	CHECK(syscall_nr("exit_group") == 231);
	CHECK(syscall_nr("no_such_call") == -1);
	CHECK_STR(syscall_name(0), "read");
	CHECK_STR(syscall_name(59), "execve");
	CHECK_STR(syscall_name(257), "openat");
	CHECK(syscall_name(100000) == NULL);
	CHECK(syscall_max_nr() >= 450);
	if (!tracefs_root(S()))
		return;
	const TpField *args;
	int n = syscall_args(S(), "openat", &args);
	CHECK(n == 4);
	if (n == 4) {
		CHECK_STR(args[0].name, "dfd");
		CHECK_STR(args[1].name, "filename");
		CHECK_STR(args[1].c_type, "const char *");
		CHECK_STR(args[3].name, "mode");
	}
	CHECK(syscall_args(S(), "no_such_call", &args) == -1);
}

/* ---- providers */

static ProbePoint *point(const char *c0, const char *a0, const char *c1, const char *a1, const char *c2,
			 int64_t n2)
{
	ProbePoint *pt = xcalloc(1, sizeof *pt);
	pt->comps = xcalloc(3, sizeof(PointComp));
	const char *names[] = { c0, c1, c2 };
	const char *args[] = { a0, a1, NULL };
	for (int i = 0; i < 3 && names[i]; i++) {
		pt->comps[i].name = (char *)names[i];
		if (args[i]) {
			Expr *e = xcalloc(1, sizeof *e);
			e->kind = E_STR;
			e->str = (char *)args[i];
			pt->comps[i].arg = e;
		} else if (i == 2 && n2) {
			Expr *e = xcalloc(1, sizeof *e);
			e->kind = E_NUM;
			e->num = n2;
			pt->comps[i].arg = e;
		}
		pt->ncomps = i + 1;
	}
	pt->optional = true; /* no diagnostics in unit tests */
	return pt;
}

TEST(trace_points)
{
	if (!tracefs_root(S()))
		return;
	Vec out = { 0 };
	ProbePoint *pt = point("kernel", NULL, "trace", "sched:sched_switch", NULL, 0);
	CHECK(provider_kernel.resolve(S(), pt, &out) == 1);
	if (out.len != 1)
		return;
	Resolved *r = VEC_AT(&out, 0);
	CHECK(r->kind == PK_TRACEPOINT);
	CHECK_STR(r->pp, "kernel.trace(\"sched:sched_switch\")");
	CHECK_STR(r->tp_system, "sched");
	CHECK_STR(r->tp_event, "sched_switch");
	TargetAccess *ta = provider_kernel.target(S(), r, "prev_comm");
	CHECK(ta && ta->kind == TA_CTX_FIELD && ta->type == TY_STRING && ta->strkind == TA_STR_ARRAY &&
	      ta->size == 16 && ta->offset == 8);
	kernel_free_access(ta);
	ta = provider_kernel.target(S(), r, "next_pid");
	CHECK(ta && ta->type == TY_LONG && ta->size == 4 && ta->is_signed);
	kernel_free_access(ta);
	CHECK(provider_kernel.target(S(), r, "nosuch") == NULL);
	/* TP_PROTO arguments from BTF, typed for member chains */
	ta = provider_kernel.target(S(), r, "prev");
	CHECK(ta && ta->kind == TA_TP_ARG && ta->index == 1 && ta->btf_id > 0);
	CHECK(ta && strcmp(ta->c_type, "struct task_struct*") == 0);
	kernel_free_access(ta);
	kernel_free_resolved(&out);

	ProbePoint *sc = point("kernel", NULL, "trace", "syscalls:sys_enter_openat", NULL, 0);
	CHECK(provider_kernel.resolve(S(), sc, &out) == 1);
	if (out.len == 1) {
		r = VEC_AT(&out, 0);
		ta = provider_kernel.target(S(), r, "dfd");
		CHECK(ta && ta->size == 4 && ta->is_signed && ta->offset == 16);
		kernel_free_access(ta);
		ta = provider_kernel.target(S(), r, "filename");
		CHECK(ta && ta->type == TY_LONG && ta->size == 8 && !ta->is_signed);
		kernel_free_access(ta);
	}
	kernel_free_resolved(&out);
	ProbePoint *ex = point("kernel", NULL, "trace", "sched_process_exe?", NULL, 0);
	CHECK(provider_kernel.resolve(S(), ex, &out) == 1);
	if (out.len == 1) {
		ta = provider_kernel.target(S(), VEC_AT(&out, 0), "filename");
		CHECK(ta && ta->strkind == TA_STR_DATA_LOC && ta->offset == 8);
		kernel_free_access(ta);
	}
	kernel_free_resolved(&out);
	ProbePoint *none = point("kernel", NULL, "trace", "sched:no_such_*", NULL, 0);
	CHECK(provider_kernel.resolve(S(), none, &out) == 0);
}

TEST(tracepoints_without_tracefs)
{
	/* names from BTF's btf_trace_* typedefs, variables from TP_PROTO */
	Session s2;
	session_init(&s2);
	setenv("STAPNG_TRACEFS", "/nonexistent-tracefs", 1);
	CHECK(tracefs_root(&s2) == NULL);
	unsetenv("STAPNG_TRACEFS");
	Vec m = { 0 };
	CHECK(tracefs_events_matching(&s2, "sched", "sched_switch", &m) == 1);
	if (m.len == 1)
		CHECK_STR(VEC_AT(&m, 0), "*:sched_switch");
	free(m.data);
	Vec out = { 0 };
	ProbePoint *pt = point("kernel", NULL, "trace", "sched:sched_switch", NULL, 0);
	CHECK(provider_kernel.resolve(&s2, pt, &out) == 1);
	if (out.len == 1) {
		Resolved *r = VEC_AT(&out, 0);
		CHECK_STR(r->pp, "kernel.trace(\"sched:sched_switch\")");
		CHECK(provider_kernel.target(&s2, r, "prev_comm") == NULL);
		TargetAccess *ta = provider_kernel.target(&s2, r, "next");
		CHECK(ta && ta->kind == TA_TP_ARG && ta->index == 2);
		kernel_free_access(ta);
	}
	kernel_free_resolved(&out);
}

TEST(function_points)
{
	Vec out = { 0 };
	ProbePoint *pt = point("kernel", NULL, "function", "vfs_read", "return", 0);
	CHECK(provider_kernel.resolve(S(), pt, &out) == 1);
	if (out.len != 1)
		return;
	Resolved *r = VEC_AT(&out, 0);
	CHECK(r->kind == PK_KPROBE && r->is_return);
	CHECK_STR(r->function, "vfs_read");
	CHECK_STR(r->pp, "kernel.function(\"vfs_read\").return");
	TargetAccess *ta = provider_kernel.target(S(), r, "return");
	CHECK(ta && ta->kind == TA_FUNC_RET && ta->size == 8 && ta->is_signed);
	kernel_free_access(ta);
	ta = provider_kernel.target(S(), r, "count");
	CHECK(ta && ta->kind == TA_FUNC_ARG && ta->index == 2 && !ta->is_signed && ta->btf_id > 0);
	CHECK(ta && strcmp(ta->c_type, "size_t") == 0);
	kernel_free_access(ta);
	kernel_free_resolved(&out);
	ProbePoint *many = point("kernel", NULL, "function", "vfs_*", NULL, 0);
	CHECK(provider_kernel.resolve(S(), many, &out) > 5);
	kernel_free_resolved(&out);
}

TEST(perf_points)
{
	Vec out = { 0 };
	ProbePoint *pt = point("perf", NULL, "sw", NULL, "sample", 0);
	/* perf.sw.page_faults.sample(1000) */
	pt->comps = xrealloc(pt->comps, 4 * sizeof(PointComp));
	pt->comps[2] = (PointComp){ .name = "page_faults" };
	Expr *num = xcalloc(1, sizeof *num);
	num->kind = E_NUM;
	num->num = 1000;
	pt->comps[3] = (PointComp){ .name = "sample", .arg = num };
	pt->ncomps = 4;
	CHECK(provider_perf.resolve(S(), pt, &out) == 1);
	if (out.len == 1) {
		Resolved *r = VEC_AT(&out, 0);
		CHECK(r->kind == PK_PERF && r->perf_type == 1 && r->perf_config == 2 && r->sample_period == 1000);
		CHECK_STR(r->pp, "perf.sw.page_faults.sample(1000)");
	}
	kernel_free_resolved(&out);
	/* perf.type(1).config(2).process("ls").counter("pf") */
	ProbePoint *tc = point("perf", NULL, "type", NULL, "config", 2);
	Expr *one = xcalloc(1, sizeof *one);
	one->kind = E_NUM;
	one->num = 1;
	tc->comps[1].arg = one;
	tc->comps = xrealloc(tc->comps, 5 * sizeof(PointComp));
	Expr *ls = xcalloc(1, sizeof *ls), *pf = xcalloc(1, sizeof *pf);
	ls->kind = pf->kind = E_STR;
	ls->str = "ls";
	pf->str = "pf";
	tc->comps[3] = (PointComp){ .name = "process", .arg = ls };
	tc->comps[4] = (PointComp){ .name = "counter", .arg = pf };
	tc->ncomps = 5;
	CHECK(provider_perf.resolve(S(), tc, &out) == 1);
	if (out.len == 1) {
		Resolved *r = VEC_AT(&out, 0);
		CHECK(r->perf_type == 1 && r->perf_config == 2 && r->path && r->path[0] == '/');
		CHECK_STR(r->mark, "pf");
	}
	kernel_free_resolved(&out);
	ProbePoint *all = point("perf", NULL, "hw", NULL, "*", 0);
	CHECK(provider_perf.resolve(S(), all, &out) == 10);
	kernel_free_resolved(&out);
}

TEST(similar_names)
{
	static const char *const fams[] = { "data", "mark", "trace", "function", "statement" };
	char *s = kernel_similar_names("fuction", fams, 5);
	CHECK_STR(s, "function, data, mark, trace, statement");
	free(s);
	s = kernel_similar_names("zzzzzzzzzzzz", fams, 5);
	CHECK_STR(s, "data, mark, trace, function, statement");
	free(s);
}

/* A tiny program with one SDT note, written by hand: note type 3, owner
 * "stapsdt", then pc, .stapsdt.base address, semaphore, provider, name and
 * argument text. */
static const char sdt_program[] =
	"int main(void)\n{\n"
	"\t__asm__ volatile(\"990: nop\\n\"\n"
	"\t\t\".pushsection .note.stapsdt,\\\"\\\",\\\"note\\\"\\n\"\n"
	"\t\t\".balign 4\\n\"\n"
	"\t\t\".4byte 992f-991f, 994f-993f, 3\\n\"\n"
	"\t\t\"991: .asciz \\\"stapsdt\\\"\\n\"\n"
	"\t\t\"992: .balign 4\\n\"\n"
	"\t\t\"993: .8byte 990b\\n\"\n"
	"\t\t\".8byte _.stapsdt.base\\n\"\n"
	"\t\t\".8byte 0\\n\"\n"
	"\t\t\".asciz \\\"demo\\\"\\n\"\n"
	"\t\t\".asciz \\\"tick\\\"\\n\"\n"
	"\t\t\".asciz \\\"-4@%edi 8@%rax\\\"\\n\"\n"
	"\t\t\"994: .balign 4\\n\"\n"
	"\t\t\".popsection\\n\"\n"
	"\t\t\".pushsection .stapsdt.base,\\\"aG\\\",\\\"progbits\\\",.stapsdt.base,comdat\\n\"\n"
	"\t\t\".weak _.stapsdt.base\\n\"\n"
	"\t\t\".hidden _.stapsdt.base\\n\"\n"
	"\t\t\"_.stapsdt.base: .space 1\\n\"\n"
	"\t\t\".popsection\\n\");\n"
	"\treturn 0;\n}\n"
	"void demo_function(void) {}\n";

TEST(process_points)
{
	char dir[] = "/tmp/stapng-test-sdt.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char *src = xasprintf("%s/sdt.c", dir), *bin = xasprintf("%s/sdt", dir);
	FILE *f = fopen(src, "w");
	fputs(sdt_program, f);
	fclose(f);
	char *cmd = xasprintf("cc -O0 -o %s %s", bin, src);
	CHECK(system(cmd) == 0);
	Vec out = { 0 };
	ProbePoint *pt = point("process", bin, "mark", "tick", NULL, 0);
	CHECK(provider_process.resolve(S(), pt, &out) == 1);
	if (out.len == 1) {
		Resolved *r = VEC_AT(&out, 0);
		CHECK(r->kind == PK_USDT && r->offset > 0);
		CHECK_STR(r->sdt_provider, "demo");
		CHECK_STR(r->mark, "tick");
		Vec names = { 0 }, acc = { 0 };
		provider_process.target_list(S(), r, &names, &acc);
		CHECK(names.len == 2);
		if (names.len == 2)
			CHECK_STR(VEC_AT(&names, 1), "arg2");
	}
	kernel_free_resolved(&out);
	ProbePoint *fn = point("process", bin, "function", "demo_*", NULL, 0);
	CHECK(provider_process.resolve(S(), fn, &out) == 1);
	if (out.len == 1) {
		Resolved *r = VEC_AT(&out, 0);
		CHECK(r->kind == PK_UPROBE && r->offset > 0);
		CHECK_STR(r->function, "demo_function");
	}
	kernel_free_resolved(&out);
	/* a name without '/' is found in $PATH and made canonical */
	ProbePoint *ls = point("process", "ls", "begin", NULL, NULL, 0);
	CHECK(provider_process.resolve(S(), ls, &out) == 1);
	if (out.len == 1) {
		Resolved *r = VEC_AT(&out, 0);
		CHECK(r->kind == PK_PROCESS && r->path && r->path[0] == '/');
	}
	kernel_free_resolved(&out);
	/* process(PID): the binary is the one /proc says the process runs */
	ProbePoint *me = point("process", NULL, "end", NULL, NULL, 0);
	Expr *pid = xcalloc(1, sizeof *pid);
	pid->kind = E_NUM;
	pid->num = getpid();
	me->comps[0].arg = pid;
	CHECK(provider_process.resolve(S(), me, &out) == 1);
	if (out.len == 1) {
		Resolved *r = VEC_AT(&out, 0);
		char *want = xasprintf("process(%d).end", (int)getpid());
		CHECK_STR(r->pp, want);
		CHECK(r->pid == getpid() && r->is_return && r->path && strstr(r->path, "test_kernel"));
		free(want);
	}
	kernel_free_resolved(&out);
	char *rm = xasprintf("rm -rf %s", dir);
	CHECK(system(rm) == 0);
	free(rm);
	free(cmd);
	free(src);
	free(bin);
}

int main(void)
{
	RUN(btf_vfs_read_params);
	RUN(btf_const_spelling);
	RUN(btf_tracepoint_args);
	RUN(btf_glob);
	RUN(btf_member_offsets_match_bpftool);
	RUN(btf_anonymous_members);
	RUN(chain_errors);
	RUN(chain_compiles_and_loads);
	RUN(tracefs_parse_synthetic);
	RUN(tracefs_real_formats);
	RUN(tracepoints_without_tracefs);
	RUN(syscall_table);
	RUN(trace_points);
	RUN(function_points);
	RUN(perf_points);
	RUN(similar_names);
	RUN(process_points);
	UNIT_EXIT();
}
