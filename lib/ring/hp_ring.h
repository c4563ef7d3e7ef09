/* SPDX-License-Identifier: BSD-3-Clause */
/* Lock-free rings of pointers in shared memory, found by name from any
 * process. */
#ifndef HP_RING_H
#define HP_RING_H

#include <sys/types.h>

#include "hp_common.h"

/* Longest ring name, with its NUL (the shm zone is named "ring:<name>"). */
#define HP_RING_NAME_MAX 24
/* Most slots a ring may have. */
#define HP_RING_SIZE_MAX (1u << 28)

/* Single producer: only one thread at a time enqueues, so
 * hp_ring_enqueue_* take the cheaper hp_ring_sp_* path. */
#define HP_RING_F_SP_ENQ (1u << 0)
/* Single consumer: only one thread at a time dequeues, so
 * hp_ring_dequeue_* take the cheaper hp_ring_sc_* path. */
#define HP_RING_F_SC_DEQ (1u << 1)

struct hp_shm;

/* One side of a ring. Indices run freely over 32 bits; a slot is
 * index & mask. Between operations head == tail. */
struct hp_ring_ht {
	uint32_t head;	 /* next index to claim; written by this side */
	uint32_t tail;	 /* done up to here; written by this side */
	uint32_t single; /* 1: one thread at a time on this side; set at init */
};

/* A ring; lives in shared memory at the same address in every process.
 * The producer and consumer sides sit on cache lines of their own, away
 * from each other and from the read-only header (adjacent-line prefetch
 * included). */
struct hp_ring {
	char name[HP_RING_NAME_MAX]; /* set at init, read-only after */
	uint32_t magic;		     /* set last at init; cleared at free */
	uint32_t size;		     /* slots, a power of two; the capacity */
	uint32_t mask;		     /* size - 1 */
	char pad0[HP_CACHE_LINE] HP_CACHE_ALIGNED;
	struct hp_ring_ht prod HP_CACHE_ALIGNED; /* written by producers */
	char pad1[HP_CACHE_LINE] HP_CACHE_ALIGNED;
	struct hp_ring_ht cons HP_CACHE_ALIGNED; /* written by consumers */
	char pad2[HP_CACHE_LINE] HP_CACHE_ALIGNED;
	void *slots[] HP_CACHE_ALIGNED; /* size entries */
};

/* Bytes a ring of count slots needs (for hp_ring_init); -EINVAL if count
 * is 0, not a power of two or above HP_RING_SIZE_MAX. Any process. */
HP_API ssize_t hp_ring_memsize(unsigned count);

/* Lays out an empty ring of count slots (all usable: capacity == count) in
 * mem, which is hp_ring_memsize(count) bytes, cache-line aligned, and
 * mapped at the same address in every process that uses the ring. flags
 * is 0 or HP_RING_F_SP_ENQ and/or HP_RING_F_SC_DEQ. No pairing call: the
 * caller owns mem. -EINVAL for a NULL or misaligned mem, a bad count, bad
 * flags or an empty name; -ENAMETOOLONG when name does not fit in
 * HP_RING_NAME_MAX. No thread may use the ring during init. */
HP_API int hp_ring_init(void *mem, const char *name, unsigned count,
			unsigned flags);

/* Reserves the shm zone "ring:<name>" and lays out a ring in it as
 * hp_ring_init does; pairs with hp_ring_free. -EINVAL, -ENAMETOOLONG as for
 * hp_ring_init; -EEXIST when the name is taken; -ENOMEM, -ENOSPC from the
 * zone reservation. Any process, any thread. */
HP_API int hp_ring_create(struct hp_shm *shm, const char *name, unsigned count,
			  unsigned flags, struct hp_ring **ret_ring);

/* Finds the ring name made by hp_ring_create in any process; -ENOENT if
 * there is none, -EINVAL for a NULL argument. Any process, any thread. */
HP_API int hp_ring_lookup(struct hp_shm *shm, const char *name,
			  struct hp_ring **ret_ring);

/* Returns the zone of a ring made by hp_ring_create; no thread of any
 * process may use the ring any more. Accepts NULL. Any process. */
HP_API void hp_ring_free(struct hp_shm *shm, struct hp_ring *ring);

#include "hp_ring_core.h"

#endif
