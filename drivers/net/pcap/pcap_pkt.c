/* SPDX-License-Identifier: BSD-3-Clause */
/* net_pcap: packet bytes into mbufs (chains when they do not fit one
 * buffer) and mbufs into linear bytes, with a partial checksum finished. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pcap_private.h"

int pcap_pkt_to_mbuf(struct pcap_queue *pq, struct hp_mbuf *m,
		     const uint8_t *data, uint32_t len)
{
	uint32_t room = (uint32_t)(m->buf_len - m->data_off);
	struct hp_mbuf *seg = m;

	m->pkt_len = len;
	m->port = pq->q.port_id;
	m->queue = pq->q.queue_id;
	if (HP_LIKELY(len <= room)) {
		memcpy(hp_mbuf_data(m), data, len);
		m->data_len = (uint16_t)len;
		return 0;
	}
	/* Longer than one buffer: a chain of as many as it takes. */
	for (;;) {
		uint32_t k = len < room ? len : room;

		memcpy(hp_mbuf_data(seg), data, k);
		seg->data_len = (uint16_t)k;
		data += k;
		len -= k;
		if (!len)
			return 0;
		seg->next = hp_mbuf_alloc(pq->pool);
		if (!seg->next) {
			/* The caller frees m, with the segments so far. */
			return -ENOBUFS;
		}
		seg = seg->next;
		m->nb_segs++;
		room = (uint32_t)(seg->buf_len - seg->data_off);
	}
}

bool pcap_pkt_needs_copy(const struct hp_mbuf *m)
{
	return ((m->ol_flags & HP_MBUF_F_OFFLOAD) &&
		(m->offload.flags & HP_MBUF_CSUM_PARTIAL)) ||
	       m->nb_segs > PCAP_TX_SEGS_MAX;
}

/* The ones' complement sum of len bytes, folded to 16 bits. */
static uint16_t pcap_csum(const uint8_t *p, uint32_t len)
{
	uint64_t sum = 0;

	for (; len >= 2; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Finishes the partial checksum of a packet of len bytes at buf, as the
 * kernel or a NIC would: the field holds the pseudo-header sum; the sum
 * from csum_start to the end goes there, complemented (0 sent as 0xffff,
 * which UDP needs and TCP accepts). Offsets outside the packet: left as
 * is. */
static void pcap_csum_finish(uint8_t *buf, uint32_t len,
			     const struct hp_mbuf_offload *o)
{
	uint32_t at = (uint32_t)o->csum_start + o->csum_offset;
	uint16_t c;

	if (o->csum_start >= len || at + 2 > len)
		return;
	c = (uint16_t)~pcap_csum(buf + o->csum_start, len - o->csum_start);
	if (c == 0)
		c = 0xffff;
	buf[at] = (uint8_t)(c >> 8);
	buf[at + 1] = (uint8_t)c;
}

const uint8_t *pcap_pkt_linear(struct pcap_queue *pq, const struct hp_mbuf *m)
{
	if (pq->lin_size < m->pkt_len) {
		size_t size = HP_ALIGN_UP((size_t)m->pkt_len, 4096);
		uint8_t *b = realloc(pq->lin, size);

		if (!b)
			return NULL;
		pq->lin = b;
		pq->lin_size = size;
	}
	if (hp_mbuf_read(m, 0, pq->lin, m->pkt_len) != m->pkt_len)
		return NULL;
	if ((m->ol_flags & HP_MBUF_F_OFFLOAD) &&
	    (m->offload.flags & HP_MBUF_CSUM_PARTIAL))
		pcap_csum_finish(pq->lin, m->pkt_len, &m->offload);
	return pq->lin;
}
