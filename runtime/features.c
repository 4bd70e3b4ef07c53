/* features.c - `staprun --features`: what this kernel lets staprun attach.
 *
 * Rather than guess from config files, each family is tried for real with
 * the smallest program the kernel accepts ("r0 = 0; exit"), loaded and
 * attached, then closed at once.  One line per family:
 *   NAME <tab> yes|no <tab> why
 * stap-prep(1) reads these lines; people can too.
 */
#include "rt.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TRACEFS "/sys/kernel/tracing"

static const struct bpf_insn return_zero[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};

static void line(const char *name, int ok, const char *why)
{
	printf("%s\t%s\t%s\n", name, ok ? "yes" : "no", why);
}

static int load(enum bpf_prog_type type, enum bpf_attach_type attach, uint32_t btf_id)
{
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = attach, .attach_btf_id = btf_id);
	return bpf_prog_load(type, "stp_probe", "GPL", return_zero, 2, &o);
}

static long perf_open(struct perf_event_attr *a)
{
	a->size = sizeof(*a);
	return syscall(SYS_perf_event_open, a, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
}

/* Loads a program of `type` and attaches it to the perf event `a`;
 * returns 0 or an errno, with the step that failed in *step. */
static int try_perf_attach(enum bpf_prog_type type, struct perf_event_attr *a, const char **step)
{
	int prog = load(type, 0, 0);
	if (prog < 0) {
		*step = "loading a program";
		return errno;
	}
	int rc = 0;
	long pfd = perf_open(a);
	if (pfd < 0) {
		*step = "opening the event";
		rc = errno;
	} else if (ioctl((int)pfd, PERF_EVENT_IOC_SET_BPF, prog) != 0) {
		*step = "attaching";
		rc = errno;
	}
	if (pfd >= 0)
		close((int)pfd);
	close(prog);
	return rc;
}

static long read_number(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

static void report_perf(const char *name, enum bpf_prog_type type, struct perf_event_attr *a, const char *what)
{
	const char *step = "";
	char why[256];
	int err = try_perf_attach(type, a, &step);
	if (err)
		snprintf(why, sizeof(why), "%s: %s failed: %s", what, step, strerror(err));
	else
		snprintf(why, sizeof(why), "%s: attached", what);
	line(name, !err, why);
}

static void check_tracepoints(void)
{
	long id = read_number(TRACEFS "/events/raw_syscalls/sys_enter/id");
	if (id < 0) {
		line("tracepoints", 0, "no " TRACEFS "/events (tracefs not mounted?)");
		line("syscalls", 0, "no raw_syscalls:sys_enter tracepoint");
		return;
	}
	struct perf_event_attr a = { .type = PERF_TYPE_TRACEPOINT, .config = (uint64_t)id, .sample_period = 1 };
	report_perf("tracepoints", BPF_PROG_TYPE_TRACEPOINT, &a, "raw_syscalls:sys_enter");
	int per_syscall = access(TRACEFS "/events/syscalls/sys_enter_getppid", F_OK) == 0;
	line("syscalls", 1, per_syscall ? "raw_syscalls and per-syscall tracepoints" : "raw_syscalls tracepoints");
}

/* Whether kprobes can be attached: 0, or an errno with the reason in why. */
int rt_kprobes_usable(char *why, size_t n)
{
	long type = read_number("/sys/bus/event_source/devices/kprobe/type");
	if (type < 0) {
		snprintf(why, n, "not configured");
		return ENOENT;
	}
	struct perf_event_attr a = { .type = (uint32_t)type, .sample_period = 1 };
	a.config1 = (uint64_t)(uintptr_t)"ksys_read"; /* kprobe_func */
	const char *step = "";
	int err = try_perf_attach(BPF_PROG_TYPE_KPROBE, &a, &step);
	if (err)
		snprintf(why, n, "%s%s", strcmp(step, "attaching") ? "" : "attaching: ", strerror(err));
	else
		snprintf(why, n, "attached");
	return err;
}

static void check_kprobes(void)
{
	char why[256];
	int err = rt_kprobes_usable(why, sizeof why);
	char text[400];
	snprintf(text, sizeof text, err == ENOENT ? "%s: no kprobe event source (CONFIG_KPROBES off)"
						  : "kprobe on ksys_read: %s", why);
	line("kprobes", !err, text);
}

/* The file offset of this function in staprun, for a harmless uprobe. */
static uint64_t own_offset(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	uintptr_t addr = (uintptr_t)&own_offset;
	unsigned long start, end, off;
	char perms[8];
	uint64_t result = 0;
	while (f && fscanf(f, "%lx-%lx %7s %lx %*[^\n]", &start, &end, perms, &off) == 4)
		if (addr >= start && addr < end) {
			result = addr - start + off;
			break;
		}
	if (f)
		fclose(f);
	return result;
}

static void check_uprobes(void)
{
	long type = read_number("/sys/bus/event_source/devices/uprobe/type");
	if (type < 0) {
		line("uprobes", 0, "the kernel has no uprobe event source (CONFIG_UPROBE_EVENTS off)");
		return;
	}
	static char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	struct perf_event_attr a = { .type = (uint32_t)type, .sample_period = 1 };
	a.config1 = (uint64_t)(uintptr_t)exe;
	a.config2 = own_offset();
	report_perf("uprobes", BPF_PROG_TYPE_KPROBE, &a, "uprobe in staprun");
}

static void check_perf(void)
{
	struct perf_event_attr a = { .type = PERF_TYPE_SOFTWARE, .config = PERF_COUNT_SW_CPU_CLOCK,
				     .sample_period = 1000000 };
	report_perf("perf", BPF_PROG_TYPE_PERF_EVENT, &a, "software cpu-clock event");
}

/* Whether fentry programs load and attach (tried on ksys_read): 0, or an
 * errno with the reason in why.  vmlinux may be NULL: it is loaded here. */
int rt_fentry_usable(struct btf *vmlinux, char *why, size_t n)
{
	struct btf *own = vmlinux ? NULL : btf__load_vmlinux_btf();
	struct btf *b = vmlinux ? vmlinux : own;
	int id = b ? btf__find_by_name_kind(b, "ksys_read", BTF_KIND_FUNC) : -1;
	btf__free(own);
	if (id < 0) {
		snprintf(why, n, "no BTF for ksys_read");
		return ENOENT;
	}
	int prog = load(BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, (uint32_t)id);
	if (prog < 0) {
		int err = errno;
		snprintf(why, n, "%s", strerror(err));
		return err;
	}
	int link = bpf_link_create(prog, 0, BPF_TRACE_FENTRY, NULL);
	int err = link < 0 ? errno : 0;
	if (err)
		snprintf(why, n, "attaching: %s", strerror(err));
	else
		snprintf(why, n, "attached");
	if (link >= 0)
		close(link);
	close(prog);
	return err;
}

static void check_fentry(struct btf *vmlinux)
{
	char why[256];
	int err = rt_fentry_usable(vmlinux, why, sizeof why);
	char text[400];
	snprintf(text, sizeof text, "fentry on ksys_read: %s", why);
	line("fentry", !err, text);
}

static void check_lockdown(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/security/lockdown", "r");
	if (!f) {
		line("lockdown", 1, "no lockdown LSM");
		return;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	int open = strstr(buf, "[none]") != NULL;
	char why[200];
	snprintf(why, sizeof(why), "%s%s", buf,
		 open ? "" : " (integrity/confidentiality limit kprobes and reading kernel memory)");
	line("lockdown", open, why);
}

int rt_features_report(void)
{
	libbpf_set_print(NULL);
	struct btf *vmlinux = btf__load_vmlinux_btf();
	line("btf", vmlinux != NULL, vmlinux ? "/sys/kernel/btf/vmlinux" : "no kernel BTF (CONFIG_DEBUG_INFO_BTF off)");
	line("tracefs", access(TRACEFS "/events", F_OK) == 0,
	     access(TRACEFS "/events", F_OK) == 0 ? TRACEFS : "not mounted at " TRACEFS);
	int rb = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
	line("ringbuf", rb > 0, rb > 0 ? "BPF ring buffer maps" : "no BPF ring buffer (kernel before 5.8?)");
	check_tracepoints();
	check_kprobes();
	check_fentry(vmlinux);
	check_uprobes();
	check_perf();
	check_lockdown();
	btf__free(vmlinux);
	return 0;
}
