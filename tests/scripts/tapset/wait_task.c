/* The -c program of wait_task.stp: a child stops itself under ptrace and
 * its parent reads its registers, which makes the kernel wait until the
 * child is off its CPU (wait_task_inactive). */
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	pid_t child = fork();
	if (child == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		_exit(0);
	}
	struct user_regs_struct regs;
	waitpid(child, NULL, 0);
	ptrace(PTRACE_GETREGS, child, NULL, &regs);
	ptrace(PTRACE_CONT, child, NULL, NULL);
	waitpid(child, NULL, 0);
	return 0;
}
