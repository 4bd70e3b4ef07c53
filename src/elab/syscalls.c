/* syscalls.c - x86_64 syscall numbers and argument lists.
 *
 * The number <-> name table is generated from asm/unistd_64.h by
 * scripts/gen_syscalls.sh; argument names and types come from this
 * kernel's syscalls/sys_enter_NAME tracepoint format, which the kernel
 * derives from the SYSCALL_DEFINE of each call.
 */
#include "elab/kernel.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	int nr;
	const char *name;
} syscall_table[] = {
#include "elab/syscalls_x86_64.h"
};

#define NSYSCALLS ((int)(sizeof syscall_table / sizeof syscall_table[0]))

/* Syscalls newer than the build host's headers (numbers from the kernel's
 * x86_64 syscall table; they never change once assigned). */
static const struct {
	int nr;
	const char *name;
} newer_syscalls[] = {
	{ 335, "uretprobe" }, { 336, "uprobe" }, { 451, "cachestat" }, { 452, "fchmodat2" },
	{ 453, "map_shadow_stack" }, { 454, "futex_wake" }, { 455, "futex_wait" },
	{ 456, "futex_requeue" }, { 457, "statmount" }, { 458, "listmount" },
	{ 459, "lsm_get_self_attr" }, { 460, "lsm_set_self_attr" }, { 461, "lsm_list_modules" },
	{ 462, "mseal" }, { 463, "setxattrat" }, { 464, "getxattrat" }, { 465, "listxattrat" },
	{ 466, "removexattrat" }, { 467, "open_tree_attr" }, { 468, "file_getattr" },
	{ 469, "file_setattr" },
};

/* Tracepoints named after the kernel's function rather than the call. */
static const struct {
	const char *tracepoint, *name;
} kernel_names[] = {
	{ "newfstat", "fstat" }, { "newlstat", "lstat" }, { "newstat", "stat" },
	{ "newuname", "uname" }, { "sendfile64", "sendfile" }, { "umount", "umount2" },
	{ "newfstatat", "newfstatat" },
};

static int table_nr(const char *name)
{
	for (int i = 0; i < NSYSCALLS; i++)
		if (strcmp(syscall_table[i].name, name) == 0)
			return syscall_table[i].nr;
	for (size_t i = 0; i < sizeof newer_syscalls / sizeof newer_syscalls[0]; i++)
		if (strcmp(newer_syscalls[i].name, name) == 0)
			return newer_syscalls[i].nr;
	return -1;
}

int syscall_nr(const char *name)
{
	int nr = table_nr(name);
	for (size_t i = 0; nr < 0 && i < sizeof kernel_names / sizeof kernel_names[0]; i++)
		if (strcmp(kernel_names[i].tracepoint, name) == 0)
			nr = table_nr(kernel_names[i].name);
	return nr;
}

const char *syscall_name(int nr)
{
	/* the table is sorted by number: binary search */
	int lo = 0, hi = NSYSCALLS;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (syscall_table[mid].nr < nr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < NSYSCALLS && syscall_table[lo].nr == nr)
		return syscall_table[lo].name;
	for (size_t i = 0; i < sizeof newer_syscalls / sizeof newer_syscalls[0]; i++)
		if (newer_syscalls[i].nr == nr)
			return newer_syscalls[i].name;
	return NULL;
}

int syscall_max_nr(void)
{
	int max = syscall_table[NSYSCALLS - 1].nr;
	for (size_t i = 0; i < sizeof newer_syscalls / sizeof newer_syscalls[0]; i++)
		if (newer_syscalls[i].nr > max)
			max = newer_syscalls[i].nr;
	return max;
}

int syscall_args(Session *s, const char *name, const TpField **args)
{
	char *event = xasprintf("sys_enter_%s", name);
	TpFormat *f = tracefs_format(s, "syscalls", event);
	free(event);
	if (!f)
		return -1;
	int skip = f->nfields > 0 && strcmp(f->fields[0].name, "__syscall_nr") == 0;
	*args = f->fields + skip;
	return f->nfields - skip;
}
