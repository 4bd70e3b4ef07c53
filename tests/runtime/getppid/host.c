/* host.c - the host side of the hand-written module: descriptors and the
 * begin / timer / end handlers, calling back into staprun. */
#include <string.h>
#include "stp_module.h"
#include "getppid.bpf.inc"

struct globals {
	struct stp_state st;
	int64_t hits;
	int64_t divisor;
};

static void begin_0(struct stp_ctx *c)
{
	int64_t target = stp_rt_target(c);
	stp_rt_printf(c, 0, NULL, 0); /* "begin\n" */
	(void)target;
}

static void begin_early(struct stp_ctx *c)
{
	stp_rt_print(c, "begin(-1)\n", 10);
}

static int ticks;

static void timer_0(struct stp_ctx *c __attribute__((unused)))
{
	ticks++;
}

/* end { foreach ([t] in calls) n += @count(calls[t]); printf("end: hits=%d counted=%d ...") } */
static void end_0(struct stp_ctx *c)
{
	struct globals *g = c->globals;
	int64_t counted = 0, keys = 0;
	struct stp_iter *it = stp_rt_iter_begin(c, 1, 0, -1, -1, STP_STAT_COUNT);
	int64_t tid;
	char val[sizeof(struct stp_stat)];
	while (stp_rt_iter_next(it, &tid, val)) {
		counted += stp_rt_stat_extract(c, (struct stp_stat *)val, STP_STAT_COUNT);
		keys++;
	}
	stp_rt_iter_end(it);
	char args[24];
	memcpy(args, &g->hits, 8);
	memcpy(args + 8, &counted, 8);
	memcpy(args + 16, &keys, 8);
	stp_rt_printf(c, 2, args, sizeof(args));

	/* a host-only array and stats, on maps staprun creates */
	int64_t k = 7, v = 42, out = 0;
	stp_rt_map_update(c, 2, &k, &v);
	stp_rt_map_lookup(c, 2, &k, &out);
	for (int i = 1; i <= 5; i++)
		stp_rt_stat_add(c, 3, NULL, i);
	char line[64];
	memcpy(args, &out, 8);
	stp_rt_sprintf(c, line, sizeof(line), 3, args, 8);
	stp_rt_print(c, line, strlen(line));
	(void)ticks;
}

static const struct stp_probe_desc probes[] = {
	{ .kind = STP_PROBE_BEGIN, .pp = "begin", .handler = begin_0 },
	{ .kind = STP_PROBE_TRACEPOINT, .pp = "kernel.trace(\"syscalls:sys_enter_getppid\")", .bpf_prog = "probe_0",
	  .tp_system = "syscalls", .tp_event = "sys_enter_getppid" },
	{ .kind = STP_PROBE_TIMER, .pp = "timer.ms(10)", .handler = timer_0, .period_ns = 10000000 },
	{ .kind = STP_PROBE_END, .pp = "end", .handler = end_0 },
	{ .kind = STP_PROBE_BEGIN, .pp = "begin(-1)", .handler = begin_early, .priority = -1 },
	{ .kind = STP_PROBE_TRACEPOINT, .pp = "kernel.trace(\"nosuch:event\")?", .bpf_prog = "no_such_prog",
	  .optional = 1 },
};

static const struct stp_global_desc globals[] = {
	{ .name = "hits", .type = STP_T_LONG, .offset = offsetof(struct globals, hits), .value_size = 8,
	  .print_at_end = 1 },
	{ .name = "calls", .type = STP_T_STATS, .nkeys = 1, .keys = { { STP_T_LONG, 0, 8 } }, .key_size = 8,
	  .value_size = sizeof(struct stp_stat), .map_name = "calls", .percpu = 1, .print_at_end = 0 },
	{ .name = "host_arr", .type = STP_T_LONG, .nkeys = 1, .keys = { { STP_T_LONG, 0, 8 } }, .key_size = 8,
	  .value_size = 8, .print_at_end = 1 },
	{ .name = "host_stat", .type = STP_T_STATS, .print_at_end = 1, .value_size = sizeof(struct stp_stat) },
	{ .name = "divisor", .type = STP_T_LONG, .offset = offsetof(struct globals, divisor), .value_size = 8 },
};

static const struct stp_format_desc formats[] = {
	{ .fmt = "begin\n" },
	{ .fmt = "getppid %d by %s\n" },
	{ .fmt = "end: hits=%d counted=%d threads=%d\n" },
	{ .fmt = "host_arr[7]=%d\n" },
};

static const struct stp_error_desc errors[] = {
	{ .message = "division by zero", .where = "near operator '/' at getppid.stp:7:40" },
};

const struct stp_module stp_module = {
	.abi_version = STP_ABI_VERSION,
	.name = "getppid",
	.script_path = "getppid.stp",
	.bpf_obj = getppid_bpf_o,
	.bpf_obj_len = sizeof(getppid_bpf_o),
	.globals_section = ".data",
	.globals_size = sizeof(struct globals),
	.probes = probes,
	.nprobes = sizeof(probes) / sizeof(probes[0]),
	.globals = globals,
	.nglobals = sizeof(globals) / sizeof(globals[0]),
	.formats = formats,
	.nformats = sizeof(formats) / sizeof(formats[0]),
	.errors = errors,
	.nerrors = 1,
	.limits = { .maxaction = 1000, .maxstringlen = 128, .maxmapentries = 2048, .maxnesting = 10,
		    .maxerrors = 5, .maxskipped = 100 },
};
