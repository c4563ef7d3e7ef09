/* SPDX-License-Identifier: BSD-3-Clause */
/* Packet buffers and their pools in shared memory: allocated in one
 * process, freed in any other. */
#ifndef HP_MBUF_H
#define HP_MBUF_H

#include <sys/types.h>

#include "hp_common.h"

/* Bytes kept free in front of the packet data. */
#define HP_MBUF_HEADROOM 128
/* Default data room of a buffer (headroom included). */
#define HP_MBUF_DEFAULT_DATAROOM (2048 + HP_MBUF_HEADROOM)
/* No input port (the port of a buffer fresh from its pool). */
#define HP_MBUF_PORT_INVALID UINT16_MAX
/* Longest pool name, with its NUL (the shm zone is named "pool:<name>"). */
#define HP_MEMPOOL_NAME_MAX 24
/* Largest per-thread cache (buffers). */
#define HP_MEMPOOL_CACHE_MAX 512
/* Per-thread cache slots of a pool made by hp_mempool_create. */
#define HP_MEMPOOL_CACHES 64

struct hp_shm;
struct hp_mempool;

/* ol_flags: m->offload holds a partial checksum to finish and/or a large
 * (GSO) packet to cut into segments of gso_size on output, as the kernel
 * handed it over (virtio-net header semantics). Drivers that cannot carry
 * it to the kernel finish the checksum or drop the packet. */
#define HP_MBUF_F_OFFLOAD (1u << 0)

/* Offload metadata of a packet (first segment), the fields of the Linux
 * virtio-net header: what af_packet (PACKET_VNET_HDR) and TAP
 * (IFF_VNET_HDR) ports receive and hand back to the kernel. */
struct hp_mbuf_offload {
	uint8_t flags;		/* HP_MBUF_CSUM_PARTIAL, HP_MBUF_CSUM_VALID */
	uint8_t gso_type;	/* HP_MBUF_GSO_*: none, TCPv4, UDP, TCPv6 */
	uint16_t gso_size;	/* payload bytes per segment */
	uint16_t csum_start;	/* checksum covers from here to the end */
	uint16_t csum_offset;	/* where it goes, from csum_start */
};

#define HP_MBUF_CSUM_PARTIAL 1 /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
#define HP_MBUF_CSUM_VALID 2   /* VIRTIO_NET_HDR_F_DATA_VALID */
#define HP_MBUF_GSO_NONE 0
#define HP_MBUF_GSO_TCPV4 1
#define HP_MBUF_GSO_UDP 3
#define HP_MBUF_GSO_TCPV6 4
#define HP_MBUF_GSO_ECN 0x80

/* One packet buffer, or one segment of a packet that spans several (a
 * chain through next); lives in shared memory, same address everywhere.
 * One cache line. */
struct hp_mbuf {
	void *buf_addr;		 /* start of the data room */
	struct hp_mempool *pool; /* where it goes back to */
	uint16_t data_off;	 /* packet data starts at buf_addr + data_off */
	uint16_t buf_len;	 /* size of the data room */
	uint16_t data_len;	 /* bytes of packet data in this segment */
	uint16_t port;		 /* input port */
	uint32_t pkt_len;	 /* whole packet: data_len of every segment */
	uint16_t refcnt;	 /* references; freed when it drops to 0 */
	uint16_t queue;		 /* input queue */
	uint32_t ol_flags;	 /* HP_MBUF_F_* */
	uint16_t nb_segs;	 /* segments in the chain (first segment) */
	struct hp_mbuf_offload offload; /* with HP_MBUF_F_OFFLOAD */
	uint64_t udata;		 /* free for the application */
	struct hp_mbuf *next;	 /* next segment, NULL in the last */
} HP_CACHE_ALIGNED;

/* Pools.
 *
 * The free buffers of a pool sit in a multi-producer, multi-consumer
 * hp_ring. In front of it, each thread of each process that allocates or
 * frees gets a cache: a slot of the pool's array of caches, in shared
 * memory, claimed on first use by the thread's (pid, tid). Bursts of up to
 * cache_size buffers then usually touch only the thread's own cache. A
 * thread that finds no free slot uses the ring directly. Because the
 * caches are in shared memory, hp_mempool_reclaim_pid can return the
 * cached buffers of a process (or thread) that died to the pool.
 *
 * A thread should call hp_mempool_cache_release before it exits; if it
 * does not, its cache keeps its buffers (still counted by
 * hp_mempool_avail) until hp_mempool_reclaim_pid runs for its process. A
 * thread that found no free slot keeps using the ring until it calls
 * hp_mempool_cache_release.
 *
 * A process that dies in the middle of an operation on the pool's ring
 * (a few instructions) leaves the ring stuck, as with any ring of this
 * kind; dying anywhere else loses at most the buffers it held. */

/* Creates pool name of n buffers with data_room bytes each (headroom
 * included) and a per-thread cache of up to cache_size, in the shm zone
 * "pool:<name>" with HP_MEMPOOL_CACHES cache slots; pairs with
 * hp_mempool_destroy. -EEXIST, -EINVAL (as for hp_mempool_init),
 * -ENAMETOOLONG, -ENOMEM, -ENOSPC (from the zone reservation). Any
 * process. */
HP_API int hp_mempool_create(struct hp_shm *shm, const char *name, unsigned n,
			     unsigned cache_size, uint16_t data_room,
			     struct hp_mempool **ret_pool);

/* Finds a pool made by hp_mempool_create in any process; -ENOENT, -EINVAL
 * for a NULL argument. Any process. */
HP_API int hp_mempool_lookup(struct hp_shm *shm, const char *name,
			     struct hp_mempool **ret_pool);

/* Frees a pool's memory; every buffer must be back, and no thread of any
 * process may use the pool any more. Accepts NULL. Any process. */
HP_API void hp_mempool_destroy(struct hp_shm *shm, struct hp_mempool *pool);

/* Buffers currently in the pool (free: in its ring or in any cache), and
 * how many exist. A snapshot while other threads use the pool. */
HP_API unsigned hp_mempool_avail(const struct hp_mempool *pool);
HP_API unsigned hp_mempool_size(const struct hp_mempool *pool);
/* Bytes of data room of each buffer of the pool (headroom included). */
HP_API unsigned hp_mempool_data_room(const struct hp_mempool *pool);

/* Where a pool's free buffers are, for show commands and tests. */
struct hp_mempool_stats {
	unsigned size;	      /* buffers in all */
	unsigned in_ring;     /* free buffers in the ring */
	unsigned in_caches;   /* free buffers in per-thread caches */
	unsigned caches_used; /* cache slots claimed by a thread */
	unsigned nb_caches;   /* cache slots */
};

/* Fills *ret_stats with a snapshot. Any thread of any process. */
HP_API void hp_mempool_stats(const struct hp_mempool *pool,
			     struct hp_mempool_stats *ret_stats);

/* Bytes a pool needs (for hp_mempool_init): n buffers with data_room
 * bytes each, nb_caches per-thread caches of up to cache_size buffers.
 * -EINVAL for n of 0 or above HP_RING_SIZE_MAX, cache_size above
 * HP_MEMPOOL_CACHE_MAX, data_room below HP_MBUF_HEADROOM. Any process. */
HP_API ssize_t hp_mempool_memsize(unsigned n, unsigned cache_size,
				  unsigned nb_caches, uint16_t data_room);

/* Lays out a full pool in mem, which is hp_mempool_memsize() bytes,
 * cache-line aligned and mapped at the same address in every process that
 * uses the pool; mem is then the struct hp_mempool. cache_size 0 or
 * nb_caches 0: no caches. No pairing call: the caller owns mem. -EINVAL as
 * for hp_mempool_memsize, or for a NULL or misaligned mem or an empty name;
 * -ENAMETOOLONG when name does not fit in HP_MEMPOOL_NAME_MAX. No thread
 * may use the pool during init. */
HP_API int hp_mempool_init(void *mem, const char *name, unsigned n,
			   unsigned cache_size, unsigned nb_caches,
			   uint16_t data_room);

/* Flushes the calling thread's cache of pool back to the pool's ring and
 * frees its slot; pairs with the claim the first alloc or free of the
 * thread made. Call it before the thread exits. No-op when the thread has
 * no cache. Any thread of any process, for its own cache only. */
HP_API void hp_mempool_cache_release(struct hp_mempool *pool);

/* Returns to the pool's ring the buffers cached by the threads of process
 * pid that are gone (the whole process died, or single threads exited),
 * and frees their slots; caches of threads still running are left alone,
 * so it is safe to call for any pid at any time (if the pid already
 * belongs to a new process, the old main thread's cache looks alive and
 * stays). Buffers a dead process held outside its caches are not found. Returns the number of buffers
 * returned, or -EINVAL. Any process; the primary calls it when a
 * secondary hangs up. */
HP_API int hp_mempool_reclaim_pid(struct hp_mempool *pool, pid_t pid);

/* Sets the pid under which this process's threads claim cache slots: the
 * pid the primary sees for it (lib/core passes it on joining), so that
 * hp_mempool_reclaim_pid in the primary finds them also when this process
 * runs in another PID namespace. Default: getpid(). Call it before the
 * first alloc or free. */
HP_API void hp_mempool_set_owner_pid(pid_t pid);

/* Allocates n buffers, reset (data_off = headroom, lengths 0, refcnt 1,
 * nb_segs 1, port HP_MBUF_PORT_INVALID, queue, ol_flags, offload, udata 0
 * and next NULL), all or none:
 * 0 or -ENOBUFS (none taken), -EINVAL for a NULL pool or mbufs. The
 * calling thread's cache serves bursts up to the pool's cache_size. Any
 * thread of any process. */
HP_API int hp_mbuf_alloc_bulk(struct hp_mempool *pool, struct hp_mbuf **mbufs,
			      unsigned n);

/* Drops one reference of each buffer, returning to its pool those that
 * reach 0, with the other segments of their chains (each dropping one
 * reference). Any thread of any process. NULL entries are skipped. */
HP_API void hp_mbuf_free_bulk(struct hp_mbuf **mbufs, unsigned n);

/* Allocates one buffer, reset as by hp_mbuf_alloc_bulk; NULL when the
 * pool is empty. Any thread of any process. */
static inline struct hp_mbuf *hp_mbuf_alloc(struct hp_mempool *pool)
{
	struct hp_mbuf *m;

	return hp_mbuf_alloc_bulk(pool, &m, 1) == 0 ? m : NULL;
}

/* Drops one reference of m (NULL is skipped), as hp_mbuf_free_bulk. */
static inline void hp_mbuf_free(struct hp_mbuf *m)
{
	hp_mbuf_free_bulk(&m, 1);
}

/* References to m right now. */
static inline uint16_t hp_mbuf_refcnt_read(const struct hp_mbuf *m)
{
	return __atomic_load_n(&m->refcnt, __ATOMIC_RELAXED);
}

/* Adds delta (negative to drop) to m's references and returns the new
 * count; the caller holds a reference, and must not drop the last one
 * this way (hp_mbuf_free returns the buffer to its pool). Any thread of
 * any process. */
static inline uint16_t hp_mbuf_refcnt_update(struct hp_mbuf *m, int16_t delta)
{
	return __atomic_add_fetch(&m->refcnt, (uint16_t)delta,
				  __ATOMIC_ACQ_REL);
}

/* Frees the rest of a chain once its first segment went back (internal). */
HP_API void hp_mbuf_free_segs(struct hp_mbuf *seg);

/* Pointer to the packet data (of this segment). */
static inline void *hp_mbuf_data(const struct hp_mbuf *m)
{
	return (char *)m->buf_addr + m->data_off;
}

/* Appends chain tail to packet head: head's nb_segs and pkt_len grow by
 * tail's. Both are first segments; tail's metadata is dropped. */
static inline void hp_mbuf_chain(struct hp_mbuf *head, struct hp_mbuf *tail)
{
	struct hp_mbuf *last = head;

	while (last->next)
		last = last->next;
	last->next = tail;
	head->nb_segs = (uint16_t)(head->nb_segs + tail->nb_segs);
	head->pkt_len += tail->pkt_len;
}

/* Copies up to len bytes of the packet, from byte off, into dst, across
 * segments; returns the bytes copied. */
HP_API uint32_t hp_mbuf_read(const struct hp_mbuf *m, uint32_t off, void *dst,
			     uint32_t len);

#endif
