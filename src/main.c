/* main.c - the stap command line and the pass driver.
 *
 *   pass 1  parse the user script (and -E extras)
 *   pass 2  elaborate against tapsets and the kernel
 *   pass 3  translate to C           (skipped when the module is cached)
 *   pass 4  build the module          (skipped when the module is cached)
 *   pass 5  run it with staprun
 */
#include "stap.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"stapng %s: SystemTap for eBPF and BTF kernels (language %s)\n"
		"\n"
		"Usage: stap [OPTIONS] FILE [ARGS ...]       run a script file\n"
		"   or: stap [OPTIONS] -                     read the script from stdin\n"
		"   or: stap [OPTIONS] -e SCRIPT [ARGS ...]  run a script given inline\n"
		"   or: stap [OPTIONS] -l PROBE | -L PROBE   list matching probe points (-L: with variables)\n"
		"\n"
		"Passes and output:\n"
		"  -p NUM        stop after pass NUM (1 parse, 2 elaborate, 3 translate, 4 build, 5 run)\n"
		"  -v            more verbose; repeat for more (pass times and sizes,\n"
		"                every repeat of an error or warning)\n"
		"  -k            keep the temporary directory\n"
		"  -o FILE       send the script's output to FILE\n"
		"  -S SIZE[,N]   with -o: switch to FILE.1, FILE.2 ... every SIZE MB, keep N files\n"
		"  -F            flight recorder: run in the background\n"
		"  -s NUM        NUM MB of buffer for kernel-to-user output\n"
		"  -T SECONDS    end the session after SECONDS\n"
		"  -c CMD        start the probes, run CMD, end when it exits; target() is its PID\n"
		"  -x PID        target() returns PID\n"
		"\n"
		"Script and language:\n"
		"  -e SCRIPT     the script text\n"
		"  -E SCRIPT     an extra script, added to the main one\n"
		"  -I DIR        add DIR to the tapset search path\n"
		"  -D NAME=VAL   set a limit: MAXACTION MAXSTRINGLEN MAXMAPENTRIES MAXNESTING\n"
		"                MAXERRORS MAXSKIPPED\n"
		"  -G NAME=VAL   set global variable NAME before the script starts\n"
		"  -g            guru mode: allow embedded C (%%{ %%}) and writes to target variables\n"
		"  -u            unoptimized: keep unused variables and functions\n"
		"  -w            no warnings\n"
		"  -W            warnings are errors\n"
		"\n"
		"Modules and kernels:\n"
		"  -m NAME       name the module NAME.ko and keep it in the current directory\n"
		"  -r RELEASE    build for kernel RELEASE (its config from /boot/config-RELEASE)\n"
		"  --btf FILE    read kernel types from FILE instead of /sys/kernel/btf/vmlinux\n"
		"  --kernel-config FILE   read CONFIG_* values from FILE\n"
		"  --disable-cache        neither use nor fill the module cache\n"
		"  --clean-cache          empty the module cache and exit\n"
		"  --privilege=stapdev|stapsys|stapusr, --unprivileged\n"
		"\n"
		"Information:\n"
		"  --dump-functions       list the tapset and built-in functions\n"
		"  --dump-probe-aliases   list the tapset probe aliases\n"
		"  --dump-probe-types     list the probe point families\n"
		"  -h, --help     this text\n"
		"  -V, --version  version\n"
		"\n"
		"Probes run in the kernel as eBPF programs (tracepoints, syscalls, perf events,\n"
		"uprobes, kernel functions where the kernel allows them) or in staprun\n"
		"(begin, end, error, timer.*). See stap(1) and stapprobes(3stap).\n",
		STAPNG_VERSION, STAP_LANG_VERSION);
}

enum {
	OPT_DISABLE_CACHE = 256,
	OPT_CLEAN_CACHE,
	OPT_POISON_CACHE,
	OPT_PRIVILEGE,
	OPT_UNPRIVILEGED,
	OPT_DUMP_FUNCTIONS,
	OPT_DUMP_ALIASES,
	OPT_DUMP_TYPES,
	OPT_BTF,
	OPT_KERNEL_CONFIG,
	OPT_SUPPRESS_HANDLER_ERRORS,
	OPT_SKIP_BADVARS,
	OPT_RUNTIME,
	OPT_NO_GLOBAL_DISPLAY,
	OPT_IGNORED_ARG,
	OPT_IGNORED,
};

static const struct option long_options[] = {
	{"help", no_argument, 0, 'h'},
	{"version", no_argument, 0, 'V'},
	{"disable-cache", no_argument, 0, OPT_DISABLE_CACHE},
	{"clean-cache", no_argument, 0, OPT_CLEAN_CACHE},
	{"poison-cache", no_argument, 0, OPT_POISON_CACHE},
	{"privilege", required_argument, 0, OPT_PRIVILEGE},
	{"unprivileged", no_argument, 0, OPT_UNPRIVILEGED},
	{"dump-functions", no_argument, 0, OPT_DUMP_FUNCTIONS},
	{"dump-probe-aliases", no_argument, 0, OPT_DUMP_ALIASES},
	{"dump-probe-types", no_argument, 0, OPT_DUMP_TYPES},
	{"btf", required_argument, 0, OPT_BTF},
	{"kernel-config", required_argument, 0, OPT_KERNEL_CONFIG},
	{"suppress-handler-errors", no_argument, 0, OPT_SUPPRESS_HANDLER_ERRORS},
	{"skip-badvars", no_argument, 0, OPT_SKIP_BADVARS},
	{"runtime", required_argument, 0, OPT_RUNTIME},
	{"bpf", no_argument, 0, OPT_IGNORED},
	{"no-global-var-display", no_argument, 0, OPT_NO_GLOBAL_DISPLAY},
	{"color", optional_argument, 0, OPT_IGNORED_ARG},
	{"colour", optional_argument, 0, OPT_IGNORED_ARG},
	{0, 0, 0, 0},
};

/* Options given on the command line that the run pass (staprun) needs. */
typedef struct RunOptions {
	bool no_global_display;
	bool suppress_handler_errors;
} RunOptions;

static RunOptions run_opts;
static bool opt_dump_functions, opt_dump_aliases, opt_dump_types, opt_clean_cache;
static bool opt_privilege_given; /* --privilege or --unprivileged */

static int64_t parse_number(Session *s, const char *opt, const char *arg)
{
	char *end;
	errno = 0;
	long long v = strtoll(arg, &end, 0);
	if (errno || *end || end == arg) {
		diag_fatal(s, "invalid numeric argument '%s' for option %s", arg, opt);
		exit(1);
	}
	return v;
}

/* -D NAME=VALUE: the limits we know go into s->limits; all are kept for
 * the cache key. */
static void apply_define(Session *s, const char *def)
{
	vec_push(&s->defines, xstrdup(def));
	const char *eq = strchr(def, '=');
	if (!eq)
		return;
	size_t n = (size_t)(eq - def);
	static const struct { const char *name; size_t off; } known[] = {
		{"MAXACTION", offsetof(Limits, maxaction)},
		{"MAXSTRINGLEN", offsetof(Limits, maxstringlen)},
		{"MAXMAPENTRIES", offsetof(Limits, maxmapentries)},
		{"MAXNESTING", offsetof(Limits, maxnesting)},
		{"MAXERRORS", offsetof(Limits, maxerrors)},
		{"MAXSKIPPED", offsetof(Limits, maxskipped)},
		{"MAXTRACEPERSIST", offsetof(Limits, maxtracepersist)},
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		if (strlen(known[i].name) == n && strncmp(def, known[i].name, n) == 0) {
			int64_t v = parse_number(s, "-D", eq + 1);
			if (v < 0 || (strcmp(known[i].name, "MAXSTRINGLEN") == 0 && (v < 8 || v > 65535))) {
				diag_fatal(s, "invalid value for -D %.*s: %s", (int)n, def, eq + 1);
				exit(1);
			}
			*(int64_t *)((char *)&s->limits + known[i].off) = v;
		}
	}
}

static void parse_size_limit(Session *s, const char *arg)
{
	char *end;
	s->size_limit_mb = strtoll(arg, &end, 10);
	if (end == arg || s->size_limit_mb <= 0 || (*end && *end != ',')) {
		diag_fatal(s, "invalid -S argument '%s': expected SIZE[,N]", arg);
		exit(1);
	}
	if (*end == ',') {
		const char *n = end + 1;
		s->max_files = strtoll(n, &end, 10);
		if (end == n || *end || s->max_files <= 0) {
			diag_fatal(s, "invalid -S argument '%s': expected SIZE[,N]", arg);
			exit(1);
		}
	}
}

/* The directory holding this executable, for the tapset and staprun. */
static char *exe_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n <= 0)
		return xstrdup(".");
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	return xstrdup(buf);
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Tapset search path: $STAPNG_TAPSET_DIR, else the tapset/ of the source
 * tree this binary was built in (build/ or build/asan/), else the
 * installed one; then -I directories. */
static void find_tapset_dirs(Session *s)
{
	const char *env = getenv("STAPNG_TAPSET_DIR");
	char *dir = NULL;
	if (env && *env) {
		dir = xstrdup(env);
	} else {
		char *exe = exe_dir();
		const char *cands[] = {"../tapset", "../../tapset", "../share/stapng/tapset"};
		for (size_t i = 0; i < 3 && !dir; i++) {
			char *p = xasprintf("%s/%s", exe, cands[i]);
			if (is_dir(p))
				dir = realpath(p, NULL);
			free(p);
		}
		free(exe);
	}
	if (dir)
		vec_push(&s->tapset_dirs, dir);
	for (int i = 0; i < s->include_dirs.len; i++)
		vec_push(&s->tapset_dirs, VEC_AT(&s->include_dirs, i));
}

/* --------------------------------------------------------- pass timing */

typedef struct PassClock {
	struct timespec real;
	struct rusage ru;
} PassClock;

static void clock_start(PassClock *c)
{
	clock_gettime(CLOCK_MONOTONIC, &c->real);
	getrusage(RUSAGE_SELF, &c->ru);
}

static long tv_ms(struct timeval a, struct timeval b)
{
	return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_usec - a.tv_usec) / 1000;
}

/* "using 1234virt/567res/89shr/1011data kb, in 10usr/20sys/30real ms" */
static char *clock_report(const PassClock *c, bool with_memory)
{
	PassClock now;
	clock_start(&now);
	long real = (now.real.tv_sec - c->real.tv_sec) * 1000 + (now.real.tv_nsec - c->real.tv_nsec) / 1000000;
	StrBuf b = {0};
	if (with_memory) {
		long page_kb = sysconf(_SC_PAGESIZE) / 1024;
		long size = 0, res = 0, shr = 0, text = 0, lib = 0, data = 0;
		FILE *f = fopen("/proc/self/statm", "r");
		if (f) {
			if (fscanf(f, "%ld %ld %ld %ld %ld %ld", &size, &res, &shr, &text, &lib, &data) != 6)
				size = res = shr = data = 0;
			fclose(f);
		}
		sb_printf(&b, "using %ldvirt/%ldres/%ldshr/%lddata kb, ", size * page_kb, res * page_kb,
			  shr * page_kb, data * page_kb);
	}
	sb_printf(&b, "in %ldusr/%ldsys/%ldreal ms.", tv_ms(c->ru.ru_utime, now.ru.ru_utime),
		  tv_ms(c->ru.ru_stime, now.ru.ru_stime), real);
	return sb_steal(&b);
}

/* ------------------------------------------------------------ pass 1 */

static Vec user_scripts; /* Script* */
/* -p1 prints each declaration as soon as it is parsed and keeps no tree
 * (a large script's tree would cost more than its parsing); the text of
 * each script waits here until every file parsed without error. */
typedef struct P1Text {
	UnparseParts parts;
	const SrcFile *file;
} P1Text;
static Vec p1_texts; /* P1Text* */

static void p1_print_decls(const Script *decls, void *parts)
{
	unparse_parts_add(parts, decls);
}

static void parse_user_script(Session *s, const char *path, const char *text)
{
	if (s->last_pass == 1) {
		P1Text *out = xcalloc(1, sizeof *out);
		Script *sc = text ? parse_text_each(s, "<input>", text, false, p1_print_decls, &out->parts)
				  : parse_path_each(s, path, false, p1_print_decls, &out->parts);
		out->file = sc->file;
		vec_push(&p1_texts, out);
		return;
	}
	Script *sc = text ? parse_text(s, "<input>", text, false) : parse_path(s, path, false);
	if (sc)
		vec_push(&user_scripts, sc);
}

static int pass1(Session *s, const char *script_path, const char *script_text, Vec *extra)
{
	parse_user_script(s, script_path, script_text);
	for (int i = 0; i < extra->len; i++)
		parse_user_script(s, NULL, VEC_AT(extra, i));
	if (s->errors) {
		fprintf(stderr, "%d parse error%s.\n", s->errors, s->errors == 1 ? "" : "s");
		fprintf(stderr, "Pass 1: parse failed.  [man error::pass1]\n");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ pass 5 */

static const char *staprun_path(void)
{
	const char *env = getenv("STAPNG_STAPRUN");
	if (env && *env)
		return env;
	static char *path;
	if (!path) {
		char *exe = exe_dir();
		path = xasprintf("%s/staprun", exe);
		free(exe);
	}
	return path;
}

static volatile pid_t run_child;

/* A signal that came from the terminal has reached staprun too (same
 * process group); sending it again counts as a second Ctrl-C, which
 * forces staprun out.  So pass on only signals staprun did not get:
 * those sent to stap by pid. */
static void forward_signal(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	if (run_child > 0 && info && info->si_code == SI_USER && info->si_pid != getpid())
		kill(run_child, sig);
}

/* Run the module with staprun, passing on the session's run options. */
static int pass5(Session *s, const char *module)
{
	Vec argv = {0};
	vec_push(&argv, (void *)staprun_path());
	for (int i = 0; i < s->verbose; i++)
		vec_push(&argv, "-v");
	if (s->output_file) {
		vec_push(&argv, "-o");
		vec_push(&argv, s->output_file);
	}
	if (s->size_limit_mb) {
		vec_push(&argv, "-S");
		vec_push(&argv, s->max_files ? xasprintf("%lld,%lld", (long long)s->size_limit_mb,
							 (long long)s->max_files)
					     : xasprintf("%lld", (long long)s->size_limit_mb));
	}
	if (s->bufsize_mb) {
		vec_push(&argv, "-s");
		vec_push(&argv, xasprintf("%lld", (long long)s->bufsize_mb));
	}
	if (s->timeout_s) {
		vec_push(&argv, "-T");
		vec_push(&argv, xasprintf("%lld", (long long)s->timeout_s));
	}
	if (s->target_cmd) {
		vec_push(&argv, "-c");
		vec_push(&argv, s->target_cmd);
	}
	if (s->target_pid) {
		vec_push(&argv, "-x");
		vec_push(&argv, xasprintf("%lld", (long long)s->target_pid));
	}
	if (s->flight_recorder)
		vec_push(&argv, "-F");
	if (run_opts.no_global_display)
		vec_push(&argv, "--no-global-var-display");
	if (run_opts.suppress_handler_errors)
		vec_push(&argv, "--suppress-handler-errors");
	for (int i = 0; i < s->global_sets.len; i++) {
		vec_push(&argv, "-G");
		vec_push(&argv, VEC_AT(&s->global_sets, i));
	}
	vec_push(&argv, (void *)module);
	vec_push(&argv, NULL);

	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		diag_fatal(s, "cannot start staprun: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		execv(argv.data[0], (char **)argv.data);
		fprintf(stderr, "stap: cannot run %s: %s\n", (char *)argv.data[0], strerror(errno));
		_exit(127);
	}
	/* Ctrl-C reaches staprun through the process group; a signal sent to
	 * stap alone (kill PID) is passed on.  stap then waits for staprun to
	 * run end probes and report. */
	run_child = pid;
	struct sigaction sa = {.sa_sigaction = forward_signal, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 1;
}

/* ------------------------------------------------------------ main */

static int run_passes(Session *s, int argc, char **argv)
{
	const char *script_text = NULL;
	Vec extra = {0};
	const char *list_pattern = NULL;
	bool verbose_list = false;

	/* Options may follow the script's name, as with stap (GNU getopt
	 * permutes): `stap x.stp -c CMD`.  Script arguments that begin with
	 * '-' go after "--". */
	int c;
	while ((c = getopt_long(argc, argv, "hVp:vkgPuwWbtis:I:D:B:a:G:R:r:m:d:o:c:x:e:E:l:L:FS:T:q",
				long_options, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		case 'V':
			printf("stapng %s, SystemTap language %s, for eBPF (%s %s)\n", STAPNG_VERSION,
			       STAP_LANG_VERSION, s->arch, s->kernel_release);
			return 0;
		case 'p':
			s->last_pass = (int)parse_number(s, "-p", optarg);
			if (s->last_pass < 1 || s->last_pass > 5) {
				diag_fatal(s, "invalid pass number '%s' (expected 1-5)", optarg);
				return 1;
			}
			break;
		case 'v': s->verbose++; break;
		case 'k': s->keep_tmp = true; break;
		case 'g': s->guru = true; break;
		case 'u': s->unoptimized = true; break;
		case 'w': s->suppress_warnings = true; break;
		case 'W': s->warnings_are_errors = true; break;
		case 's': s->bufsize_mb = parse_number(s, "-s", optarg); break;
		case 'I': vec_push(&s->include_dirs, xstrdup(optarg)); break;
		case 'D': apply_define(s, optarg); break;
		case 'G': vec_push(&s->global_sets, xstrdup(optarg)); break;
		case 'r':
			free(s->kernel_release);
			s->kernel_release = xstrdup(optarg);
			break;
		case 'a':
			free(s->arch);
			s->arch = xstrdup(optarg);
			break;
		case 'm': s->module_name = xstrdup(optarg); break;
		case 'o': s->output_file = xstrdup(optarg); break;
		case 'c': s->target_cmd = xstrdup(optarg); break;
		case 'x': s->target_pid = parse_number(s, "-x", optarg); break;
		case 'e': script_text = optarg; break;
		case 'E': vec_push(&extra, optarg); break;
		case 'l': list_pattern = optarg; break;
		case 'L': list_pattern = optarg; verbose_list = true; break;
		case 'F': s->flight_recorder = true; break;
		case 'S': parse_size_limit(s, optarg); break;
		case 'T': s->timeout_s = parse_number(s, "-T", optarg); break;
		case OPT_DISABLE_CACHE: s->use_cache = false; break;
		case OPT_CLEAN_CACHE: opt_clean_cache = true; break;
		case OPT_POISON_CACHE: s->use_cache = false; break;
		case OPT_PRIVILEGE:
			if (strcmp(optarg, "stapdev") && strcmp(optarg, "stapsys") && strcmp(optarg, "stapusr")) {
				diag_fatal(s, "invalid argument '%s' for --privilege (expected stapdev, stapsys or stapusr)",
					   optarg);
				return 1;
			}
			free(s->privilege);
			s->privilege = xstrdup(optarg);
			opt_privilege_given = true;
			break;
		case OPT_UNPRIVILEGED:
			free(s->privilege);
			s->privilege = xstrdup("stapusr");
			opt_privilege_given = true;
			break;
		case OPT_DUMP_FUNCTIONS: opt_dump_functions = true; break;
		case OPT_DUMP_ALIASES: opt_dump_aliases = true; break;
		case OPT_DUMP_TYPES: opt_dump_types = true; break;
		case OPT_BTF: s->btf_path = xstrdup(optarg); break;
		case OPT_KERNEL_CONFIG: s->kernel_config_path = xstrdup(optarg); break;
		case OPT_SUPPRESS_HANDLER_ERRORS: run_opts.suppress_handler_errors = true; break;
		case OPT_NO_GLOBAL_DISPLAY: run_opts.no_global_display = true; break;
		case OPT_RUNTIME:
			if (strcmp(optarg, "bpf") && strcmp(optarg, "kernel")) {
				diag_fatal(s, "runtime '%s' is not supported: stapng runs scripts on eBPF", optarg);
				return 1;
			}
			break;
		case OPT_SKIP_BADVARS:
		case 'P': case 'b': case 't': case 'i': case 'q': case 'B': case 'R': case 'd':
		case OPT_IGNORED: case OPT_IGNORED_ARG:
			/* accepted for compatibility; they do not change what eBPF does */
			break;
		default:
			fprintf(stderr, "Try 'stap --help' for more information.\n");
			return 1;
		}
	}
	find_tapset_dirs(s);
	privilege_default(s, opt_privilege_given);

	if (opt_clean_cache)
		return build_clean_cache(s) ? 1 : 0;

	if (list_pattern) {
		s->listing_mode = true;
		s->listing_vars = verbose_list;
		int rc = list_probes(s, list_pattern, verbose_list);
		return rc || s->errors ? 1 : 0;
	}

	const char *script_path = NULL;
	if (!script_text && !opt_dump_functions && !opt_dump_aliases && !opt_dump_types) {
		if (optind >= argc) {
			fprintf(stderr, "stap: no script given: expected FILE, '-' or -e SCRIPT\n"
					"Try 'stap --help' for more information.\n");
			return 1;
		}
		script_path = argv[optind++];
	}
	for (int i = optind; i < argc; i++)
		vec_push(&s->script_args, argv[i]);

	if (opt_dump_functions)
		return dump_functions(s);
	if (opt_dump_aliases)
		return dump_probe_aliases(s);
	if (opt_dump_types)
		return dump_probe_types(s);

	PassClock clk;
	clock_start(&clk);
	if (pass1(s, script_path, script_text, &extra))
		return 1;
	if (s->last_pass == 1) {
		for (int i = 0; i < p1_texts.len; i++) {
			P1Text *out = VEC_AT(&p1_texts, i);
			unparse_parts_write(stdout, &out->parts, out->file);
		}
		return 0;
	}

	Program *prog = elaborate(s, &user_scripts);
	if (prog && !s->errors)
		privilege_check(s, prog);
	if (s->verbose) {
		char *r = clock_report(&clk, true);
		fprintf(stderr, "Pass 1: parsed user script and %d library scripts %s\n",
			prog ? prog->nlibrary_files : 0, r);
		free(r);
	}
	if (!prog || s->errors) {
		fprintf(stderr, "Pass 2: analysis failed.  [man error::pass2]\n");
		return 1;
	}
	if (s->verbose) {
		char *r = clock_report(&clk, true);
		fprintf(stderr, "Pass 2: analyzed script: %d probe%s, %d function%s, %d embed%s, %d global%s %s\n",
			prog->probes.len, prog->probes.len == 1 ? "" : "s", prog->functions.len,
			prog->functions.len == 1 ? "" : "s", prog->embedded.len, prog->embedded.len == 1 ? "" : "s",
			prog->globals.len, prog->globals.len == 1 ? "" : "s", r);
		free(r);
	}
	if (s->last_pass == 2) {
		elab_print(stdout, s, prog);
		return 0;
	}

	clock_start(&clk);
	uint64_t key = build_cache_key(s, prog);
	char *module = s->use_cache && s->last_pass > 3 && !s->module_name ? build_find_cached(s, key) : NULL;
	if (module) {
		if (s->verbose)
			fprintf(stderr, "Pass 3: using cached %s\nPass 4: using cached %s\n", module, module);
	} else {
		Translation t = {0};
		if (translate(s, prog, &t)) {
			fprintf(stderr, "Pass 3: translation failed.  [man error::pass3]\n");
			return 1;
		}
		if (s->last_pass == 3) {
			if (t.bpf_c)
				printf("/* ---- BPF ---- */\n%s", t.bpf_c);
			printf("/* ---- host ---- */\n%s", t.host_c);
			return 0;
		}
		if (s->verbose) {
			char *r = clock_report(&clk, true);
			fprintf(stderr, "Pass 3: translated to C %s\n", r);
			free(r);
		}
		clock_start(&clk);
		module = build_module(s, &t, key);
		if (!module) {
			fprintf(stderr, "Pass 4: compilation failed.  [man error::pass4]\n");
			return 1;
		}
		if (s->verbose) {
			char *r = clock_report(&clk, false);
			fprintf(stderr, "Pass 4: compiled C into \"%s\" %s\n", module, r);
			free(r);
		}
	}
	if (s->last_pass == 4) {
		printf("%s\n", module);
		return 0;
	}

	clock_start(&clk);
	if (s->verbose)
		fprintf(stderr, "Pass 5: starting run.\n");
	int rc = pass5(s, module);
	if (s->verbose) {
		char *r = clock_report(&clk, false);
		fprintf(stderr, "Pass 5: run completed %s\n", r);
		free(r);
	}
	if (rc)
		fprintf(stderr, "Pass 5: run failed.  [man error::pass5]\n");
	return rc;
}

int main(int argc, char **argv)
{
	Session s;
	session_init(&s);
	int rc = run_passes(&s, argc, argv);
	diag_print_suppressed(&s);
	return rc;
}
