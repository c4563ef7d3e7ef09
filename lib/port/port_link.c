/* SPDX-License-Identifier: BSD-3-Clause */
/* Link state from the kernel (primary): a port whose probe named the
 * kernel interface it sits on (info->ifindex: af_packet) follows that
 * interface's state. The primary opens one rtnetlink socket (RTMGRP_LINK)
 * when the first such port attaches and has the ipc I/O thread watch it
 * (hp_ipc_watch): no thread of its own, no timer; it closes it when the
 * last one goes. On each link message it
 * sets link_up (the interface is up and running: it has carrier) of the
 * ports on that interface, bumps their link_gen, fires LINK here and rings
 * the secondaries' doorbells (port_notify), which fire it there. */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hp_ipc.h"
#include "hp_log.h"
#include "port_msg.h"

/* The socket, and a lock the callback holds while it uses it, so that
 * port_link_unwatch can close it once no callback runs. */
static pthread_mutex_t port_link_lock = PTHREAD_MUTEX_INITIALIZER;
static int port_link_fd = -1;

/* Sets the link of the ports on interface ifindex; whether any changed. */
static bool port_link_set(int32_t ifindex, bool up)
{
	bool changed = false;

	if (!port_ctx.table)
		return false;
	PORT_FOREACH_USED(port_ctx.table, id) {
		struct port_slot *s = &port_ctx.table->slots[id];

		if (PORT_LD(s->ifindex) != ifindex ||
		    port_slot_state(s) == HP_PORT_FREE ||
		    PORT_LD(s->link_up) == up)
			continue;
		PORT_ST(s->link_up, (uint8_t)up);
		PORT_ST(s->link_gen, s->link_gen + 1);
		HP_INFO(PORT_LOG, "port %u (%s): link %s", id, s->name,
			up ? "up" : "down");
		port_sync((uint16_t)id);
		changed = true;
	}
	return changed;
}

/* Reads every queued link message (I/O thread). */
static void port_link_event(struct hp_ipc *ipc, int fd, void *arg)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool changed = false;
	ssize_t n;

	(void)ipc;
	(void)arg;
	pthread_mutex_lock(&port_link_lock);
	while (fd == port_link_fd &&
	       (n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		size_t len = (size_t)n;

		for (struct nlmsghdr *h = (struct nlmsghdr *)buf;
		     NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			const struct ifinfomsg *ifi = NLMSG_DATA(h);

			if ((h->nlmsg_type != RTM_NEWLINK &&
			     h->nlmsg_type != RTM_DELLINK) ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
				continue;
			changed |= port_link_set(
				ifi->ifi_index,
				h->nlmsg_type == RTM_NEWLINK &&
					(ifi->ifi_flags & IFF_UP) &&
					(ifi->ifi_flags & IFF_RUNNING));
		}
	}
	pthread_mutex_unlock(&port_link_lock);
	if (changed)
		port_notify();
}

int port_link_watch(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK };
	int fd, r = 0;

	pthread_mutex_lock(&port_link_lock);
	if (port_link_fd >= 0)
		goto out;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    NETLINK_ROUTE);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		goto err;
	}
	port_link_fd = fd;
	r = hp_ipc_watch(port_ctx.ipc, fd, port_link_event, NULL);
	if (r < 0) {
		port_link_fd = -1;
		close(fd);
		goto err;
	}
	goto out;
err:
	HP_WARN(PORT_LOG, "link state will not follow the kernel: rtnetlink: %s",
		strerror(-r));
out:
	pthread_mutex_unlock(&port_link_lock);
	return r;
}

void port_link_unwatch(void)
{
	int fd;

	pthread_mutex_lock(&port_link_lock);
	fd = port_link_fd;
	port_link_fd = -1;
	pthread_mutex_unlock(&port_link_lock);
	if (fd < 0)
		return;
	/* A callback that already took the fd sees port_link_fd changed and
	 * stops; none starts after hp_ipc_unwatch. */
	hp_ipc_unwatch(port_ctx.ipc, fd);
	pthread_mutex_lock(&port_link_lock);
	close(fd);
	pthread_mutex_unlock(&port_link_lock);
}

void port_link_unwatch_unused(void)
{
	PORT_FOREACH_USED(port_ctx.table, id)
		if (PORT_LD(port_ctx.table->slots[id].ifindex) > 0)
			return;
	port_link_unwatch();
}
