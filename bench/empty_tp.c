/* empty_tp OBJ [--exit]: load and attach the object's program "empty",
 * then wait for SIGINT (or, with --exit, detach at once: the floor of
 * arming).  A SEC("netfilter") program is linked to IPv4's
 * NF_INET_LOCAL_OUT at priority 0, with its type and link set by hand as
 * runtime/bpfload.c does (libbpf 1.1 predates them). */
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

/* the link's fd, or -1 */
static int link_netfilter(struct bpf_program *p)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.link_create.prog_fd = (uint32_t)bpf_program__fd(p);
	a.link_create.attach_type = 45; /* BPF_NETFILTER */
	uint32_t nf[4] = {2 /* NFPROTO_IPV4 */, 3 /* NF_INET_LOCAL_OUT */, 0, 0};
	memcpy((char *)&a.link_create + 16, nf, sizeof nf);
	return (int)syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof a);
}

int main(int argc, char **argv)
{
	struct bpf_object *obj = bpf_object__open_file(argc > 1 ? argv[1] : "empty_tp.bpf.o", NULL);
	struct bpf_program *p = obj ? bpf_object__find_program_by_name(obj, "empty") : NULL;
	if (!p) {
		fprintf(stderr, "empty_tp: no program 'empty'\n");
		return 1;
	}
	int netfilter = !strcmp(bpf_program__section_name(p), "netfilter");
	if (netfilter) {
		bpf_program__set_type(p, (enum bpf_prog_type)32);                  /* BPF_PROG_TYPE_NETFILTER */
		bpf_program__set_expected_attach_type(p, (enum bpf_attach_type)45); /* BPF_NETFILTER */
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "empty_tp: cannot load\n");
		return 1;
	}
	struct bpf_link *l = netfilter ? NULL : bpf_program__attach(p);
	int fd = netfilter ? link_netfilter(p) : -1;
	if (!l && fd < 0) {
		fprintf(stderr, "empty_tp: cannot attach\n");
		return 1;
	}
	if (argc > 2 && !strcmp(argv[2], "--exit"))
		stop = 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	if (fd >= 0)
		close(fd);
	bpf_link__destroy(l);
	bpf_object__close(obj);
	return 0;
}
