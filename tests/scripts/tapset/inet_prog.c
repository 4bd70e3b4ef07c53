/* For tests/scripts/tapset/inet.stp: a TCP listener on 127.0.0.1 and on
 * ::1 (ports chosen by the kernel), each connected to by a client bound
 * first to the same address, so that its port is known at connect(). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void pair(int family)
{
	struct sockaddr_storage ss;
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	memset(&ss, 0, sizeof ss);
	ss.ss_family = family;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	int l = socket(family, SOCK_STREAM, 0), c = socket(family, SOCK_STREAM, 0);
	if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&ss, len) || listen(l, 1))
		return;
	struct sockaddr_storage local = ss;
	if (bind(c, (struct sockaddr *)&local, len))
		return;
	getsockname(l, (struct sockaddr *)&ss, &len);
	connect(c, (struct sockaddr *)&ss, len);
	close(c);
	close(l);
}

int main(void)
{
	pair(AF_INET);
	pair(AF_INET6);
	return 0;
}
