/* SPDX-License-Identifier: BSD-3-Clause */
/* net_af_packet bursts.
 *
 * rx: the ring is an array of frames; the kernel fills the frame at its
 * own head and sets TP_STATUS_USER, the poller reads from the position kept
 * in shared memory and hands each frame back with TP_STATUS_KERNEL. One
 * pass counts the ready frames and the buffers they need, one allocation
 * takes them all, then each packet is copied into its chain: from the
 * frame, or, for a packet larger than a frame (TP_STATUS_COPY), from the
 * socket's receive queue with one recvmsg straight into the chain. A VLAN
 * tag the kernel took out of the data (TP_STATUS_VLAN_VALID) is put back
 * after the Ethernet addresses. The virtio-net header in front of the
 * frame becomes m->offload. Short of buffers, the packets stay in the ring
 * for the next burst; when the ring was full the kernel dropped packets,
 * flags the next frames TP_STATUS_LOSING, and PACKET_STATISTICS says how
 * many: they are counted as rx drops.
 *
 * tx: one sendmmsg per burst (up to AFP_TX_BATCH packets per call), each
 * packet a virtio-net header, built from m->offload, and one iovec per
 * segment; the kernel copies, so sent buffers are freed at once. A packet
 * the kernel refuses for itself (too big without GSO, bad offload
 * metadata) is dropped and counted as an error, and so is the rest of the
 * burst when the interface is down or gone; when the socket or the device
 * queue is full the burst stops and the caller keeps the rest. */
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "af_packet_private.h"
#include "hp_mbuf.h"

/* Most segments of one packet, either way (an iovec array's worth). */
#define AFP_PKT_SEGS_MAX 1000
/* Packets per sendmmsg and iovecs they may use together. */
#define AFP_TX_BATCH 32
#define AFP_TX_IOV 1024
#define AFP_VLAN_LEN 4
/* Where a VLAN tag goes back: after the destination and source addresses. */
#define AFP_VLAN_AT 12

_Static_assert(sizeof(struct virtio_net_hdr) == AFP_VNET_HDR_LEN,
	       "the kernel's virtio-net header without num_buffers");
_Static_assert(AFP_SEG_ROOM_MIN >= AFP_VLAN_AT + AFP_VLAN_LEN,
	       "a VLAN tag goes back into the first segment");
_Static_assert(AFP_PKT_SEGS_MAX + 3 <= 1024 && AFP_PKT_SEGS_MAX <= AFP_RX_SEGS_MAX,
	       "one packet's iovecs fit in UIO_MAXIOV");

static inline struct tpacket2_hdr *afp_frame(const struct afp_queue *aq,
					     uint32_t i)
{
	return (struct tpacket2_hdr *)(aq->ring + (size_t)i * aq->frame_size);
}

/* Bytes the packet in frame h (status st) takes in buffers, its tag back
 * in; 0 when it cannot be received whole (the kernel had no room for the
 * full copy). */
static inline uint32_t afp_rx_len(const struct tpacket2_hdr *h, uint32_t st)
{
	uint32_t len = h->tp_snaplen;

	if (st & TP_STATUS_COPY)
		len = h->tp_len;
	else if (HP_UNLIKELY(len < h->tp_len))
		return 0;
	if ((st & TP_STATUS_VLAN_VALID) && len >= AFP_VLAN_AT)
		len += AFP_VLAN_LEN;
	return len;
}

/* Buffers for len bytes; 0 for a packet that takes too many. */
static inline unsigned afp_rx_segs(const struct afp_queue *aq, uint32_t len)
{
	unsigned k = (len + aq->seg_room - 1) / aq->seg_room;

	return k <= AFP_PKT_SEGS_MAX ? k : 0;
}

/* A position in the buffers of a chain being filled, seg_room bytes each. */
struct afp_fill {
	struct hp_mbuf **segs;
	unsigned seg;
	uint32_t off;
	uint32_t room;
};

/* Copies len bytes from src at the fill position, moving it on. */
static inline void afp_fill_copy(struct afp_fill *f, const void *src,
				 uint32_t len)
{
	const uint8_t *s = src;

	while (len) {
		uint32_t n = f->room - f->off;

		if (n == 0) {
			f->seg++;
			f->off = 0;
			continue;
		}
		n = n < len ? n : len;
		memcpy((uint8_t *)hp_mbuf_data(f->segs[f->seg]) + f->off, s, n);
		f->off += n;
		s += n;
		len -= n;
	}
}

/* Describes the next len bytes at the fill position as iovecs, moving it
 * on; returns how many iovecs it wrote. */
static unsigned afp_fill_iov(struct afp_fill *f, uint32_t len,
			     struct iovec *iov)
{
	unsigned n = 0;

	while (len) {
		uint32_t k = f->room - f->off;

		if (k == 0) {
			f->seg++;
			f->off = 0;
			continue;
		}
		k = k < len ? k : len;
		iov[n].iov_base = (uint8_t *)hp_mbuf_data(f->segs[f->seg]) + f->off;
		iov[n++].iov_len = k;
		f->off += k;
		len -= k;
	}
	return n;
}

/* Links k buffers into a packet of len bytes. */
static inline void afp_chain(struct hp_mbuf **segs, unsigned k, uint32_t len,
			     uint32_t room)
{
	for (unsigned i = 0; i + 1 < k; i++) {
		segs[i]->data_len = (uint16_t)room;
		segs[i]->next = segs[i + 1];
	}
	segs[k - 1]->data_len = (uint16_t)(len - (k - 1) * room);
	segs[0]->nb_segs = (uint16_t)k;
	segs[0]->pkt_len = len;
}

/* Reads the whole of a packet larger than its frame from the socket's
 * receive queue into the buffers at f; len: its bytes, tag excluded.
 * Returns 0, or -1 when it did not come whole. */
static __attribute__((noinline)) int
afp_rx_copy(const struct afp_queue *aq, struct afp_fill *f, uint32_t len,
	    bool vlan)
{
	struct iovec iov[AFP_PKT_SEGS_MAX + 3];
	struct virtio_net_hdr vh;
	struct msghdr msg = { .msg_iov = iov };
	ssize_t r;
	unsigned n = 1;

	/* recvmsg writes the virtio-net header first; the frame's copy of
	 * it is the one used. */
	iov[0].iov_base = &vh;
	iov[0].iov_len = sizeof(vh);
	if (vlan) {
		n += afp_fill_iov(f, AFP_VLAN_AT, iov + n);
		f->off += AFP_VLAN_LEN; /* the tag's place, written later */
		len -= AFP_VLAN_AT;
	}
	n += afp_fill_iov(f, len, iov + n);
	msg.msg_iovlen = n;
	for (int tries = 0; tries < 2; tries++) {
		r = recvmsg(aq->fd, &msg, MSG_DONTWAIT);
		/* A pending socket error (the interface went down once) is
		 * reported first, ahead of the queued packet. */
		if (r >= 0 || errno == EAGAIN)
			break;
	}
	if (r < 0 || (msg.msg_flags & MSG_TRUNC) ||
	    (size_t)r != sizeof(vh) + len + (vlan ? AFP_VLAN_AT : 0))
		return -1;
	return 0;
}

/* Drops the whole copy of a packet larger than its frame that is not
 * received, so the next one's copy is next in the queue. */
static __attribute__((noinline)) void afp_rx_discard(const struct afp_queue *aq)
{
	char b;

	for (int tries = 0; tries < 2; tries++)
		if (recv(aq->fd, &b, 1, MSG_DONTWAIT | MSG_TRUNC) >= 0 ||
		    errno == EAGAIN)
			break;
}

/* Fills the chain segs (k buffers) with the packet in frame h; 0, or -1
 * for a packet that did not come whole (the buffers stay the caller's). */
static int afp_rx_one(struct afp_queue *aq, const struct tpacket2_hdr *h,
		      uint32_t st, uint32_t len, struct hp_mbuf **segs,
		      unsigned k)
{
	const uint8_t *data = (const uint8_t *)h + h->tp_mac;
	const struct virtio_net_hdr *vh = (const void *)(data - AFP_VNET_HDR_LEN);
	struct afp_fill f = { .segs = segs, .room = aq->seg_room };
	bool vlan = (st & TP_STATUS_VLAN_VALID) && len >= AFP_VLAN_AT + AFP_VLAN_LEN;
	uint32_t plen = vlan ? len - AFP_VLAN_LEN : len;
	struct hp_mbuf *m = segs[0];

	if (HP_UNLIKELY(st & TP_STATUS_COPY)) {
		if (afp_rx_copy(aq, &f, plen, vlan) < 0)
			return -1;
	} else if (vlan) {
		afp_fill_copy(&f, data, AFP_VLAN_AT);
		f.off += AFP_VLAN_LEN;
		afp_fill_copy(&f, data + AFP_VLAN_AT, plen - AFP_VLAN_AT);
	} else {
		afp_fill_copy(&f, data, plen);
	}
	if (vlan) {
		uint16_t tpid = (st & TP_STATUS_VLAN_TPID_VALID) && h->tp_vlan_tpid ?
					h->tp_vlan_tpid : 0x8100;
		uint8_t *tag = (uint8_t *)hp_mbuf_data(m) + AFP_VLAN_AT;

		tag[0] = (uint8_t)(tpid >> 8);
		tag[1] = (uint8_t)tpid;
		tag[2] = (uint8_t)(h->tp_vlan_tci >> 8);
		tag[3] = (uint8_t)h->tp_vlan_tci;
	}
	afp_chain(segs, k, len, aq->seg_room);
	m->port = aq->q.port_id;
	m->queue = aq->q.queue_id;
	if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE ||
	    (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		m->ol_flags |= HP_MBUF_F_OFFLOAD;
		m->offload.flags = vh->flags;
		m->offload.gso_type = vh->gso_type;
		m->offload.gso_size = vh->gso_size;
		/* The kernel counts from the frame as it gave it, tag out. */
		m->offload.csum_start = (uint16_t)(vh->csum_start +
						   (vlan ? AFP_VLAN_LEN : 0));
		m->offload.csum_offset = vh->csum_offset;
	}
	return 0;
}

/* Adds the packets the kernel dropped since the last look to the drops. */
static __attribute__((noinline)) void afp_rx_count_lost(struct afp_queue *aq)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	/* Reading clears the kernel's counters: each drop counts once. */
	if (getsockopt(aq->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0 &&
	    st.tp_drops)
		hp_port_qstats_add(&aq->q.stats->drops, st.tp_drops);
}

uint16_t afp_rx_burst(void *queue, struct hp_mbuf **pkts, uint16_t nb_pkts)
{
	struct afp_queue *aq = queue;
	struct hp_mbuf *segs[AFP_RX_SEGS_MAX];
	uint32_t lens[AFP_RX_BURST_MAX];
	uint16_t nsegs[AFP_RX_BURST_MAX];
	uint32_t head = __atomic_load_n(aq->head, __ATOMIC_RELAXED);
	unsigned n = 0, need = 0, used = 0, got = 0, lost = 0, bad = 0;
	uint64_t bytes = 0;
	bool losing = false;

	if (nb_pkts > AFP_RX_BURST_MAX)
		nb_pkts = AFP_RX_BURST_MAX;
	/* Which frames are ready, and the buffers their packets take. */
	for (uint32_t i = head; n < nb_pkts; n++) {
		const struct tpacket2_hdr *h = afp_frame(aq, i);
		uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);

		if (!(st & TP_STATUS_USER))
			break;
		lens[n] = afp_rx_len(h, st);
		nsegs[n] = (uint16_t)(lens[n] ? afp_rx_segs(aq, lens[n]) : 0);
		if (need + nsegs[n] > AFP_RX_SEGS_MAX)
			break;
		need += nsegs[n];
		i = i + 1 == aq->frame_nr ? 0 : i + 1;
	}
	if (n == 0)
		return 0;
	/* Short of buffers: take fewer packets; the rest wait in the ring. */
	while (need && hp_mbuf_alloc_bulk(aq->pool, segs, need) < 0) {
		n /= 2;
		need = 0;
		for (unsigned i = 0; i < n; i++)
			need += nsegs[i];
	}
	for (unsigned i = 0; i < n; i++) {
		struct tpacket2_hdr *h = afp_frame(aq, head);
		uint32_t st = h->tp_status;

		losing |= (st & TP_STATUS_LOSING) != 0;
		if (HP_UNLIKELY(nsegs[i] == 0)) {
			/* Cut short by the kernel, or too many buffers. */
			lost += lens[i] == 0;
			bad += lens[i] != 0;
			if (st & TP_STATUS_COPY)
				afp_rx_discard(aq);
		} else if (HP_LIKELY(afp_rx_one(aq, h, st, lens[i], segs + used,
						nsegs[i]) == 0)) {
			pkts[got++] = segs[used];
			bytes += lens[i];
		} else {
			/* Unlinked buffers: free each on its own. */
			hp_mbuf_free_bulk(segs + used, nsegs[i]);
			bad++;
		}
		used += nsegs[i];
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		head = head + 1 == aq->frame_nr ? 0 : head + 1;
	}
	__atomic_store_n(aq->head, head, __ATOMIC_RELAXED);
	if (got) {
		hp_port_qstats_add(&aq->q.stats->packets, got);
		hp_port_qstats_add(&aq->q.stats->bytes, bytes);
	}
	if (HP_UNLIKELY(lost))
		hp_port_qstats_add(&aq->q.stats->drops, lost);
	if (HP_UNLIKELY(bad))
		hp_port_qstats_add(&aq->q.stats->errors, bad);
	if (HP_UNLIKELY(losing))
		afp_rx_count_lost(aq);
	return (uint16_t)got;
}

/* The virtio-net header that hands m's offload metadata to the kernel. */
static inline void afp_tx_vnet(const struct hp_mbuf *m,
			       struct virtio_net_hdr *vh)
{
	const struct hp_mbuf_offload *o = &m->offload;
	uint32_t hdr_len = 0;
	uint8_t doff, gso;

	memset(vh, 0, sizeof(*vh));
	if (!(m->ol_flags & HP_MBUF_F_OFFLOAD))
		return;
	/* DATA_VALID is a receive-side statement: not passed on. */
	vh->flags = o->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->gso_type = o->gso_type;
	vh->gso_size = o->gso_size;
	if (vh->flags) {
		vh->csum_start = o->csum_start;
		vh->csum_offset = o->csum_offset;
		hdr_len = (uint32_t)o->csum_start + o->csum_offset + 2;
	}
	/* With GSO, hdr_len is what the kernel copies into the head of the
	 * packet: every header, up to the end of the TCP or UDP one. */
	gso = o->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	if (gso != VIRTIO_NET_HDR_GSO_NONE && vh->flags) {
		hdr_len = (uint32_t)o->csum_start + 8; /* UDP */
		if ((gso == VIRTIO_NET_HDR_GSO_TCPV4 || gso == VIRTIO_NET_HDR_GSO_TCPV6) &&
		    hp_mbuf_read(m, (uint32_t)o->csum_start + 12, &doff, 1) == 1 &&
		    (doff >> 4) >= 5)
			hdr_len = (uint32_t)o->csum_start + (doff >> 4) * 4u;
	}
	vh->hdr_len = (uint16_t)(hdr_len < m->pkt_len ? hdr_len : m->pkt_len);
}

/* Fills one message for m: its header and one iovec per segment; returns
 * the iovecs used, or 0 when m has more segments than room allows. */
static inline unsigned afp_tx_msg(struct hp_mbuf *m, struct msghdr *msg,
				  struct virtio_net_hdr *vh, struct iovec *iov,
				  unsigned room)
{
	unsigned n = 1;

	if (room < 2)
		return 0; /* not even the header and one segment */
	afp_tx_vnet(m, vh);
	iov[0].iov_base = vh;
	iov[0].iov_len = sizeof(*vh);
	for (struct hp_mbuf *s = m; s; s = s->next) {
		if (!s->data_len)
			continue;
		if (n >= room)
			return 0;
		iov[n].iov_base = hp_mbuf_data(s);
		iov[n++].iov_len = s->data_len;
	}
	memset(msg, 0, sizeof(*msg));
	msg->msg_iov = iov;
	msg->msg_iovlen = n;
	return n;
}

/* Sends what fits in one sendmmsg of pkts[0..n), n at most AFP_TX_BATCH;
 * returns how many it took (sent, or dropped as errors: *ret_bad of them),
 * and sets *ret_full when it stopped because the socket or the device
 * queue was full. */
static unsigned afp_tx_batch(struct afp_queue *aq, struct hp_mbuf **pkts,
			     unsigned n, uint64_t *ret_bytes, unsigned *ret_bad,
			     bool *ret_full)
{
	struct mmsghdr msgs[AFP_TX_BATCH];
	struct virtio_net_hdr vh[AFP_TX_BATCH];
	struct iovec iov[AFP_TX_IOV];
	uint32_t sent_of[AFP_TX_BATCH];	/* message -> packet */
	unsigned cnt = 0, niov = 0, i = 0, bad = 0, p;
	uint64_t bytes = 0;

	for (p = 0; p < n; p++) {
		unsigned k = AFP_TX_IOV - niov;

		if (k < 2)
			break; /* no room left in this batch's iovecs */
		k = afp_tx_msg(pkts[p], &msgs[cnt].msg_hdr, &vh[cnt], iov + niov,
			       k < AFP_PKT_SEGS_MAX + 1 ? k : AFP_PKT_SEGS_MAX + 1);
		if (k == 0) {
			if (niov + AFP_PKT_SEGS_MAX + 1 <= AFP_TX_IOV) {
				/* Too many segments for anyone: dropped below. */
				sent_of[cnt] = p;
				msgs[cnt].msg_hdr = (struct msghdr){ 0 };
				cnt++;
				continue;
			}
			break; /* for the next batch */
		}
		sent_of[cnt++] = p;
		niov += k;
	}
	while (i < cnt) {
		int r = 0;

		if (msgs[i].msg_hdr.msg_iovlen)
			r = sendmmsg(aq->fd, msgs + i, cnt - i, MSG_DONTWAIT);
		if (r > 0) {
			for (int j = 0; j < r; j++)
				bytes += pkts[sent_of[i + j]]->pkt_len;
			i += (unsigned)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
			*ret_full = true; /* the caller keeps the rest */
			break;
		}
		if (r < 0 && (errno == ENETDOWN || errno == ENXIO || errno == ENODEV)) {
			/* The interface is down or gone: a lost link. */
			bad += cnt - i;
			i = cnt;
			break;
		}
		/* This one packet is refused (or has no iovecs): dropped. */
		bad++;
		i++;
	}
	*ret_bytes += bytes;
	*ret_bad += bad;
	/* Messages map to packets in order; an unsent message's packet and
	 * those after it stay the caller's. */
	return i < cnt ? sent_of[i] : p;
}

uint16_t afp_tx_burst(void *queue, struct hp_mbuf **pkts, uint16_t nb_pkts)
{
	struct afp_queue *aq = queue;
	unsigned done = 0, bad = 0;
	uint64_t bytes = 0;
	bool full = false;

	while (done < nb_pkts && !full) {
		unsigned n = nb_pkts - done < AFP_TX_BATCH ? nb_pkts - done :
							     AFP_TX_BATCH;

		done += afp_tx_batch(aq, pkts + done, n, &bytes, &bad, &full);
	}
	hp_mbuf_free_bulk(pkts, done);
	if (done > bad) {
		hp_port_qstats_add(&aq->q.stats->packets, done - bad);
		hp_port_qstats_add(&aq->q.stats->bytes, bytes);
	}
	if (bad)
		hp_port_qstats_add(&aq->q.stats->errors, bad);
	return (uint16_t)done;
}
