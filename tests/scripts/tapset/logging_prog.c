/* For logging_kernel: a getppid() whose probe raises SIGUSR1 in this
 * thread; the handler tells the script it ran with getpgid(signo), a
 * syscall it can see. */
#include <signal.h>
#include <unistd.h>

static void on_signal(int sig)
{
	getpgid(sig);
}

int main(void)
{
	signal(SIGUSR1, on_signal);
	getppid();
	return 0;
}
