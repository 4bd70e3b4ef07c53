/* reader.c - the qemu tests' event generator: opens the file it is given
 * and reads it 64 bytes at a time, so that the kernel functions on that
 * path (do_sys_openat2, vfs_read) see known arguments.  Built static on
 * the host, it runs in the guest without libraries. */
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[64];
	int fd = open(argc > 1 ? argv[1] : "/etc/kfunc-marker", O_RDONLY);
	if (fd < 0)
		return 1;
	while (read(fd, buf, sizeof buf) > 0)
		;
	close(fd);
	return 0;
}
