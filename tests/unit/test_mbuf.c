/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/mbuf: pools on memory shared with forked children,
 * buffer reset and references, per-thread caches and their reclaim. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hp_mbuf.h"
#include "hp_ring.h"
#include "hp_test.h"

#define DATA_ROOM 512
/* Buffers the cross-process stress passes from child to parent. */
#define STRESS_COUNT 400000u

/* A pool in memory shared with children forked later. */
static struct hp_mempool *pool_new(unsigned n, unsigned cache_size,
				   unsigned nb_caches)
{
	ssize_t len = hp_mempool_memsize(n, cache_size, nb_caches, DATA_ROOM);
	struct hp_mempool *pool;

	assert_true(len > 0);
	pool = test_map_shared(len);
	assert_int_equal(hp_mempool_init(pool, "test", n, cache_size, nb_caches,
					 DATA_ROOM),
			 0);
	assert_int_equal(hp_mempool_size(pool), n);
	assert_int_equal(hp_mempool_avail(pool), n);
	return pool;
}

/* Checks every buffer is back, and unmaps. */
static void pool_del(struct hp_mempool *pool, unsigned n, unsigned cache_size,
		     unsigned nb_caches)
{
	struct hp_mempool_stats st;

	hp_mempool_cache_release(pool);
	hp_mempool_stats(pool, &st);
	assert_int_equal(st.in_ring, n);
	assert_int_equal(st.in_caches, 0);
	assert_int_equal(st.caches_used, 0);
	munmap(pool, hp_mempool_memsize(n, cache_size, nb_caches, DATA_ROOM));
}

static void test_mbuf_init_checks(void **state)
{
	char name[HP_MEMPOOL_NAME_MAX + 1];
	struct hp_mempool *pool = pool_new(16, 4, 2);

	(void)state;
	assert_int_equal(hp_mempool_memsize(0, 0, 0, DATA_ROOM), -EINVAL);
	assert_int_equal(hp_mempool_memsize(16, HP_MEMPOOL_CACHE_MAX + 1, 1,
					    DATA_ROOM),
			 -EINVAL);
	assert_int_equal(hp_mempool_memsize(16, 0, 0, HP_MBUF_HEADROOM - 1),
			 -EINVAL);
	assert_true(hp_mempool_memsize(16, 0, 0, DATA_ROOM) >=
		    16 * (ssize_t)(sizeof(struct hp_mbuf) + DATA_ROOM));

	assert_int_equal(hp_mempool_init(NULL, "p", 16, 4, 2, DATA_ROOM),
			 -EINVAL);
	assert_int_equal(hp_mempool_init((char *)pool + 8, "p", 8, 0, 0,
					 DATA_ROOM),
			 -EINVAL);
	assert_int_equal(hp_mempool_init(pool, "p", 0, 4, 2, DATA_ROOM),
			 -EINVAL);
	assert_int_equal(hp_mempool_init(pool, "", 16, 4, 2, DATA_ROOM),
			 -EINVAL);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(hp_mempool_init(pool, name, 16, 4, 2, DATA_ROOM),
			 -ENAMETOOLONG);
	assert_int_equal(hp_mbuf_alloc_bulk(NULL, NULL, 1), -EINVAL);
	assert_int_equal(hp_mempool_reclaim_pid(pool, 0), -EINVAL);
	assert_int_equal(hp_mempool_init(pool, "p", 16, 4, 2, DATA_ROOM), 0);
	pool_del(pool, 16, 4, 2);
}

/* Allocates the whole pool in bursts of burst, then frees it. */
static void mbuf_drain_refill(struct hp_mempool *pool, unsigned n,
			      unsigned burst)
{
	struct hp_mbuf **all = calloc(n, sizeof(*all));
	unsigned got = 0;

	assert_non_null(all);
	while (got + burst <= n) {
		assert_int_equal(hp_mbuf_alloc_bulk(pool, all + got, burst), 0);
		got += burst;
		assert_int_equal(hp_mempool_avail(pool), n - got);
	}
	assert_int_equal(hp_mbuf_alloc_bulk(pool, all + got, n - got), 0);
	assert_int_equal(hp_mempool_avail(pool), 0);
	assert_null(hp_mbuf_alloc(pool));
	for (unsigned i = 0; i < n; i += burst)
		hp_mbuf_free_bulk(all + i, n - i < burst ? n - i : burst);
	assert_int_equal(hp_mempool_avail(pool), n);
	free(all);
}

static void test_mbuf_alloc_free_counts(void **state)
{
	struct hp_mempool *pool = pool_new(1000, 64, 4);

	(void)state;
	mbuf_drain_refill(pool, 1000, 32);
	mbuf_drain_refill(pool, 1000, 1);
	mbuf_drain_refill(pool, 1000, 100);
	pool_del(pool, 1000, 64, 4);

	pool = pool_new(100, 0, 0);
	mbuf_drain_refill(pool, 100, 7);
	pool_del(pool, 100, 0, 0);
}

/* Every alloc that cannot be served whole takes nothing. */
static void mbuf_all_or_nothing(unsigned cache_size)
{
	struct hp_mempool *pool = pool_new(64, cache_size, 2);
	struct hp_mbuf *m[65];

	assert_int_equal(hp_mbuf_alloc_bulk(pool, m, 65), -ENOBUFS);
	assert_int_equal(hp_mempool_avail(pool), 64);
	assert_int_equal(hp_mbuf_alloc_bulk(pool, m, 10), 0);
	assert_int_equal(hp_mbuf_alloc_bulk(pool, m + 10, 50), 0);
	assert_int_equal(hp_mbuf_alloc_bulk(pool, m + 60, 5), -ENOBUFS);
	assert_int_equal(hp_mempool_avail(pool), 4);
	assert_int_equal(hp_mbuf_alloc_bulk(pool, m + 60, 4), 0);
	assert_int_equal(hp_mbuf_alloc_bulk(pool, m + 64, 1), -ENOBUFS);
	assert_int_equal(hp_mempool_avail(pool), 0);
	hp_mbuf_free_bulk(m, 64);
	assert_int_equal(hp_mempool_avail(pool), 64);
	/* With buffers in this thread's cache, a burst too big for the
	 * cache still gets the whole pool. */
	assert_int_equal(hp_mbuf_alloc_bulk(pool, m, 64), 0);
	hp_mbuf_free_bulk(m, 64);
	pool_del(pool, 64, cache_size, 2);
}

static void test_mbuf_all_or_nothing(void **state)
{
	(void)state;
	mbuf_all_or_nothing(0);
	mbuf_all_or_nothing(16);
	mbuf_all_or_nothing(64);
}

static void mbuf_check_reset(const struct hp_mbuf *m)
{
	assert_int_equal(m->data_off, HP_MBUF_HEADROOM);
	assert_int_equal(m->data_len, 0);
	assert_int_equal(m->pkt_len, 0);
	assert_int_equal(m->port, HP_MBUF_PORT_INVALID);
	assert_int_equal(m->queue, 0);
	assert_int_equal(m->ol_flags, 0);
	assert_int_equal(m->udata, 0);
	assert_int_equal(m->nb_segs, 1);
	assert_null(m->next);
	assert_int_equal(m->offload.gso_size, 0);
	assert_int_equal(m->offload.csum_offset, 0);
	assert_int_equal(hp_mbuf_refcnt_read(m), 1);
}

static void test_mbuf_reset_fields(void **state)
{
	struct hp_mempool *pool = pool_new(8, 4, 1);
	struct hp_mbuf *m[8];

	(void)state;
	assert_int_equal(hp_mbuf_alloc_bulk(pool, m, 8), 0);
	for (unsigned i = 0; i < 8; i++) {
		mbuf_check_reset(m[i]);
		m[i]->data_off = 3;
		m[i]->data_len = 60;
		m[i]->pkt_len = 60;
		m[i]->port = 7;
		m[i]->queue = 2;
		m[i]->ol_flags = ~0u;
		m[i]->udata = 42;
		m[i]->nb_segs = 9;
		m[i]->offload = (struct hp_mbuf_offload){ 1, 2, 3, 4, 5 };
	}
	hp_mbuf_free_bulk(m, 8);
	assert_int_equal(hp_mbuf_alloc_bulk(pool, m, 8), 0);
	for (unsigned i = 0; i < 8; i++)
		mbuf_check_reset(m[i]);
	hp_mbuf_free_bulk(m, 8);
	pool_del(pool, 8, 4, 1);
}

/* A packet of several segments: read across them, and freeing its first
 * segment returns every one (a shared segment only once its last
 * reference goes). */
static void test_mbuf_chain(void **state)
{
	struct hp_mempool *pool = pool_new(16, 4, 1);
	struct hp_mbuf *m[4];
	char out[32];

	(void)state;
	assert_int_equal(hp_mbuf_alloc_bulk(pool, m, 4), 0);
	for (unsigned i = 0; i < 4; i++) {
		memset(hp_mbuf_data(m[i]), 'a' + (int)i, 10);
		m[i]->data_len = 10;
		m[i]->pkt_len = 10;
	}
	hp_mbuf_chain(m[0], m[1]);
	hp_mbuf_chain(m[2], m[3]);
	hp_mbuf_chain(m[0], m[2]);
	assert_int_equal(m[0]->nb_segs, 4);
	assert_int_equal(m[0]->pkt_len, 40);
	assert_int_equal(hp_mbuf_read(m[0], 8, out, 24), 24);
	assert_memory_equal(out, "aabbbbbbbbbbccccccccccdd", 24);
	assert_int_equal(hp_mbuf_read(m[0], 35, out, 32), 5);
	assert_int_equal(hp_mbuf_read(m[0], 40, out, 32), 0);
	/* A second reference to one segment keeps it out of the pool. */
	hp_mbuf_refcnt_update(m[2], 1);
	hp_mbuf_free(m[0]);
	assert_int_equal(hp_mempool_avail(pool), 15);
	/* Segments after a shared one go back with the packet (each segment
	 * drops one reference), so the holder of m[2] keeps it alone. */
	m[2]->next = NULL;
	hp_mbuf_free(m[2]);
	assert_int_equal(hp_mempool_avail(pool), 16);
	pool_del(pool, 16, 4, 1);
}

static int mbuf_cmp(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

static void test_mbuf_data_pointer(void **state)
{
	struct hp_mempool *pool = pool_new(32, 0, 0);
	struct hp_mbuf *m[32];

	(void)state;
	assert_int_equal(hp_mbuf_alloc_bulk(pool, m, 32), 0);
	for (unsigned i = 0; i < 32; i++) {
		assert_ptr_equal(m[i]->pool, pool);
		assert_int_equal((uintptr_t)m[i]->buf_addr % HP_CACHE_LINE, 0);
		assert_int_equal(m[i]->buf_len, DATA_ROOM);
		assert_ptr_equal(hp_mbuf_data(m[i]),
				 (char *)m[i]->buf_addr + HP_MBUF_HEADROOM);
		assert_int_equal((uintptr_t)m[i] % HP_CACHE_LINE, 0);
		memset(m[i]->buf_addr, i, DATA_ROOM);
	}
	/* Data rooms do not overlap each other or any header: each still
	 * holds its own bytes, and every header is intact. */
	for (unsigned i = 0; i < 32; i++) {
		assert_ptr_equal(m[i]->pool, pool);
		for (unsigned j = 0; j < DATA_ROOM; j++)
			if (((unsigned char *)m[i]->buf_addr)[j] != i)
				fail_msg("buffer %u byte %u overwritten", i, j);
	}
	qsort(m, 32, sizeof(m[0]), mbuf_cmp);
	for (unsigned i = 0; i + 1 < 32; i++)
		assert_true((char *)m[i + 1] >= (char *)(m[i] + 1));
	hp_mbuf_free_bulk(m, 32);
	pool_del(pool, 32, 0, 0);
}

static void test_mbuf_refcnt(void **state)
{
	struct hp_mempool *pool = pool_new(8, 4, 1);
	struct hp_mbuf *m = hp_mbuf_alloc(pool), *bulk[3];

	(void)state;
	assert_non_null(m);
	assert_int_equal(hp_mbuf_refcnt_update(m, 2), 3);
	bulk[0] = m;
	bulk[1] = NULL;
	bulk[2] = m;
	hp_mbuf_free_bulk(bulk, 3);
	assert_int_equal(hp_mbuf_refcnt_read(m), 1);
	assert_int_equal(hp_mempool_avail(pool), 7);
	assert_int_equal(hp_mbuf_refcnt_update(m, 1), 2);
	assert_int_equal(hp_mbuf_refcnt_update(m, -1), 1);
	hp_mbuf_free(m);
	assert_int_equal(hp_mempool_avail(pool), 8);
	hp_mbuf_free(NULL);
	pool_del(pool, 8, 4, 1);
}

/* What a child of the cross-process tests works on (a private copy). */
struct xproc {
	struct hp_mempool *pool;
	struct hp_mbuf **mbufs; /* shared with the parent */
	unsigned n;
};

static int xproc_free(void *arg)
{
	const struct xproc *x = arg;

	for (unsigned i = 0; i < x->n; i++)
		if (x->mbufs[i]->data_len != i ||
		    *(uint32_t *)hp_mbuf_data(x->mbufs[i]) != i * 3)
			return 1;
	hp_mbuf_free_bulk(x->mbufs, x->n);
	hp_mempool_cache_release(x->pool);
	return 0;
}

static int xproc_alloc(void *arg)
{
	const struct xproc *x = arg;

	if (hp_mbuf_alloc_bulk(x->pool, x->mbufs, x->n) != 0)
		return 1;
	for (unsigned i = 0; i < x->n; i++) {
		x->mbufs[i]->data_len = i;
		*(uint32_t *)hp_mbuf_data(x->mbufs[i]) = i * 3;
	}
	hp_mempool_cache_release(x->pool);
	return 0;
}

static void test_mbuf_free_in_child(void **state)
{
	struct xproc x = { .pool = pool_new(128, 16, 4), .n = 40 };

	(void)state;
	x.mbufs = test_map_shared(x.n * sizeof(*x.mbufs));
	for (unsigned i = 0; i < x.n; i++) {
		assert_int_equal(hp_mbuf_alloc_bulk(x.pool, &x.mbufs[i], 1), 0);
		x.mbufs[i]->data_len = i;
		*(uint32_t *)hp_mbuf_data(x.mbufs[i]) = i * 3;
	}
	assert_int_equal(hp_mempool_avail(x.pool), 128 - x.n);
	assert_int_equal(test_wait(test_fork(xproc_free, &x)), 0);
	assert_int_equal(hp_mempool_avail(x.pool), 128);
	munmap(x.mbufs, x.n * sizeof(*x.mbufs));
	pool_del(x.pool, 128, 16, 4);
}

static void test_mbuf_alloc_in_child(void **state)
{
	struct xproc x = { .pool = pool_new(128, 16, 4), .n = 40 };

	(void)state;
	x.mbufs = test_map_shared(x.n * sizeof(*x.mbufs));
	assert_int_equal(test_wait(test_fork(xproc_alloc, &x)), 0);
	assert_int_equal(hp_mempool_avail(x.pool), 128 - x.n);
	assert_int_equal(xproc_free(&x), 0);
	assert_int_equal(hp_mempool_avail(x.pool), 128);
	munmap(x.mbufs, x.n * sizeof(*x.mbufs));
	pool_del(x.pool, 128, 16, 4);
}

/* One reference dropped in a child, the last one in the parent. */
static void test_mbuf_refcnt_across_processes(void **state)
{
	struct xproc x = { .pool = pool_new(16, 4, 2), .n = 16 };

	(void)state;
	x.mbufs = test_map_shared(x.n * sizeof(*x.mbufs));
	assert_int_equal(test_wait(test_fork(xproc_alloc, &x)), 0);
	for (unsigned i = 0; i < x.n; i++)
		hp_mbuf_refcnt_update(x.mbufs[i], 1);
	assert_int_equal(test_wait(test_fork(xproc_free, &x)), 0);
	assert_int_equal(hp_mempool_avail(x.pool), 0);
	hp_mbuf_free_bulk(x.mbufs, x.n);
	assert_int_equal(hp_mempool_avail(x.pool), 16);
	munmap(x.mbufs, x.n * sizeof(*x.mbufs));
	pool_del(x.pool, 16, 4, 2);
}

/* Child: allocates STRESS_COUNT buffers in bursts and passes them to the
 * parent through ring, which frees them. */
struct stress {
	struct hp_mempool *pool;
	struct hp_ring *ring;
};

static int stress_alloc(void *arg)
{
	const struct stress *s = arg;
	struct hp_mbuf *m[32];
	unsigned sent = 0;

	while (sent < STRESS_COUNT) {
		unsigned n = sent % 32 + 1, done = 0;

		if (n > STRESS_COUNT - sent)
			n = STRESS_COUNT - sent;
		if (hp_mbuf_alloc_bulk(s->pool, m, n) != 0) {
			sched_yield();
			continue;
		}
		for (unsigned i = 0; i < n; i++)
			m[i]->udata = sent + i;
		while (done < n) {
			done += hp_ring_sp_enqueue_burst(s->ring,
							 (void **)m + done,
							 n - done);
			if (done < n)
				sched_yield();
		}
		sent += n;
	}
	hp_mempool_cache_release(s->pool);
	return 0;
}

static void test_mbuf_cross_process_stress(void **state)
{
	struct stress s = { .pool = pool_new(512, 32, 4) };
	struct hp_mbuf *m[32];
	uint64_t next = 0;
	pid_t child;

	(void)state;
	s.ring = test_map_shared(hp_ring_memsize(256));
	assert_int_equal(hp_ring_init(s.ring, "stress", 256,
				      HP_RING_F_SP_ENQ | HP_RING_F_SC_DEQ),
			 0);
	/* The child must not inherit this thread's cache. */
	hp_mbuf_free(hp_mbuf_alloc(s.pool));
	child = test_fork(stress_alloc, &s);
	while (next < STRESS_COUNT) {
		unsigned n = hp_ring_sc_dequeue_burst(s.ring, (void **)m, 32);

		if (n == 0)
			sched_yield();
		for (unsigned i = 0; i < n; i++) {
			assert_int_equal(m[i]->udata, next++);
			assert_int_equal(hp_mbuf_refcnt_read(m[i]), 1);
		}
		hp_mbuf_free_bulk(m, n);
	}
	assert_int_equal(test_wait(child), 0);
	assert_true(hp_ring_empty(s.ring));
	assert_int_equal(hp_mempool_avail(s.pool), 512);
	munmap(s.ring, hp_ring_memsize(256));
	pool_del(s.pool, 512, 32, 4);
}

/* Allocates and frees a few buffers from a thread; the thread releases
 * its cache or not as asked. */
struct thread_arg {
	struct hp_mempool *pool;
	bool release;
	struct hp_mempool_stats seen; /* stats before the release */
	int ret;
};

static void *thread_use_pool(void *arg)
{
	struct thread_arg *t = arg;
	struct hp_mbuf *m[8];

	t->ret = hp_mbuf_alloc_bulk(t->pool, m, 8);
	if (t->ret == 0)
		hp_mbuf_free_bulk(m, 8);
	hp_mempool_stats(t->pool, &t->seen);
	if (t->release)
		hp_mempool_cache_release(t->pool);
	return NULL;
}

static void thread_run(struct thread_arg *t)
{
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, thread_use_pool, t), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(t->ret, 0);
}

/* Reclaims the cache of a thread of this process that was joined: the
 * kernel may take a moment after the join to forget the thread. */
static int reclaim_exited(struct hp_mempool *pool)
{
	int ret = 0;

	for (int tries = 0; ret == 0 && tries < 1000; tries++) {
		ret = hp_mempool_reclaim_pid(pool, getpid());
		if (ret == 0)
			usleep(1000);
	}
	return ret;
}

static void test_mbuf_thread_cache(void **state)
{
	struct thread_arg t = { .pool = pool_new(256, 32, 4), .release = true };
	struct hp_mempool_stats st;
	struct hp_mbuf *m;

	(void)state;
	/* This thread's cache: one slot, buffers in it after a free. */
	m = hp_mbuf_alloc(t.pool);
	hp_mbuf_free(m);
	hp_mempool_stats(t.pool, &st);
	assert_int_equal(st.caches_used, 1);
	assert_true(st.in_caches > 0);
	assert_int_equal(st.in_ring + st.in_caches, 256);

	/* Another thread claims its own slot and releases it. */
	thread_run(&t);
	assert_int_equal(t.seen.caches_used, 2);
	assert_true(t.seen.in_caches > st.in_caches);
	hp_mempool_stats(t.pool, &st);
	assert_int_equal(st.caches_used, 1);

	/* A thread that exits holding its cache: a reclaim of this (live)
	 * process returns that cache and leaves this thread's alone. */
	t.release = false;
	thread_run(&t);
	assert_int_equal(t.seen.caches_used, 2);
	assert_int_equal(reclaim_exited(t.pool),
			 t.seen.in_caches - st.in_caches);
	hp_mempool_stats(t.pool, &st);
	assert_int_equal(st.caches_used, 1);
	assert_int_equal(hp_mempool_avail(t.pool), 256);

	/* Flushed on release. */
	hp_mempool_cache_release(t.pool);
	hp_mempool_stats(t.pool, &st);
	assert_int_equal(st.caches_used, 0);
	assert_int_equal(st.in_ring, 256);
	pool_del(t.pool, 256, 32, 4);
}

static void test_mbuf_no_free_cache_slot(void **state)
{
	struct thread_arg t = { .pool = pool_new(64, 8, 1), .release = true };
	struct hp_mempool_stats st;

	(void)state;
	hp_mbuf_free(hp_mbuf_alloc(t.pool));
	/* The only slot is this thread's: the other one uses the ring. */
	thread_run(&t);
	assert_int_equal(t.seen.caches_used, 1);
	hp_mempool_stats(t.pool, &st);
	assert_int_equal(st.caches_used, 1);
	assert_int_equal(st.in_ring + st.in_caches, 64);
	pool_del(t.pool, 64, 8, 1);
}

/* A thread's memory of its cache does not outlive the pool: a pool laid
 * out again at the same address gets a freshly claimed slot. */
static void test_mbuf_pool_init_again(void **state)
{
	struct hp_mempool *pool = pool_new(64, 8, 2);
	struct hp_mempool_stats st;

	(void)state;
	hp_mbuf_free(hp_mbuf_alloc(pool));
	assert_int_equal(hp_mempool_init(pool, "again", 64, 8, 2, DATA_ROOM),
			 0);
	hp_mbuf_free(hp_mbuf_alloc(pool));
	hp_mempool_stats(pool, &st);
	assert_int_equal(st.caches_used, 1);
	assert_true(st.in_caches > 0);
	assert_int_equal(hp_mempool_avail(pool), 64);
	pool_del(pool, 64, 8, 2);
}

/* Child of the reclaim test: fills its cache, says so, waits to die. */
struct victim {
	struct hp_mempool *pool;
	volatile int *ready;
};

static int victim_run(void *arg)
{
	const struct victim *v = arg;
	struct hp_mbuf *m[40];

	if (hp_mbuf_alloc_bulk(v->pool, m, 40) != 0)
		return 1;
	hp_mbuf_free_bulk(m, 30);
	__atomic_store_n(v->ready, 1, __ATOMIC_RELEASE);
	for (;;)
		pause();
}

static void test_mbuf_reclaim_killed_child(void **state)
{
	struct victim v = { .pool = pool_new(256, 32, 4) };
	struct hp_mempool_stats st;
	struct hp_mbuf *all[256];
	siginfo_t info;
	pid_t child;

	(void)state;
	v.ready = test_map_shared(sizeof(*v.ready));
	child = test_fork(victim_run, &v);
	while (!__atomic_load_n(v.ready, __ATOMIC_ACQUIRE))
		sched_yield();
	hp_mempool_stats(v.pool, &st);
	assert_int_equal(st.caches_used, 1);
	assert_true(st.in_caches > 0);
	/* Alive: nothing to reclaim. */
	assert_int_equal(hp_mempool_reclaim_pid(v.pool, child), 0);

	assert_int_equal(kill(child, SIGKILL), 0);
	/* Dead but not reaped: a zombie still counts as dead. */
	assert_int_equal(waitid(P_PID, child, &info, WEXITED | WNOWAIT), 0);
	assert_int_equal(hp_mempool_reclaim_pid(v.pool, child), st.in_caches);
	assert_int_equal(test_wait(child), 128 + SIGKILL);
	assert_int_equal(hp_mempool_reclaim_pid(v.pool, child), 0);

	/* The 10 buffers the child held are lost; the rest are back. */
	hp_mempool_stats(v.pool, &st);
	assert_int_equal(st.caches_used, 0);
	assert_int_equal(st.in_ring, 246);
	assert_int_equal(hp_mbuf_alloc_bulk(v.pool, all, 246), 0);
	assert_int_equal(hp_mempool_avail(v.pool), 0);
	hp_mbuf_free_bulk(all, 246);
	assert_int_equal(hp_mempool_avail(v.pool), 246);
	hp_mempool_cache_release(v.pool);
	munmap((void *)v.ready, sizeof(*v.ready));
	munmap(v.pool, hp_mempool_memsize(256, 32, 4, DATA_ROOM));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mbuf_init_checks),
		cmocka_unit_test(test_mbuf_alloc_free_counts),
		cmocka_unit_test(test_mbuf_all_or_nothing),
		cmocka_unit_test(test_mbuf_chain),
		cmocka_unit_test(test_mbuf_reset_fields),
		cmocka_unit_test(test_mbuf_data_pointer),
		cmocka_unit_test(test_mbuf_refcnt),
		cmocka_unit_test(test_mbuf_free_in_child),
		cmocka_unit_test(test_mbuf_alloc_in_child),
		cmocka_unit_test(test_mbuf_refcnt_across_processes),
		cmocka_unit_test(test_mbuf_cross_process_stress),
		cmocka_unit_test(test_mbuf_thread_cache),
		cmocka_unit_test(test_mbuf_no_free_cache_slot),
		cmocka_unit_test(test_mbuf_pool_init_again),
		cmocka_unit_test(test_mbuf_reclaim_killed_child),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
