/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of lib/ring: layout checks, bulk and burst semantics, and
 * rings shared by forked processes. */
#include <assert.h>
#include <errno.h>
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

#include "hp_ring.h"
#include "hp_test.h"

/* Sequence numbers passed from one process to another. */
#define SPSC_COUNT 10000000u
/* Values each producer process passes in the MP/MC test. */
#define MPMC_PER_PRODUCER 1000000u
#define MPMC_PRODUCERS 2
#define MPMC_CONSUMERS 2

#define SEQ(v) ((void *)(uintptr_t)(v))
#define VAL(p) ((uintptr_t)(p))

/* A ring of count slots in memory shared with children forked later. */
static struct hp_ring *ring_new(unsigned count, unsigned flags)
{
	ssize_t len = hp_ring_memsize(count);
	struct hp_ring *r;

	assert_true(len > 0);
	r = test_map_shared(len);
	assert_int_equal(hp_ring_init(r, "test", count, flags), 0);
	return r;
}

static void ring_del(struct hp_ring *r)
{
	munmap(r, hp_ring_memsize(r->size));
}

static void test_ring_init_checks(void **state)
{
	char name[HP_RING_NAME_MAX + 1];
	struct hp_ring *r = ring_new(64, 0);

	(void)state;
	assert_int_equal(hp_ring_memsize(0), -EINVAL);
	assert_int_equal(hp_ring_memsize(3), -EINVAL);
	assert_int_equal(hp_ring_memsize(HP_RING_SIZE_MAX * 2u), -EINVAL);
	assert_true(hp_ring_memsize(64) >=
		    (ssize_t)(sizeof(*r) + 64 * sizeof(void *)));

	assert_int_equal(hp_ring_init(r, "x", 0, 0), -EINVAL);
	assert_int_equal(hp_ring_init(r, "x", 48, 0), -EINVAL);
	assert_int_equal(hp_ring_init(NULL, "x", 64, 0), -EINVAL);
	assert_int_equal(hp_ring_init((char *)r + 8, "x", 32, 0), -EINVAL);
	assert_int_equal(hp_ring_init(r, "x", 64, 1u << 7), -EINVAL);
	assert_int_equal(hp_ring_init(r, NULL, 64, 0), -EINVAL);
	assert_int_equal(hp_ring_init(r, "", 64, 0), -EINVAL);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(hp_ring_init(r, name, 64, 0), -ENAMETOOLONG);
	name[HP_RING_NAME_MAX - 1] = '\0';
	assert_int_equal(hp_ring_init(r, name, 64, 0), 0);
	assert_string_equal(r->name, name);

	assert_int_equal(hp_ring_capacity(r), 64);
	assert_int_equal(hp_ring_count(r), 0);
	assert_int_equal(hp_ring_free_count(r), 64);
	assert_true(hp_ring_empty(r));
	ring_del(r);
}

static void test_ring_bulk_all_or_nothing(void **state)
{
	struct hp_ring *r = ring_new(8, 0);
	void *in[10], *out[10];

	(void)state;
	for (unsigned i = 0; i < 10; i++)
		in[i] = SEQ(i + 1);
	assert_int_equal(hp_ring_enqueue_bulk(r, in, 5), 5);
	assert_int_equal(hp_ring_enqueue_bulk(r, in + 5, 4), 0);
	assert_int_equal(hp_ring_count(r), 5);
	assert_int_equal(hp_ring_enqueue_bulk(r, in + 5, 3), 3);
	assert_true(hp_ring_full(r));
	assert_int_equal(hp_ring_dequeue_bulk(r, out, 9), 0);
	assert_int_equal(hp_ring_count(r), 8);
	assert_int_equal(hp_ring_dequeue_bulk(r, out, 8), 8);
	for (unsigned i = 0; i < 8; i++)
		assert_ptr_equal(out[i], in[i]);
	assert_int_equal(hp_ring_dequeue_bulk(r, out, 1), 0);
	ring_del(r);
}

static void test_ring_burst_partial(void **state)
{
	struct hp_ring *r = ring_new(8, HP_RING_F_SP_ENQ | HP_RING_F_SC_DEQ);
	void *in[10], *out[10];

	(void)state;
	for (unsigned i = 0; i < 10; i++)
		in[i] = SEQ(i + 1);
	assert_int_equal(hp_ring_enqueue_burst(r, in, 10), 8);
	assert_int_equal(hp_ring_enqueue_burst(r, in + 8, 2), 0);
	assert_int_equal(hp_ring_dequeue_burst(r, out, 5), 5);
	assert_int_equal(hp_ring_mp_enqueue_burst(r, in + 8, 2), 2);
	assert_int_equal(hp_ring_mc_dequeue_burst(r, out + 5, 10), 5);
	for (unsigned i = 0; i < 10; i++)
		assert_ptr_equal(out[i], in[i]);
	assert_int_equal(hp_ring_dequeue_burst(r, out, 10), 0);
	ring_del(r);
}

/* Pushes values through r in chunks of every size from 1 to 15, so that
 * copies cross the end of the slot array at every offset. */
static void ring_cycle(struct hp_ring *r, unsigned rounds)
{
	uintptr_t next_in = 1, next_out = 1;
	void *buf[16];

	for (unsigned round = 0; round < rounds; round++) {
		unsigned n = round % 15 + 1;

		for (unsigned i = 0; i < n; i++)
			buf[i] = SEQ(next_in++);
		assert_int_equal(hp_ring_enqueue_bulk(r, buf, n), n);
		assert_int_equal(hp_ring_count(r), n);
		assert_int_equal(hp_ring_dequeue_bulk(r, buf, n), n);
		for (unsigned i = 0; i < n; i++)
			assert_int_equal(VAL(buf[i]), next_out++);
	}
}

static void test_ring_wrap_around(void **state)
{
	struct hp_ring *r = ring_new(16, 0);
	const uint32_t near_end = UINT32_MAX - 40;

	(void)state;
	ring_cycle(r, 200);
	/* The free-running 32-bit indices wrap too. */
	r->prod.head = r->prod.tail = near_end;
	r->cons.head = r->cons.tail = near_end;
	assert_int_equal(hp_ring_count(r), 0);
	ring_cycle(r, 200);
	assert_true(r->prod.tail < near_end);
	ring_del(r);
}

static void test_ring_full_empty(void **state)
{
	struct hp_ring *r = ring_new(4, 0);
	void *obj;

	(void)state;
	assert_int_equal(hp_ring_dequeue(r, &obj), -ENOENT);
	for (uintptr_t i = 1; i <= 4; i++)
		assert_int_equal(hp_ring_enqueue(r, SEQ(i)), 0);
	assert_int_equal(hp_ring_enqueue(r, SEQ(5)), -ENOBUFS);
	assert_true(hp_ring_full(r));
	assert_int_equal(hp_ring_free_count(r), 0);
	for (uintptr_t i = 1; i <= 4; i++) {
		assert_int_equal(hp_ring_dequeue(r, &obj), 0);
		assert_int_equal(VAL(obj), i);
		assert_int_equal(hp_ring_count(r), 4 - i);
	}
	obj = SEQ(99);
	assert_int_equal(hp_ring_dequeue(r, &obj), -ENOENT);
	assert_int_equal(VAL(obj), 99);
	assert_true(hp_ring_empty(r));
	ring_del(r);
}

static void test_ring_count(void **state)
{
	struct hp_ring *r = ring_new(32, 0);
	void *buf[32] = { 0 };

	(void)state;
	for (unsigned i = 1; i <= 32; i++) {
		assert_int_equal(hp_ring_enqueue(r, SEQ(i)), 0);
		assert_int_equal(hp_ring_count(r), i);
		assert_int_equal(hp_ring_free_count(r), 32 - i);
	}
	assert_int_equal(hp_ring_dequeue_burst(r, buf, 7), 7);
	assert_int_equal(hp_ring_count(r), 25);
	assert_int_equal(hp_ring_enqueue_burst(r, buf, 7), 7);
	assert_int_equal(hp_ring_count(r), 32);
	ring_del(r);
}

/* Consumer side of the SP/SC test: every value in order, then exit 0. */
static int spsc_consume(void *arg)
{
	struct hp_ring *r = arg;
	uintptr_t expect = 1;
	void *buf[32];

	while (expect <= SPSC_COUNT) {
		unsigned n = hp_ring_sc_dequeue_burst(r, buf, 32);

		if (n == 0)
			sched_yield();
		for (unsigned i = 0; i < n; i++)
			if (VAL(buf[i]) != expect++)
				return 1;
	}
	return 0;
}

static void test_ring_spsc_two_processes(void **state)
{
	struct hp_ring *r = ring_new(1024, HP_RING_F_SP_ENQ | HP_RING_F_SC_DEQ);
	pid_t child = test_fork(spsc_consume, r);
	uintptr_t next = 1;
	void *buf[32];

	(void)state;
	while (next <= SPSC_COUNT) {
		unsigned want = (next % 32) + 1, n;

		if (want > SPSC_COUNT - next + 1)
			want = SPSC_COUNT - next + 1;
		for (unsigned i = 0; i < want; i++)
			buf[i] = SEQ(next + i);
		n = hp_ring_sp_enqueue_burst(r, buf, want);
		if (n == 0)
			sched_yield();
		next += n;
	}
	assert_int_equal(test_wait(child), 0);
	assert_true(hp_ring_empty(r));
	ring_del(r);
}

/* Shared state of the MP/MC tests. */
struct mpmc {
	struct hp_ring *ring;
	uint64_t taken; /* values dequeued so far, by all consumers */
	uint64_t sum[MPMC_CONSUMERS];
	uint8_t seen[MPMC_PRODUCERS * MPMC_PER_PRODUCER + 1];
};

/* What one child of the MP/MC tests gets (a private copy). */
struct mpmc_arg {
	struct mpmc *m;
	unsigned id; /* producer or consumer number */
};

/* Producer p passes p * MPMC_PER_PRODUCER + 1 ... (p + 1) * PER, in bulks
 * (all or nothing) of 1 to 8. */
static int mpmc_produce(void *arg)
{
	const struct mpmc_arg *a = arg;
	struct mpmc *m = a->m;
	uintptr_t next = (uintptr_t)a->id * MPMC_PER_PRODUCER + 1;
	uintptr_t end = next + MPMC_PER_PRODUCER;
	void *buf[8];

	while (next < end) {
		unsigned n = next % 8 + 1;

		if (n > end - next)
			n = end - next;
		for (unsigned i = 0; i < n; i++)
			buf[i] = SEQ(next + i);
		if (hp_ring_mp_enqueue_bulk(m->ring, buf, n) == 0)
			sched_yield();
		else
			next += n;
	}
	return 0;
}

/* Consumer: marks each value seen, adds it up, and checks that each
 * producer's values reach it in order. */
static int mpmc_consume(void *arg)
{
	const uint64_t total = MPMC_PRODUCERS * MPMC_PER_PRODUCER;
	const struct mpmc_arg *a = arg;
	struct mpmc *m = a->m;
	uintptr_t last[MPMC_PRODUCERS] = { 0 };
	void *buf[16];

	while (__atomic_load_n(&m->taken, __ATOMIC_RELAXED) < total) {
		unsigned n = hp_ring_mc_dequeue_burst(m->ring, buf, a->id + 15);

		if (n == 0) {
			sched_yield();
			continue;
		}
		for (unsigned i = 0; i < n; i++) {
			uintptr_t v = VAL(buf[i]);
			unsigned p = (v - 1) / MPMC_PER_PRODUCER;

			if (v == 0 || v > total || v <= last[p])
				return 1;
			last[p] = v;
			__atomic_fetch_add(&m->seen[v], 1, __ATOMIC_RELAXED);
			m->sum[a->id] += v;
		}
		__atomic_fetch_add(&m->taken, n, __ATOMIC_RELAXED);
	}
	return 0;
}

/* Forks n children running fn with ids 0 .. n - 1 into kids. */
static void mpmc_fork(struct mpmc *m, int (*fn)(void *), unsigned n,
		      pid_t *kids)
{
	struct mpmc_arg arg = { .m = m };

	for (arg.id = 0; arg.id < n; arg.id++)
		kids[arg.id] = test_fork(fn, &arg);
}

static void mpmc_wait(const pid_t *kids, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(test_wait(kids[i]), 0);
}

/* Runs the producers and consumers on a ring of count slots, all at once
 * or (together false) producers first, then consumers, so that each side
 * fights over its head; checks that every value arrived exactly once. */
static void mpmc_run(unsigned count, bool together)
{
	const uint64_t total = MPMC_PRODUCERS * MPMC_PER_PRODUCER;
	struct mpmc *m = test_map_shared(sizeof(*m));
	pid_t prod[MPMC_PRODUCERS], cons[MPMC_CONSUMERS];
	uint64_t sum = 0;

	m->ring = ring_new(count, 0);
	mpmc_fork(m, mpmc_produce, MPMC_PRODUCERS, prod);
	if (!together) {
		mpmc_wait(prod, MPMC_PRODUCERS);
		assert_int_equal(hp_ring_count(m->ring), total);
	}
	mpmc_fork(m, mpmc_consume, MPMC_CONSUMERS, cons);
	if (together)
		mpmc_wait(prod, MPMC_PRODUCERS);
	mpmc_wait(cons, MPMC_CONSUMERS);

	assert_int_equal(m->taken, total);
	for (unsigned c = 0; c < MPMC_CONSUMERS; c++)
		sum += m->sum[c];
	assert_true(sum == total * (total + 1) / 2);
	for (uint64_t v = 1; v <= total; v++)
		if (m->seen[v] != 1)
			fail_msg("value %llu seen %u times",
				 (unsigned long long)v, m->seen[v]);
	assert_true(hp_ring_empty(m->ring));
	ring_del(m->ring);
	munmap(m, sizeof(*m));
}

static void test_ring_mpmc_processes(void **state)
{
	(void)state;
	mpmc_run(256, true);
}

/* Two producers on two cores race for the head with nothing else to do,
 * then two consumers do the same. */
static void test_ring_mpmc_contention(void **state)
{
	(void)state;
	static_assert(MPMC_PRODUCERS * MPMC_PER_PRODUCER <= 1u << 21,
		      "the ring holds every value");
	mpmc_run(1u << 21, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_init_checks),
		cmocka_unit_test(test_ring_bulk_all_or_nothing),
		cmocka_unit_test(test_ring_burst_partial),
		cmocka_unit_test(test_ring_wrap_around),
		cmocka_unit_test(test_ring_full_empty),
		cmocka_unit_test(test_ring_count),
		cmocka_unit_test(test_ring_spsc_two_processes),
		cmocka_unit_test(test_ring_mpmc_processes),
		cmocka_unit_test(test_ring_mpmc_contention),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
