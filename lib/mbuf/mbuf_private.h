/* SPDX-License-Identifier: BSD-3-Clause */
/* The shared layout of a pool and its per-thread caches, for lib/mbuf
 * only. */
#ifndef MBUF_PRIVATE_H
#define MBUF_PRIVATE_H

#include "hp_mbuf.h"
#include "hp_ring.h"

/* Owner word of a cache slot nobody has claimed. */
#define MP_OWNER_FREE 0
/* Owner word of a cache slot that hp_mempool_reclaim_pid is emptying. */
#define MP_OWNER_RECLAIM UINT64_MAX

/* One per-thread cache slot, in shared memory. Its buffers are free: they
 * count in hp_mempool_avail. */
struct mp_cache {
	/* (pid << 32) | tid of the thread using it, MP_OWNER_FREE or
	 * MP_OWNER_RECLAIM; claimed by compare-and-swap from FREE, set back
	 * to FREE by the owner (release) or by a reclaim. */
	uint64_t owner;
	/* Buffers in objs; written by the owner, or by a reclaim once the
	 * owner is gone; read by anyone for statistics. */
	uint32_t len;
	uint32_t pad;
	struct hp_mbuf *objs[]; /* 2 * cache_size entries */
};

/* A pool; the start of its memory, followed by the cache slots, the ring
 * and the buffers. Everything here is set at init and read-only after,
 * except magic (cleared at destroy). */
struct hp_mempool {
	char name[HP_MEMPOOL_NAME_MAX];
	uint32_t magic;
	uint32_t size;	       /* buffers in all */
	uint32_t cache_size;   /* most buffers a cache keeps between bursts */
	uint32_t nb_caches;    /* cache slots (0 when cache_size is 0) */
	uint32_t cache_stride; /* bytes from one cache slot to the next */
	uint32_t elt_size;     /* bytes from one data room to the next */
	uint16_t data_room;    /* bytes of data room per buffer */
	struct hp_ring *ring;  /* free buffers not in a cache */
	char *caches;	       /* first cache slot */
	char *hdrs;	       /* the struct hp_mbuf of every buffer */
	char *elts;	       /* first data room */
} HP_CACHE_ALIGNED;

static inline struct mp_cache *mp_cache_at(const struct hp_mempool *pool,
					   unsigned i)
{
	return (struct mp_cache *)(pool->caches +
				   (size_t)i * pool->cache_stride);
}

/* Takes n free buffers from the calling thread's cache, refilled from the
 * ring, or from the ring; all or none: 0 or -ENOBUFS. */
int mp_get(struct hp_mempool *pool, struct hp_mbuf **objs, unsigned n);

/* Gives n free buffers back through the calling thread's cache. */
void mp_put(struct hp_mempool *pool, struct hp_mbuf *const *objs, unsigned n);

#endif
