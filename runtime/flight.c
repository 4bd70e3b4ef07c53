/* flight.c - sessions in the background (the flight recorder) and the
 * clients that reattach to them or end them.
 *
 * `staprun -L` (and `stap -F` without -o) or `staprun -D` (`stap -F -o`)
 * fork at once.  The child leaves the terminal's session (setsid, SIGHUP
 * ignored) and sets everything up with the terminal still on its stderr,
 * so load and attach errors are seen; after the begin probes it tells the
 * waiting parent, which prints how to reattach (-L) or the child's pid
 * (-D) and exits, and the child drops its terminal and runs on.
 *
 * Every background session listens on a unix socket named after it,
 *   /run/stapng/NAME.sock                 (root)
 *   $XDG_RUNTIME_DIR/stapng/NAME.sock     (others; else /tmp/stapng-UID)
 * NAME is the module's file name without .ko, with _PID added for the
 * cache's stap_HASH names so that one module can run twice.  A client
 * sends one line, "attach" or "delete", and receives frames
 *   1 byte channel ('o' output, 'e' errors, 'x' exit), u32 length, data
 * ('x' carries the exit status as u32 and is the last frame).  "attach"
 * first receives the ring (the newest output) and then follows live;
 * "delete" ends the session and receives what ending it prints (end
 * probes, unread globals, totals).  A client that cannot keep up is let
 * go rather than slowing the session down.
 */
#include "rt.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CLIENTS 8
#define MAX_PENDING (16u << 20) /* bytes queued for a client before it is let go */
#define TAG_LISTEN (1ull << 40)

struct flight_client {
	int fd;                 /* -1: free slot */
	int live;               /* has sent its command; receives frames */
	char cmd[16];
	size_t cmdlen;
	struct stp_buf pending; /* frames not yet accepted by the socket */
	size_t sent;            /* bytes of pending already sent */
};

struct stp_flight {
	int ready_fd;           /* to the waiting parent, until ready */
	int listen_fd;
	int ep;
	char name[NAME_MAX];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct flight_client clients[MAX_CLIENTS];
};

/* ------------------------------------------------------------ naming */

static void run_dir(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (getuid() == 0)
		snprintf(buf, size, "/run/stapng");
	else if (xdg && *xdg && getuid() == geteuid())
		snprintf(buf, size, "%s/stapng", xdg);
	else
		snprintf(buf, size, "/tmp/stapng-%u", (unsigned)getuid());
}

/* NAME from a module path or name: "dir/stap_ab12.ko" -> "stap_ab12". */
void rt_module_base(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	snprintf(buf, size, "%s", slash ? slash + 1 : path);
	size_t n = strlen(buf);
	if (n > 3 && strcmp(buf + n - 3, ".ko") == 0)
		buf[n - 3] = '\0';
}

static int socket_path(const char *name, char *buf, size_t size)
{
	char dir[PATH_MAX];
	run_dir(dir, sizeof(dir));
	return snprintf(buf, size, "%s/%s.sock", dir, name) < (int)size ? 0 : -1;
}

const char *rt_flight_name(struct stp_session *s)
{
	return s->flight ? s->flight->name : NULL;
}

int rt_flight_in_background(struct stp_session *s)
{
	return s->flight && s->flight->ready_fd < 0;
}

static void write_full(int fd, const char *p, size_t n);

/* ------------------------------------------------------- daemonizing */

/* The parent's side: wait until the child is ready or gone. */
static int wait_for_child(int fd, pid_t child, int mode)
{
	char name[NAME_MAX + 2];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(name) - 1 && (r = read(fd, name + n, sizeof(name) - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	name[n] = '\0';
	if (n == 0 || name[n - 1] != '\n') {
		int status = 0;
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	}
	name[n - 1] = '\0';
	if (mode == STP_RUN_DAEMON)
		printf("%d\n", (int)child);
	else
		fprintf(stderr, "\nDisconnecting from systemtap module.\nTo reconnect, type \"staprun -A %s\"\n", name);
	return 0;
}

/* A relative -o FILE must survive the daemon's chdir("/"). */
static int absolute_output(struct stp_session *s)
{
	const char *p = s->opt.output_path;
	char cwd[PATH_MAX];
	if (!p || p[0] == '/')
		return 0;
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	char *abs = NULL;
	if (asprintf(&abs, "%s/%s", cwd, p) < 0)
		return -1;
	s->opt.output_path = abs; /* lives as long as the process */
	return 0;
}

int rt_flight_daemonize(struct stp_session *s)
{
	int ready[2];
	if (absolute_output(s) || pipe2(ready, O_CLOEXEC) != 0) {
		perror("staprun: going into the background");
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("staprun: fork");
		return -1;
	}
	if (pid > 0) {
		close(ready[1]);
		exit(wait_for_child(ready[0], pid, s->opt.detach));
	}
	close(ready[0]);
	setsid();
	signal(SIGHUP, SIG_IGN);
	struct stp_flight *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->ready_fd = ready[1];
	f->listen_fd = -1;
	f->ep = -1;
	for (int i = 0; i < MAX_CLIENTS; i++)
		f->clients[i].fd = -1;
	s->flight = f;
	return 0;
}

/* Tells the parent that the probes are armed, and lets go of the
 * terminal: from here on, diagnostics go where the output goes. */
void rt_flight_ready(struct stp_session *s)
{
	struct stp_flight *f = s->flight;
	if (!f || f->ready_fd < 0)
		return;
	char line[NAME_MAX + 2];
	int n = snprintf(line, sizeof(line), "%s\n", f->name);
	if (write(f->ready_fd, line, (size_t)n) != n) {
		/* the parent is gone; run on regardless */
	}
	close(f->ready_fd);
	f->ready_fd = -1;
	fflush(NULL);
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (chdir("/") != 0) {
		/* only to keep no directory busy */
	}
}

/* -------------------------------------------------- the control socket */

static int connect_to(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int rt_flight_listen(struct stp_session *s)
{
	struct stp_flight *f = s->flight;
	char dir[PATH_MAX], base[NAME_MAX - 16];
	rt_module_base(s->opt.module_path, base, sizeof(base));
	if (strncmp(base, "stap_", 5) == 0)
		snprintf(f->name, sizeof(f->name), "%s_%d", base, (int)getpid());
	else
		snprintf(f->name, sizeof(f->name), "%s", base);
	run_dir(dir, sizeof(dir));
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "ERROR: cannot create %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (socket_path(f->name, f->path, sizeof(f->path))) {
		fprintf(stderr, "ERROR: the control socket path for %s is too long\n", f->name);
		return -1;
	}
	int old = connect_to(f->path);
	if (old >= 0) {
		close(old);
		fprintf(stderr, "ERROR: a module named %s is already running "
				"(staprun -A %s attaches to it, staprun -d %s ends it)\n", f->name, f->name, f->name);
		f->path[0] = '\0';
		return -1;
	}
	unlink(f->path); /* left by a session that did not end cleanly */
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->path);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	mode_t um = umask(0077);
	int rc = f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
		 listen(f->listen_fd, MAX_CLIENTS) != 0;
	umask(um);
	if (rc) {
		fprintf(stderr, "ERROR: cannot listen on %s: %s\n", f->path, strerror(errno));
		f->path[0] = '\0';
		return -1;
	}
	return 0;
}

int rt_flight_watch(struct stp_session *s, int ep)
{
	struct stp_flight *f = s->flight;
	if (!f || f->listen_fd < 0)
		return 0;
	f->ep = ep;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_LISTEN };
	return epoll_ctl(ep, EPOLL_CTL_ADD, f->listen_fd, &ev);
}

/* ------------------------------------------------------------ clients */

static void drop_client(struct stp_flight *f, struct flight_client *c)
{
	if (c->fd < 0)
		return;
	if (f->ep >= 0)
		epoll_ctl(f->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->live = 0;
	c->cmdlen = 0;
	c->sent = 0;
	stp_buf_free(&c->pending);
}

static void want_output_ready(struct stp_flight *f, struct flight_client *c, int on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0u),
				  .data.u64 = TAG_LISTEN + 1 + (uint64_t)(c - f->clients) };
	epoll_ctl(f->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void client_flush(struct stp_flight *f, struct flight_client *c)
{
	while (c->sent < c->pending.len) {
		ssize_t n = send(c->fd, c->pending.data + c->sent, c->pending.len - c->sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want_output_ready(f, c, 1);
			return;
		}
		if (n <= 0) {
			drop_client(f, c);
			return;
		}
		c->sent += (size_t)n;
	}
	stp_buf_reset(&c->pending);
	c->sent = 0;
	want_output_ready(f, c, 0);
}

static void client_frame(struct stp_flight *f, struct flight_client *c, char chan, const void *p, size_t n)
{
	uint32_t len = (uint32_t)n;
	if (c->pending.len - c->sent + n > MAX_PENDING) {
		drop_client(f, c);
		return;
	}
	stp_buf_putc(&c->pending, chan);
	stp_buf_put(&c->pending, &len, sizeof(len));
	stp_buf_put(&c->pending, p, n);
	client_flush(f, c);
}

void rt_flight_send(struct stp_session *s, char chan, const void *p, size_t n)
{
	struct stp_flight *f = s->flight;
	for (int i = 0; f && i < MAX_CLIENTS; i++)
		if (f->clients[i].fd >= 0 && f->clients[i].live)
			client_frame(f, &f->clients[i], chan, p, n);
}

static void accept_clients(struct stp_flight *f)
{
	int fd;
	while ((fd = accept4(f->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct flight_client *c = NULL;
		for (int i = 0; i < MAX_CLIENTS && !c; i++)
			if (f->clients[i].fd < 0)
				c = &f->clients[i];
		if (!c) {
			close(fd); /* too many at once; the client sees EOF */
			continue;
		}
		c->fd = fd;
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_LISTEN + 1 + (uint64_t)(c - f->clients) };
		epoll_ctl(f->ep, EPOLL_CTL_ADD, fd, &ev);
	}
}

static void client_command(struct stp_session *s, struct flight_client *c)
{
	struct stp_flight *f = s->flight;
	rt_out_flush(s); /* what is pending came before: in the replay, or not sent */
	c->live = 1;
	if (strcmp(c->cmd, "attach") == 0) {
		struct stp_buf replay = { 0 };
		rt_output_ring_copy(s, &replay);
		if (replay.len)
			client_frame(f, c, 'o', replay.data, replay.len);
		stp_buf_free(&replay);
	} else if (strcmp(c->cmd, "delete") == 0) {
		s->stop = 1;
	} else {
		drop_client(f, c);
	}
}

static void client_readable(struct stp_session *s, struct flight_client *c)
{
	struct stp_flight *f = s->flight;
	char buf[64];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		drop_client(f, c); /* detached */
		return;
	}
	for (ssize_t i = 0; i < n && !c->live; i++) {
		if (buf[i] == '\n') {
			c->cmd[c->cmdlen] = '\0';
			client_command(s, c);
		} else if (c->cmdlen + 1 < sizeof(c->cmd)) {
			c->cmd[c->cmdlen++] = buf[i];
		}
	}
}

int rt_flight_event(struct stp_session *s, uint64_t tag, uint32_t events)
{
	struct stp_flight *f = s->flight;
	if (!f || tag < TAG_LISTEN || tag > TAG_LISTEN + MAX_CLIENTS)
		return 0;
	if (tag == TAG_LISTEN) {
		accept_clients(f);
		return 1;
	}
	struct flight_client *c = &f->clients[tag - TAG_LISTEN - 1];
	if (c->fd < 0)
		return 1;
	if (events & EPOLLOUT)
		client_flush(f, c);
	if (c->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		client_readable(s, c);
	return 1;
}

/* The session has ended: tell every client its status, give each a moment
 * to take the rest, and remove the socket. */
void rt_flight_finish(struct stp_session *s)
{
	struct stp_flight *f = s->flight;
	if (!f)
		return;
	if (f->ready_fd >= 0) {
		/* Ended before going into the background (exit() or an error
		 * in a begin probe): the terminal gets what it printed. */
		struct stp_buf b = { 0 };
		rt_output_ring_copy(s, &b);
		write_full(STDOUT_FILENO, b.data, b.len);
		stp_buf_free(&b);
	}
	uint32_t status = (uint32_t)s->exit_status;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct flight_client *c = &f->clients[i];
		if (c->fd < 0 || !c->live)
			continue;
		client_frame(f, c, 'x', &status, sizeof(status));
		if (c->fd < 0)
			continue;
		int flags = fcntl(c->fd, F_GETFL);
		fcntl(c->fd, F_SETFL, flags & ~O_NONBLOCK);
		struct timeval tv = { .tv_sec = 2 };
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		while (c->fd >= 0 && c->sent < c->pending.len) {
			ssize_t n = send(c->fd, c->pending.data + c->sent, c->pending.len - c->sent, MSG_NOSIGNAL);
			if (n <= 0)
				break;
			c->sent += (size_t)n;
		}
		drop_client(f, c);
	}
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	if (f->path[0])
		unlink(f->path);
	free(f);
	s->flight = NULL;
}

/* ----------------------------------------------- staprun -A / -d NAME */

static volatile sig_atomic_t client_interrupted;

static void on_client_signal(int sig)
{
	(void)sig;
	client_interrupted = 1;
}

static int read_full(int fd, void *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)p + got, n - got);
		if (r < 0 && errno == EINTR && !client_interrupted)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void write_full(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Copies frames to stdout / stderr until the exit frame; Ctrl-C detaches. */
static int follow(int fd, const char *name, int delete)
{
	char *data = NULL;
	for (;;) {
		unsigned char chan;
		uint32_t len;
		if (read_full(fd, &chan, 1) || read_full(fd, &len, sizeof(len)))
			break;
		char *p = realloc(data, len ? len : 1);
		if (!p || read_full(fd, p, len)) {
			free(p);
			data = NULL;
			break;
		}
		data = p;
		if (chan == 'x') {
			uint32_t status = 0;
			memcpy(&status, data, len >= sizeof(status) ? sizeof(status) : 0);
			free(data);
			return (int)status;
		}
		write_full(chan == 'e' ? STDERR_FILENO : STDOUT_FILENO, data, len);
	}
	free(data);
	if (client_interrupted && !delete) {
		fprintf(stderr, "\nDisconnecting from systemtap module.\nTo reconnect, type \"staprun -A %s\"\n", name);
		return 0;
	}
	fprintf(stderr, "staprun: lost the connection to %s before it ended\n", name);
	return 1;
}

static int client_one(const char *arg, int delete)
{
	char name[NAME_MAX], path[PATH_MAX];
	rt_module_base(arg, name, sizeof(name));
	if (socket_path(name, path, sizeof(path)))
		return 1;
	int fd = connect_to(path);
	if (fd < 0) {
		fprintf(stderr, "ERROR: no running module named %s (cannot connect to %s: %s)\n", name, path,
			strerror(errno));
		return 1;
	}
	const char *cmd = delete ? "delete\n" : "attach\n";
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
		fprintf(stderr, "ERROR: cannot talk to %s: %s\n", name, strerror(errno));
		close(fd);
		return 1;
	}
	int rc = follow(fd, name, delete);
	close(fd);
	return rc;
}

/* -d '*' ends every background session of this user. */
static int delete_all(void)
{
	char dir[PATH_MAX], pat[PATH_MAX + 8];
	run_dir(dir, sizeof(dir));
	snprintf(pat, sizeof(pat), "%s/*.sock", dir);
	glob_t g;
	int rc = 0;
	if (glob(pat, 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char *base = strrchr(g.gl_pathv[i], '/') + 1;
		base[strlen(base) - 5] = '\0';
		rc |= client_one(base, 1);
	}
	globfree(&g);
	return rc;
}

int rt_flight_client(const char *name, int delete)
{
	struct sigaction sa = { .sa_handler = on_client_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (delete && strcmp(name, "*") == 0)
		return delete_all();
	return client_one(name, delete);
}
