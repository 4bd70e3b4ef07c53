/* Loopback traffic with known counts for the tcpmib/ipmib tests.  The
 * server side lives on 127.77.0.1, an address nothing else uses, so the
 * tests' filters can pick these sockets out of whatever else the machine
 * does.  Counts: NCONN connections opened and closed cleanly, NRESET
 * reset by the client (SO_LINGER 0), one connect refused by a port with no
 * listener, one SYN dropped by a full accept queue and retransmitted
 * once, NUDP UDP datagrams and NRAW datagrams of an unknown protocol. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

enum { NCONN = 5, NRESET = 2, NUDP = 7, NRAW = 3 };

static void die(const char *what) { perror(what); exit(1); }

static void nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static struct sockaddr_in server_addr(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = inet_addr("127.77.0.1");
	return a;
}

static int listener(int backlog, int *port)
{
	struct sockaddr_in a = server_addr(0);
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, backlog) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		die("listener");
	*port = ntohs(a.sin_port);
	return fd;
}

static int connect_to(int port, int nonblock)
{
	struct sockaddr_in a = server_addr(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (nonblock)
		fcntl(fd, F_SETFL, O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && !nonblock) {
		close(fd);
		return -1;
	}
	return fd;
}

static void tcp_traffic(void)
{
	int port, lfd = listener(16, &port);
	for (int i = 0; i < NCONN; i++) {
		int c = connect_to(port, 0), s = accept(lfd, NULL, NULL);
		if (c < 0 || s < 0)
			die("connect");
		close(c);
		nap(5);
		close(s);
	}
	for (int i = 0; i < NRESET; i++) {
		int c = connect_to(port, 0), s = accept(lfd, NULL, NULL);
		struct linger lg = { 1, 0 };
		if (c < 0 || s < 0)
			die("connect");
		setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		close(c);
		nap(5);
		close(s);
	}
	close(lfd);

	/* A port bound but not listening: the SYN is answered by a reset. */
	int closed_port, b = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = server_addr(0);
	socklen_t len = sizeof a;
	if (bind(b, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(b, (struct sockaddr *)&a, &len) < 0)
		die("bind");
	closed_port = ntohs(a.sin_port);
	if (connect_to(closed_port, 0) >= 0)
		die("connect to a closed port succeeded");
	close(b);

	/* Backlog 1 holds two connections; the third SYN is dropped and
	 * retransmitted after the initial RTO of one second. */
	int fport, full = listener(1, &fport);
	int q1 = connect_to(fport, 0);
	nap(20);
	int q2 = connect_to(fport, 0);
	nap(20);
	int q3 = connect_to(fport, 1);
	nap(1600);
	close(q3);
	close(q1);
	close(q2);
	close(full);
}

static void udp_traffic(void)
{
	struct sockaddr_in a = server_addr(0);
	socklen_t len = sizeof a;
	int r = socket(AF_INET, SOCK_DGRAM, 0), s = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[16];
	if (bind(r, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(r, (struct sockaddr *)&a, &len) < 0)
		die("udp bind");
	for (int i = 0; i < NUDP; i++) {
		if (sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof a) != 1 || recv(r, buf, sizeof buf, 0) != 1)
			die("udp");
	}
	close(r);
	close(s);
}

/* IP datagrams of protocol 253 (for experiments): no handler, and the
 * IPPROTO_RAW socket that sends them receives nothing. */
static void raw_traffic(void)
{
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	struct sockaddr_in a = server_addr(0);
	if (fd < 0)
		die("raw socket");
	for (int i = 0; i < NRAW; i++) {
		unsigned char pkt[sizeof(struct iphdr) + 4] = { 0 };
		struct iphdr *ip = (struct iphdr *)pkt;
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = 253;
		ip->tot_len = htons(sizeof pkt);
		ip->saddr = inet_addr("127.0.0.1");
		ip->daddr = a.sin_addr.s_addr;
		if (sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&a, sizeof a) != (ssize_t)sizeof pkt)
			die("raw send");
	}
	close(fd);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "tcp";
	if (strcmp(what, "tcp") == 0)
		tcp_traffic();
	else if (strcmp(what, "ip") == 0) {
		udp_traffic();
		raw_traffic();
	}
	nap(50);
	return 0;
}
