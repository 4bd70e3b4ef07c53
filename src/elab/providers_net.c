/* providers_net.c - netfilter hooks.
 *
 *   netfilter.hook("HOOK").pf("PF")[.priority("PRIO")]
 *   netfilter.pf("PF").hook("HOOK")[.priority("PRIO")]      PK_NETFILTER
 *
 * A point is a BPF netfilter program (Linux 6.4) that staprun links to
 * the hook with bpf(BPF_LINK_CREATE): it sees every packet the hook sees
 * and its return value is the packet's verdict.  The names are those of
 * the kernel's uapi headers: NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_ARP and
 * NFPROTO_BRIDGE; the hooks of each family (NF_INET_* for both IP
 * families, with their NF_IP_* and NF_IP6_* spellings, NF_ARP_*, NF_BR_*);
 * priorities as numbers, or the NF_IP_PRI_* / NF_IP6_PRI_* names.  In guru
 * mode the family and the hook may also be numbers, as stap lets them be
 * any C expression there.  Today's kernels link BPF programs to the IPv4
 * and IPv6 hooks only; a point on another family resolves (it may run
 * elsewhere) and staprun says why it cannot attach.
 *
 * Variables: $hooknum, $skb (struct sk_buff *), $in and $out (struct
 * net_device *, 0 when the hook has none) and, in guru mode, $verdict,
 * which the handler may set to NF_DROP (0) or NF_ACCEPT (1, the
 * default).  A BPF netfilter program may return only those two: other
 * verdicts (NF_STOLEN, NF_QUEUE, NF_REPEAT...) are kept from the kernel,
 * and any value but 0 accepts the packet.
 *
 * The program wrapper (translate/unit.c) puts the hook number, skb, in,
 * out and family in the handler's argument words, so $skb->len and the
 * like read through the member-chain code of function arguments.
 */
#include "elab/elab.h"
#include "elab/kernel.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define NELEMS(a) ((int)(sizeof(a) / sizeof((a)[0])))

typedef struct NfName {
	const char *name;
	int value;
} NfName;

static const NfName nf_families[] = {
	{"NFPROTO_IPV4", 2}, {"NFPROTO_IPV6", 10}, {"NFPROTO_ARP", 3}, {"NFPROTO_BRIDGE", 7},
};

static const NfName nf_inet_hooks[] = {
	{"NF_INET_PRE_ROUTING", 0}, {"NF_INET_LOCAL_IN", 1}, {"NF_INET_FORWARD", 2},
	{"NF_INET_LOCAL_OUT", 3}, {"NF_INET_POST_ROUTING", 4},
};
static const NfName nf_ip_hooks[] = {
	{"NF_IP_PRE_ROUTING", 0}, {"NF_IP_LOCAL_IN", 1}, {"NF_IP_FORWARD", 2},
	{"NF_IP_LOCAL_OUT", 3}, {"NF_IP_POST_ROUTING", 4},
};
static const NfName nf_ip6_hooks[] = {
	{"NF_IP6_PRE_ROUTING", 0}, {"NF_IP6_LOCAL_IN", 1}, {"NF_IP6_FORWARD", 2},
	{"NF_IP6_LOCAL_OUT", 3}, {"NF_IP6_POST_ROUTING", 4},
};
static const NfName nf_arp_hooks[] = {
	{"NF_ARP_IN", 0}, {"NF_ARP_OUT", 1}, {"NF_ARP_FORWARD", 2},
};
static const NfName nf_br_hooks[] = {
	{"NF_BR_PRE_ROUTING", 0}, {"NF_BR_LOCAL_IN", 1}, {"NF_BR_FORWARD", 2},
	{"NF_BR_LOCAL_OUT", 3}, {"NF_BR_POST_ROUTING", 4}, {"NF_BR_BROUTING", 5},
};

#define PRIORITIES(P)                                                                              \
	{P "FIRST", INT_MIN}, {P "RAW_BEFORE_DEFRAG", -450}, {P "CONNTRACK_DEFRAG", -400},         \
	{P "RAW", -300}, {P "SELINUX_FIRST", -225}, {P "CONNTRACK", -200}, {P "MANGLE", -150},     \
	{P "NAT_DST", -100}, {P "FILTER", 0}, {P "SECURITY", 50}, {P "NAT_SRC", 100},              \
	{P "SELINUX_LAST", 225}, {P "CONNTRACK_HELPER", 300}, {P "LAST", INT_MAX}
static const NfName nf_ip_prios[] = {PRIORITIES("NF_IP_PRI_"), {"NF_IP_PRI_CONNTRACK_CONFIRM", INT_MAX}};
static const NfName nf_ip6_prios[] = {PRIORITIES("NF_IP6_PRI_")};

static bool nf_lookup(const NfName *t, int n, const char *name, int *value)
{
	for (int i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0) {
			*value = t[i].value;
			return true;
		}
	return false;
}

/* A component's argument as a number: an integer literal, or a string
 * holding one ("255", "-100"). */
static bool nf_number(const PointComp *c, int64_t *v)
{
	if (kernel_comp_number(c, v))
		return true;
	const char *str = kernel_comp_string(c);
	if (!str || !*str)
		return false;
	char *end;
	long long n = strtoll(str, &end, 0);
	if (*end)
		return false;
	*v = n;
	return true;
}

static void nf_mismatch(Session *s, const ProbePoint *pt, int comp, const NfName *t, int n, const NfName *t2,
			int n2)
{
	const char **names = xcalloc((size_t)(n + n2), sizeof *names);
	for (int i = 0; i < n; i++)
		names[i] = t[i].name;
	for (int i = 0; i < n2; i++)
		names[n + i] = t2[i].name;
	const char *word = kernel_comp_string(&pt->comps[comp]);
	char *alts = kernel_similar_names(word ? word : "", names, n + n2);
	const char *what = !strcmp(pt->comps[comp].name, "pf") ? "protocol family"
			   : !strcmp(pt->comps[comp].name, "hook") ? "hook" : "priority";
	kernel_point_error(s, pt, comp, "unknown netfilter %s '%s'%s%s%s%s", what, word ? word : "",
			   alts ? " (similar: " : "", alts ? alts : "", alts ? ")" : "",
			   s->guru || !strcmp(what, "priority") ? "" : "; numbers need guru mode (-g)");
	free(alts);
	free(names);
}

static int netfilter_resolve(Session *s, const ProbePoint *pt, Vec *out)
{
	int hook_c = -1, pf_c = -1, prio_c = -1;
	for (int i = 1; i < pt->ncomps; i++) {
		const char *n = pt->comps[i].name;
		int *slot = !strcmp(n, "hook") ? &hook_c : !strcmp(n, "pf") ? &pf_c : !strcmp(n, "priority") ? &prio_c : NULL;
		if (!slot && s->listing_mode)
			return 0; /* stap -L netfilter.ip.*: the tapset's aliases */
		if (!slot || *slot >= 0 || (slot == &prio_c && i != pt->ncomps - 1)) {
			kernel_point_error(s, pt, i, slot ? "invalid suffix for probe" : "unknown probe point component");
			return -1;
		}
		if (!pt->comps[i].arg) {
			kernel_point_error(s, pt, i, "expected a quoted name");
			return -1;
		}
		*slot = i;
	}
	if (hook_c < 0 || pf_c < 0) {
		kernel_point_error(s, pt, pt->ncomps - 1, "probe point is incomplete: netfilter needs .hook(\"NAME\") and .pf(\"NAME\")");
		return -1;
	}
	int64_t num;
	int pf = -1, hook = -1, prio = 0;
	const char *pfname = kernel_comp_string(&pt->comps[pf_c]);
	if (!(pfname && nf_lookup(nf_families, NELEMS(nf_families), pfname, &pf))) {
		if (s->guru && nf_number(&pt->comps[pf_c], &num) && num >= 0 && num < 256) {
			pf = (int)num;
		} else {
			nf_mismatch(s, pt, pf_c, nf_families, NELEMS(nf_families), NULL, 0);
			return -1;
		}
	}
	const NfName *hooks = nf_inet_hooks, *alt = NULL, *prios = NULL;
	int nhooks = NELEMS(nf_inet_hooks), nalt = 0, nprios = 0;
	switch (pf) {
	case 2: alt = nf_ip_hooks; nalt = NELEMS(nf_ip_hooks); prios = nf_ip_prios; nprios = NELEMS(nf_ip_prios); break;
	case 10: alt = nf_ip6_hooks; nalt = NELEMS(nf_ip6_hooks); prios = nf_ip6_prios; nprios = NELEMS(nf_ip6_prios); break;
	case 3: hooks = nf_arp_hooks; nhooks = NELEMS(nf_arp_hooks); break;
	case 7: hooks = nf_br_hooks; nhooks = NELEMS(nf_br_hooks); break;
	default: hooks = NULL; nhooks = 0; break;
	}
	const char *hookname = kernel_comp_string(&pt->comps[hook_c]);
	if (!(hookname && (nf_lookup(hooks, nhooks, hookname, &hook) || nf_lookup(alt, nalt, hookname, &hook)))) {
		if (s->guru && nf_number(&pt->comps[hook_c], &num) && num >= 0 && num < 256) {
			hook = (int)num;
		} else {
			nf_mismatch(s, pt, hook_c, hooks, nhooks, alt, nalt);
			return -1;
		}
	}
	if (prio_c >= 0) {
		const char *pname = kernel_comp_string(&pt->comps[prio_c]);
		if (nf_number(&pt->comps[prio_c], &num) && num >= INT_MIN && num <= INT_MAX) {
			prio = (int)num;
		} else if (!(pname && nf_lookup(prios, nprios, pname, &prio))) {
			nf_mismatch(s, pt, prio_c, prios, nprios, NULL, 0);
			return -1;
		}
	}
	/* pp(): the point as written, names and order kept */
	StrBuf b = {0};
	sb_puts(&b, "netfilter");
	for (int i = 1; i < pt->ncomps; i++) {
		const PointComp *c = &pt->comps[i];
		if (c->arg->kind == E_STR) {
			char *q = kernel_quote(c->arg->str);
			sb_printf(&b, ".%s(%s)", c->name, q);
			free(q);
		} else {
			sb_printf(&b, ".%s(%lld)", c->name, (long long)c->arg->num);
		}
	}
	Resolved *r = kernel_new_resolved(PK_NETFILTER, pt, sb_steal(&b));
	r->nf_pf = pf;
	r->nf_hook = hook;
	r->priority = prio;
	vec_push(out, r);
	return 1;
}

/* $hooknum $skb $in $out in the handler's argument words 0..3, typed
 * from the kernel's BTF so that member chains work; $verdict. */
static void netfilter_target_list(Session *s, const Resolved *r, Vec *names, Vec *accesses)
{
	KernelBtf *kb = kbtf_get(s, NULL, NULL);
	static const struct {
		const char *name, *type, *c_type;
	} words[] = {
		{"hooknum", NULL, "unsigned int"},
		{"skb", "sk_buff", "struct sk_buff*"},
		{"in", "net_device", "struct net_device*"},
		{"out", "net_device", "struct net_device*"},
	};
	for (int i = 0; i < NELEMS(words); i++) {
		TargetAccess *ta = kernel_new_access(TA_FUNC_ARG, TY_LONG, words[i].c_type);
		ta->index = i;
		ta->size = i ? 8 : 4;
		int32_t sid = kb && words[i].type ? kbtf_struct_find(kb, words[i].type, false) : -1;
		ta->btf_id = sid > 0 ? kbtf_ptr_to(kb, sid) : 0;
		vec_push(names, xstrdup(words[i].name));
		vec_push(accesses, ta);
	}
	TargetAccess *v = kernel_new_access(TA_C_EXPR, TY_LONG, "int");
	v->c_expr = xstrdup("K->retval");
	v->writable = true;
	vec_push(names, xstrdup("verdict"));
	vec_push(accesses, v);
}

static TargetAccess *netfilter_target(Session *s, const Resolved *r, const char *name)
{
	return kernel_target_from_list(s, r, name, netfilter_target_list);
}

static void netfilter_list(Session *s, const ProbePoint *pattern, Vec *out)
{
	kernel_list_by_resolving(s, pattern, out, netfilter_resolve);
}

const Provider provider_netfilter = {
	.name = "netfilter",
	.resolve = netfilter_resolve,
	.target = netfilter_target,
	.target_list = netfilter_target_list,
	.list = netfilter_list,
};
