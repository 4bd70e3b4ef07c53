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

int syscall_nr(const char *name)
{
	for (int i = 0; i < NSYSCALLS; i++)
		if (strcmp(syscall_table[i].name, name) == 0)
			return syscall_table[i].nr;
	return -1;
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
	return lo < NSYSCALLS && syscall_table[lo].nr == nr ? syscall_table[lo].name : NULL;
}

int syscall_max_nr(void)
{
	return syscall_table[NSYSCALLS - 1].nr;
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
