/* SPDX-License-Identifier: BSD-3-Clause */
/* Packet buffers and their pools in shared memory: allocated in one
 * process, freed in any other. */
#ifndef HP_MBUF_H
#define HP_MBUF_H

#include "hp_common.h"

/* Bytes kept free in front of the packet data. */
#define HP_MBUF_HEADROOM 128
/* Default data room of a buffer (headroom included). */
#define HP_MBUF_DEFAULT_DATAROOM (2048 + HP_MBUF_HEADROOM)

struct hp_shm;
struct hp_mempool;

/* One packet buffer; lives in shared memory, same address everywhere. */
struct hp_mbuf {
	void *buf_addr;		 /* start of the data room */
	struct hp_mempool *pool; /* where it goes back to */
	uint16_t data_off;	 /* packet data starts at buf_addr + data_off */
	uint16_t buf_len;	 /* size of the data room */
	uint16_t data_len;	 /* bytes of packet data */
	uint16_t port;		 /* input port */
	uint32_t pkt_len;	 /* whole packet length (one segment: data_len) */
	uint16_t refcnt;	 /* references; freed when it drops to 0 */
	uint16_t queue;		 /* input queue */
	uint64_t ol_flags;	 /* offload flags */
	uint64_t udata;		 /* free for the application */
} HP_CACHE_ALIGNED;

/* Creates pool name of n buffers with data_room bytes each (headroom
 * included) and a per-thread cache of up to cache_size; pairs with
 * hp_mempool_destroy. -EEXIST, -EINVAL, -ENOMEM. Any process. */
HP_API int hp_mempool_create(struct hp_shm *shm, const char *name, unsigned n,
			     unsigned cache_size, uint16_t data_room,
			     struct hp_mempool **ret_pool);

/* Finds a pool by name; -ENOENT. Any process. */
HP_API int hp_mempool_lookup(struct hp_shm *shm, const char *name,
			     struct hp_mempool **ret_pool);

/* Frees a pool's memory; every buffer must be back. Accepts NULL. */
HP_API void hp_mempool_destroy(struct hp_shm *shm, struct hp_mempool *pool);

/* Buffers currently in the pool (free), and how many exist. */
HP_API unsigned hp_mempool_avail(const struct hp_mempool *pool);
HP_API unsigned hp_mempool_size(const struct hp_mempool *pool);

/* Allocates n buffers, reset (data_off = headroom, lengths 0, refcnt 1),
 * all or none: 0 or -ENOBUFS. Any thread of any process. */
HP_API int hp_mbuf_alloc_bulk(struct hp_mempool *pool, struct hp_mbuf **mbufs,
			      unsigned n);

/* Drops one reference of each buffer, returning to its pool those that
 * reach 0. Any thread of any process. NULL entries are skipped. */
HP_API void hp_mbuf_free_bulk(struct hp_mbuf **mbufs, unsigned n);

/* Pointer to the packet data. */
static inline void *hp_mbuf_data(const struct hp_mbuf *m)
{
	return (char *)m->buf_addr + m->data_off;
}

#endif
