/* The empty program on raw_syscalls:sys_enter: the floor of arming syscall.* (bench/syscall_arm.sh). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("tp/raw_syscalls/sys_enter")
int empty(void *ctx) { return 0; }
