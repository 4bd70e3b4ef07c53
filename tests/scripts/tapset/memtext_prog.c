/* Memory for tests/scripts/tapset/memtext*.stp: each buffer is handed to
 * the kernel as munlock(buf, TAG), harmless on memory that is not locked;
 * the script reads the buffer at sys_enter_munlock and tells the buffers
 * apart by TAG.  The last one comes after the task's name (comm) is set to
 * one byte, 0xe9, so that the kernel's copy of it is a known UTF-16 and
 * UTF-32 string. */
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <stdint.h>
#include <sys/syscall.h>

static char text[] = "tab\there \"q\" back\\slash\n";
/* "hé€😀" */
static uint16_t utf16[] = {'h', 0xe9, 0x20ac, 0xd83d, 0xde00, 0};
static uint32_t utf32[] = {'h', 0xe9, 0x20ac, 0x1f600, 0};
static uint16_t bad16[] = {'a', 0xdc00, 'b', 0};
static uint32_t bad32[] = {'a', 0x110000, 0};
static char buf[] = {'a', 0, 'b', '\377', 0, 'c'};

static void hand(const void *p, long tag)
{
	syscall(SYS_munlock, p, tag);
}

int main(void)
{
	char big[201];
	memset(big, 'x', 200);
	big[200] = 0;
	hand(text, 1);
	hand(utf16, 2);
	hand(utf32, 3);
	hand(bad16, 4);
	hand(bad32, 5);
	hand(big, 6);
	hand(buf, 7);
	prctl(PR_SET_NAME, "\xe9");
	hand(utf16, 8);
	return 0;
}
