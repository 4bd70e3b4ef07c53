/* rt.h - staprun's private state, shared by the runtime's files.
 *
 *   staprun.c   command line, the session's order of events, the run loop
 *   bpfload.c   the BPF object: open, globals block, load, attach, detach
 *   hostrt.c    stp_rt_* for host handlers: output, errors, context
 *   maps.c      stp_rt_map_*, stats and foreach over BPF maps
 *   endprint.c  globals written but never read, printed at the end
 *   symbols.c   addresses to names: kallsyms, /proc/PID/maps and ELF symbols
 *   format.c stats.c  printf engine, aggregates and histograms
 */
#ifndef STP_RT_H
#define STP_RT_H

#include "format.h"
#include "stp_module.h"

#include <stdio.h>
#include <sys/types.h>

struct bpf_object;
struct bpf_link;
struct ring_buffer;

struct stp_options {
	const char *module_path;
	const char *output_path; /* -o */
	const char *command;     /* -c */
	pid_t target_pid;        /* -x, or the -c child */
	double timeout_s;        /* -T; 0: none */
	long bufsize_mb;         /* -s; 0: the module's own */
	int verbose;             /* -v, repeatable */
	const char **assigns;    /* -G and module arguments: name=value */
	int nassigns;
	long size_limit_mb;      /* -S SIZE: rotate output files; 0: never */
	int max_files;           /* -S SIZE,N: keep the N newest; 0: all */
	int detach;              /* STP_RUN_*: -L / -D / -F */
	const char *attach_name; /* -A NAME */
	const char *delete_name; /* -d NAME */
	int features;            /* --features: what this kernel lets us attach */
	int no_global_display;   /* --no-global-var-display */
};

/* How a session runs: in the foreground, or in the background (output in
 * an in-memory ring with -L or -F without -o; into files with -D or -F -o). */
enum stp_run_mode {
	STP_RUN_FOREGROUND = 0,
	STP_RUN_DETACHED,   /* -L: ring buffer, reattach with -A */
	STP_RUN_DAEMON,     /* -D: output to -o files, print the pid */
};

struct stp_output;
struct stp_flight;

struct stp_session {
	struct stp_options opt;
	const struct stp_module *mod;
	void *dl;

	/* BPF side */
	struct bpf_object *obj;
	void *globals;           /* the shared global block */
	void *own_globals;       /* allocated here when there is no BPF .data */
	void *globals_map;       /* the kernel's block, mmapped after load */
	size_t globals_len;
	int *map_fds;            /* per global: its map, or -1 */
	int *own_map;            /* per global: created by staprun */
	int ncpus;               /* possible CPUs (per-CPU map values) */
	struct bpf_link **links;
	int nlinks;
	int *perf_fds;           /* perf events and netfilter links: closed at detach */
	int nperf_fds;
	struct ring_buffer *rb;
	int attached, skipped_optional;
	int kfunc_mech;          /* STP_KFUNC_*: how kernel.function probes attach */

	/* host side */
	struct stp_ctx ctx;
	FILE *out_file;          /* -o, else NULL for stdout */
	int out_fd;
	struct stp_buf out;      /* pending output */
	int64_t host_errors;
	int64_t lost_reported;
	struct stp_output *output; /* output.c: stdout, rotating files or ring */
	struct stp_flight *flight; /* flight.c: background session, control socket */
	int stop;                /* exit() called or a signal came */
	int error_stop;          /* ended by too many errors */
	int exit_status;
};

/* How kernel.function probes attach on this kernel (bpfload.c decides
 * once per session, before loading). */
enum stp_kfunc_mech {
	STP_KFUNC_NONE = 0,
	STP_KFUNC_FENTRY,   /* fentry/fexit trampolines */
	STP_KFUNC_KPROBE,   /* kprobe/kretprobe */
};

/* The one session of this process (host handlers reach it via ctx->rt). */
extern struct stp_session *stp_current_session;

/* hostrt.c */
void rt_out_write(struct stp_session *s, const void *p, size_t n);
void rt_out_flush(struct stp_session *s);
void rt_out_switch(struct stp_session *s); /* flush, then the next output file */
void rt_module_base(const char *path, char *buf, size_t size); /* "dir/x.ko" -> "x" */
/* Prints an error line to stderr (after flushing stdout) and counts it. */
void rt_report_error(struct stp_session *s, const char *msg, const char *where);
void rt_report_warning(struct stp_session *s, const char *msg, const char *where);
/* Checks the error and skip limits; asks the loop to stop when passed. */
void rt_check_limits(struct stp_session *s);
int64_t rt_total_errors(struct stp_session *s);
void rt_run_handler(struct stp_session *s, const struct stp_probe_desc *p);
/* Handles one record from the kernel's ring buffer. */
int rt_handle_record(void *session, void *data, size_t size);
/* stp_deferred_expand for staprun: run a deferred string's function. */
int rt_deferred_expand(const void *args, size_t len, size_t *pos, const char **s, size_t *n);
struct stp_state *rt_state(struct stp_session *s);

/* bpfload.c */
int rt_bpf_open(struct stp_session *s);
int rt_bpf_load(struct stp_session *s);
int rt_attach_all(struct stp_session *s);
void rt_detach_all(struct stp_session *s);
void rt_bpf_close(struct stp_session *s);
int rt_set_global(struct stp_session *s, const char *assign);
int rt_drain(struct stp_session *s);

/* output.c: where script output and diagnostics go. */
int rt_output_open(struct stp_session *s);
void rt_output_put(struct stp_session *s, const void *p, size_t n);
void rt_output_diag(struct stp_session *s, const char *text);
void rt_output_switch(struct stp_session *s); /* SIGUSR2: next file */
void rt_output_ring_copy(struct stp_session *s, struct stp_buf *to);
void rt_output_close(struct stp_session *s);

/* flight.c: background sessions, and the -A / -d clients. */
int rt_flight_daemonize(struct stp_session *s);
int rt_flight_listen(struct stp_session *s);
void rt_flight_ready(struct stp_session *s);
int rt_flight_watch(struct stp_session *s, int ep);
int rt_flight_event(struct stp_session *s, uint64_t tag, uint32_t events);
void rt_flight_send(struct stp_session *s, char chan, const void *p, size_t n);
void rt_flight_finish(struct stp_session *s);
int rt_flight_client(const char *name, int delete);
const char *rt_flight_name(struct stp_session *s);
int rt_flight_in_background(struct stp_session *s); /* ready, terminal gone */

/* privilege.c: who may run what; dropping set-uid privileges. */
int rt_privilege_check(struct stp_session *s, const char *module_path);
void rt_privilege_drop(void);

/* features.c: staprun --features */
int rt_features_report(void);
/* 0 when the kernel lets staprun attach that kind of program, else an
 * errno and the reason in why (also used to choose for kernel.function). */
struct btf;
int rt_fentry_usable(struct btf *vmlinux, char *why, size_t n);
int rt_kprobes_usable(char *why, size_t n);

/* maps.c */
int rt_maps_create_missing(struct stp_session *s);
void rt_maps_close(struct stp_session *s);

/* endprint.c */
void rt_print_globals(struct stp_session *s);

/* symbols.c: pid < 0 names a kernel address.  with_data adds stap's
 * "+0xOFF/0xSIZE [module]". */
void rt_symbol_text(char *buf, size_t size, int pid, uint64_t addr, int with_data);
void rt_print_stack_text(struct stp_session *s, int pid, const char *text, size_t len);
/* How a frame is written (print_backtrace_fileline, print_ubacktrace_brief,
 * sprint_syms: see frame_text in symbols.c). */
enum rt_frame_style { RT_FRAME_FULL, RT_FRAME_FILELINE, RT_FRAME_BRIEF, RT_FRAME_SIMPLE };
void rt_print_frames(struct stp_session *s, int pid, const uint64_t *ips, size_t n, enum rt_frame_style style);
void rt_stack_text_lines(char *buf, size_t size, int pid, const char *text, enum rt_frame_style style);
/* symfile() and friends: an address's source file, line, both
 * ("file:line"), or the hex address where DWARF does not know; or its
 * module ("kernel", a kernel module, a user file; "" if none). */
enum rt_sym_what { RT_SYM_FILE, RT_SYM_LINE, RT_SYM_FILELINE, RT_SYM_MODULE };
void rt_symbol_where(char *buf, size_t size, int pid, uint64_t addr, enum rt_sym_what what);
void rt_module_sections(const char *path, unsigned long long *text, unsigned long long *data,
			unsigned long long *bss);

#endif
