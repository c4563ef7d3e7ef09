/* SPDX-License-Identifier: BSD-3-Clause */
/* The forwarding modes, their names, and one burst of one stream in each
 * (io, mac, rxonly, txonly), run by the forwarding threads between
 * quiescent states.
 *
 * Each function takes the stream's port ids, never a port's fast-path
 * entry: hp_port_rx_burst/hp_port_tx_burst look the entry up on every
 * call, and return 0 for a port that is stopped or leaving. Whatever a
 * transmit queue does not take is freed here and counted as dropped. */
#include <errno.h>
#include <string.h>

#include "fwd_private.h"

/* Bytes of the headers txonly writes. */
#define FWD_ETH_LEN 14
#define FWD_IP_LEN 20

static void fwd_send(struct fwd_stream *s, struct hp_mbuf **pkts, uint16_t n)
{
	uint16_t sent = hp_port_tx_burst(s->tx_port, s->tx_queue, pkts, n);

	s->tx += sent;
	if (HP_UNLIKELY(sent < n)) {
		hp_mbuf_free_bulk(pkts + sent, n - sent);
		s->drops += n - sent;
	}
}

static uint16_t fwd_receive(struct fwd_thread *t, struct fwd_stream *s,
			    struct hp_mbuf **pkts)
{
	uint16_t n = hp_port_rx_burst(s->rx_port, s->rx_queue, pkts, t->burst);

	fwd_note_pools(t, pkts, n);
	s->rx += n;
	return n;
}

static void fwd_io(struct fwd_thread *t, struct fwd_stream *s,
		   struct hp_mbuf **pkts)
{
	uint16_t n = fwd_receive(t, s, pkts);

	if (n > 0)
		fwd_send(s, pkts, n);
}

static void fwd_mac(struct fwd_thread *t, struct fwd_stream *s,
		    struct hp_mbuf **pkts)
{
	uint16_t n = fwd_receive(t, s, pkts);

	if (n == 0)
		return;
	for (uint16_t i = 0; i < n; i++) {
		uint8_t *eth = hp_mbuf_data(pkts[i]);

		/* a runt without room for both addresses goes out as is */
		if (HP_UNLIKELY(pkts[i]->data_len < 12))
			continue;
		memcpy(eth, s->dst_mac, 6);
		memcpy(eth + 6, s->src_mac, 6);
	}
	fwd_send(s, pkts, n);
}

static void fwd_rxonly(struct fwd_thread *t, struct fwd_stream *s,
		       struct hp_mbuf **pkts)
{
	uint16_t n = fwd_receive(t, s, pkts);

	if (n > 0)
		hp_mbuf_free_bulk(pkts, n);
}

static void fwd_txonly(struct fwd_thread *t, struct fwd_stream *s,
		       struct hp_mbuf **pkts)
{
	uint16_t n = t->burst;

	/* an empty pool: try again next time, as testpmd does */
	if (hp_mbuf_alloc_bulk(t->pool, pkts, n) < 0)
		return;
	/* every buffer of a pool has the same room */
	if (HP_UNLIKELY(pkts[0]->buf_len < pkts[0]->data_off +
						   HP_FWD_TXONLY_LEN)) {
		hp_mbuf_free_bulk(pkts, n);
		return;
	}
	for (uint16_t i = 0; i < n; i++) {
		memcpy(hp_mbuf_data(pkts[i]), s->frame, HP_FWD_TXONLY_LEN);
		pkts[i]->data_len = HP_FWD_TXONLY_LEN;
		pkts[i]->pkt_len = HP_FWD_TXONLY_LEN;
	}
	fwd_send(s, pkts, n);
}

static const char *const fwd_mode_names[HP_FWD_NB_MODES] = {
	[HP_FWD_IO] = "io",
	[HP_FWD_MAC] = "mac",
	[HP_FWD_RXONLY] = "rxonly",
	[HP_FWD_TXONLY] = "txonly",
};

const char *hp_fwd_mode_name(enum hp_fwd_mode mode)
{
	return (unsigned)mode < HP_FWD_NB_MODES ? fwd_mode_names[mode] : NULL;
}

int hp_fwd_mode_parse(const char *name)
{
	for (int m = 0; name && m < HP_FWD_NB_MODES; m++)
		if (!strcmp(name, fwd_mode_names[m]))
			return m;
	return -EINVAL;
}

const fwd_mode_fn fwd_mode_fns[HP_FWD_NB_MODES] = {
	[HP_FWD_IO] = fwd_io,
	[HP_FWD_MAC] = fwd_mac,
	[HP_FWD_RXONLY] = fwd_rxonly,
	[HP_FWD_TXONLY] = fwd_txonly,
};

static void fwd_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The IPv4 header checksum of hdr (its checksum field 0). */
static uint16_t fwd_ip_csum(const uint8_t *hdr)
{
	uint32_t sum = 0;

	for (unsigned i = 0; i < FWD_IP_LEN; i += 2)
		sum += (uint32_t)(hdr[i] << 8 | hdr[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* testpmd's txonly packet: Ethernet, IPv4 198.18.0.1 -> 198.18.0.2 (TTL
 * 64), UDP 9 -> 9 without checksum, zero payload. */
static void fwd_txonly_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src)
{
	uint8_t *ip = f + FWD_ETH_LEN, *udp = ip + FWD_IP_LEN;

	memset(f, 0, HP_FWD_TXONLY_LEN);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	fwd_put16(f + 12, 0x0800);
	ip[0] = 0x45;
	fwd_put16(ip + 2, HP_FWD_TXONLY_LEN - FWD_ETH_LEN);
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, (uint8_t[]){ 198, 18, 0, 1 }, 4);
	memcpy(ip + 16, (uint8_t[]){ 198, 18, 0, 2 }, 4);
	fwd_put16(ip + 10, fwd_ip_csum(ip));
	fwd_put16(udp, 9);
	fwd_put16(udp + 2, 9);
	fwd_put16(udp + 4, HP_FWD_TXONLY_LEN - FWD_ETH_LEN - FWD_IP_LEN);
}

void fwd_stream_prepare(struct fwd_stream *s, enum hp_fwd_mode mode,
			const uint8_t tx_mac[6])
{
	/* testpmd's default peer address of port n: 02:00:00:00:00:n */
	static const uint8_t peer[6] = { 0x02, 0, 0, 0, 0, 0 };

	memcpy(s->src_mac, tx_mac, 6);
	memcpy(s->dst_mac, peer, 6);
	s->dst_mac[5] = (uint8_t)s->tx_port;
	if (mode == HP_FWD_TXONLY)
		fwd_txonly_frame(s->frame, s->dst_mac, s->src_mac);
}
