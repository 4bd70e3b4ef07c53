/* empty_tp OBJ [--exit]: load and attach the empty program, then wait for
 * SIGINT (or, with --exit, detach at once: the floor of arming). */
#include <string.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv)
{
	struct bpf_object *obj = bpf_object__open_file(argc > 1 ? argv[1] : "empty_tp.bpf.o", NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "empty_tp: cannot load\n");
		return 1;
	}
	struct bpf_program *p = bpf_object__find_program_by_name(obj, "empty");
	struct bpf_link *l = bpf_program__attach(p);
	if (!l) {
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
	bpf_link__destroy(l);
	bpf_object__close(obj);
	return 0;
}
