/* Reports its own pid the way a test can check it: written as decimal
 * text to /dev/null (a write whose buffer a probe reads), then one
 * getppid() call, the event the tests' handlers run on. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%d", (int)getpid());
	int fd = open("/dev/null", O_WRONLY);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		return 1;
	close(fd);
	return getppid() > 0 ? 0 : 1;
}
