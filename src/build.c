/* build.c - pass 4: compile the translation into one module, and cache it.
 *
 * The BPF unit is compiled with clang -target bpf while the host unit is
 * compiled with the host compiler, in parallel; the link step then makes
 * NAME.ko, an ELF shared object carrying the BPF object as bytes
 * (symbols _binary_bpf_o_start/_end, from `ld -b binary`).
 *
 * Modules are cached in $STAPNG_CACHE_DIR, else $XDG_CACHE_HOME/stapng,
 * else ~/.cache/stapng, as stap_<key>.ko where key hashes everything that
 * affected the module (build_cache_key).
 */
#include "stap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Cache size limit: oldest modules are removed beyond this many bytes. */
#define CACHE_LIMIT_BYTES (256LL << 20)

static int mkdirs(const char *path)
{
	char *p = xstrdup(path);
	for (char *q = p + 1; *q; q++) {
		if (*q == '/') {
			*q = '\0';
			mkdir(p, 0755);
			*q = '/';
		}
	}
	int rc = mkdir(p, 0755);
	free(p);
	return rc == 0 || errno == EEXIST ? 0 : -1;
}

const char *build_cache_dir(Session *s)
{
	static char *dir;
	if (dir)
		return dir;
	const char *env = getenv("STAPNG_CACHE_DIR");
	if (env && *env)
		dir = xstrdup(env);
	else if ((env = getenv("XDG_CACHE_HOME")) && *env)
		dir = xasprintf("%s/stapng", env);
	else if ((env = getenv("HOME")) && *env)
		dir = xasprintf("%s/.cache/stapng", env);
	else
		dir = xstrdup("/tmp/stapng-cache");
	(void)s;
	return dir;
}

/* Where the target runtime headers (stp_bpf.h, stp_host.h, stp_module.h)
 * live: $STAPNG_RUNTIME_DIR, else the source tree's runtime/, else the
 * installed copy. */
static const char *runtime_dir(void)
{
	static char *dir;
	if (dir)
		return dir;
	const char *env = getenv("STAPNG_RUNTIME_DIR");
	if (env && *env)
		return dir = xstrdup(env);
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		const char *cands[] = {"../runtime", "../../runtime", "../share/stapng/runtime"};
		for (int i = 0; i < 3; i++) {
			char *p = xasprintf("%s/%s/stp_module.h", exe, cands[i]);
			if (access(p, R_OK) == 0) {
				*strrchr(p, '/') = '\0';
				dir = realpath(p, NULL);
				free(p);
				return dir;
			}
			free(p);
		}
	}
	return dir = xstrdup("/usr/local/share/stapng/runtime");
}

const char *build_runtime_dir(void)
{
	return runtime_dir();
}

static void hash_str(uint64_t *h, const char *s)
{
	*h = hash64(s, strlen(s) + 1, *h);
}

static void hash_file_stat(uint64_t *h, const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		*h = hash64(&st.st_size, sizeof st.st_size, *h);
		*h = hash64(&st.st_mtim, sizeof st.st_mtim, *h); /* to the nanosecond: tests rebuild programs quickly */
		*h = hash64(&st.st_ino, sizeof st.st_ino, *h);
	}
}

uint64_t build_cache_key(Session *s, const Program *p)
{
	uint64_t h = 0x5ca1ab1e;
	hash_str(&h, STAPNG_VERSION);
	hash_file_stat(&h, "/proc/self/exe"); /* a rebuilt stapng translates anew */
	for (int i = 0; i < s->files.len; i++) {
		SrcFile *f = VEC_AT(&s->files, i);
		hash_str(&h, f->name);
		h = hash64(f->text, f->len, h);
	}
	h = hash64(&s->limits, sizeof s->limits, h);
	hash_str(&h, s->guru ? "g" : "-");
	hash_str(&h, s->unoptimized ? "u" : "-");
	hash_str(&h, s->privilege);
	hash_str(&h, s->kernel_release);
	hash_str(&h, s->arch);
	for (int i = 0; i < s->defines.len; i++)
		hash_str(&h, VEC_AT(&s->defines, i));
	for (int i = 0; i < s->script_args.len; i++)
		hash_str(&h, VEC_AT(&s->script_args, i));
	/* Kernel facts used by translation: the BTF it read. */
	hash_file_stat(&h, s->btf_path ? s->btf_path : "/sys/kernel/btf/vmlinux");
	/* The runtime headers the module is compiled against: stp_module.h
	 * and every header of target/ (a list to keep in step missed one). */
	char *rt = xasprintf("%s/stp_module.h", runtime_dir());
	hash_file_stat(&h, rt);
	free(rt);
	char *target_dir = xasprintf("%s/target", runtime_dir());
	struct dirent **names = NULL;
	int n = scandir(target_dir, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);
		if (len > 2 && !strcmp(names[i]->d_name + len - 2, ".h")) {
			rt = xasprintf("%s/%s", target_dir, names[i]->d_name);
			hash_file_stat(&h, rt);
			free(rt);
		}
		free(names[i]);
	}
	free(names);
	free(target_dir);
	/* Where probes attach: user binaries change under the same script
	 * (a rebuilt program moves its functions, marks and variables). */
	for (int i = 0; p && i < p->probes.len; i++) {
		DerivedProbe *dp = VEC_AT(&p->probes, i);
		for (int j = 0; j < dp->npoints; j++) {
			const Resolved *r = dp->points[j];
			hash_str(&h, r->pp);
			h = hash64(&r->offset, sizeof r->offset, h);
			if (r->kind == PK_UPROBE || r->kind == PK_USDT)
				hash_file_stat(&h, r->path);
		}
	}
	return h;
}

static char *cache_path(Session *s, uint64_t key)
{
	return xasprintf("%s/stap_%016llx.ko", build_cache_dir(s), (unsigned long long)key);
}

char *build_find_cached(Session *s, uint64_t key)
{
	char *path = cache_path(s, key);
	if (access(path, R_OK) == 0) {
		utimensat(AT_FDCWD, path, NULL, 0); /* recently used: clean last */
		return path;
	}
	free(path);
	return NULL;
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Start a compiler; its output goes to `log`. */
static pid_t spawn(const char *dir, char *const argv[], const char *log)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (chdir(dir) != 0)
			_exit(127);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

static int wait_ok(pid_t pid)
{
	int status;
	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The compiler's messages.  With embedded C they point into the script
 * (#line) and are the user's to fix; otherwise the translator is wrong. */
static void show_log(Session *s, const char *dir, const char *log, const char *what, bool user_c)
{
	char *path = xasprintf("%s/%s", dir, log);
	char *text = read_file(path, NULL);
	fprintf(stderr, "%s failed:\n%s", what, text ? text : "");
	if (!user_c)
		diag_fatal(s, "this is a bug in stapng's translator; please report it with the script (-p3 shows the C)");
	free(text);
	free(path);
}

static int copy_file(const char *from, const char *to)
{
	size_t len;
	char *data = read_file(from, &len);
	if (!data)
		return -1;
	char *tmp = xasprintf("%s.%d.tmp", to, (int)getpid());
	FILE *f = fopen(tmp, "wb");
	int rc = -1;
	if (f) {
		rc = fwrite(data, 1, len, f) == len ? 0 : -1;
		if (fclose(f))
			rc = -1;
		if (rc == 0)
			rc = rename(tmp, to);
		else
			unlink(tmp);
	}
	free(tmp);
	free(data);
	return rc;
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(dir);
}

/* Keep the cache under CACHE_LIMIT_BYTES, removing least recently used. */
static void cache_trim(Session *s)
{
	const char *dir = build_cache_dir(s);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct entry { char *path; time_t mtime; off_t size; };
	struct entry *ents = NULL;
	int n = 0, cap = 0;
	long long total = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "stap_", 5) != 0)
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(p, &st) != 0) {
			free(p);
			continue;
		}
		if (n == cap)
			ents = xrealloc(ents, sizeof *ents * (size_t)(cap = cap ? cap * 2 : 32));
		ents[n++] = (struct entry){p, st.st_mtime, st.st_size};
		total += st.st_size;
	}
	closedir(d);
	while (total > CACHE_LIMIT_BYTES && n > 0) {
		int oldest = 0;
		for (int i = 1; i < n; i++)
			if (ents[i].mtime < ents[oldest].mtime)
				oldest = i;
		unlink(ents[oldest].path);
		total -= ents[oldest].size;
		free(ents[oldest].path);
		ents[oldest] = ents[--n];
	}
	for (int i = 0; i < n; i++)
		free(ents[i].path);
	free(ents);
}

int build_clean_cache(Session *s)
{
	const char *dir = build_cache_dir(s);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "stap_", 5) != 0)
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		if (unlink(p) != 0)
			rc = -1;
		free(p);
	}
	closedir(d);
	if (s->verbose)
		fprintf(stderr, "Cleaned the module cache %s\n", dir);
	return rc;
}

/* The files pass 4 writes, so that a signal can remove them with only
 * async-signal-safe calls. */
static const char *const tmp_files[] = {"bpf.c", "host.c", "bpf.o", "host.o", "bpf.log",
					 "host.log", "link.log", "module.ko"};
static char tmp_paths[sizeof tmp_files / sizeof tmp_files[0]][4096];
static char tmp_dir_path[4096];

static void remove_tmp_on_signal(int sig)
{
	for (size_t i = 0; i < sizeof tmp_files / sizeof tmp_files[0]; i++)
		if (tmp_paths[i][0])
			unlink(tmp_paths[i]);
	if (tmp_dir_path[0])
		rmdir(tmp_dir_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void guard_tmp_dir(const char *dir, bool on)
{
	if (on) {
		snprintf(tmp_dir_path, sizeof tmp_dir_path, "%s", dir);
		for (size_t i = 0; i < sizeof tmp_files / sizeof tmp_files[0]; i++)
			snprintf(tmp_paths[i], sizeof tmp_paths[i], "%s/%s", dir, tmp_files[i]);
	}
	int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (int i = 0; i < 3; i++)
		signal(sigs[i], on ? remove_tmp_on_signal : SIG_DFL);
}

char *build_module(Session *s, const Translation *t, uint64_t key)
{
	const char *tmpdir = getenv("TMPDIR");
	char *tmpl = xasprintf("%s/stapXXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	char *dir = mkdtemp(tmpl);
	if (!dir) {
		diag_fatal(s, "cannot create a temporary directory in %s: %s", tmpdir && *tmpdir ? tmpdir : "/tmp",
			   strerror(errno));
		free(tmpl);
		return NULL;
	}
	if (!s->keep_tmp)
		guard_tmp_dir(dir, true);
	char *bpf_c = xasprintf("%s/bpf.c", dir);
	char *host_c = xasprintf("%s/host.c", dir);
	if ((t->bpf_c && write_text(bpf_c, t->bpf_c)) || write_text(host_c, t->host_c)) {
		diag_fatal(s, "cannot write to %s: %s", dir, strerror(errno));
		return NULL;
	}
	const char *rt = runtime_dir();
	char *inc = xasprintf("-I%s", rt);
	char *inc_target = xasprintf("-I%s/target", rt);
	const char *clang = getenv("STAPNG_CLANG") ? getenv("STAPNG_CLANG") : "clang";
	const char *cc = getenv("STAPNG_CC") ? getenv("STAPNG_CC") : "cc";

	pid_t bpf_pid = -1;
	if (t->bpf_c) {
		/* linux/types.h needs the multiarch asm/ headers of the build host */
		char *multiarch = xasprintf("-I/usr/include/%s-linux-gnu", s->arch);
		char *argv[] = {(char *)clang, "-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86",
				"-Wno-unused-variable", "-Wno-unused-label", "-Wno-unused-function",
				"-Wno-gnu-variable-sized-type-not-at-end", inc, inc_target, multiarch,
				"-c", "bpf.c", "-o", "bpf.o", NULL};
		bpf_pid = spawn(dir, argv, "bpf.log");
	}
	char *host_argv[] = {(char *)cc, "-O1", "-fPIC", "-w", inc, inc_target, "-c", "host.c", "-o", "host.o", NULL};
	pid_t host_pid = spawn(dir, host_argv, "host.log");
	int bpf_rc = t->bpf_c ? wait_ok(bpf_pid) : 0;
	int host_rc = wait_ok(host_pid);
	char *module = NULL;
	if (bpf_rc) {
		show_log(s, dir, "bpf.log", "Compiling the BPF unit", t->has_embedded_c);
	} else if (host_rc) {
		show_log(s, dir, "host.log", "Compiling the host unit", t->has_embedded_c);
	} else {
		if (!t->bpf_c) {
			/* no kernel handlers: an empty blob keeps the link uniform */
			char *p = xasprintf("%s/bpf.o", dir);
			write_text(p, "");
			free(p);
		}
		char *argv[] = {(char *)cc, "-shared", "-o", "module.ko", "host.o",
				"-Wl,-b,binary,bpf.o,-b,default", NULL};
		if (wait_ok(spawn(dir, argv, "link.log")))
			show_log(s, dir, "link.log", "Linking the module", t->has_embedded_c);
		else
			module = xasprintf("%s/module.ko", dir);
	}
	if (module) {
		char *final;
		if (s->module_name) {
			final = xasprintf("%s.ko", s->module_name);
		} else if (s->use_cache && mkdirs(build_cache_dir(s)) == 0) {
			final = cache_path(s, key);
		} else {
			final = xasprintf("%s/stap_%016llx.ko", build_cache_dir(s), (unsigned long long)key);
			if (mkdirs(build_cache_dir(s)) != 0) {
				free(final);
				final = xasprintf("/tmp/stap_%016llx_%d.ko", (unsigned long long)key, (int)getpid());
			}
		}
		if (copy_file(module, final) != 0) {
			diag_fatal(s, "cannot write module %s: %s", final, strerror(errno));
			free(final);
			final = NULL;
		}
		free(module);
		module = final;
		if (module && !s->module_name && s->use_cache)
			cache_trim(s);
	}
	if (s->keep_tmp) {
		fprintf(stderr, "Keeping temporary directory \"%s\"\n", dir);
	} else {
		remove_tree(dir);
		guard_tmp_dir(dir, false);
	}
	free(inc);
	free(inc_target);
	free(bpf_c);
	free(host_c);
	free(dir);
	return module;
}
