/* privilege.c - what a script compiled for --privilege=stapusr or stapsys
 * may do, checked in pass 2, and the level a user gets without asking.
 *
 * stapdev (the default for root and members of the group "stapdev")
 * allows everything.  stapsys allows every probe but no guru mode.
 * stapusr allows only probes that watch nothing but the user's own
 * processes or need no event at all, as stap lists them:
 *   begin, end, error, never, timer.{jiffies,s,ms,us,ns,hz}, process.*
 * Anything else (kernel.*, tracepoints, syscalls, timer.profile, perf.*,
 * procfs) is refused with stap's message, at the user's probe point.
 *
 * A user who is neither root nor in "stapdev" and gives no --privilege is
 * held to stapusr when the script is to run (pass 5), as stap does.
 */
#include "stap.h"

#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool user_in_group(const char *name)
{
	struct group *g = getgrnam(name);
	if (!g)
		return false;
	if (getgid() == g->gr_gid || getegid() == g->gr_gid)
		return true;
	gid_t list[256];
	int n = getgroups(256, list);
	for (int i = 0; i < n; i++)
		if (list[i] == g->gr_gid)
			return true;
	return false;
}

void privilege_default(Session *s, bool given)
{
	if (given || getuid() == 0 || user_in_group("stapdev") || s->last_pass < 5)
		return;
	free(s->privilege);
	s->privilege = xstrdup("stapusr");
}

static bool allowed_for_stapusr(ProbeKind k)
{
	switch (k) {
	case PK_BEGIN:
	case PK_END:
	case PK_ERROR:
	case PK_NEVER:
	case PK_TIMER:
	case PK_UPROBE:
	case PK_USDT:
	case PK_PROCESS:
		return true;
	default:
		return false;
	}
}

/* The user's probe point a derived probe came from: its last component is
 * what stap points at. */
static const PointComp *user_component(const DerivedProbe *dp)
{
	const Probe *p = dp->probe;
	if (!p || p->npoints == 0)
		return NULL;
	const ProbePoint *pt = p->points[0];
	for (int i = 0; i < p->npoints; i++)
		if (p->points[i]->loc.line == dp->loc.line && p->points[i]->loc.col == dp->loc.col)
			pt = p->points[i];
	return pt->ncomps ? &pt->comps[pt->ncomps - 1] : NULL;
}

int privilege_check(Session *s, const Program *prog)
{
	const char *level = s->privilege ? s->privilege : "stapdev";
	if (strcmp(level, "stapdev") == 0)
		return 0;
	if (s->guru) {
		fprintf(stderr, "You can't specify -g and --privilege=%s together.\n", level);
		s->errors++;
		return -1;
	}
	if (strcmp(level, "stapusr") != 0)
		return 0;
	int refused = 0;
	for (int i = 0; i < prog->probes.len; i++) {
		const DerivedProbe *dp = VEC_AT(&prog->probes, i);
		for (int j = 0; j < dp->npoints; j++) {
			if (allowed_for_stapusr(dp->points[j]->kind))
				continue;
			const PointComp *c = user_component(dp);
			diag_error(s, c ? c->loc : dp->loc, "semantic error",
				   "probe point is not allowed for --privilege=stapusr: identifier '%s'",
				   c ? c->name : dp->points[j]->pp);
			refused++;
			break;
		}
	}
	if (refused)
		fprintf(stderr, "Probes outside your own processes need root, the group \"stapdev\" or \"stapsys\", "
				"or the capabilities CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN.\n");
	return refused ? -1 : 0;
}
