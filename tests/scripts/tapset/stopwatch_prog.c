/* For stopwatch: a getppid() 200 ms after start, then another 100 ms later. */
#include <time.h>
#include <unistd.h>

static void nap(long ms)
{
	struct timespec ts = {0, ms * 1000000L};
	nanosleep(&ts, NULL);
}

int main(void)
{
	nap(200);
	getppid();
	nap(100);
	getppid();
	return 0;
}
