/* For tests/scripts/tapset/signal_mask.stp: blocks SIGUSR1, SIGTERM and
 * SIGRTMIN+3 (35), ignores SIGUSR2, then calls getppid(). */
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, 35);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGUSR2, SIG_IGN);
	syscall(SYS_getppid);
	return 0;
}
