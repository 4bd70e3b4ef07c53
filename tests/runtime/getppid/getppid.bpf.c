/* getppid.bpf.c - the kernel side of a hand-written module: what the
 * translator would emit for
 *
 *   global hits, calls
 *   probe kernel.trace("syscalls:sys_enter_getppid") {
 *     if (pid() != target() || execname() != "trigger") next
 *     hits++; calls[tid()] <<< 1
 *     if (hits <= 3) printf("getppid %d by %s\n", hits, execname())
 *     if (hits == 1000) { printf("%d/%d\n", 1, 0 / 0) }   (an error site)
 *   }
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "stp_module.h"

char LICENSE[] SEC("license") = "GPL";

/* The global block: struct stp_state first, then the scalars. */
struct {
	struct stp_state st;
	stp_i64 hits;
	stp_i64 divisor;
} stp_g SEC(".data") = { .divisor = 0 };

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} stp_events SEC(".maps");

struct stat_val {
	struct stp_stat s;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 2048);
	__type(key, stp_i64);
	__type(value, struct stat_val);
} calls SEC(".maps");

struct rec {
	struct stp_rec_hdr h;
	char args[64];
};

SEC("tracepoint/syscalls/sys_enter_getppid")
int probe_0(void *ctx)
{
	if (stp_g.st.session_state != STP_SESSION_RUNNING)
		return 0;
	stp_i64 pid = bpf_get_current_pid_tgid() >> 32;
	if (pid != stp_g.st.target_pid)
		return 0;
	/* the shell that execs the -c command calls getppid itself */
	char who[16] = {};
	bpf_get_current_comm(who, sizeof(who));
	if (who[0] != 't' || who[1] != 'r' || who[2] != 'i' || who[3] != 'g')
		return 0;
	stp_i64 n = __sync_add_and_fetch(&stp_g.hits, 1);
	stp_i64 tid = (stp_u32)bpf_get_current_pid_tgid();
	struct stat_val *v = bpf_map_lookup_elem(&calls, &tid);
	if (!v) {
		struct stat_val zero = {};
		bpf_map_update_elem(&calls, &tid, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&calls, &tid);
	}
	if (v) {
		if (v->s.count == 0 || 1 < v->s.min)
			v->s.min = 1;
		if (v->s.count == 0 || 1 > v->s.max)
			v->s.max = 1;
		v->s.count++;
		v->s.sum += 1;
		v->s.sumsq += 1;
	}
	if (n <= 3) {
		struct rec *r = bpf_ringbuf_reserve(&stp_events, sizeof(struct rec), 0);
		if (!r) {
			__sync_fetch_and_add(&stp_g.st.lost_records, 1);
			return 0;
		}
		r->h.kind = STP_REC_PRINTF;
		r->h.cpu = bpf_get_smp_processor_id();
		r->h.id = 1; /* "getppid %d by %s\n" */
		r->h.pad = 0;
		__builtin_memcpy(r->args, &n, 8);
		char comm[16] = {};
		bpf_get_current_comm(comm, sizeof(comm));
		stp_u16 len = 0;
		for (int i = 0; i < 16 && comm[i]; i++)
			len++;
		__builtin_memcpy(r->args + 8, &len, 2);
		__builtin_memcpy(r->args + 10, comm, 16);
		r->h.len = 8 + 2 + 16;
		bpf_ringbuf_submit(r, 0);
	}
	if (n == 1000 && stp_g.divisor == 0) {
		/* the division by zero error site 0 */
		__sync_fetch_and_add(&stp_g.st.errors, 1);
		struct stp_rec_hdr *h = bpf_ringbuf_reserve(&stp_events, sizeof(*h), 0);
		if (h) {
			h->kind = STP_REC_ERROR;
			h->cpu = 0;
			h->id = 0;
			h->len = 0;
			h->pad = 0;
			bpf_ringbuf_submit(h, 0);
		}
	}
	return 0;
}
