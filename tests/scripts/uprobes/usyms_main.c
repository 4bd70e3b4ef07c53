/* Calls outer() (usyms.S), then waits for staprun to end it, so the
 * process is still mapped while staprun names its addresses. */
#include <unistd.h>

void outer(void);

int main(void)
{
	outer();
	for (;;)
		pause();
}
