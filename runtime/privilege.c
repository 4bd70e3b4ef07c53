/* privilege.c - who may run which module, as stap's staprun decides it.
 *
 *   root, or a user holding CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN of their
 *   own (not given by a set-uid or file-capability staprun): any module;
 *   members of the group "stapdev": any module;
 *   members of the group "stapusr": only modules installed by root under
 *   /lib/modules/RELEASE/systemtap/ (owned by root, not writable by others);
 *   everyone else: nothing.
 * For the groups to matter, staprun is installed set-uid root (or with
 * those three file capabilities); it then gives the privileges up as soon
 * as the module's probes are loaded and attached, and the -c command never
 * has them.  Every refusal names the group or capabilities that would do.
 */
#include "rt.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static int in_group(const char *name)
{
	struct group *g = getgrnam(name);
	if (!g)
		return 0;
	if (getgid() == g->gr_gid)
		return 1;
	int n = getgroups(0, NULL);
	if (n <= 0)
		return 0;
	gid_t *list = calloc((size_t)n, sizeof(gid_t));
	int found = 0;
	if (list && getgroups(n, list) == n)
		for (int i = 0; i < n && !found; i++)
			found = list[i] == g->gr_gid;
	free(list);
	return found;
}

static int effective_cap(struct __user_cap_data_struct *d, int cap)
{
	return (d[cap / 32].effective >> (cap % 32)) & 1;
}

static int has_tracing_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };
	if (syscall(SYS_capget, &h, d) != 0)
		return 0;
	return effective_cap(d, CAP_BPF) && effective_cap(d, CAP_PERFMON) && effective_cap(d, CAP_SYS_ADMIN);
}

/* Privileges that come from how staprun is installed, not from the user. */
static int elevated_by_install(void)
{
	if (geteuid() != getuid() || getegid() != getgid())
		return 1;
	return getxattr("/proc/self/exe", "security.capability", NULL, 0) > 0;
}

static void installed_dir(char *buf, size_t size)
{
	struct utsname u;
	snprintf(buf, size, "/lib/modules/%s/systemtap", uname(&u) == 0 ? u.release : "unknown");
}

static int root_owned_not_shared(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_uid == 0 && !(st.st_mode & (S_IWGRP | S_IWOTH));
}

/* The module resolves to a root-owned file directly in the installed
 * directory, itself root-owned and writable by root alone. */
static int is_installed(const char *module_path)
{
	char dir[PATH_MAX], real_dir[PATH_MAX], real_mod[PATH_MAX];
	installed_dir(dir, sizeof(dir));
	if (!realpath(dir, real_dir) || !realpath(module_path, real_mod))
		return 0;
	size_t n = strlen(real_dir);
	return strncmp(real_mod, real_dir, n) == 0 && real_mod[n] == '/' && !strchr(real_mod + n + 1, '/') &&
	       root_owned_not_shared(real_dir) && root_owned_not_shared(real_mod);
}

int rt_privilege_check(struct stp_session *s, const char *module_path)
{
	(void)s;
	if (getuid() == 0 || in_group("stapdev"))
		return 0;
	if (!elevated_by_install() && has_tracing_caps())
		return 0;
	char dir[PATH_MAX];
	installed_dir(dir, sizeof(dir));
	if (in_group("stapusr")) {
		if (is_installed(module_path))
			return 0;
		fprintf(stderr,
			"ERROR: members of the group \"stapusr\" may only run modules installed by root in %s/;\n"
			"%s is not one of them. Running it needs root, membership in the group \"stapdev\",\n"
			"or the capabilities CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN.\n",
			dir, module_path);
		return -1;
	}
	fprintf(stderr,
		"ERROR: You are trying to run stapng as a normal user.\n"
		"You should either be root, hold the capabilities CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN,\n"
		"or be part of the group \"stapdev\" (any module) or \"stapusr\" (modules installed in %s/).\n",
		dir);
	return -1;
}

/* Gives up what a set-uid or file-capability install lent us. */
void rt_privilege_drop(void)
{
	if (!elevated_by_install() || getuid() == 0)
		return;
	gid_t gid = getgid();
	uid_t uid = getuid();
	if (setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
		perror("staprun: giving up privileges");
		_exit(1);
	}
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };
	syscall(SYS_capset, &h, d);
}
