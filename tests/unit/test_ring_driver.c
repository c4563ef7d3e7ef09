/* SPDX-License-Identifier: BSD-3-Clause */
/* net_ring across real processes: packets sent on a port in one process
 * arrive, unchanged, on its peer in another; loopback; a full ring; peers
 * detached in either order; bad devargs. The test process is the primary;
 * secondaries are this binary re-executed with --child
 * (hp_test_child.h). */
#include "hp_test_child.h"
#include "hp_ring.h"
#include "hp_shm.h"

/* Packet k of a stream seeded seed: its length and its bytes. The first
 * four bytes hold k, so a receiver sees both order and content. */
static uint16_t pkt_len_of(uint32_t seed, uint32_t k)
{
	return (uint16_t)(60 + (seed + k) % 200);
}

static void pkt_fill(struct hp_mbuf *m, uint32_t seed, uint32_t k)
{
	uint8_t *d = hp_mbuf_data(m);

	m->data_len = pkt_len_of(seed, k);
	m->pkt_len = m->data_len;
	memcpy(d, &k, sizeof(k));
	for (uint16_t j = sizeof(k); j < m->data_len; j++)
		d[j] = (uint8_t)(seed + k + j);
}

static bool pkt_check(const struct hp_mbuf *m, uint32_t seed, uint32_t k)
{
	const uint8_t *d = hp_mbuf_data(m);
	uint32_t got;

	memcpy(&got, d, sizeof(got));
	if (got != k || m->pkt_len != pkt_len_of(seed, k) ||
	    m->data_len != m->pkt_len)
		return false;
	for (uint16_t j = sizeof(k); j < m->data_len; j++)
		if (d[j] != (uint8_t)(seed + k + j))
			return false;
	return true;
}

/* Sends packets first..first+n-1 of stream seed in bursts of up to 32,
 * retrying while the ring is full when wait is set, for at most 10 s;
 * returns how many the port took. */
static unsigned stream_send(uint16_t port, uint16_t q, uint32_t seed,
			    uint32_t first, unsigned n, bool wait)
{
	struct hp_mempool *mp = child_pool("hp_pool_default");
	struct hp_mbuf *pkts[32];
	time_t end = time(NULL) + 10;
	unsigned done = 0;

	hp_rcu_thread_online();
	while (done < n && time(NULL) < end) {
		unsigned b = n - done < 32 ? n - done : 32;
		uint16_t sent;

		if (hp_mbuf_alloc_bulk(mp, pkts, b) < 0)
			break;
		for (unsigned i = 0; i < b; i++)
			pkt_fill(pkts[i], seed, first + done + i);
		sent = hp_port_tx_burst(port, q, pkts, (uint16_t)b);
		hp_mbuf_free_bulk(pkts + sent, b - sent);
		done += sent;
		hp_rcu_quiescent();
		if (sent < b && !wait)
			break;
	}
	hp_rcu_thread_offline();
	return done;
}

/* Receives until n packets of stream seed from first on arrived in order
 * and intact (wait: for up to 10 s; else one pass until the queue is
 * empty); returns how many, or -1 on a bad packet. */
static int stream_recv(uint16_t port, uint16_t q, uint32_t seed,
		       uint32_t first, unsigned n, bool wait)
{
	struct hp_mbuf *pkts[32];
	time_t end = time(NULL) + 10;
	unsigned done = 0;
	bool ok = true;

	hp_rcu_thread_online();
	while (done < n && ok && time(NULL) < end) {
		unsigned want = n - done < 32 ? n - done : 32;
		uint16_t got = hp_port_rx_burst(port, q, pkts, (uint16_t)want);

		for (uint16_t i = 0; i < got; i++) {
			ok &= pkts[i]->port == port && pkts[i]->queue == q &&
			      pkt_check(pkts[i], seed, first + done + i);
		}
		hp_mbuf_free_bulk(pkts, got);
		done += got;
		hp_rcu_quiescent();
		if (got == 0 && !wait)
			break;
	}
	hp_rcu_thread_offline();
	return ok ? (int)done : -1;
}

/* send|recv PORT QUEUE N SEED [FIRST]: one pass; sendall|recvall: until
 * all N went through. */
static bool ring_child_cmd(const char *line)
{
	unsigned p, q, n, seed, first = 0;
	char verb[16];

	if (sscanf(line, "%15s %u %u %u %u %u", verb, &p, &q, &n, &seed,
		   &first) < 5)
		return false;
	if (!strcmp(verb, "send") || !strcmp(verb, "sendall"))
		printf("ok %u\n", stream_send((uint16_t)p, (uint16_t)q, seed,
					      first, n, verb[4] == 'a'));
	else if (!strcmp(verb, "recv") || !strcmp(verb, "recvall"))
		printf("ok %d\n", stream_recv((uint16_t)p, (uint16_t)q, seed,
					      first, n, verb[4] == 'a'));
	else
		return false;
	return true;
}

static size_t heap_used(void)
{
	size_t used;

	hp_shm_heap_stats(hp_core_shm(), NULL, &used);
	return used;
}

static struct hp_mempool *default_pool(void)
{
	return child_pool("hp_pool_default");
}

static int setup(void **state)
{
	(void)state;
	return primary_setup("ring");
}

static void test_ring_driver_pipe_between_processes(void **state)
{
	struct child a = { 0 }, b = { 0 };
	struct hp_port_info info;
	struct hp_port_stats st;
	char buf[256], here[256];
	uint16_t id0, id1;

	(void)state;
	child_start_env(&a, NULL, NULL);
	child_start_env(&b, NULL, NULL);
	assert_int_equal(hp_port_attach("net_ring0,size=256", &id0), 0);
	assert_int_equal(hp_port_attach("net_ring1,peer=net_ring0", &id1), 0);
	assert_int_equal(hp_port_info_get(id0, &info), 0);
	assert_int_equal(info.peer, id1);
	assert_string_equal(info.driver, "net_ring");
	assert_int_equal(hp_port_info_get(id1, &info), 0);
	assert_int_equal(info.peer, id0);
	assert_int_equal(hp_port_start(id0), 0);
	assert_int_equal(hp_port_start(id1), 0);

	/* 1 -> 0: a sends on port 1, b receives on port 0. */
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "send 1 0 32 5"), "ok 32");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "recv 1 0 64 5"), "ok 0");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "recv 0 0 64 5"), "ok 32");
	/* 0 -> 1: b sends on port 0, a receives on port 1. */
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "send 0 0 16 9"), "ok 16");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "recv 1 0 64 9"), "ok 16");

	/* Both at once, more than a ring holds: the sender waits for room. */
	child_send(&a, "sendall 1 0 5000 7");
	child_send(&b, "recvall 0 0 5000 7");
	assert_string_equal(child_answer(&a, buf, sizeof(buf)), "ok 5000");
	assert_string_equal(child_answer(&b, buf, sizeof(buf)), "ok 5000");

	/* The same counters in every process. */
	assert_int_equal(hp_port_stats_get(id0, &st), 0);
	assert_int_equal(st.ipackets, 5032);
	assert_int_equal(st.opackets, 16);
	assert_int_equal(hp_port_stats_get(id1, &st), 0);
	assert_int_equal(st.opackets, 5032);
	assert_int_equal(st.ipackets, 16);
	snprintf(here, sizeof(here), "ok %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " 0",
		 st.ipackets, st.ibytes, st.opackets, st.obytes, st.q_ipackets[0]);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "stats 1"), here);
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "stats 1"), here);
	assert_int_equal(hp_mempool_avail(default_pool()),
			 hp_mempool_size(default_pool()));
	child_stop(&a);
	child_stop(&b);
}

static void test_ring_driver_queues_and_secondary_attach(void **state)
{
	struct child a = { 0 }, b = { 0 };
	struct hp_port_info info;
	char buf[256];

	(void)state;
	child_start_env(&a, NULL, NULL);
	child_start_env(&b, NULL, NULL);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "attach net_ring0,queues=4"),
			    "ok 0");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf),
				      "attach net_ring1,queues=4,peer=net_ring0"),
			    "ok 1");
	assert_int_equal(hp_port_info_get(0, &info), 0);
	assert_int_equal(info.nb_rx_queues, 4);
	assert_int_equal(info.max_rx_queues, 4);
	assert_int_equal(info.peer, 1);
	/* No more queues than rings. */
	assert_int_equal(hp_port_configure(0, 5, 4), -EINVAL);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "configure 1 2 2"), "ok 0");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "nbq 1"), "ok 2 2");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "start 0"), "ok 0");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "start 1"), "ok 0");
	/* tx queue q of a port lands on rx queue q of its peer. */
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "send 1 1 8 3"), "ok 8");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "recv 0 0 64 3"), "ok 0");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "recv 0 1 64 3"), "ok 8");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "send 0 3 4 2"), "ok 4");
	/* Port 1 polls 2 queues only; ring 3 holds the packets till detach. */
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "recv 1 3 64 2"), "ok 0");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "configure 1 4 4"), "ok -16");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "stop 1"), "ok 0");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "configure 1 4 4"), "ok 0");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "start 1"), "ok 0");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "recv 1 3 64 2"), "ok 4");
	child_stop(&a);
	child_stop(&b);
}

static void test_ring_driver_loopback(void **state)
{
	struct child a = { 0 }, b = { 0 };
	struct hp_port_info info;
	char buf[256];
	uint16_t id;

	(void)state;
	child_start_env(&a, NULL, NULL);
	child_start_env(&b, NULL, NULL);
	assert_int_equal(hp_port_attach("net_ring0", &id), 0);
	assert_int_equal(hp_port_info_get(id, &info), 0);
	assert_int_equal(info.peer, HP_PORT_INVALID);
	assert_int_equal(hp_port_start(id), 0);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "send 0 0 10 1"), "ok 10");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "recv 0 0 64 1"), "ok 10");
	child_stop(&a);
	child_stop(&b);
}

static void test_ring_driver_full_ring_takes_part(void **state)
{
	struct child a = { 0 };
	struct hp_port_stats st;
	char buf[256];
	uint16_t id;

	(void)state;
	child_start_env(&a, NULL, NULL);
	assert_int_equal(hp_port_attach("net_ring0,size=16", &id), 0);
	assert_int_equal(hp_port_start(id), 0);
	/* One burst of 32 into 16 free slots: 16 taken, 16 left to the caller. */
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "send 0 0 40 4"), "ok 16");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "send 0 0 8 4 16"), "ok 0");
	assert_int_equal(hp_port_stats_get(id, &st), 0);
	assert_int_equal(st.opackets, 16);
	assert_int_equal(st.odropped, 16 + 8);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "recv 0 0 64 4"), "ok 16");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "send 0 0 8 4 16"), "ok 8");
	assert_int_equal(hp_mempool_avail(default_pool()),
			 hp_mempool_size(default_pool()) - 8);
	/* Buffers still in a ring go back to their pool at detach. */
	assert_int_equal(hp_port_stop(id), 0);
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	assert_int_equal(hp_mempool_avail(default_pool()),
			 hp_mempool_size(default_pool()));
	child_stop(&a);
}

static void test_ring_driver_peer_detach_either_side(void **state)
{
	struct child a = { 0 };
	struct hp_port_info info;
	char buf[256], err[256];
	uint16_t id0, id1, id2;
	size_t base;

	(void)state;
	child_start_env(&a, NULL, NULL);
	base = heap_used();
	for (int cycle = 0; cycle < 2; cycle++) {
		assert_int_equal(hp_port_attach("net_ring0", &id0), 0);
		assert_int_equal(hp_port_attach("net_ring1,peer=net_ring0", &id1), 0);
		/* A port has one peer at most. */
		assert_int_equal(hp_port_attach_msg("net_ring2,peer=net_ring0", &id2,
						    err, sizeof(err)), -EBUSY);
		assert_non_null(strstr(err, "already joined to port 1"));
		assert_int_equal(hp_port_start(id0), 0);
		assert_int_equal(hp_port_start(id1), 0);
		/* Packets in flight towards the port that goes. */
		assert_string_equal(child_cmd(&a, buf, sizeof(buf), "send 0 0 5 1"), "ok 5");
		/* Started: refused. Stopped: either side goes, the other one
		 * loops back in every process. */
		uint16_t gone = cycle ? id0 : id1, stays = cycle ? id1 : id0;
		assert_int_equal(hp_port_detach_msg(gone, NULL, 0, err, sizeof(err)),
				 -EBUSY);
		assert_int_equal(hp_port_stop(gone), 0);
		assert_int_equal(hp_port_detach(gone, NULL, 0), 0);
		assert_int_equal(hp_port_info_get(stays, &info), 0);
		assert_int_equal(info.peer, HP_PORT_INVALID);
		if (stays == id1) {
			/* It still has what port 0 sent it. */
			child_cmd(&a, buf, sizeof(buf), "recv %u 0 64 1", stays);
			assert_string_equal(buf, "ok 5");
		}
		child_cmd(&a, buf, sizeof(buf), "send %u 0 6 2", stays);
		assert_string_equal(buf, "ok 6");
		child_cmd(&a, buf, sizeof(buf), "recv %u 0 64 2", stays);
		assert_string_equal(buf, "ok 6");
		assert_int_equal(hp_port_stop(stays), 0);
		assert_int_equal(hp_port_detach(stays, NULL, 0), 0);
		assert_int_equal(hp_port_count(), 0);
		assert_int_equal(heap_used(), base);
		assert_int_equal(hp_mempool_avail(default_pool()),
				 hp_mempool_size(default_pool()));
	}
	child_stop(&a);
}

static void test_ring_driver_bad_devargs_leave_nothing(void **state)
{
	static const struct bad_devargs bad[] = {
		{ "net_ring1,peer=nosuch", -EINVAL, "peer=nosuch: no attached port" },
		{ "net_ring1,peer=net_null0", -EINVAL, "not a net_ring one" },
		{ "net_ring1,peer=net_ring1", -EINVAL, "no attached port" },
		{ "net_ring1,queues=2,peer=net_ring0", -EINVAL, "same queues=" },
		{ "net_ring1,size=1000", -EINVAL, "power of two" },
		{ "net_ring1,size=0", -EINVAL, "from 2 to 65536" },
		{ "net_ring1,size=131072", -EINVAL, "from 2 to 65536" },
		{ "net_ring1,size=-4", -EINVAL, "size=-4" },
		{ "net_ring1,queues=17", -EINVAL, "queues=17" },
		{ "net_ring1,bogus=1", -EINVAL, "unknown key 'bogus'" },
		{ "net_ring_far_too_long_name", -ENAMETOOLONG, "at most 18 characters" },
	};
	struct hp_ring *r;
	uint16_t id, id0, idn;
	size_t base;

	(void)state;
	assert_int_equal(hp_port_attach("net_null0", &idn), 0);
	assert_int_equal(hp_port_attach("net_ring0", &id0), 0);
	base = heap_used();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		attach_must_fail(&bad[i]);
		assert_int_equal(hp_port_count(), 2);
		assert_int_equal(heap_used(), base);
		assert_int_equal(hp_ring_lookup(hp_core_shm(), "net_ring1:rx0", &r),
				 -ENOENT);
	}
	/* A name that just fits works, and so do attach/detach cycles. */
	assert_int_equal(hp_port_attach("net_ring_18_chars_", &id), 0);
	assert_int_equal(hp_ring_lookup(hp_core_shm(), "net_ring_18_chars_:rx0", &r), 0);
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(hp_port_attach("net_ring1,queues=1,size=64,peer=net_ring0",
						&id), 0);
		assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	}
	assert_int_equal(heap_used(), base);
	assert_int_equal(hp_ring_lookup(hp_core_shm(), "net_ring1:rx0", &r), -ENOENT);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ring_driver_pipe_between_processes, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_ring_driver_queues_and_secondary_attach, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_ring_driver_loopback, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_ring_driver_full_ring_takes_part, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_ring_driver_peer_detach_either_side, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_ring_driver_bad_devargs_leave_nothing, setup, primary_teardown),
	};

	if (argc == 4 && !strcmp(argv[1], "--child"))
		return child_main(argv[2], atoi(argv[3]), ring_child_cmd);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
