/* empty_nf OBJ: load the empty netfilter program and link it to IPv4's
 * NF_INET_LOCAL_OUT at priority 0, print "ready", wait for SIGINT.  The
 * program type and link are set by hand, as libbpf 1.1 predates them
 * (as runtime/bpfload.c does). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv)
{
	struct bpf_object *obj = bpf_object__open_file(argc > 1 ? argv[1] : "empty_nf.bpf.o", NULL);
	struct bpf_program *p = obj ? bpf_object__find_program_by_name(obj, "empty") : NULL;
	if (!p)
		return 1;
	bpf_program__set_type(p, (enum bpf_prog_type)32);              /* BPF_PROG_TYPE_NETFILTER */
	bpf_program__set_expected_attach_type(p, (enum bpf_attach_type)45); /* BPF_NETFILTER */
	if (bpf_object__load(obj)) {
		fprintf(stderr, "empty_nf: cannot load\n");
		return 1;
	}
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.link_create.prog_fd = (uint32_t)bpf_program__fd(p);
	a.link_create.attach_type = 45;
	uint32_t nf[4] = {2 /* NFPROTO_IPV4 */, 3 /* NF_INET_LOCAL_OUT */, 0, 0};
	memcpy((char *)&a.link_create + 16, nf, sizeof nf);
	int fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof a);
	if (fd < 0) {
		perror("empty_nf: link");
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	close(fd);
	bpf_object__close(obj);
	return 0;
}
