/* SPDX-License-Identifier: BSD-3-Clause */
/* net_af_packet: ports on kernel network interfaces (veth, NICs) through
 * memory-mapped packet sockets, usable from every process, with the
 * kernel's offloads left on.
 *
 * devargs: net_af_packet<N>,iface=IF[,qpairs=N][,framecnt=N]
 *
 * Probe (primary) opens one AF_PACKET socket per queue pair, bound to IF
 * for every protocol, and spreads the interface's traffic over them by
 * flow hash (PACKET_FANOUT) when there are several. Each socket has:
 *  - PACKET_VNET_HDR: a virtio-net header travels in front of every frame,
 *    both ways, so large (GSO/GRO) packets and partial checksums pass as
 *    they are, described by the header, instead of being cut or refused:
 *    nobody has to turn the interface's offloads off with ethtool first.
 *  - a TPACKET_V2 receive ring of framecnt frames, each big enough for an
 *    MTU-sized frame. V2 rather than V3: a V3 block reaches user space
 *    only when it is full or its retire timer (at least 1 ms) fires, which
 *    would put milliseconds on every lone packet (ping through a
 *    forwarder); a V2 frame is readable the moment it is written.
 *  - PACKET_COPY_THRESH: a packet larger than a frame (a 64 KiB GSO
 *    packet) leaves a truncated copy in the ring marked TP_STATUS_COPY and
 *    the whole packet in the socket's receive queue, in ring order; rx
 *    reads it from there with one recvmsg, straight into a buffer chain.
 *  - PACKET_IGNORE_OUTGOING: rx sees only what the interface receives,
 *    not its own tx. No PACKET_QDISC_BYPASS: the direct path drops a GSO
 *    packet that the device cannot take whole instead of segmenting it.
 * The sockets reach every process as fds (hp_port_fd_add); attach_local
 * maps each rx queue's ring there, so every process sees the same kernel
 * pages, and the ring position lives in shared memory: whichever process
 * polls a queue continues where the previous poller stopped. Socket q
 * serves rx queue q and tx queue q; the port has qpairs queues of each
 * (fewer tx queues may be configured, not fewer rx queues: the fanout
 * would still hand them their share of the traffic).
 *
 * Remove has nothing to do: the port layer closes the sockets, and the
 * kernel frees the rings with the last process's copy. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "af_packet_private.h"
#include "hp_log.h"
#include "hp_mbuf.h"

#define AFP_LOG "pmd.af_packet"
#define AFP_FRAMECNT_DEFAULT 2048
/* Most bytes of a ring with the default frame count (jumbo MTUs). */
#define AFP_RING_DEFAULT_BYTES (32u << 20)
#define AFP_FRAMECNT_MIN 64
#define AFP_FRAMECNT_MAX (1u << 18)
#define AFP_BLOCK_SIZE (64u << 10)
#define AFP_FRAME_MIN 2048u
#define AFP_FRAME_MAX (64u << 10)
/* Room in a frame ahead of the packet: the tpacket2 header, the address,
 * the virtio-net header, alignment, and a VLAN tag left in the data. */
#define AFP_FRAME_OVERHEAD 128u
/* Receive buffer for packets larger than a frame, send buffer for bursts
 * of large packets (the kernel doubles both). */
#define AFP_RCVBUF (8 << 20)
#define AFP_SNDBUF (4 << 20)

static const char *const afp_keys[] = { "iface", "qpairs", "framecnt", NULL };

/* The ring geometry for an interface of mtu bytes and about framecnt
 * frames (0: the default, fewer for large frames). */
static void afp_geometry(struct afp_shared *sh, unsigned mtu,
			 unsigned long framecnt, struct tpacket_req *ret_req)
{
	uint32_t frame = AFP_FRAME_MIN, per_block;

	while (frame < mtu + AFP_FRAME_OVERHEAD && frame < AFP_FRAME_MAX)
		frame <<= 1;
	if (framecnt == 0) {
		framecnt = AFP_RING_DEFAULT_BYTES / frame;
		if (framecnt > AFP_FRAMECNT_DEFAULT)
			framecnt = AFP_FRAMECNT_DEFAULT;
		if (framecnt < AFP_FRAMECNT_MIN)
			framecnt = AFP_FRAMECNT_MIN;
	}
	ret_req->tp_block_size = frame > AFP_BLOCK_SIZE ? frame : AFP_BLOCK_SIZE;
	per_block = ret_req->tp_block_size / frame;
	ret_req->tp_block_nr = (unsigned)((framecnt + per_block - 1) / per_block);
	ret_req->tp_frame_size = frame;
	ret_req->tp_frame_nr = ret_req->tp_block_nr * per_block;
	sh->frame_size = frame;
	sh->frame_nr = ret_req->tp_frame_nr;
	sh->ring_size = (size_t)ret_req->tp_block_size * ret_req->tp_block_nr;
}

/* Sets an int socket option; a reason naming opt on failure. */
static int afp_setopt(struct hp_port_dev *dev, int fd, int level, int opt,
		      const char *name, int val)
{
	int r;

	if (setsockopt(fd, level, opt, &val, sizeof(val)) == 0)
		return 0;
	r = -errno;
	snprintf(dev->err, dev->errlen, "%s: %s", name, strerror(-r));
	return r;
}

/* Opens, sets up and binds the socket of one queue pair; the port layer
 * owns it from the start (and closes it if the probe fails later). */
static int afp_open(struct hp_port_dev *dev, const struct tpacket_req *req,
		    int *ret_fd)
{
	struct afp_shared *sh = dev->shared;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)sh->ifindex };
	int fd, r;

	/* Protocol 0: nothing arrives before the bind below. */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(dev->err, dev->errlen, "cannot open a packet socket: %s%s",
			 strerror(-r), r == -EPERM ? " (needs CAP_NET_RAW)" : "");
		return r;
	}
	r = hp_port_fd_add(dev, fd);
	if (r < 0)
		return r;
	r = afp_setopt(dev, fd, SOL_PACKET, PACKET_VERSION, "PACKET_VERSION", TPACKET_V2);
	if (r == 0) /* before the ring: the kernel refuses it afterwards */
		r = afp_setopt(dev, fd, SOL_PACKET, PACKET_VNET_HDR, "PACKET_VNET_HDR", 1);
	if (r == 0)
		r = afp_setopt(dev, fd, SOL_PACKET, PACKET_COPY_THRESH, "PACKET_COPY_THRESH", 1);
	if (r == 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &(int){ AFP_RCVBUF },
				 sizeof(int)) < 0)
		r = afp_setopt(dev, fd, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", AFP_RCVBUF);
	if (r == 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &(int){ AFP_SNDBUF },
				 sizeof(int)) < 0)
		r = afp_setopt(dev, fd, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", AFP_SNDBUF);
	if (r == 0 && setsockopt(fd, SOL_PACKET, PACKET_RX_RING, req, sizeof(*req)) < 0) {
		r = -errno;
		snprintf(dev->err, dev->errlen,
			 "cannot set up a receive ring of %u frames of %u bytes: %s",
			 req->tp_frame_nr, req->tp_frame_size, strerror(-r));
	}
	if (r == 0)
		r = afp_setopt(dev, fd, SOL_PACKET, PACKET_IGNORE_OUTGOING,
			       "PACKET_IGNORE_OUTGOING", 1);
	if (r == 0 && bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		r = -errno;
		snprintf(dev->err, dev->errlen, "cannot bind to iface=%s: %s",
			 hp_devargs_get(dev->args, "iface"), strerror(-r));
	}
	if (r == 0)
		*ret_fd = fd;
	return r;
}

/* Joins the sockets into one fanout group spreading flows by hash; the
 * kernel picks a group id nobody else uses. */
static int afp_fanout(struct hp_port_dev *dev, const int *fds, unsigned n)
{
	int val = (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_UNIQUEID) << 16;
	socklen_t len = sizeof(val);

	for (unsigned q = 0; q < n; q++) {
		if (setsockopt(fds[q], SOL_PACKET, PACKET_FANOUT, &val, sizeof(val)) < 0) {
			int r = -errno;
			snprintf(dev->err, dev->errlen,
				 "cannot spread iface=%s over %u queue pairs (PACKET_FANOUT): %s",
				 hp_devargs_get(dev->args, "iface"), n, strerror(-r));
			return r;
		}
		if (q == 0) {
			if (getsockopt(fds[0], SOL_PACKET, PACKET_FANOUT, &val, &len) < 0)
				return -errno;
			val = (int)((unsigned)val & 0xffffu) | (PACKET_FANOUT_HASH << 16);
		}
	}
	return 0;
}

/* Reads what the port shows of the interface (MAC, link) and its MTU. */
static int afp_iface_info(struct hp_port_dev *dev, const char *iface,
			  unsigned *ret_mtu)
{
	struct ethtool_cmd ecmd = { .cmd = ETHTOOL_GSET };
	struct ifreq ifr;
	int fd, r = 0;

	/* Any socket answers interface ioctls; this one needs no privilege. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		goto err;
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER &&
	    ifr.ifr_hwaddr.sa_family != ARPHRD_LOOPBACK) {
		snprintf(dev->err, dev->errlen,
			 "iface=%s is not an Ethernet interface (link type %u)",
			 iface, ifr.ifr_hwaddr.sa_family);
		close(fd);
		return -ENOTSUP;
	}
	memcpy(dev->info->mac, ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0)
		goto err;
	*ret_mtu = (unsigned)ifr.ifr_mtu;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		goto err;
	dev->info->link_up = (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
	/* The speed is shown only; interfaces without ethtool have none. */
	ifr.ifr_data = (void *)&ecmd;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0 &&
	    ethtool_cmd_speed(&ecmd) != (uint32_t)SPEED_UNKNOWN)
		dev->info->link_speed = ethtool_cmd_speed(&ecmd);
	close(fd);
	return 0;

err:
	r = -errno;
	snprintf(dev->err, dev->errlen, "iface=%s: %s", iface, strerror(-r));
	if (fd >= 0)
		close(fd);
	return r;
}

static int afp_probe(struct hp_port_dev *dev)
{
	struct afp_shared *sh = dev->shared;
	const char *iface = hp_devargs_get(dev->args, "iface");
	unsigned long qpairs, framecnt;
	struct tpacket_req req;
	int fds[AFP_MAX_QPAIRS];
	unsigned mtu = 0;
	int r;

	if (!iface || !iface[0]) {
		snprintf(dev->err, dev->errlen,
			 "iface= is missing: name the kernel interface to use (%s,iface=eth0)",
			 dev->name);
		return -EINVAL;
	}
	/* The sockets reach every process: capture for root or the
	 * primary's user only. */
	r = hp_port_iface_allowed(dev, "iface", "capture on and send on",
				  iface);
	if (r == 0)
		r = hp_devargs_get_uint(dev->args, "qpairs", 1, AFP_MAX_QPAIRS,
					1, &qpairs, dev->err, dev->errlen);
	if (r == 0)
		r = hp_devargs_get_uint(dev->args, "framecnt", AFP_FRAMECNT_MIN,
					AFP_FRAMECNT_MAX, 0, &framecnt, dev->err,
					dev->errlen);
	if (r < 0)
		return r;
	sh->ifindex = strlen(iface) < IFNAMSIZ ? if_nametoindex(iface) : 0;
	if (sh->ifindex == 0) {
		snprintf(dev->err, dev->errlen, "no interface '%.32s' (see 'ip link')",
			 iface);
		return -ENODEV;
	}
	r = afp_iface_info(dev, iface, &mtu);
	if (r < 0)
		return r;
	/* The port layer keeps link_up as the kernel reports it. */
	dev->info->ifindex = (int32_t)sh->ifindex;
	/* The MTU sizes the frames; larger packets come by recvmsg. */
	afp_geometry(sh, mtu, framecnt, &req);
	sh->nb_qpairs = (uint16_t)qpairs;
	for (unsigned q = 0; q < qpairs; q++) {
		r = afp_open(dev, &req, &fds[q]);
		if (r < 0)
			return r;
	}
	if (qpairs > 1) {
		r = afp_fanout(dev, fds, (unsigned)qpairs);
		if (r < 0)
			return r;
	}
	dev->info->nb_rx_queues = dev->info->max_rx_queues = sh->nb_qpairs;
	dev->info->nb_tx_queues = dev->info->max_tx_queues = sh->nb_qpairs;
	HP_DEBUG(AFP_LOG, "%s: iface %s (index %u, mtu %u), %u queue pairs, rings of %u frames of %u bytes",
		 dev->name, iface, sh->ifindex, mtu, sh->nb_qpairs, sh->frame_nr,
		 sh->frame_size);
	return 0;
}

/* Unmaps the rings of the rx queues of fp (those mapped so far). */
static void afp_unmap(struct hp_port_fp *fp)
{
	for (unsigned q = 0; q < fp->nb_rxq; q++) {
		struct afp_queue *aq = fp->rxq[q];

		if (aq && aq->ring)
			munmap(aq->ring, aq->ring_size);
	}
}

static void afp_detach_local(struct hp_port_dev *dev, struct hp_port_fp *fp)
{
	(void)dev;
	afp_unmap(fp);
	free(fp->priv);
	fp->priv = NULL;
}

/* Sets up rx queue aq: its pool and this process's mapping of its ring. */
static int afp_rxq_init(struct hp_port_dev *dev, struct afp_shared *sh,
			struct afp_queue *aq)
{
	uint16_t q = aq->q.queue_id;
	struct hp_mempool *pool = dev->rxq_conf[q].pool ? dev->rxq_conf[q].pool :
							  dev->pool;
	unsigned room = pool ? hp_mempool_data_room(pool) : 0;
	void *ring;

	if (!pool) {
		snprintf(dev->err, dev->errlen, "rx queue %u: no pool to receive into", q);
		return -EINVAL;
	}
	if (room < HP_MBUF_HEADROOM + AFP_SEG_ROOM_MIN) {
		snprintf(dev->err, dev->errlen,
			 "rx queue %u: the pool's buffers hold less than %u bytes",
			 q, AFP_SEG_ROOM_MIN);
		return -EINVAL;
	}
	ring = mmap(NULL, sh->ring_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    aq->fd, 0);
	if (ring == MAP_FAILED) {
		snprintf(dev->err, dev->errlen, "rx queue %u: cannot map its ring (%zu bytes): %s",
			 q, sh->ring_size, strerror(errno));
		return -errno;
	}
	aq->ring = ring;
	aq->ring_size = sh->ring_size;
	aq->frame_size = sh->frame_size;
	aq->frame_nr = sh->frame_nr;
	aq->head = &sh->rx[q].head;
	aq->pool = pool;
	aq->seg_room = (uint16_t)(room - HP_MBUF_HEADROOM);
	return 0;
}

static int afp_attach_local(struct hp_port_dev *dev, struct hp_port_fp *fp)
{
	struct afp_shared *sh = dev->shared;
	struct afp_queue *qs;
	int r;

	if (dev->fds->nb != sh->nb_qpairs) {
		snprintf(dev->err, dev->errlen, "%u sockets here, %u expected",
			 dev->fds->nb, sh->nb_qpairs);
		return -EBADF;
	}
	/* The kernel spreads flows over every socket of the fanout group:
	 * an rx queue left out would lose its share unseen. */
	if (fp->nb_rxq != sh->nb_qpairs) {
		snprintf(dev->err, dev->errlen,
			 "traffic is spread over all %u queue pairs (qpairs=%u): configure %u rx queues",
			 sh->nb_qpairs, sh->nb_qpairs, sh->nb_qpairs);
		return -EINVAL;
	}
	r = hp_port_queues_alloc(dev, fp, sizeof(*qs));
	if (r < 0)
		return r;
	qs = fp->priv;
	for (unsigned i = 0; i < (unsigned)fp->nb_rxq + fp->nb_txq; i++) {
		qs[i].fd = dev->fds->fd[qs[i].q.queue_id];
		if (!qs[i].q.rx)
			continue;
		r = afp_rxq_init(dev, sh, &qs[i]);
		if (r < 0) {
			afp_detach_local(dev, fp);
			return r;
		}
	}
	fp->rx_burst = afp_rx_burst;
	fp->tx_burst = afp_tx_burst;
	return 0;
}

static const struct hp_port_driver afp_driver = {
	.name = "net_af_packet",
	.alias = "eth_af_packet",
	.keys = afp_keys,
	.shared_size = sizeof(struct afp_shared),
	.detachable = true,
	.probe = afp_probe,
	.attach_local = afp_attach_local,
	.detach_local = afp_detach_local,
};

HP_PORT_DRIVER_REGISTER(afp_driver)
