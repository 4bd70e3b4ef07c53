/* The floor: an empty program on the same tracepoint. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("tp/syscalls/sys_enter_getppid")
int empty(void *ctx) { return 0; }
