/* The -c program of signal_calls.stp and syscall_any.stp: it installs a
 * handler (rt_sigaction), blocks SIGUSR1 (rt_sigprocmask), makes it pending
 * with tkill on itself and reads the pending set (rt_sigpending), tkills a
 * child it forked and a thread id that does not exist, and calls getppid. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_usr1(int sig) { (void)sig; }

int main(void)
{
	struct sigaction sa = { 0 };
	sigset_t set, pending;
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	syscall(SYS_tkill, gettid(), SIGUSR1);
	sigpending(&pending);
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	usleep(50000);
	syscall(SYS_tkill, child, SIGTERM);
	syscall(SYS_tkill, 0x3fffffff, 0);
	waitpid(child, NULL, 0);
	syscall(SYS_getppid);
	return !sigismember(&pending, SIGUSR1);
}
