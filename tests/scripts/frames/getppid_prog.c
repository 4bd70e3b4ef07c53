/* Makes one getppid() call, the event the frames tests' handlers run on. */
#include <unistd.h>

int main(void)
{
	return getppid() > 0 ? 0 : 1;
}
