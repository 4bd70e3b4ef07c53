/* Makes one getppid() call, the event the kernel handlers of the regex
 * tests run on. */
#include <unistd.h>

int main(void)
{
	return getppid() > 0 ? 0 : 1;
}
