/* SPDX-License-Identifier: BSD-3-Clause */
/* net_tap bursts: frames from a queue fd into buffer chains, and chains out
 * to it, each frame behind its virtio-net header.
 *
 * Receive reads one frame per readv() into [header, first buffer, spill]:
 * most frames fit the first buffer and are not copied; the rest of a longer
 * one (a GSO frame of up to 64 KiB) is copied from the spill into more
 * buffers of the queue's pool, chained. A frame the kernel had to cut
 * (longer than the buffers offered) is dropped and counted as an error; a
 * frame whose chain finds no buffers is dropped and counted as a drop.
 * Without a buffer for the next frame the burst ends: the frame waits in
 * the kernel's queue.
 *
 * Transmit writes each packet with one writev() of its header (from
 * m->offload, or zeros) and its segments. The kernel takes a frame whole or
 * not at all; EAGAIN ends the burst and leaves the rest to the caller. A
 * frame the kernel refuses (a bad offload header, say) is dropped and
 * counted as an error. */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <linux/virtio_net.h>

#include "hp_mbuf.h"
#include "tap_private.h"

_Static_assert(sizeof(struct virtio_net_hdr) == TAP_VNET_HDR_LEN,
	       "the header the probe announces with TUNSETVNETHDRSZ");
_Static_assert(HP_MBUF_CSUM_PARTIAL == VIRTIO_NET_HDR_F_NEEDS_CSUM &&
		       HP_MBUF_CSUM_VALID == VIRTIO_NET_HDR_F_DATA_VALID &&
		       HP_MBUF_GSO_TCPV4 == VIRTIO_NET_HDR_GSO_TCPV4 &&
		       HP_MBUF_GSO_UDP == VIRTIO_NET_HDR_GSO_UDP &&
		       HP_MBUF_GSO_TCPV6 == VIRTIO_NET_HDR_GSO_TCPV6 &&
		       HP_MBUF_GSO_ECN == VIRTIO_NET_HDR_GSO_ECN,
	       "m->offload holds virtio-net header values as they are");

static void tap_offload_from_hdr(struct hp_mbuf *m,
				 const struct virtio_net_hdr *h)
{
	if (!h->flags && h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return;
	m->ol_flags |= HP_MBUF_F_OFFLOAD;
	m->offload.flags = h->flags;
	m->offload.gso_type = h->gso_type;
	m->offload.gso_size = le16toh(h->gso_size);
	m->offload.csum_start = le16toh(h->csum_start);
	m->offload.csum_offset = le16toh(h->csum_offset);
}

static void tap_hdr_from_offload(struct virtio_net_hdr *h,
				 const struct hp_mbuf *m)
{
	memset(h, 0, sizeof(*h));
	if (!(m->ol_flags & HP_MBUF_F_OFFLOAD))
		return;
	/* hdr_len stays 0: a hint, which the kernel raises to cover the
	 * checksum field itself. */
	h->flags = m->offload.flags;
	h->gso_type = m->offload.gso_type;
	h->gso_size = htole16(m->offload.gso_size);
	h->csum_start = htole16(m->offload.csum_start);
	h->csum_offset = htole16(m->offload.csum_offset);
}

/* Appends to m the len bytes of its frame that went to the spill, in
 * buffers of the queue's pool: 0, or -ENOBUFS (the caller frees m with
 * whatever was chained). */
static int tap_rx_chain(struct tap_queue *tq, struct hp_mbuf *m, uint32_t len)
{
	const uint8_t *src = tq->spill;
	struct hp_mbuf *last = m, *seg;

	while (len) {
		seg = hp_mbuf_alloc(tq->pool);
		if (!seg)
			return -ENOBUFS;
		seg->data_off = 0;
		seg->data_len = (uint16_t)(len < seg->buf_len ? len : seg->buf_len);
		memcpy(hp_mbuf_data(seg), src, seg->data_len);
		src += seg->data_len;
		len -= seg->data_len;
		last->next = seg;
		last = seg;
		m->nb_segs++;
	}
	return 0;
}

uint16_t tap_rx_burst(void *queue, struct hp_mbuf **pkts, uint16_t nb_pkts)
{
	struct tap_queue *tq = queue;
	uint64_t bytes = 0, errors = 0, drops = 0;
	struct virtio_net_hdr h;
	struct hp_mbuf *m = NULL;
	uint16_t n = 0;

	while (n < nb_pkts) {
		if (!m && !(m = hp_mbuf_alloc(tq->pool)))
			break;
		uint32_t room = (uint32_t)m->buf_len - m->data_off;
		struct iovec iov[3] = {
			{ .iov_base = &h, .iov_len = sizeof(h) },
			{ .iov_base = hp_mbuf_data(m), .iov_len = room },
			{ .iov_base = tq->spill, .iov_len = TAP_FRAME_MAX },
		};
		ssize_t len = readv(tq->fd, iov, 3);

		if (len < 0) {
			if (errno != EAGAIN && errno != EINTR)
				errors++;
			break;
		}
		/* The kernel says how long the frame was, even when it had
		 * to cut it to fit. */
		if ((size_t)len <= sizeof(h) ||
		    (size_t)len > sizeof(h) + room + TAP_FRAME_MAX) {
			errors++;
			continue; /* m is still clean: next frame */
		}
		uint32_t flen = (uint32_t)((size_t)len - sizeof(h));
		m->pkt_len = flen;
		m->data_len = (uint16_t)(flen < room ? flen : room);
		if (flen > room && tap_rx_chain(tq, m, flen - room) < 0) {
			hp_mbuf_free(m);
			m = NULL;
			drops++;
			continue;
		}
		m->port = tq->q.port_id;
		m->queue = tq->q.queue_id;
		tap_offload_from_hdr(m, &h);
		pkts[n++] = m;
		bytes += flen;
		m = NULL;
	}
	hp_mbuf_free(m);
	if (n) {
		hp_port_qstats_add(&tq->q.stats->packets, n);
		hp_port_qstats_add(&tq->q.stats->bytes, bytes);
	}
	if (errors)
		hp_port_qstats_add(&tq->q.stats->errors, errors);
	if (drops)
		hp_port_qstats_add(&tq->q.stats->drops, drops);
	return n;
}

uint16_t tap_tx_burst(void *queue, struct hp_mbuf **pkts, uint16_t nb_pkts)
{
	struct tap_queue *tq = queue;
	struct iovec iov[1 + TAP_TX_SEGS_MAX];
	uint64_t bytes = 0, sent = 0, errors = 0;
	struct virtio_net_hdr h;
	uint16_t i;

	iov[0] = (struct iovec){ .iov_base = &h, .iov_len = sizeof(h) };
	for (i = 0; i < nb_pkts; i++) {
		const struct hp_mbuf *m = pkts[i], *s = m;
		int nv = 1;

		for (; s && nv <= TAP_TX_SEGS_MAX; s = s->next)
			iov[nv++] = (struct iovec){ .iov_base = hp_mbuf_data(s),
						    .iov_len = s->data_len };
		if (s) {
			errors++; /* too many segments */
			continue;
		}
		tap_hdr_from_offload(&h, m);
		if (writev(tq->fd, iov, nv) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			errors++;
			continue;
		}
		sent++;
		bytes += m->pkt_len;
	}
	/* What went out and what was dropped; the caller keeps the rest. */
	hp_mbuf_free_bulk(pkts, i);
	if (sent) {
		hp_port_qstats_add(&tq->q.stats->packets, sent);
		hp_port_qstats_add(&tq->q.stats->bytes, bytes);
	}
	if (errors)
		hp_port_qstats_add(&tq->q.stats->errors, errors);
	return i;
}
