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

/* A function on one line, for its DWARF line (this file is built -g). */
static const int line_target_line = __LINE__; __attribute__((noinline)) int symbols_line_target(int x) { return x + 7; }

TEST(user_source_line_and_module)
{
	char exe[4096], buf[4200], want[64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	CHECK(n > 0);
	exe[n > 0 ? n : 0] = 0;
	uint64_t addr = (uint64_t)(uintptr_t)&symbols_line_target;
	rt_symbol_where(buf, sizeof buf, getpid(), addr, RT_SYM_FILE);
	CHECK(ends_with(buf, "tests/unit/test_symbols.c"));
	rt_symbol_where(buf, sizeof buf, getpid(), addr, RT_SYM_LINE);
	snprintf(want, sizeof want, "%d", line_target_line);
	CHECK_STR(buf, want);
	rt_symbol_where(buf, sizeof buf, getpid(), addr, RT_SYM_FILELINE);
	snprintf(want, sizeof want, "test_symbols.c:%d", line_target_line);
	CHECK(ends_with(buf, want));
	rt_symbol_where(buf, sizeof buf, getpid(), addr, RT_SYM_MODULE);
	CHECK_STR(buf, exe);
	/* no DWARF for the kernel, no mapping at 0x10: the address in hex */
	rt_symbol_where(buf, sizeof buf, -1, 0xffffffff81000000ull, RT_SYM_FILELINE);
	CHECK_STR(buf, "0xffffffff81000000");
	rt_symbol_where(buf, sizeof buf, getpid(), 0x10, RT_SYM_LINE);
	CHECK_STR(buf, "0x10");
	rt_symbol_where(buf, sizeof buf, getpid(), 0x10, RT_SYM_MODULE);
	CHECK_STR(buf, "");
}

TEST(frames_as_text)
{
	char exe[4096], text[64], buf[4200], want[4300];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	CHECK(n > 0);
	exe[n > 0 ? n : 0] = 0;
	uint64_t addr = (uint64_t)(uintptr_t)&symbols_test_target + 3;
	snprintf(text, sizeof text, "0x%016llx 0x10", (unsigned long long)addr);
	rt_stack_text_lines(buf, sizeof buf, getpid(), text, RT_FRAME_SIMPLE);
	snprintf(want, sizeof want, "symbols_test_target+0x3 [%s]\n0x10\n", exe);
	CHECK_STR(buf, want);
	rt_stack_text_lines(buf, sizeof buf, getpid(), text, RT_FRAME_BRIEF);
	CHECK_STR(buf, "symbols_test_target+0x3\n0x10\n");
	rt_stack_text_lines(buf, 12, getpid(), text, RT_FRAME_BRIEF); /* cut at size - 1 */
	CHECK_STR(buf, "symbols_tes");
}

int main(void)
{
	RUN(user_function_in_own_binary);
	RUN(unknown_address_is_hex);
	RUN(kernel_function_from_kallsyms);
	RUN(user_source_line_and_module);
	RUN(frames_as_text);
	UNIT_EXIT();
}
