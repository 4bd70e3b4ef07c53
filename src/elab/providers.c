/* providers.c - the table of probe point providers, and glob matching.
 *
 * A probe point that is not an alias goes to the provider named by its
 * first component.  The kernel side's providers are in providers_kernel.c
 * (elab/kernel.h); the language side's in providers_basic.c.
 */
#include "elab/elab.h"
#include "elab/kernel.h"

#include <string.h>

const Provider *const elab_providers[] = {
	&provider_begin,
	&provider_end,
	&provider_error,
	&provider_never,
	&provider_timer,
	&provider_json_data,
	&provider_kernel,
	&provider_module,
	&provider_perf,
	&provider_process,
	&provider_procfs,
	&provider_netfilter,
	NULL,
};

const Provider *provider_find(const char *name)
{
	for (int i = 0; elab_providers[i]; i++)
		if (strcmp(elab_providers[i]->name, name) == 0)
			return elab_providers[i];
	return NULL;
}

/* Match one character class "[...]" at *pat against c; advance *pat past
 * it.  A malformed class matches '[' literally. */
static bool match_class(const char **pat, char c)
{
	const char *p = *pat + 1;
	bool negate = *p == '!' || *p == '^';
	if (negate)
		p++;
	bool found = false;
	const char *start = p;
	while (*p && (*p != ']' || p == start)) {
		if (p[1] == '-' && p[2] && p[2] != ']') {
			if (c >= p[0] && c <= p[2])
				found = true;
			p += 3;
		} else {
			if (*p == c)
				found = true;
			p++;
		}
	}
	if (*p != ']') {
		(*pat)++;
		return c == '[';
	}
	*pat = p + 1;
	return found != negate;
}

/* '*' matches within one dotted component, '**' across components. */
bool glob_match(const char *pat, const char *text)
{
	while (*pat) {
		if (pat[0] == '*' && pat[1] == '*') {
			for (const char *t = text;; t++) {
				if (glob_match(pat + 2, t))
					return true;
				if (!*t)
					return false;
			}
		}
		if (*pat == '*') {
			for (const char *t = text;; t++) {
				if (glob_match(pat + 1, t))
					return true;
				if (!*t || *t == '.')
					return false;
			}
		}
		if (!*text)
			return false;
		if (*pat == '?') {
			pat++;
			text++;
			continue;
		}
		if (*pat == '[') {
			if (!match_class(&pat, *text))
				return false;
			text++;
			continue;
		}
		if (*pat == '\\' && pat[1])
			pat++;
		if (*pat != *text)
			return false;
		pat++;
		text++;
	}
	return *text == '\0';
}
