/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers of the driver tests that need kernel interfaces: private network
 * namespaces, each held by a child process that dies with the test
 * (PR_SET_PDEATHSIG), so a crashed test leaves none behind and the veth
 * pairs with an end in one go with it; shell commands run in them; sockets
 * made in them; veth pairs into them. Needs root. */
#ifndef TEST_NETNS_H
#define TEST_NETNS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "hp_common.h"

/* A network namespace, held by a child process. */
struct netns {
	pid_t pid;
	int fd;			/* /proc/<pid>/ns/net */
};

/* This process's own namespace (ns_open_self sets it). */
static int ns_self = -1;

/* Makes a network namespace held by a new child process; 0 or -1. */
static inline int netns_new(struct netns *ns)
{
	char path[64], c;
	int p[2], ok;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	ns->pid = fork();
	if (ns->pid == 0) {
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		/* No IPv6 on its interfaces: no neighbour discovery frames
		 * among the test's (without IPv6 there is no such file). */
		fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY);
		if (fd >= 0 && (write(fd, "1", 1) != 1 || close(fd) < 0))
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	ok = ns->pid > 0 && read(p[0], &c, 1) == 1;
	close(p[0]);
	if (!ok)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)ns->pid);
	ns->fd = open(path, O_RDONLY | O_CLOEXEC);
	return ns->fd < 0 ? -1 : 0;
}

/* Ends ns: its holder is killed, so it goes with its interfaces once no
 * socket made in it is left. */
static inline void netns_del(struct netns *ns)
{
	if (ns->fd >= 0)
		close(ns->fd);
	ns->fd = -1;
	if (ns->pid > 0) {
		kill(ns->pid, SIGKILL);
		waitpid(ns->pid, NULL, 0);
	}
	ns->pid = 0;
}

/* Runs a shell command in ns (NULL: here); its exit status. */
static inline int run(const struct netns *ns, const char *fmt, ...) HP_PRINTF(2, 3);
static inline int run(const struct netns *ns, const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	pid_t pid;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (ns && setns(ns->fd, CLONE_NEWNET) < 0)
			_exit(126);
		dup2(null, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A packet socket on p0 in ns, for every protocol, non-blocking; with
 * the virtio-net header if vnet. */
static inline int far_socket(const struct netns *ns, bool vnet)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL) };
	int fd;

	assert_int_equal(setns(ns->fd, CLONE_NEWNET), 0);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	sll.sll_ifindex = (int)if_nametoindex("p0");
	assert_int_equal(setns(ns_self, CLONE_NEWNET), 0);
	assert_true(fd >= 0);
	if (vnet)
		assert_int_equal(setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR,
					    &(int){ 1 }, sizeof(int)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return fd;
}

/* A non-blocking socket made in ns. */
static inline int socket_in(const struct netns *ns, int domain, int type)
{
	int fd;

	assert_int_equal(setns(ns->fd, CLONE_NEWNET), 0);
	fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_int_equal(setns(ns_self, CLONE_NEWNET), 0);
	assert_true(fd >= 0);
	return fd;
}

/* Receives one frame on fd within ms for which want(buf, len) holds
 * (others are skipped); its length, or -1. */
static inline int far_recv(int fd, uint8_t *buf, size_t size, int ms,
			   bool (*want)(const uint8_t *, size_t))
{
	struct timespec end, now;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n = recv(fd, buf, size, 0);

		if (n > 0 && want(buf, (size_t)n))
			return (int)n;
		if (n > 0)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			return -1;
		poll(&p, 1, 10);
	}
}

/* A veth pair: near end name here, far end p0 in ns with address addr. */
static inline int veth_new(const char *name, const struct netns *ns,
			   const char *addr)
{
	if (run(NULL, "ip link add %s type veth peer name p0 netns %d && "
		      "{ echo 1 > /proc/sys/net/ipv6/conf/%s/disable_ipv6; } 2>/dev/null; "
		      "ip link set %s up", name, (int)ns->pid, name, name) ||
	    run(ns, "ip addr add %s/24 dev p0 && ip link set p0 up && ip link set lo up",
		addr))
		return -1;
	return 0;
}

/* Opens this process's own namespace, for the helpers that step out and
 * back; 0 or -1. */
static inline int ns_open_self(void)
{
	ns_self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	return ns_self < 0 ? -1 : 0;
}

static inline void ns_close_self(void)
{
	if (ns_self >= 0)
		close(ns_self);
	ns_self = -1;
}

#endif
