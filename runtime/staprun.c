/* staprun.c - run an instrumentation module: the session from start to end.
 *
 * The order of a session, and why:
 *   1. load the module (dlopen), check its ABI;
 *   2. start the -c command, held before exec, so that target() is known;
 *   3. open the BPF object, set stp_state (STARTING, target_pid, clock
 *      offset) and the -G / module-argument globals, load it;
 *   4. attach every kernel probe: they fire from now on, but every kernel
 *      handler returns at once while session_state is not RUNNING, so a
 *      probe that cannot attach ends the session before begin prints;
 *   5. run the begin probes (by priority, then script order);
 *   6. set RUNNING, release the -c command, arm the timers, and loop over
 *      the ring buffer, timers, signals and the -T timeout until exit(),
 *      a signal, the command's end or too many errors;
 *   7. set STOPPING, detach the kernel probes, drain the ring buffer, run
 *      the end probes (or, after too many errors, the error probes), print
 *      the globals never read, report errors, skips and lost records.
 * Nothing stays attached on any way out: links and perf fds are closed,
 * and an exiting process closes whatever a second Ctrl-C interrupted.
 */
#include "rt.h"

#include <bpf/libbpf.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOOP_TICK_MS 200 /* flush output and look at the shared state */

static void usage(FILE *f)
{
	fputs("Usage: staprun [OPTIONS] MODULE [name=value ...]\n"
	      "   or: staprun -A NAME | -d NAME | --features\n"
	      "  -o FILE     send output to FILE (strftime conversions allowed)\n"
	      "  -S SIZE[,N] with -o: rotate into FILE.0, FILE.1 ... every SIZE MB, keep N\n"
	      "  -c CMD      run CMD (target() is its pid); end when it exits\n"
	      "  -x PID      target() is PID\n"
	      "  -T SECONDS  end the session after SECONDS\n"
	      "  -s MB       output buffer size in megabytes (the ring with -L)\n"
	      "  -G name=value  set a global before the begin probes\n"
	      "  -L          start the probes, then detach (flight recorder)\n"
	      "  -D          run in the background, print the pid (with -o)\n"
	      "  -F          -L without -o, -D with -o (what stap -F passes)\n"
	      "  -A NAME     reattach to a detached session; Ctrl-C detaches again\n"
	      "  -d NAME     end a background session (\"*\": all of them)\n"
	      "  --features  say which probe families this kernel lets us attach\n"
	      "  -v          more messages (repeat for libbpf's)\n"
	      "  -V          print the version\n",
	      f);
}

enum { OPT_FEATURES = 256, OPT_NO_GLOBAL_DISPLAY, OPT_IGNORED };

static const struct option long_options[] = {
	{ "features", no_argument, 0, OPT_FEATURES },
	{ "no-global-var-display", no_argument, 0, OPT_NO_GLOBAL_DISPLAY },
	{ "suppress-handler-errors", no_argument, 0, OPT_IGNORED },
	{ "help", no_argument, 0, 'h' },
	{ 0, 0, 0, 0 },
};

static int parse_size_limit(struct stp_options *o, const char *arg)
{
	char *end;
	o->size_limit_mb = strtol(arg, &end, 10);
	if (end != arg && *end == ',') {
		const char *n = end + 1;
		o->max_files = (int)strtol(n, &end, 10);
		if (end == n || o->max_files <= 0)
			end = (char *)"x";
	}
	if (end == arg || *end || o->size_limit_mb <= 0 || o->size_limit_mb > 1L << 30) {
		fprintf(stderr, "staprun: invalid -S argument '%s': expected SIZE[,N] (megabytes, files)\n", arg);
		return -1;
	}
	return 0;
}

/* -L, -D and -F decide how the session runs, once every option is read. */
static void settle_run_mode(struct stp_options *o, int detach, int daemon, int flight)
{
	if (flight)
		o->detach = o->output_path ? STP_RUN_DAEMON : STP_RUN_DETACHED;
	if (daemon)
		o->detach = o->output_path ? STP_RUN_DAEMON : STP_RUN_DETACHED;
	if (detach)
		o->detach = STP_RUN_DETACHED;
}

static int parse_options(int argc, char **argv, struct stp_options *o)
{
	int c, attach = 0, delete = 0, detach = 0, daemon = 0, flight = 0;
	o->assigns = calloc((size_t)argc + 1, sizeof(char *));
	while ((c = getopt_long(argc, argv, "+o:c:x:T:s:vVG:S:DLAdFwuhb:", long_options, NULL)) != -1) {
		switch (c) {
		case 'o': o->output_path = optarg; break;
		case 'c': o->command = optarg; break;
		case 'x': o->target_pid = (pid_t)atoi(optarg); break;
		case 'T': o->timeout_s = atof(optarg); break;
		case 's':
		case 'b': o->bufsize_mb = atol(optarg); break;
		case 'S':
			if (parse_size_limit(o, optarg))
				return -1;
			break;
		case 'v': o->verbose++; break;
		case 'V': puts("staprun (stapng) 0.1, BPF runtime"); exit(0);
		case 'G': o->assigns[o->nassigns++] = optarg; break;
		case 'w': case 'u': case OPT_IGNORED: break;
		case 'D': daemon = 1; break;
		case 'L': detach = 1; break;
		case 'F': flight = 1; break;
		case 'A': attach = 1; break;
		case 'd': delete = 1; break;
		case OPT_FEATURES: o->features = 1; return 0;
		case OPT_NO_GLOBAL_DISPLAY: o->no_global_display = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return -1;
	}
	if (o->bufsize_mb < 0 || o->bufsize_mb > 4095) {
		fputs("staprun: -s takes a size between 1 and 4095 megabytes\n", stderr);
		return -1;
	}
	if (o->size_limit_mb && !o->output_path) {
		fputs("staprun: -S needs -o FILE\n", stderr);
		return -1;
	}
	settle_run_mode(o, detach, daemon, flight);
	if (o->detach && o->command) {
		fputs("staprun: -c cannot be combined with -L, -D or -F\n", stderr);
		return -1;
	}
	o->module_path = argv[optind++];
	if (attach)
		o->attach_name = o->module_path;
	if (delete)
		o->delete_name = o->module_path;
	for (; optind < argc; optind++)
		o->assigns[o->nassigns++] = argv[optind];
	return 0;
}

/* ------------------------------------------------------------ module */

static const char *find_module(const char *name, char *buf, size_t size)
{
	struct utsname u;
	if (strchr(name, '/') || access(name, F_OK) == 0 || uname(&u) != 0)
		return name;
	snprintf(buf, size, "/lib/modules/%s/systemtap/%s%s", u.release, name,
		 strstr(name, ".ko") ? "" : ".ko");
	return access(buf, F_OK) == 0 ? buf : name;
}

static int load_module(struct stp_session *s)
{
	char buf[4096], rel[4200];
	const char *path = find_module(s->opt.module_path, buf, sizeof(buf));
	if (!strchr(path, '/')) {
		snprintf(rel, sizeof(rel), "./%s", path);
		path = rel;
	}
	s->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!s->dl) {
		fprintf(stderr, "ERROR: cannot load module %s: %s\n", s->opt.module_path, dlerror());
		return -1;
	}
	s->mod = dlsym(s->dl, "stp_module");
	if (!s->mod) {
		fprintf(stderr, "ERROR: %s is not a stapng module (no stp_module descriptor)\n", s->opt.module_path);
		return -1;
	}
	if (s->mod->abi_version != STP_ABI_VERSION) {
		fprintf(stderr, "ERROR: module %s was built for module ABI %u; this staprun runs ABI %u\n",
			s->opt.module_path, s->mod->abi_version, STP_ABI_VERSION);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------- -c command */

static int child_gate = -1; /* write end: closing it lets the command run */
static pid_t command_pid;   /* the -c command until reaped; target() stays */

/* Runs a command with no shell syntax: words split at blanks, found on
 * PATH.  Returns only when it cannot be run. */
static void exec_words(const char *command)
{
	char *copy = strdup(command), *save = NULL;
	char *argv[256];
	int n = 0;
	for (char *w = strtok_r(copy, " \t", &save); w && n < 255; w = strtok_r(NULL, " \t", &save))
		argv[n++] = w;
	argv[n] = NULL;
	if (n > 0)
		execvp(argv[0], argv);
	fprintf(stderr, "ERROR: cannot run '%s': %s\n", command, strerror(errno));
	_exit(127);
}

/* Whether `word` (len bytes) names a program execvp would find, as a shell
 * would for a command that is not a builtin or function of its own. */
static bool runs_a_program(const char *word, size_t len)
{
	char *w = strndup(word, len);
	bool found = false;
	if (!w)
		return false;
	if (strchr(w, '/')) {
		found = access(w, X_OK) == 0;
	} else if (!strpbrk(w, "\"'\\$`*?[]~{}=")) {
		const char *path = getenv("PATH");
		char *copy = strdup(path ? path : "/usr/bin:/bin"), *save = NULL;
		for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d && !found; d = strtok_r(NULL, ":", &save)) {
			char full[4096];
			found = snprintf(full, sizeof full, "%s/%s", d, w) < (int)sizeof full && access(full, X_OK) == 0;
		}
		free(copy);
	}
	free(w);
	return found;
}

/* Whether a command needs /bin/sh: quoting, expansion, redirection or
 * control syntax anywhere, or a first word that is no program (a NAME=value
 * prefix, a builtin such as exec).  An '=' inside a later word is an
 * argument like any other (dd if=/dev/zero of=/dev/null). */
static bool needs_shell(const char *command)
{
	if (strpbrk(command, ";&|<>()$`\\\"'*?[]~{}#\n"))
		return true;
	size_t first = strspn(command, " \t");
	size_t len = strcspn(command + first, " \t");
	return len > 0 && !runs_a_program(command + first, len);
}

/* Whether the unquoted character at p starts shell control syntax: ; | &
 * (but not the & of a >& or <& redirection), parentheses, `, a newline. */
static bool is_control(const char *start, const char *p)
{
	if (*p == '&')
		return !(p > start && (p[-1] == '>' || p[-1] == '<'));
	return *p && strchr(";|()`\n", *p);
}

/* Where "exec " goes in a shell command that is one simple command (its
 * NAME=value prefixes, words and redirections; no ; & | newline or
 * parentheses, no reserved word) whose name is a program: the shell then
 * becomes that program instead of forking it, and target() is the pid of
 * the command the user named.  -1 for anything else (a pipeline, a list, a
 * builtin), which runs as the shell's child, the shell being target(). */
static long exec_point(const char *command)
{
	static const char *const reserved[] = { "if", "then", "else", "elif", "fi", "do", "done", "case", "esac",
						"while", "until", "for", "in", "!", "{", "}", "[[", "function",
						"select", "time", "exec" };
	const char *p = command;
	for (;;) {
		p += strspn(p, " \t");
		size_t len = 0;
		char quote = 0;
		/* one word: up to a blank outside quotes */
		for (; p[len] && (quote || (p[len] != ' ' && p[len] != '\t')); len++) {
			char c = p[len];
			if (quote) {
				if (c == quote)
					quote = 0;
				else if (c == '\\' && quote == '"' && p[len + 1])
					len++;
			} else if (c == '\'' || c == '"') {
				quote = c;
			} else if (c == '\\' && p[len + 1]) {
				len++;
			} else if (c == '#' || is_control(command, p + len)) {
				return -1;
			}
		}
		if (quote || len == 0)
			return -1;
		/* NAME=value: an assignment for the command that follows */
		size_t name = 0;
		while (name < len && (p[name] == '_' || (p[name] >= 'A' && p[name] <= 'Z') ||
				      (p[name] >= 'a' && p[name] <= 'z') || (name > 0 && p[name] >= '0' && p[name] <= '9')))
			name++;
		if (name > 0 && name < len && p[name] == '=') {
			p += len;
			continue;
		}
		for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
			if (strlen(reserved[i]) == len && strncmp(p, reserved[i], len) == 0)
				return -1;
		if (!runs_a_program(p, len))
			return -1;
		/* the rest must hold no control syntax either */
		for (const char *r = p + len; *r; r++) {
			if (*r == '\'' || *r == '"') {
				const char *e = strchr(r + 1, *r);
				if (!e)
					return -1;
				r = e;
			} else if (*r == '\\' && r[1]) {
				r++;
			} else if (is_control(command, r)) {
				return -1;
			}
		}
		return p - command;
	}
}

/* The command in the shell: "exec " before the simple command's name, so
 * that the shell's pid, which is target(), becomes the command's. */
static char *shell_command(const char *command)
{
	long at = exec_point(command);
	char *out = NULL;
	if (at < 0)
		return strdup(command);
	if (asprintf(&out, "%.*sexec %s", (int)at, command, command + at) < 0)
		return NULL;
	return out;
}

static int start_command(struct stp_session *s)
{
	int gate[2];
	if (pipe2(gate, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "ERROR: cannot start '%s': %s\n", s->opt.command, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		char c;
		close(gate[1]);
		/* Held here until the probes are armed; EOF without a byte
		 * means staprun gave up. */
		if (read(gate[0], &c, 1) != 1)
			_exit(127);
		rt_privilege_drop(); /* lent by a set-uid install: never the command's */
		/* A plain command is run directly, so that target() is its own
		 * pid and the only execve the probes see is the command's. */
		if (!needs_shell(s->opt.command))
			exec_words(s->opt.command);
		char *sh = shell_command(s->opt.command);
		execl("/bin/sh", "sh", "-c", sh ? sh : s->opt.command, (char *)NULL);
		fprintf(stderr, "ERROR: cannot run '%s': %s\n", s->opt.command, strerror(errno));
		_exit(127);
	}
	close(gate[0]);
	child_gate = gate[1];
	s->opt.target_pid = pid;
	command_pid = pid;
	return 0;
}

static void release_command(void)
{
	if (child_gate < 0)
		return;
	if (write(child_gate, "g", 1) != 1)
		perror("staprun: starting the command");
	close(child_gate);
	child_gate = -1;
}

static int command_running(struct stp_session *s)
{
	return s->opt.command && command_pid > 0;
}

/* A command never released exits when its gate reads EOF.  Close the gate
 * before anything forks (rt_detach_all's background release), or the fork
 * would hold it open and the command would wait forever. */
static void abandon_command(void)
{
	if (child_gate >= 0) {
		close(child_gate);
		child_gate = -1;
	}
}

static void end_command(struct stp_session *s)
{
	if (child_gate >= 0) {
		abandon_command();
	} else if (command_running(s)) {
		kill(command_pid, SIGTERM);
	}
	if (command_running(s))
		waitpid(command_pid, NULL, 0);
	command_pid = 0;
}

/* ---------------------------------------------------------- host probes */

/* Runs every probe of `kind` in priority order (script order for ties). */
static void run_probes(struct stp_session *s, enum stp_probe_kind kind)
{
	int n = s->mod->nprobes, m = 0;
	int *order = calloc((size_t)n + 1, sizeof(int));
	if (!order)
		return;
	for (int i = 0; i < n; i++) {
		if (s->mod->probes[i].kind != kind)
			continue;
		int j = m++;
		while (j > 0 && s->mod->probes[order[j - 1]].priority > s->mod->probes[i].priority) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (int k = 0; k < m; k++) {
		/* an exit() in one begin probe still lets the others run, as
		 * in stap; too many errors stop them */
		if (kind == STP_PROBE_BEGIN && s->error_stop)
			break;
		rt_run_handler(s, &s->mod->probes[order[k]]);
	}
	free(order);
}

/* ------------------------------------------------------------ the loop */

struct loop {
	int ep;
	int sigfd;
	int timeout_fd;
	int *timer_fds; /* per probe, -1 when not a timer */
};

static int64_t timer_interval(const struct stp_probe_desc *p)
{
	int64_t ns = (int64_t)p->period_ns;
	if (p->randomize_ns) {
		int64_t r = (int64_t)p->randomize_ns;
		ns += (int64_t)(random() % (2 * r + 1)) - r;
	}
	return ns > 0 ? ns : 1;
}

static void arm_timer(int fd, int64_t first_ns, int64_t period_ns)
{
	struct itimerspec its = {
		.it_value = { first_ns / 1000000000, first_ns % 1000000000 },
		.it_interval = { period_ns / 1000000000, period_ns % 1000000000 },
	};
	timerfd_settime(fd, 0, &its, NULL);
}

static int watch(int ep, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

enum { TAG_RB = 1u << 30, TAG_SIG, TAG_TIMEOUT }; /* flight.c's tags are above */

static int loop_open(struct stp_session *s, struct loop *l, sigset_t *mask)
{
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	l->sigfd = signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK);
	l->timeout_fd = -1;
	l->timer_fds = calloc((size_t)s->mod->nprobes + 1, sizeof(int));
	if (l->ep < 0 || l->sigfd < 0 || !l->timer_fds)
		return -1;
	watch(l->ep, l->sigfd, TAG_SIG);
	if (s->rb)
		watch(l->ep, ring_buffer__epoll_fd(s->rb), TAG_RB);
	for (int i = 0; i < s->mod->nprobes; i++) {
		const struct stp_probe_desc *p = &s->mod->probes[i];
		l->timer_fds[i] = -1;
		if (p->kind != STP_PROBE_TIMER || !p->handler)
			continue;
		l->timer_fds[i] = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (l->timer_fds[i] < 0)
			return -1;
		watch(l->ep, l->timer_fds[i], (uint64_t)i);
	}
	if (rt_flight_watch(s, l->ep))
		return -1;
	if (s->opt.timeout_s > 0) {
		l->timeout_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (l->timeout_fd < 0)
			return -1;
		watch(l->ep, l->timeout_fd, TAG_TIMEOUT);
	}
	return 0;
}

static void loop_arm(struct stp_session *s, struct loop *l)
{
	for (int i = 0; i < s->mod->nprobes; i++) {
		const struct stp_probe_desc *p = &s->mod->probes[i];
		if (l->timer_fds[i] < 0)
			continue;
		int64_t first = timer_interval(p);
		arm_timer(l->timer_fds[i], first, p->randomize_ns ? 0 : first);
	}
	if (l->timeout_fd >= 0)
		arm_timer(l->timeout_fd, (int64_t)(s->opt.timeout_s * 1e9), 0);
}

static void loop_close(struct stp_session *s, struct loop *l)
{
	for (int i = 0; l->timer_fds && i < s->mod->nprobes; i++)
		if (l->timer_fds[i] >= 0)
			close(l->timer_fds[i]);
	free(l->timer_fds);
	if (l->timeout_fd >= 0)
		close(l->timeout_fd);
	if (l->sigfd >= 0)
		close(l->sigfd);
	if (l->ep >= 0)
		close(l->ep);
}

static struct timespec first_stop_signal; /* when the session was asked to stop */

static void on_signal(struct stp_session *s, struct loop *l)
{
	struct signalfd_siginfo si;
	while (read(l->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR2) {
			rt_out_switch(s);
			continue;
		}
		if (si.ssi_signo != SIGCHLD) {
			s->stop = 1;
			clock_gettime(CLOCK_MONOTONIC, &first_stop_signal);
			continue;
		}
		if (command_running(s) && waitpid(command_pid, NULL, WNOHANG) == command_pid) {
			command_pid = 0;
			s->stop = 1;
		}
	}
}

static void on_timer(struct stp_session *s, struct loop *l, int i)
{
	uint64_t expirations;
	if (read(l->timer_fds[i], &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	const struct stp_probe_desc *p = &s->mod->probes[i];
	if (p->randomize_ns)
		arm_timer(l->timer_fds[i], timer_interval(p), 0);
	if (rt_state(s)->session_state == STP_SESSION_RUNNING)
		rt_run_handler(s, p);
}

static void run_loop(struct stp_session *s, struct loop *l)
{
	struct epoll_event ev[16];
	while (!s->stop) {
		int n = epoll_wait(l->ep, ev, 16, LOOP_TICK_MS);
		for (int i = 0; i < n && !s->stop; i++) {
			uint64_t tag = ev[i].data.u64;
			if (tag == TAG_RB)
				rt_drain(s);
			else if (tag == TAG_SIG)
				on_signal(s, l);
			else if (tag == TAG_TIMEOUT)
				s->stop = 1;
			else if (rt_flight_event(s, tag, ev[i].events))
				continue;
			else
				on_timer(s, l, (int)tag);
		}
		if (rt_state(s)->session_state == STP_SESSION_STOPPING)
			s->stop = 1; /* exit() in the kernel, even if its record was lost */
		rt_check_limits(s);
		rt_out_flush(s);
	}
}

/* ------------------------------------------------------------ shutdown */

/* A stop signal often arrives twice at once: sent to the process group
 * (Ctrl-C, timeout(1)) and passed on by stap.  Only a second one that
 * comes later is a person pressing Ctrl-C again. */
#define SAME_INTERRUPT_NS 300000000LL

static void force_exit(int sig)
{
	(void)sig;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long since = (now.tv_sec - first_stop_signal.tv_sec) * 1000000000LL +
			  (now.tv_nsec - first_stop_signal.tv_nsec);
	if (first_stop_signal.tv_sec && since < SAME_INTERRUPT_NS)
		return;
	static const char msg[] = "staprun: interrupted again; exiting\n";
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to do */
	}
	_exit(1);
}

static void report_totals(struct stp_session *s)
{
	struct stp_state *st = rt_state(s);
	int64_t errors = rt_total_errors(s);
	int64_t skipped = st->skipped;
	char line[256];
	if (st->lost_records > 0) {
		snprintf(line, sizeof(line), "WARNING: There were %lld transport failures (kernel records lost). "
			 "Try stap -s with a larger buffer size.\n", (long long)st->lost_records);
		rt_output_diag(s, line);
	}
	if (errors || skipped) {
		snprintf(line, sizeof(line), "WARNING: Number of errors: %lld, skipped probes: %lld\n",
			 (long long)errors, (long long)skipped);
		rt_output_diag(s, line);
	}
	if (errors || s->error_stop)
		s->exit_status = 1;
}

static void shut_down(struct stp_session *s)
{
	/* A second Ctrl-C from here on ends staprun at once; the kernel
	 * releases whatever is still open when the process exits. */
	signal(SIGINT, force_exit);
	signal(SIGTERM, force_exit);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);

	rt_state(s)->session_state = STP_SESSION_STOPPING;
	rt_detach_all(s);
	rt_drain(s);
	if (s->error_stop) {
		run_probes(s, STP_PROBE_ERROR);
	} else {
		run_probes(s, STP_PROBE_END);
		rt_drain(s);
		if (!s->opt.no_global_display)
			rt_print_globals(s);
	}
	rt_drain(s);
	rt_out_flush(s);
	report_totals(s);
}

/* ---------------------------------------------------------------- main */

static int prepare(struct stp_session *s)
{
	if (rt_bpf_open(s))
		return -1;
	struct stp_state *st = rt_state(s);
	st->session_state = STP_SESSION_STARTING;
	st->target_pid = s->opt.target_pid;
	struct timespec rt, mono;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	st->realtime_offset_ns = ((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000 + (rt.tv_nsec - mono.tv_nsec);
	for (int i = 0; i < s->opt.nassigns; i++)
		if (rt_set_global(s, s->opt.assigns[i]))
			return -1;
	if (rt_bpf_load(s))
		return -1;
	s->ctx.mod = s->mod;
	s->ctx.rt = s;
	stp_deferred_expand = rt_deferred_expand;
	s->ctx.globals = s->globals;
	if (s->mod->host_frame_size && !(s->ctx.frame = calloc(1, s->mod->host_frame_size)))
		return -1;
	return 0;
}

static int run_session(struct stp_session *s)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (!s->opt.detach)
		sigaddset(&mask, SIGHUP); /* a background session ignores it */
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGUSR2);
	struct loop l = { .ep = -1, .sigfd = -1, .timeout_fd = -1 };

	if (s->opt.command && start_command(s))
		return 1;
	/* A shell starts background jobs with SIGINT ignored, and an ignored
	 * signal never reaches the signalfd: take the defaults back, as the
	 * session must end on SIGINT wherever it was started. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (!s->opt.detach)
		signal(SIGHUP, SIG_DFL);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if (prepare(s) || rt_attach_all(s) || loop_open(s, &l, &mask)) {
		loop_close(s, &l);
		rt_bpf_close(s);
		end_command(s);
		return 1;
	}
	rt_privilege_drop(); /* loaded and attached: a set-uid install is done */
	run_probes(s, STP_PROBE_BEGIN);
	rt_out_flush(s);
	if (!s->stop)
		rt_flight_ready(s); /* the begin probes ran here, with the terminal */
	if (!s->stop) {
		rt_state(s)->session_state = STP_SESSION_RUNNING;
		release_command();
		loop_arm(s, &l);
		run_loop(s, &l);
	}
	abandon_command();
	shut_down(s);
	rt_flight_finish(s);
	loop_close(s, &l);
	end_command(s);
	rt_bpf_close(s);
	return s->exit_status;
}

int main(int argc, char **argv)
{
	static struct stp_session session;
	struct stp_session *s = &session;
	stp_current_session = s;
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	if (parse_options(argc, argv, &s->opt))
		return 1;
	if (s->opt.features)
		return rt_features_report();
	if (s->opt.attach_name || s->opt.delete_name)
		return rt_flight_client(s->opt.module_path, s->opt.delete_name != NULL);
	char found[4200];
	const char *path = find_module(s->opt.module_path, found, sizeof(found));
	if (rt_privilege_check(s, path))
		return 1;
	if (s->opt.detach && rt_flight_daemonize(s))
		return 1;
	if (load_module(s) || rt_output_open(s))
		return 1;
	if (s->opt.detach && rt_flight_listen(s))
		return 1;
	int rc = run_session(s);
	rt_flight_finish(s); /* a session that failed to start leaves no socket */
	rt_out_flush(s);
	rt_output_close(s);
	stp_buf_free(&s->out);
	free(s->ctx.frame);
	free(s->opt.assigns);
	return rc;
}
