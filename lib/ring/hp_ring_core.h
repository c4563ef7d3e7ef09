/* SPDX-License-Identifier: BSD-3-Clause */
/* Ring enqueue and dequeue, inline. Not for direct inclusion: include
 * hp_ring.h.
 *
 * Algorithm. Each side (producer, consumer) has a head and a tail; indices
 * run freely over 32 bits and unsigned wrap-around does the arithmetic.
 * An operation claims [head, head + n) by moving its side's head (a plain
 * store for a single thread, a compare-and-swap for several), copies the
 * pointers, then publishes by moving its side's tail to head + n with a
 * release store. The other side reads that tail with acquire, so it sees
 * the copied pointers (producer tail) or knows the slots are no longer read
 * (consumer tail). With several threads on a side, each waits until the
 * tail reaches the head it claimed from, so tails move in claim order.
 *
 * Waiting. A thread that claimed slots and was preempted before moving the
 * tail holds up the others on its side; they pause, and after
 * HP_RING_SPINS attempts yield the CPU so that it can run (machines with
 * fewer cores than threads). Nothing else ever waits: a full or empty ring
 * returns at once.
 *
 * Concurrency contract: a ring made with HP_RING_F_SP_ENQ (HP_RING_F_SC_DEQ)
 * and every hp_ring_sp_* (hp_ring_sc_*) call needs the caller to ensure one
 * producer (consumer) at a time; the others are safe from any number of
 * threads in any number of processes. No call blocks, sleeps, allocates or
 * takes a lock. */
#ifndef HP_RING_CORE_H
#define HP_RING_CORE_H

#include <string.h>

#ifndef HP_RING_H
#error "include hp_ring.h, not hp_ring_core.h"
#endif

#include <errno.h>
#include <sched.h>
#include <stdbool.h>

/* Internal helpers are always inlined, so that each public call folds its
 * constant arguments (bulk or burst, single or multi) away. */
#define HP_RING_INLINE static inline __attribute__((always_inline))

/* Pauses before a thread on a multi side yields the CPU to the one it
 * waits for. */
#define HP_RING_SPINS 256

/* Internal: tells the CPU we are in a spin loop. */
HP_RING_INLINE void hp_ring_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

/* Internal: waits until the side's tail reaches the index where the
 * caller's claim starts, that is, until earlier claims are published. */
HP_RING_INLINE void hp_ring_wait_tail(const uint32_t *tail, uint32_t start)
{
	unsigned spins = 0;

	while (__atomic_load_n(tail, __ATOMIC_ACQUIRE) != start) {
		if (++spins < HP_RING_SPINS) {
			hp_ring_pause();
		} else {
			spins = 0;
			sched_yield();
		}
	}
}

/* Internal: claims up to n slots on side ht, limited by avail(other), as a
 * single thread or as one of several. fixed: all n or none. Returns how
 * many were claimed (0 if none) and their first index in *start. */
HP_RING_INLINE unsigned hp_ring_claim(struct hp_ring_ht *ht,
				      const uint32_t *other_tail, uint32_t base,
				      unsigned n, bool fixed, bool single,
				      uint32_t *start)
{
	uint32_t head, avail;
	unsigned got;

	/* Acquire keeps the head load ahead of the other tail's load: with
	 * a later head and an earlier tail, avail would underflow. */
	head = __atomic_load_n(&ht->head, __ATOMIC_ACQUIRE);
	do {
		avail = base + __atomic_load_n(other_tail, __ATOMIC_ACQUIRE) -
			head;
		got = n;
		if (got > avail)
			got = fixed ? 0 : avail;
		if (HP_UNLIKELY(got == 0))
			return 0;
		if (single) {
			__atomic_store_n(&ht->head, head + got,
					 __ATOMIC_RELAXED);
			break;
		}
	} while (!__atomic_compare_exchange_n(&ht->head, &head, head + got,
					      true, __ATOMIC_ACQUIRE,
					      __ATOMIC_ACQUIRE));
	*start = head;
	return got;
}

/* Internal: publishes the claim [start, start + n) on side ht. */
HP_RING_INLINE void hp_ring_publish(struct hp_ring_ht *ht, uint32_t start,
				    unsigned n, bool single)
{
	if (!single)
		hp_ring_wait_tail(&ht->tail, start);
	__atomic_store_n(&ht->tail, start + n, __ATOMIC_RELEASE);
}

/* Internal: copies n pointers from objs into the slots from index start. */
HP_RING_INLINE void hp_ring_copy_in(struct hp_ring *r, uint32_t start,
				    void *const *objs, unsigned n)
{
	uint32_t idx = start & r->mask;
	unsigned first = r->size - idx;

	/* Block copies from a base pointer: per-element index arithmetic
	 * doubled the cost per element. */
	if (HP_LIKELY(n <= first)) {
		memcpy(&r->slots[idx], objs, n * sizeof(void *));
		return;
	}
	memcpy(&r->slots[idx], objs, first * sizeof(void *));
	memcpy(&r->slots[0], objs + first, (n - first) * sizeof(void *));
}

/* Internal: copies n pointers from the slots from index start to objs. */
HP_RING_INLINE void hp_ring_copy_out(const struct hp_ring *r, uint32_t start,
				     void **objs, unsigned n)
{
	uint32_t idx = start & r->mask;
	unsigned first = r->size - idx;

	if (HP_LIKELY(n <= first)) {
		memcpy(objs, &r->slots[idx], n * sizeof(void *));
		return;
	}
	memcpy(objs, &r->slots[idx], first * sizeof(void *));
	memcpy(objs + first, &r->slots[0], (n - first) * sizeof(void *));
}

/* Internal: enqueue of up to n (fixed: exactly n or none). */
HP_RING_INLINE unsigned hp_ring_do_enqueue(struct hp_ring *r, void *const *objs,
					   unsigned n, bool fixed, bool single)
{
	uint32_t start;

	n = hp_ring_claim(&r->prod, &r->cons.tail, r->size, n, fixed, single,
			  &start);
	if (n == 0)
		return 0;
	hp_ring_copy_in(r, start, objs, n);
	hp_ring_publish(&r->prod, start, n, single);
	return n;
}

/* Internal: dequeue of up to n (fixed: exactly n or none). */
HP_RING_INLINE unsigned hp_ring_do_dequeue(struct hp_ring *r, void **objs,
					   unsigned n, bool fixed, bool single)
{
	uint32_t start;

	n = hp_ring_claim(&r->cons, &r->prod.tail, 0, n, fixed, single, &start);
	if (n == 0)
		return 0;
	hp_ring_copy_out(r, start, objs, n);
	hp_ring_publish(&r->cons, start, n, single);
	return n;
}

/* Enqueues all n pointers of objs, or none when fewer slots are free;
 * returns n or 0. The sp variant needs one producer at a time, the mp one
 * is safe from any thread of any process, the plain one follows the
 * ring's HP_RING_F_SP_ENQ flag. */
static inline unsigned hp_ring_sp_enqueue_bulk(struct hp_ring *r,
					       void *const *objs, unsigned n)
{
	return hp_ring_do_enqueue(r, objs, n, true, true);
}

static inline unsigned hp_ring_mp_enqueue_bulk(struct hp_ring *r,
					       void *const *objs, unsigned n)
{
	return hp_ring_do_enqueue(r, objs, n, true, false);
}

static inline unsigned hp_ring_enqueue_bulk(struct hp_ring *r,
					    void *const *objs, unsigned n)
{
	if (r->prod.single)
		return hp_ring_do_enqueue(r, objs, n, true, true);
	return hp_ring_do_enqueue(r, objs, n, true, false);
}

/* Enqueues as many of the n pointers of objs as there are free slots, in
 * order; returns how many (0 when full). Variants as for the bulk calls. */
static inline unsigned hp_ring_sp_enqueue_burst(struct hp_ring *r,
						void *const *objs, unsigned n)
{
	return hp_ring_do_enqueue(r, objs, n, false, true);
}

static inline unsigned hp_ring_mp_enqueue_burst(struct hp_ring *r,
						void *const *objs, unsigned n)
{
	return hp_ring_do_enqueue(r, objs, n, false, false);
}

static inline unsigned hp_ring_enqueue_burst(struct hp_ring *r,
					     void *const *objs, unsigned n)
{
	if (r->prod.single)
		return hp_ring_do_enqueue(r, objs, n, false, true);
	return hp_ring_do_enqueue(r, objs, n, false, false);
}

/* Dequeues n pointers into objs, or none when fewer are queued; returns n
 * or 0. The sc variant needs one consumer at a time, the mc one is safe
 * from any thread of any process, the plain one follows the ring's
 * HP_RING_F_SC_DEQ flag. */
static inline unsigned hp_ring_sc_dequeue_bulk(struct hp_ring *r, void **objs,
					       unsigned n)
{
	return hp_ring_do_dequeue(r, objs, n, true, true);
}

static inline unsigned hp_ring_mc_dequeue_bulk(struct hp_ring *r, void **objs,
					       unsigned n)
{
	return hp_ring_do_dequeue(r, objs, n, true, false);
}

static inline unsigned hp_ring_dequeue_bulk(struct hp_ring *r, void **objs,
					    unsigned n)
{
	if (r->cons.single)
		return hp_ring_do_dequeue(r, objs, n, true, true);
	return hp_ring_do_dequeue(r, objs, n, true, false);
}

/* Dequeues up to n pointers into objs, oldest first; returns how many (0
 * when empty). Variants as for the bulk calls. */
static inline unsigned hp_ring_sc_dequeue_burst(struct hp_ring *r, void **objs,
						unsigned n)
{
	return hp_ring_do_dequeue(r, objs, n, false, true);
}

static inline unsigned hp_ring_mc_dequeue_burst(struct hp_ring *r, void **objs,
						unsigned n)
{
	return hp_ring_do_dequeue(r, objs, n, false, false);
}

static inline unsigned hp_ring_dequeue_burst(struct hp_ring *r, void **objs,
					     unsigned n)
{
	if (r->cons.single)
		return hp_ring_do_dequeue(r, objs, n, false, true);
	return hp_ring_do_dequeue(r, objs, n, false, false);
}

/* Enqueues one pointer; 0, or -ENOBUFS when the ring is full. Follows the
 * ring's HP_RING_F_SP_ENQ flag. */
static inline int hp_ring_enqueue(struct hp_ring *r, void *obj)
{
	return hp_ring_enqueue_bulk(r, &obj, 1) ? 0 : -ENOBUFS;
}

/* Dequeues one pointer into *ret_obj; 0, or -ENOENT when the ring is
 * empty. Follows the ring's HP_RING_F_SC_DEQ flag. */
static inline int hp_ring_dequeue(struct hp_ring *r, void **ret_obj)
{
	return hp_ring_dequeue_bulk(r, ret_obj, 1) ? 0 : -ENOENT;
}

/* Pointers queued. Exact when no thread is using the ring, a snapshot
 * otherwise. Any thread of any process. */
static inline unsigned hp_ring_count(const struct hp_ring *r)
{
	uint32_t cons = __atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE);
	uint32_t count =
		__atomic_load_n(&r->prod.tail, __ATOMIC_ACQUIRE) - cons;

	/* The producer tail may have moved on past the consumer tail we
	 * read, by up to a whole ring. */
	return count > r->size ? r->size : count;
}

/* Free slots; a snapshot as for hp_ring_count. */
static inline unsigned hp_ring_free_count(const struct hp_ring *r)
{
	return r->size - hp_ring_count(r);
}

/* Slots in all (the most pointers the ring holds). */
static inline unsigned hp_ring_capacity(const struct hp_ring *r)
{
	return r->size;
}

static inline bool hp_ring_empty(const struct hp_ring *r)
{
	return hp_ring_count(r) == 0;
}

static inline bool hp_ring_full(const struct hp_ring *r)
{
	return hp_ring_count(r) == r->size;
}

#endif
