/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/fwd internals: streams, forwarding threads and the mode functions. */
#ifndef FWD_PRIVATE_H
#define FWD_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>

#include "hp_fwd.h"
#include "hp_mbuf.h"
#include "hp_port.h"

#define FWD_LOG "fwd"
/* Pools whose per-thread cache one thread remembers to release. */
#define FWD_POOLS_MAX 8

/* One stream: receive from (rx_port, rx_queue), transmit to (tx_port,
 * tx_queue). In the shared table (fwd.c) the counters are 0; each thread
 * works on copies of its share and counts in them. */
struct fwd_stream {
	uint16_t rx_port;
	uint16_t rx_queue;
	uint16_t tx_port;
	uint16_t tx_queue;
	uint8_t src_mac[6];	/* the transmit port's MAC (mac, txonly) */
	uint8_t dst_mac[6];	/* 02:00:00:00:00:<tx_port> (mac, txonly) */
	uint64_t rx;		/* packets received */
	uint64_t tx;		/* packets the transmit queue took */
	uint64_t drops;		/* packets freed because it did not */
	uint8_t frame[HP_FWD_TXONLY_LEN]; /* txonly's template */
};

/* One forwarding thread. Set up by hp_fwd_start before the thread runs;
 * then only the thread touches it, until hp_fwd_stop has joined it. */
struct fwd_thread {
	pthread_t tid;
	unsigned idx;			/* takes streams idx, idx + n, ... */
	int cpu;			/* pinned to it; -1: not pinned */
	bool created;
	enum hp_fwd_mode mode;
	uint16_t burst;
	struct hp_mempool *pool;	/* txonly allocates from it */
	uint64_t version;		/* of the table its streams come from */
	struct fwd_stream *streams;	/* its share, with counters */
	unsigned nb_streams;
	struct hp_fwd_port_stats *acc;	/* HP_MAX_PORTS: streams gone */
	struct hp_mempool *last_pool;	/* the pool of the last buffer seen */
	struct hp_mempool *pools[FWD_POOLS_MAX]; /* caches to release */
	unsigned nb_pools;
};

/* Runs one burst of stream s; pkts holds HP_FWD_BURST_MAX pointers. */
typedef void (*fwd_mode_fn)(struct fwd_thread *t, struct fwd_stream *s,
			    struct hp_mbuf **pkts);

/* Whether bit n of bits is set. */
static inline bool fwd_bit(const uint64_t *bits, unsigned n)
{
	return bits[n / 64] >> (n % 64) & 1;
}

static inline void fwd_bit_set(uint64_t *bits, unsigned n)
{
	bits[n / 64] |= UINT64_C(1) << (n % 64);
}

/* fwd_list.c */

/* Writes the numbers set in bits[0..limit) as "0-2,5" to buf (len bytes,
 * at least 4), cut with "..." when they do not fit. */
void fwd_list_format(const uint64_t *bits, unsigned limit, char *buf,
		     size_t len);

/* fwd_modes.c */

/* The burst function of each mode. */
extern const fwd_mode_fn fwd_mode_fns[HP_FWD_NB_MODES];

/* Fills the MACs of s for tx port mac and, for txonly, its frame. */
void fwd_stream_prepare(struct fwd_stream *s, enum hp_fwd_mode mode,
			const uint8_t tx_mac[6]);

/* fwd_topology.c */

/* The position of the port that port i of n (positions in the stream
 * table's order) transmits to under topo, or -1 for none. i < n. */
int fwd_topology_partner(enum hp_fwd_topology topo, unsigned i, unsigned n);

/* fwd.c */

/* Remembers pool as one whose cache t must release before it exits. */
void fwd_thread_add_pool(struct fwd_thread *t, struct hp_mempool *pool);

/* Notes the pools of n buffers t received (their caches may fill in this
 * thread when it or a driver frees them). */
static inline void fwd_note_pools(struct fwd_thread *t, struct hp_mbuf **pkts,
				  uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		if (HP_UNLIKELY(pkts[i]->pool != t->last_pool))
			fwd_thread_add_pool(t, pkts[i]->pool);
}

#endif
