/* The floor of netfilter probes: an empty BPF netfilter program that
 * accepts every packet. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("netfilter")
int empty(void *ctx) { return 1; /* NF_ACCEPT */ }
