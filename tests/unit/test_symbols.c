/* test_symbols.c - runtime/symbols.c: kernel addresses named from
 * /proc/kallsyms, user addresses from /proc/PID/maps and ELF symbols. */
#include "unit.h"
#include "rt.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* A function of this program with a symbol of its own to find. */
__attribute__((noinline)) int symbols_test_target(int x)
{
	return x * 3 + 1;
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);
	return n >= m && !strcmp(s + n - m, tail);
}

TEST(user_function_in_own_binary)
{
	char exe[4096], buf[4200], want[4200];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	CHECK(n > 0);
	exe[n > 0 ? n : 0] = 0;
	uint64_t addr = (uint64_t)(uintptr_t)&symbols_test_target + 2;
	rt_symbol_text(buf, sizeof buf, getpid(), addr, 0);
	CHECK_STR(buf, "symbols_test_target");
	rt_symbol_text(buf, sizeof buf, getpid(), addr, 1);
	CHECK(!strncmp(buf, "symbols_test_target+0x2/0x", 26));
	snprintf(want, sizeof want, " [%s]", exe);
	CHECK(ends_with(buf, want));
}

TEST(unknown_address_is_hex)
{
	char buf[64];
	rt_symbol_text(buf, sizeof buf, getpid(), 0x10, 1);
	CHECK_STR(buf, "0x10");
	rt_symbol_text(buf, sizeof buf, -1, 0x10, 0);
	CHECK_STR(buf, "0x10");
}

/* The address kallsyms gives a kernel function, or 0 if hidden. */
static uint64_t kallsyms_address(const char *name)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512], sym[256], type;
	unsigned long long a;
	uint64_t found = 0;
	while (f && !found && fgets(line, sizeof line, f))
		if (sscanf(line, "%llx %c %255s", &a, &type, sym) == 3 && !strcmp(sym, name))
			found = a;
	if (f)
		fclose(f);
	return found;
}

TEST(kernel_function_from_kallsyms)
{
	uint64_t a = kallsyms_address("do_syscall_64");
	if (!a)
		return; /* not root, or kptr_restrict hides addresses */
	char buf[256];
	rt_symbol_text(buf, sizeof buf, -1, a + 5, 0);
	CHECK_STR(buf, "do_syscall_64");
	rt_symbol_text(buf, sizeof buf, -1, a + 5, 1);
	CHECK(!strncmp(buf, "do_syscall_64+0x5/0x", 20));
	CHECK(ends_with(buf, " [kernel]"));
}

int main(void)
{
	RUN(user_function_in_own_binary);
	RUN(unknown_address_is_hex);
	RUN(kernel_function_from_kallsyms);
	UNIT_EXIT();
}
