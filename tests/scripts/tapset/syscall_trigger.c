/* Syscalls with known arguments for syscall_defer.stp, between two
 * getpgid() markers so the script sees only these. */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* paths on the stack: a string in a page not yet touched cannot be read
 * at syscall entry (the tracer may not fault it in) */
int main(void)
{
	char buf[16];
	char file[] = "/tmp/stapng_sc_file", missing[] = "/nonexistent-stapng", hello[] = "hello";
	syscall(SYS_getpgid, 4242);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	write(fd, hello, 5);
	close(fd);
	fd = syscall(SYS_open, file, O_RDONLY | O_CLOEXEC);
	read(fd, buf, sizeof buf);
	close(fd);
	mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	kill(-99999, SIGUSR1);
	openat(AT_FDCWD, missing, O_RDONLY);
	unlink(file);
	syscall(SYS_getpgid, 4243);
	return 0;
}
