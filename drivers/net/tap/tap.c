/* SPDX-License-Identifier: BSD-3-Clause */
/* net_tap: a TAP interface the kernel sees, usable from every process.
 *
 * devargs: net_tap<N>[,iface=NAME][,queues=N][,mac=ADDR][,offload=0|1]
 *
 * The primary's probe opens /dev/net/tun once per queue and creates the
 * interface (iface=, else "hp_tap<N>" for net_tap<N>), not persistent: it
 * goes away when the last process closes its queue fds, that is on detach,
 * or when the last process holding them dies. The fds reach every process
 * through the port layer (hp_port_fd_add), so every process reads and
 * writes the same queues and none reopens anything. iface= may also name
 * an existing persistent single-queue TAP that no program holds: the port
 * takes it as it is, and it stays after detach. Any other existing
 * interface by that name is refused.
 *
 * Queue q (rx and tx) is the interface's queue q; queues=N (at most
 * HP_PORT_MAX_FDS) makes a multi-queue TAP. The kernel spreads the frames
 * it sends over the attached queues, so start attaches as many as the
 * configuration has rx queues and detaches the others; tx queue q writes
 * on queue q % (rx queues).
 *
 * Every frame carries a virtio-net header (IFF_VNET_HDR). With offload=1
 * (the default) the kernel may hand over large TCP frames (TSO, up to 64
 * KiB) and frames whose checksum is left to finish, described in
 * m->offload; transmit hands m->offload back, so the kernel takes both.
 * With offload=0 the kernel cuts and checksums frames itself first.
 *
 * start brings the interface up (IFF_UP), stop takes it down, both by
 * its current name (TUNGETIFF), and only while it is in the primary's
 * network namespace: one moved into another (a container's) is up or down
 * as its owner there says. The port's link is the interface's carrier, on
 * while the port holds its queues. nb_desc is not used: the kernel's queue
 * holds up to the interface's txqueuelen frames. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>

#include "hp_log.h"
#include "hp_mbuf.h"
#include "tap_private.h"

#define TAP_DEV "/dev/net/tun"
/* What the kernel may hand over with offload=1: no UDP segmentation, which
 * m->offload has no type for. */
#define TAP_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)
/* Devices are named net_tap<N> or eth_tap<N>; the interface hp_tap<N>. */
#define TAP_DEV_PREFIX_LEN 7
#define TAP_IF_PREFIX "hp_tap"

static const char *const tap_keys[] = { "iface", "queues", "mac", "offload",
					NULL };

static const struct hp_port_driver tap_driver;

static void tap_ifr(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	memcpy(ifr->ifr_name, name, strnlen(name, IFNAMSIZ - 1));
}

/* An interface ioctl, on a socket opened for it: 0 or -errno. */
static int tap_ifreq(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, req, ifr) < 0)
		r = -errno;
	close(s);
	return r;
}

/* Checks name as the kernel takes it (at most IFNAMSIZ - 1 characters, no
 * '/', ':' or white space, not "." or ".."), and that it is one name, not
 * a pattern such as "tap%d". */
static int tap_name_check(struct hp_port_dev *dev, const char *name)
{
	size_t len = strlen(name);

	if (len >= IFNAMSIZ) {
		snprintf(dev->err, dev->errlen,
			 "interface name '%s' has %zu characters; at most %d",
			 name, len, IFNAMSIZ - 1);
		return -ENAMETOOLONG;
	}
	if (!len || !strcmp(name, ".") || !strcmp(name, "..") ||
	    strpbrk(name, "/:% \t\n\v\f\r")) {
		snprintf(dev->err, dev->errlen,
			 "iface=%s: not an interface name (no '/', ':', '%%' or spaces; not '.' or '..')",
			 name);
		return -EINVAL;
	}
	return 0;
}

/* The interface name: iface=, or hp_tap<N> for device net_tap<N>. */
static int tap_ifname(struct hp_port_dev *dev, char *ret_name)
{
	const char *iface = hp_devargs_get(dev->args, "iface");
	char name[HP_NAME_MAX + sizeof(TAP_IF_PREFIX)];
	int r;

	if (iface) {
		r = tap_name_check(dev, iface);
		if (r == 0)
			memcpy(ret_name, iface, strlen(iface) + 1);
		return r;
	}
	snprintf(name, sizeof(name), TAP_IF_PREFIX "%s",
		 dev->name + TAP_DEV_PREFIX_LEN);
	r = tap_name_check(dev, name);
	if (r == -ENAMETOOLONG)
		snprintf(dev->err, dev->errlen,
			 "device name '%s' gives interface name '%s' of %zu characters (at most %d): name one with iface=",
			 dev->name, name, strlen(name), IFNAMSIZ - 1);
	if (r == 0)
		memcpy(ret_name, name, strlen(name) + 1);
	return r;
}

/* -EBUSY with the reason when another net_tap port has interface name. */
static int tap_name_unused(struct hp_port_dev *dev, const char *name)
{
	for (uint16_t id = hp_port_next(0); id != HP_PORT_INVALID;
	     id = hp_port_next((uint16_t)(id + 1))) {
		const struct tap_shared *o = hp_port_driver_shared(id, &tap_driver);
		struct hp_port_info info;

		if (!o || o == dev->shared || strncmp(o->ifname, name, IFNAMSIZ) ||
		    hp_port_info_get(id, &info) < 0)
			continue;
		snprintf(dev->err, dev->errlen,
			 "interface '%s' is port %u's (%s)", name, id, info.name);
		return -EBUSY;
	}
	return 0;
}

static int tap_mac_parse(struct hp_port_dev *dev, uint8_t *ret_mac,
			 bool *ret_has)
{
	const char *s = hp_devargs_get(dev->args, "mac");
	uint8_t m[6];
	int end = 0;

	*ret_has = s != NULL;
	if (!s)
		return 0;
	if (sscanf(s, "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx%n", &m[0], &m[1],
		   &m[2], &m[3], &m[4], &m[5], &end) != 6 || s[end] ||
	    strlen(s) != 17 || (m[0] & 1) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5])) {
		snprintf(dev->err, dev->errlen,
			 "mac=%s: not a unicast Ethernet address such as 02:00:00:00:00:01",
			 s);
		return -EINVAL;
	}
	memcpy(ret_mac, m, sizeof(m));
	return 0;
}

/* Whether interface name is a TAP (driver tun, bus "tap"). */
static bool tap_is_tap(const char *name)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;

	tap_ifr(&ifr, name);
	ifr.ifr_data = (void *)&di;
	return tap_ifreq(SIOCETHTOOL, &ifr) == 0 && !strcmp(di.driver, "tun") &&
	       !strcmp(di.bus_info, "tap");
}

/* Opens one queue of TAP name with TUNSETIFF flags: the fd, or -errno. */
static int tap_open_queue(const char *name, unsigned flags)
{
	struct ifreq ifr;
	int fd, r;

	fd = open(TAP_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	tap_ifr(&ifr, name);
	ifr.ifr_flags = (short)flags;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int tap_open_failed(struct hp_port_dev *dev, const char *name, int r)
{
	if (r == -ENOENT || r == -ENODEV || r == -ENXIO)
		snprintf(dev->err, dev->errlen,
			 "cannot open " TAP_DEV ": %s (is the tun module loaded?)",
			 strerror(-r));
	else
		snprintf(dev->err, dev->errlen, "cannot create TAP '%s': %s%s",
			 name, strerror(-r),
			 r == -EPERM || r == -EACCES ? " (needs CAP_NET_ADMIN)" : "");
	return r;
}

/* Opens queue 0: creates the interface, or takes an existing persistent
 * single-queue TAP that no program holds. The fd, or -errno with the
 * reason. */
static int tap_open_first(struct hp_port_dev *dev, struct tap_shared *sh,
			  unsigned flags)
{
	const char *name = sh->ifname;
	int fd = tap_open_queue(name, flags | IFF_TUN_EXCL);

	if (fd >= 0) {
		sh->created = 1;
		return fd;
	}
	if (fd != -EBUSY)
		return tap_open_failed(dev, name, fd);
	/* The name is taken: by a TAP this port may take? */
	if (!tap_is_tap(name)) {
		snprintf(dev->err, dev->errlen,
			 "interface '%s' exists and is not a TAP this port may take",
			 name);
		return -EEXIST;
	}
	if (sh->nb_queues > 1) {
		snprintf(dev->err, dev->errlen,
			 "TAP '%s' exists: an existing TAP is taken only with queues=1",
			 name);
		return -EEXIST;
	}
	fd = tap_open_queue(name, flags);
	if (fd >= 0) {
		sh->created = 0;
		return fd;
	}
	if (fd == -EBUSY)
		snprintf(dev->err, dev->errlen,
			 "TAP '%s' exists and is in use by another program", name);
	else if (fd == -EINVAL)
		snprintf(dev->err, dev->errlen,
			 "TAP '%s' exists and is multi-queue: an existing TAP is taken only when it has one queue",
			 name);
	else if (fd == -EPERM)
		snprintf(dev->err, dev->errlen,
			 "TAP '%s' exists and belongs to another user", name);
	else
		return tap_open_failed(dev, name, fd);
	return fd;
}

/* Opens every queue and hands the fds to the port layer, which closes them
 * if the probe fails. */
static int tap_open_all(struct hp_port_dev *dev, struct tap_shared *sh)
{
	unsigned flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
			 (sh->nb_queues > 1 ? IFF_MULTI_QUEUE : 0);
	int fd, r;

	fd = tap_open_first(dev, sh, flags);
	if (fd < 0)
		return fd;
	r = hp_port_fd_add(dev, fd);
	for (unsigned q = 1; r == 0 && q < sh->nb_queues; q++) {
		fd = tap_open_queue(sh->ifname, flags);
		if (fd < 0) {
			snprintf(dev->err, dev->errlen,
				 "cannot open queue %u of TAP '%s': %s", q,
				 sh->ifname, strerror(-fd));
			return fd;
		}
		r = hp_port_fd_add(dev, fd);
	}
	if (r < 0)
		snprintf(dev->err, dev->errlen, "TAP '%s': cannot share its fds: %s",
			 sh->ifname, strerror(-r));
	return r;
}

/* Sets the header, MAC and offloads of the interface and reads its MAC
 * into dev->info; offloads last, so that a TAP taken as it was keeps its
 * own if anything fails. */
static int tap_setup(struct hp_port_dev *dev, const struct tap_shared *sh,
		     const uint8_t *mac)
{
	int fd = dev->fds->fd[0], hdr = TAP_VNET_HDR_LEN, le = 1, r = 0;
	const char *what = NULL;
	struct ifreq ifr;

	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		what = "set its virtio-net header size";
	else if (ioctl(fd, TUNSETVNETLE, &le) < 0)
		what = "make its virtio-net header little-endian";
	if (what)
		r = -errno;
	if (!r && mac) {
		tap_ifr(&ifr, sh->ifname);
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
		r = tap_ifreq(SIOCSIFHWADDR, &ifr);
		what = "set its MAC address";
	}
	if (!r) {
		tap_ifr(&ifr, sh->ifname);
		r = tap_ifreq(SIOCGIFHWADDR, &ifr);
		what = "read its MAC address";
		memcpy(dev->info->mac, ifr.ifr_hwaddr.sa_data, 6);
	}
	if (!r && ioctl(fd, TUNSETOFFLOAD,
			(unsigned long)(sh->offload ? TAP_OFFLOADS : 0)) < 0) {
		r = -errno;
		what = "set its offloads";
	}
	if (r < 0)
		snprintf(dev->err, dev->errlen, "TAP '%s': cannot %s: %s",
			 sh->ifname, what, strerror(-r));
	return r;
}

static int tap_probe(struct hp_port_dev *dev)
{
	struct tap_shared *sh = dev->shared;
	unsigned long queues, offload;
	bool has_mac = false;
	uint8_t mac[6];
	int r;

	r = hp_devargs_get_uint(dev->args, "queues", 1, HP_PORT_MAX_FDS, 1,
				&queues, dev->err, dev->errlen);
	if (r == 0)
		r = hp_devargs_get_uint(dev->args, "offload", 0, 1, 1, &offload,
					dev->err, dev->errlen);
	if (r == 0)
		r = tap_mac_parse(dev, mac, &has_mac);
	if (r == 0)
		r = tap_ifname(dev, sh->ifname);
	if (r == 0)
		r = hp_port_iface_allowed(dev, "iface", "create or take the TAP",
					  sh->ifname);
	if (r == 0)
		r = tap_name_unused(dev, sh->ifname);
	if (r < 0)
		return r;
	sh->nb_queues = (uint16_t)queues;
	sh->offload = (uint8_t)offload;
	/* On failure the port layer closes the fds: a TAP made here goes
	 * with them. */
	r = tap_open_all(dev, sh);
	if (r == 0)
		r = tap_setup(dev, sh, has_mac ? mac : NULL);
	if (r < 0)
		return r;
	dev->info->nb_rx_queues = (uint16_t)queues;
	dev->info->nb_tx_queues = (uint16_t)queues;
	dev->info->max_rx_queues = (uint16_t)queues;
	dev->info->max_tx_queues = (uint16_t)queues;
	dev->info->link_up = 1;	/* the carrier: on while the queues are held */
	dev->info->link_speed = 10000; /* nominal: a TAP has no speed */
	HP_DEBUG(TAP_LOG, "%s: %s TAP '%s', %u queue(s), offload %s",
		 dev->name, sh->created ? "created" : "took", sh->ifname,
		 sh->nb_queues, sh->offload ? "on" : "off");
	return 0;
}

static void tap_remove(struct hp_port_dev *dev)
{
	const struct tap_shared *sh = dev->shared;

	/* A TAP taken as it was goes back without offloads, so that its next
	 * user (without a virtio-net header, maybe) gets plain frames. */
	if (!sh->created && dev->fds->nb &&
	    ioctl(dev->fds->fd[0], TUNSETOFFLOAD, 0ul) < 0)
		HP_DEBUG(TAP_LOG, "%s: TAP '%s': cannot clear its offloads: %s",
			 dev->name, sh->ifname, strerror(errno));
}

/* The interface's current name (it may have been renamed): 0 or -errno. */
static int tap_cur_name(struct hp_port_dev *dev, char *ret_name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(dev->fds->fd[0], TUNGETIFF, &ifr) < 0)
		return -errno;
	memcpy(ret_name, ifr.ifr_name, IFNAMSIZ);
	ret_name[IFNAMSIZ - 1] = '\0';
	return 0;
}

/* Whether the interface is in this process's network namespace (true when
 * that cannot be told). One moved elsewhere (into a container's, say) is
 * brought up and down there, by its owner. */
static bool tap_netns_here(struct hp_port_dev *dev)
{
	struct stat here, there;
	int ns = ioctl(dev->fds->fd[0], TUNGETDEVNETNS);
	bool same = true;

	if (ns < 0)
		return true;
	if (stat("/proc/self/ns/net", &here) == 0 && fstat(ns, &there) == 0)
		same = here.st_dev == there.st_dev && here.st_ino == there.st_ino;
	close(ns);
	return same;
}

/* Brings interface name up or down. */
static int tap_set_up(const char *name, bool up)
{
	struct ifreq ifr;
	int r;

	tap_ifr(&ifr, name);
	r = tap_ifreq(SIOCGIFFLAGS, &ifr);
	if (r < 0)
		return r;
	if (!!(ifr.ifr_flags & IFF_UP) == up)
		return 0;
	ifr.ifr_flags = (short)(up ? ifr.ifr_flags | IFF_UP :
				     ifr.ifr_flags & ~IFF_UP);
	return tap_ifreq(SIOCSIFFLAGS, &ifr);
}

/* Attaches queues 0..nb_rxq-1 of a multi-queue TAP and detaches the
 * others, so that the kernel sends only to polled queues. Queue 0 is
 * always attached. */
static int tap_queues_sync(struct hp_port_dev *dev, unsigned nb_rxq)
{
	for (unsigned q = 1; q < dev->fds->nb; q++) {
		struct ifreq ifr;

		memset(&ifr, 0, sizeof(ifr));
		ifr.ifr_flags = q < nb_rxq ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
		/* EINVAL: the queue is so already. */
		if (ioctl(dev->fds->fd[q], TUNSETQUEUE, &ifr) < 0 && errno != EINVAL)
			return -errno;
	}
	return 0;
}

static int tap_start(struct hp_port_dev *dev)
{
	struct hp_port_info info;
	char name[IFNAMSIZ];
	int r;

	r = hp_port_info_get(dev->port_id, &info);
	if (r == 0)
		r = tap_queues_sync(dev, info.nb_rx_queues);
	if (r < 0 || !tap_netns_here(dev))
		goto out;
	r = tap_cur_name(dev, name);
	if (r == 0)
		r = tap_set_up(name, true);
out:
	if (r < 0)
		HP_DEBUG(TAP_LOG, "%s: cannot start: %s", dev->name, strerror(-r));
	return r;
}

static void tap_stop(struct hp_port_dev *dev)
{
	char name[IFNAMSIZ];
	int r;

	if (!tap_netns_here(dev))
		return;
	r = tap_cur_name(dev, name);
	if (r == 0)
		r = tap_set_up(name, false);
	if (r < 0)
		HP_DEBUG(TAP_LOG, "%s: cannot take the interface down: %s",
			 dev->name, strerror(-r));
}

static void tap_detach_local(struct hp_port_dev *dev, struct hp_port_fp *fp)
{
	struct tap_queue *qs = fp->priv;

	(void)dev;
	if (!qs)
		return;
	for (unsigned i = 0; i < fp->nb_rxq; i++)
		free(qs[i].spill);
	free(qs);
	fp->priv = NULL;
}

/* Sets up rx queue tq (queue q) over fd: its pool and spill buffer. */
static int tap_rxq_setup(struct hp_port_dev *dev, struct tap_queue *tq,
			 unsigned q)
{
	struct hp_mempool *pool = dev->rxq_conf[q].pool;
	unsigned room = pool ? hp_mempool_data_room(pool) - HP_MBUF_HEADROOM : 0;

	if (room < TAP_RX_ROOM_MIN) {
		snprintf(dev->err, dev->errlen,
			 "rx queue %u: %s; net_tap needs buffers of at least %d bytes past the headroom",
			 q, pool ? "the pool's buffers are too small" : "no pool",
			 TAP_RX_ROOM_MIN);
		return -EINVAL;
	}
	tq->pool = pool;
	tq->spill = malloc(TAP_FRAME_MAX);
	return tq->spill ? 0 : -ENOMEM;
}

static int tap_attach_local(struct hp_port_dev *dev, struct hp_port_fp *fp)
{
	const struct tap_shared *sh = dev->shared;
	struct tap_queue *qs;
	int r;

	if (dev->fds->nb != sh->nb_queues) {
		snprintf(dev->err, dev->errlen,
			 "TAP '%s': %u queue fds here, %u expected", sh->ifname,
			 dev->fds->nb, sh->nb_queues);
		return -EBADF;
	}
	r = hp_port_queues_alloc(dev, fp, sizeof(*qs));
	if (r < 0)
		return r;
	qs = fp->priv;
	for (unsigned i = 0; i < fp->nb_rxq; i++) {
		qs[i].fd = dev->fds->fd[i];
		r = tap_rxq_setup(dev, &qs[i], i);
		if (r < 0) {
			tap_detach_local(dev, fp);
			return r;
		}
	}
	/* Tx queues past the rx ones write on attached queues too. */
	for (unsigned i = 0; i < fp->nb_txq; i++)
		qs[fp->nb_rxq + i].fd = dev->fds->fd[i % fp->nb_rxq];
	fp->rx_burst = tap_rx_burst;
	fp->tx_burst = tap_tx_burst;
	return 0;
}

static const struct hp_port_driver tap_driver = {
	.name = "net_tap",
	.alias = "eth_tap",
	.keys = tap_keys,
	.shared_size = sizeof(struct tap_shared),
	.detachable = true,
	.probe = tap_probe,
	.remove = tap_remove,
	.attach_local = tap_attach_local,
	.detach_local = tap_detach_local,
	.start = tap_start,
	.stop = tap_stop,
};

HP_PORT_DRIVER_REGISTER(tap_driver)
