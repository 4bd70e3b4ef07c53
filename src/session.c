/* session.c - the Session: options, limits and the files read. */
#include "stap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

void session_init(Session *s)
{
	memset(s, 0, sizeof *s);
	s->prog = "stap";
	s->last_pass = 5;
	s->use_cache = true;
	s->target_pid = 0;
	s->privilege = xstrdup("stapdev");
	struct utsname u;
	if (uname(&u) == 0) {
		s->kernel_release = xstrdup(u.release);
		s->arch = xstrdup(u.machine);
	} else {
		s->kernel_release = xstrdup("unknown");
		s->arch = xstrdup("x86_64");
	}
	s->limits = (Limits){
		.maxaction = 1000,
		.maxstringlen = 128,
		.maxmapentries = 2048,
		.maxnesting = 10,
		.maxerrors = 0,
		.maxskipped = 100,
		.maxtracepersist = 0,
	};
}

SrcFile *session_add_file(Session *s, const char *name, char *text, size_t len, bool is_tapset)
{
	SrcFile *f = xcalloc(1, sizeof *f);
	f->name = xstrdup(name);
	f->text = text;
	f->len = len;
	f->is_tapset = is_tapset;
	f->index = s->files.len;
	vec_push(&s->files, f);
	return f;
}
