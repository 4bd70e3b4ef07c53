/* providers_basic.c - the probe points that run in user space:
 *
 *   begin[(PRIORITY)]  end[(PRIORITY)]  error[(PRIORITY)]  never
 *   timer.s(N) .ms(N) .us(N) .ns(N) .hz(N) .jiffies(N) [.randomize(N)]
 *
 * timer.profile is a kernel event (perf cpu-clock): it is handed to the
 * kernel side (kernel_resolve_timer_profile).
 */
#include "elab/elab.h"
#include "elab/kernel.h"

#include <stdlib.h>
#include <string.h>

/* Linked when the kernel side is: timer.profile needs it. */
extern int kernel_resolve_timer_profile(Session *s, const ProbePoint *pt, Vec *out)
	__attribute__((weak));

/* stap's two-part diagnostic: where the point is, then what is wrong. */
static void point_error(Session *s, const ProbePoint *pt, const PointComp *at, const char *msg)
{
	diag_error(s, pt->comps[0].loc, "semantic error",
		   "while resolving probe point: identifier '%s'", pt->comps[0].name);
	if (at)
		diag_error(s, at->loc, "semantic error", "%s: identifier '%s'", msg, at->name);
	else
		diag_error(s, (SrcLoc){0}, "semantic error", "%s", msg);
}

/* A literal number argument, possibly written with a minus sign. */
static bool literal_number(const Expr *e, int64_t *out)
{
	if (!e)
		return false;
	if (e->kind == E_NUM) {
		*out = e->num;
		return true;
	}
	if (e->kind == E_UNARY && e->op && e->args[0]->kind == E_NUM &&
	    (strcmp(e->op, "-") == 0 || strcmp(e->op, "+") == 0)) {
		*out = strcmp(e->op, "-") == 0 ? -e->args[0]->num : e->args[0]->num;
		return true;
	}
	return false;
}

/* "(similar: a, b)" suffix for a mismatch, from a list of names. */
static char *similar_suffix(const char *word, const char *const *names, int n)
{
	return elab_similar(word, names, n, 1000);
}

static Resolved *new_resolved(ProbeKind kind, const ProbePoint *pt, char *pp)
{
	Resolved *r = xcalloc(1, sizeof *r);
	r->kind = kind;
	r->pp = pp;
	r->optional = pt->optional;
	r->syscall_nr = -1;
	return r;
}

/* begin, end, error: an optional priority; never: nothing. */
static int resolve_staged(Session *s, const ProbePoint *pt, Vec *out, ProbeKind kind)
{
	const PointComp *c = &pt->comps[0];
	if (pt->ncomps > 1) {
		point_error(s, pt, &pt->comps[1], "invalid suffix for probe");
		return -1;
	}
	int64_t prio = 0;
	if (c->arg && (kind == PK_NEVER || !literal_number(c->arg, &prio))) {
		static const char *const names[] = {"begin", "end", "error", "never", "timer"};
		char *sim = similar_suffix(c->name, names, 5);
		char *msg = xasprintf("probe point mismatch%s", sim);
		point_error(s, pt, c, msg);
		free(sim);
		free(msg);
		return -1;
	}
	char *pp = c->arg ? xasprintf("%s(%lld)", c->name, (long long)prio) : xstrdup(c->name);
	Resolved *r = new_resolved(kind, pt, pp);
	r->priority = prio;
	vec_push(out, r);
	return 1;
}

static int resolve_begin(Session *s, const ProbePoint *pt, Vec *out)
{
	return resolve_staged(s, pt, out, PK_BEGIN);
}

static int resolve_end(Session *s, const ProbePoint *pt, Vec *out)
{
	return resolve_staged(s, pt, out, PK_END);
}

static int resolve_error(Session *s, const ProbePoint *pt, Vec *out)
{
	return resolve_staged(s, pt, out, PK_ERROR);
}

static int resolve_never(Session *s, const ProbePoint *pt, Vec *out)
{
	return resolve_staged(s, pt, out, PK_NEVER);
}

/* CONFIG_HZ of the kernel we build for: from its config file, else 250
 * (Debian's and most distributions' choice). */
int elab_config_hz(Session *s)
{
	static int cached;
	if (cached)
		return cached;
	cached = 250;
	const char *path = s ? s->kernel_config_path : NULL;
	char *text = path ? read_file(path, NULL) : NULL;
	if (!text && s && s->kernel_release) {
		char *p = xasprintf("/boot/config-%s", s->kernel_release);
		text = read_file(p, NULL);
		free(p);
	}
	const char *line = text ? strstr(text, "\nCONFIG_HZ=") : NULL;
	if (line) {
		int hz = atoi(line + strlen("\nCONFIG_HZ="));
		if (hz > 0)
			cached = hz;
	}
	free(text);
	return cached;
}

typedef struct TimerUnit {
	const char *name;
	uint64_t ns;          /* nanoseconds per unit; 0 for hz and jiffies */
	int64_t min, max;     /* allowed values, stap's ranges */
} TimerUnit;

static const TimerUnit timer_units[] = {
	{"s", 1000000000ULL, 1, 86400},
	{"sec", 1000000000ULL, 1, 86400},
	{"ms", 1000000ULL, 1, 86400000LL},
	{"msec", 1000000ULL, 1, 86400000LL},
	{"us", 1000ULL, 100, 86400000000LL},
	{"usec", 1000ULL, 100, 86400000000LL},
	{"ns", 1ULL, 100000, 86400000000000LL},
	{"nsec", 1ULL, 100000, 86400000000000LL},
	{"hz", 0, 1, 1000000000LL},
	{"jiffies", 0, 1, 1000000},
};
#define NTIMER_UNITS (int)(sizeof timer_units / sizeof timer_units[0])

static const TimerUnit *timer_unit(const char *name)
{
	for (int i = 0; i < NTIMER_UNITS; i++)
		if (strcmp(timer_units[i].name, name) == 0)
			return &timer_units[i];
	return NULL;
}

static int timer_mismatch(Session *s, const ProbePoint *pt, const PointComp *c)
{
	const char *names[NTIMER_UNITS + 1];
	for (int i = 0; i < NTIMER_UNITS; i++)
		names[i] = timer_units[i].name;
	names[NTIMER_UNITS] = "profile";
	char *sim = similar_suffix(c->name, names, NTIMER_UNITS + 1);
	char *msg = xasprintf("probe point mismatch%s", sim);
	point_error(s, pt, c, msg);
	free(sim);
	free(msg);
	return -1;
}

/* The period of N units in ns, or 0 when out of stap's range. */
static uint64_t timer_period(Session *s, const TimerUnit *u, int64_t n, char **why)
{
	if (u->ns) {
		if (n < u->min || n > u->max) {
			*why = xasprintf("interval value out of range (%lld, %lld)", (long long)u->min,
					 (long long)u->max);
			return 0;
		}
		return (uint64_t)n * u->ns;
	}
	if (strcmp(u->name, "hz") == 0) {
		uint64_t ns = n > 0 ? 1000000000ULL / (uint64_t)n : 0;
		if (ns < 100000 || n < 1) {
			*why = xstrdup("interval value out of range (100000, 86400000000000)");
			return 0;
		}
		return ns;
	}
	if (n < u->min || n > u->max) {
		*why = xasprintf("interval value out of range (%lld, %lld)", (long long)u->min,
				 (long long)u->max);
		return 0;
	}
	return (uint64_t)n * (1000000000ULL / (uint64_t)elab_config_hz(s));
}

static int resolve_timer(Session *s, const ProbePoint *pt, Vec *out)
{
	if (pt->ncomps < 2) {
		point_error(s, pt, &pt->comps[0], "probe point mismatch");
		return -1;
	}
	const PointComp *uc = &pt->comps[1];
	if (strcmp(uc->name, "profile") == 0 && !uc->arg) {
		if (kernel_resolve_timer_profile)
			return kernel_resolve_timer_profile(s, pt, out);
		point_error(s, pt, uc, "timer.profile is not supported by this build");
		return -1;
	}
	const TimerUnit *u = timer_unit(uc->name);
	int64_t n;
	if (!u || !literal_number(uc->arg, &n))
		return timer_mismatch(s, pt, uc);
	char *why = NULL;
	uint64_t period = timer_period(s, u, n, &why);
	if (!period) {
		point_error(s, pt, NULL, why);
		free(why);
		return -1;
	}
	int64_t rnd = 0;
	if (pt->ncomps > 2) {
		const PointComp *rc = &pt->comps[2];
		if (strcmp(rc->name, "randomize") != 0 || pt->ncomps > 3) {
			point_error(s, pt, strcmp(rc->name, "randomize") ? rc : &pt->comps[3],
				    "invalid suffix for probe");
			return -1;
		}
		if (!literal_number(rc->arg, &rnd))
			return timer_mismatch(s, pt, rc);
		if (rnd < 0 || rnd > n) {
			point_error(s, pt, NULL, "randomization value out of range");
			return -1;
		}
	}
	StrBuf pp = {0};
	sb_printf(&pp, "timer.%s(%lld)", u->name, (long long)n);
	if (pt->ncomps > 2)
		sb_printf(&pp, ".randomize(%lld)", (long long)rnd);
	Resolved *r = new_resolved(PK_TIMER, pt, sb_steal(&pp));
	r->period_ns = period;
	/* randomize(N) is in the same unit as the interval */
	r->randomize_ns = n ? (uint64_t)rnd * (period / (uint64_t)n) : 0;
	r->jiffies = strcmp(u->name, "jiffies") == 0;
	vec_push(out, r);
	return 1;
}

/* json_data fires in stap when a reader reads the module's procfs file
 * /proc/systemtap/MODULE/data.json; here there is no such file. */
static int resolve_json_data(Session *s, const ProbePoint *pt, Vec *out)
{
	point_error(s, pt, NULL,
		    "json_data cannot be provided: it fires when /proc/systemtap/MODULE/data.json is read, "
		    "and that file belongs to a kernel module (this stap loads none, and eBPF programs "
		    "cannot create procfs files)");
	return -1;
}

/* -l / -L: the fixed points of these families. */
static void list_begin(Session *s, const ProbePoint *pat, Vec *out)
{
	vec_push(out, xstrdup("begin"));
}

static void list_end(Session *s, const ProbePoint *pat, Vec *out)
{
	vec_push(out, xstrdup("end"));
}

static void list_error(Session *s, const ProbePoint *pat, Vec *out)
{
	vec_push(out, xstrdup("error"));
}

static void list_never(Session *s, const ProbePoint *pat, Vec *out)
{
	vec_push(out, xstrdup("never"));
}

const Provider provider_begin = {"begin", resolve_begin, NULL, NULL, list_begin};
const Provider provider_end = {"end", resolve_end, NULL, NULL, list_end};
const Provider provider_error = {"error", resolve_error, NULL, NULL, list_error};
const Provider provider_never = {"never", resolve_never, NULL, NULL, list_never};
const Provider provider_timer = {"timer", resolve_timer, NULL, NULL, NULL};
const Provider provider_json_data = {"json_data", resolve_json_data, NULL, NULL, NULL};
