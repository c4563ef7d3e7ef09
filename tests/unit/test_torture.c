/* SPDX-License-Identifier: BSD-3-Clause */
/* Detach under traffic: three secondaries forward (io) on every attached
 * port with two threads each, while a fourth secondary attaches, starts,
 * stops and detaches a port over and over (HOTPORT_TORTURE_CYCLES, default
 * 10,000). Nothing may crash or touch freed memory (run it under ASan),
 * no data race may show (TSan), every forwarder's counters must add up
 * (received = transmitted + dropped), and the slots, shared heap and
 * packet buffers must be as they were. The test process is the primary. */
#include <dirent.h>

#include "hp_test_child.h"
#include "hp_fwd.h"
#include "hp_shm.h"

#define TORTURE_FORWARDERS 3

/* Whether port id has received packets, waiting up to ms for it. */
static bool torture_polled(uint16_t id, int ms)
{
	struct hp_port_stats st;

	for (int i = 0; i <= ms * 2; i++) {
		if (hp_port_stats_get(id, &st) == 0 && st.ipackets > 0)
			return true;
		if (i < ms * 2)
			usleep(500);
	}
	return false;
}

/* Tells, on stderr, what each thread of process pid is doing (state,
 * wait channel, kernel stack): a detach that timed out names the pid that
 * did not answer, and this says where it was. */
static void torture_dump_threads(pid_t pid)
{
	char path[384], line[256];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		static const char *const what[] = { "comm", "stat", "wchan", "stack" };

		if (de->d_name[0] == '.')
			continue;
		fprintf(stderr, "pid %d thread %s:\n", (int)pid, de->d_name);
		for (size_t i = 0; i < HP_ARRAY_SIZE(what); i++) {
			snprintf(path, sizeof(path), "/proc/%d/task/%s/%s",
				 (int)pid, de->d_name, what[i]);
			FILE *f = fopen(path, "r");
			if (!f)
				continue;
			while (fgets(line, sizeof(line), f))
				fprintf(stderr, "  %s: %s%s", what[i], line,
					strchr(line, '\n') ? "" : "\n");
			fclose(f);
		}
	}
	closedir(d);
}

/* After the first failed detach: where the process that did not answer
 * was, and whether it answers a retry (slow, or stuck for good). */
static void torture_explain(uint16_t id, int r, const char *err)
{
	const char *p = strstr(err, "secondary pid ");
	char err2[256];

	if (r != -ETIMEDOUT || !p)
		return;
	torture_dump_threads((pid_t)atoi(p + strlen("secondary pid ")));
	for (int i = 0; i < 3; i++) {
		r = hp_port_detach_msg(id, NULL, 0, err2, sizeof(err2));
		fprintf(stderr, "retry %d of the detach: %d %s\n", i + 1, r,
			r ? err2 : "done");
		if (r == 0)
			break;
	}
}

/* Forwarder and hotplugger commands of the children. */
static bool torture_cmd(const char *line)
{
	struct hp_fwd_stats st;
	char err[256] = "";
	unsigned n, fails = 0;
	int r;

	if (!strcmp(line, "fwd start")) {
		r = hp_fwd_set_mode(HP_FWD_IO);
		if (r == 0)
			r = hp_fwd_set_lcores("0-1");
		if (r == 0)
			r = hp_fwd_set_ports("all");
		if (r == 0)
			r = hp_fwd_start();
		printf("ok %d\n", r);
	} else if (!strcmp(line, "fwd stop")) {
		memset(&st, 0, sizeof(st));
		r = hp_fwd_stop(&st);
		printf("ok %d %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", r,
		       st.total.rx_packets, st.total.tx_packets,
		       st.total.tx_dropped);
	} else if (sscanf(line, "cycles %u", &n) == 1) {
		unsigned polled = 0;

		for (unsigned i = 0; i < n; i++) {
			uint16_t id;
			r = hp_port_attach_msg("net_null_t0", &id, err, sizeof(err));
			if (r == 0)
				r = hp_port_start(id);
			/* Every tenth cycle waits until forwarders poll the
			 * port (they take it at its NEW event, after the
			 * attach returned), so that those detaches must wait
			 * for them; the others fall where they fall. */
			if (r == 0 && i % 10 == 0 && !torture_polled(id, 2000)) {
				r = -ETIMEDOUT;
				snprintf(err, sizeof(err), "no forwarder polled the port");
			}
			if (r == 0)
				r = hp_port_stop(id);
			if (r == 0)
				polled += torture_polled(id, 0);
			if (r == 0) {
				r = hp_port_detach_msg(id, NULL, 0, err, sizeof(err));
				if (r < 0 && fails == 0) {
					fprintf(stderr, "cycle %u: %d %s\n", i, r, err);
					torture_explain(id, r, err);
					fails++;
					continue;
				}
			}
			if (r < 0 && fails++ == 0)
				fprintf(stderr, "cycle %u: %d %s\n", i, r, err);
		}
		printf("ok %u %u\n", fails, polled);
	} else {
		return false;
	}
	return true;
}

static int setup(void **state)
{
	(void)state;
	return primary_setup("torture");
}

/* Waits for a child to exit on its own (its stdin closed) and returns its
 * status: a sanitizer report makes it non-zero. */
static int child_exit_status(struct child *c)
{
	int st = -1;

	fclose(c->in);
	close(c->out);
	if (waitpid(c->pid, &st, 0) != c->pid)
		return -1;
	c->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_torture_detach_under_traffic(void **state)
{
	const char *env = getenv("HOTPORT_TORTURE_CYCLES");
	unsigned cycles = env ? (unsigned)atoi(env) : 10000;
	struct child fwd[TORTURE_FORWARDERS] = { 0 }, plug = { 0 };
	struct hp_mempool *pool;
	size_t heap_free0, heap_used0, heap_free, heap_used;
	char buf[256];
	uint16_t id;

	(void)state;
	/* Two ports always there and started: traffic never stops. */
	assert_int_equal(hp_port_attach("net_null0", &id), 0);
	assert_int_equal(hp_port_start(id), 0);
	assert_int_equal(hp_port_attach("net_null1", &id), 0);
	assert_int_equal(hp_port_start(id), 0);
	hp_shm_heap_stats(hp_core_shm(), &heap_free0, &heap_used0);

	for (int i = 0; i < TORTURE_FORWARDERS; i++) {
		child_start_env(&fwd[i], NULL, NULL);
		assert_string_equal(child_cmd(&fwd[i], buf, sizeof(buf), "fwd start"),
				    "ok 0");
	}
	child_start_env(&plug, NULL, NULL);
	child_send(&plug, "cycles %u", cycles);
	/* Bounded, but generous: thousands of hotplug rounds on 2 cores
	 * shared with six forwarding threads. */
	assert_true(read_line(plug.out, buf, sizeof(buf), 1200 * 1000) >= 0);
	unsigned fails = 1, polled = 0;
	assert_int_equal(sscanf(buf, "ok %u %u", &fails, &polled), 2);
	assert_int_equal(fails, 0);
	/* At least the cycles that waited detached a port in use. */
	assert_true(polled >= (cycles + 9) / 10);
	printf("figure: %u of %u detaches of a port forwarders had polled\n",
	       polled, cycles);
	assert_int_equal(child_exit_status(&plug), 0);

	for (int i = 0; i < TORTURE_FORWARDERS; i++) {
		unsigned long long rx, tx, drops;
		int r;
		child_cmd(&fwd[i], buf, sizeof(buf), "fwd stop");
		assert_int_equal(sscanf(buf, "ok %d %llu %llu %llu", &r, &rx, &tx,
					&drops), 4);
		assert_int_equal(r, 0);
		assert_true(rx > 0);
		if (rx != tx + drops)
			fail_msg("forwarder %d: rx %llu != tx %llu + dropped %llu",
				 i, rx, tx, drops);
		assert_int_equal(child_exit_status(&fwd[i]), 0);
	}

	/* Nothing leaked: slots, shared heap, packet buffers. */
	assert_int_equal(hp_port_count(), 2);
	hp_shm_heap_stats(hp_core_shm(), &heap_free, &heap_used);
	assert_int_equal(heap_used, heap_used0);
	assert_int_equal(hp_mempool_lookup(hp_core_shm(), HP_CORE_POOL_NAME, &pool), 0);
	assert_int_equal(hp_mempool_avail(pool), hp_mempool_size(pool));
}

/* Whether no cache slot is claimed any more and at least want buffers
 * are in the pool's ring: a dead process's cached buffers are usable by
 * the others again. */
static bool pool_ring_has(struct hp_mempool *pool, unsigned want)
{
	struct hp_mempool_stats st;

	hp_mempool_stats(pool, &st);
	return st.caches_used == 0 && st.in_ring >= want;
}

/* Waits for pool_ring_has; the primary reclaims a dead secondary's caches
 * when it sees the hang-up, on its own thread. */
static bool pool_back_within(struct hp_mempool *pool, unsigned want, int ms)
{
	const char *slow = getenv("HOTPORT_TEST_SLOWDOWN");

	ms *= slow ? atoi(slow) : 1;
	for (int i = 0; i < ms / 10; i++) {
		if (pool_ring_has(pool, want))
			return true;
		poll(NULL, 0, 10);
	}
	return pool_ring_has(pool, want);
}

/* Starts the two null ports and a forwarder on them, and waits until it
 * has moved enough packets that its threads hold cached buffers. */
static void forwarder_running(struct child *fwd, uint16_t *a, uint16_t *b)
{
	char buf[256];

	assert_int_equal(hp_port_attach("net_null0", a), 0);
	assert_int_equal(hp_port_start(*a), 0);
	assert_int_equal(hp_port_attach("net_null1", b), 0);
	assert_int_equal(hp_port_start(*b), 0);
	child_start_env(fwd, NULL, NULL);
	assert_string_equal(child_cmd(fwd, buf, sizeof(buf), "fwd start"), "ok 0");
	for (int i = 0; i < 3000; i++) {
		struct hp_port_stats st;
		assert_int_equal(hp_port_stats_get(*a, &st), 0);
		if (st.ipackets > 100000)
			return;
		poll(NULL, 0, 10);
	}
	fail_msg("the forwarder moved no traffic");
}

/* A forwarder killed in the middle of its bursts (SIGKILL: no clean-up of
 * any kind) never blocks a later detach. What its threads held between a
 * receive and a transmit (a burst each, at most) dies with it; all else
 * comes back. */
static void test_torture_reader_killed_mid_burst(void **state)
{
	struct child fwd = { 0 }, other = { 0 };
	struct hp_mempool *pool;
	char buf[256];
	uint16_t a, b;

	(void)state;
	assert_int_equal(hp_mempool_lookup(hp_core_shm(), HP_CORE_POOL_NAME, &pool), 0);
	child_start_env(&other, NULL, NULL);
	forwarder_running(&fwd, &a, &b);
	child_kill(&fwd);
	assert_int_equal(hp_port_stop(a), 0);
	assert_int_equal(hp_port_stop(b), 0);
	assert_int_equal(hp_port_detach(a, NULL, 0), 0);
	assert_int_equal(hp_port_detach(b, NULL, 0), 0);
	assert_string_equal(child_cmd(&other, buf, sizeof(buf), "count"), "ok 0");
	/* two forwarding threads, bursts of 32 */
	assert_true(pool_back_within(pool, hp_mempool_size(pool) - 2 * 32, 5000));
}

/* The buffers a dead forwarder's per-thread caches held all go back to the
 * pool (DPDK loses them until every process restarts). The ports are
 * stopped first, so that none is in flight when it dies. */
static void test_torture_dead_forwarder_caches_come_back(void **state)
{
	struct child fwd = { 0 };
	struct hp_mempool *pool;
	uint16_t a, b;

	(void)state;
	assert_int_equal(hp_mempool_lookup(hp_core_shm(), HP_CORE_POOL_NAME, &pool), 0);
	forwarder_running(&fwd, &a, &b);
	assert_int_equal(hp_port_stop(a), 0);
	assert_int_equal(hp_port_stop(b), 0);
	/* Stopped ports give no packets: once the threads went round their
	 * loop, every buffer not in the ring sits in a cache. Wait (bounded)
	 * for that: on a busy machine a thread may hold a burst a while. */
	struct hp_mempool_stats st;
	const char *slow = getenv("HOTPORT_TEST_SLOWDOWN");
	int tries = 500 * (slow ? atoi(slow) : 1);

	do {
		poll(NULL, 0, 10);
		hp_mempool_stats(pool, &st);
	} while (st.in_ring + st.in_caches != st.size && --tries > 0);
	assert_int_equal(st.in_ring + st.in_caches, st.size);
	assert_true(st.in_caches > 0 && st.caches_used > 0);
	child_kill(&fwd);
	assert_true(pool_back_within(pool, hp_mempool_size(pool), 5000));
	assert_int_equal(hp_port_detach(a, NULL, 0), 0);
	assert_int_equal(hp_port_detach(b, NULL, 0), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_torture_reader_killed_mid_burst,
						setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_torture_dead_forwarder_caches_come_back,
						setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_torture_detach_under_traffic,
						setup, primary_teardown),
	};

	if (argc == 4 && !strcmp(argv[1], "--child"))
		return child_main(argv[2], atoi(argv[3]), torture_cmd);
	signal(SIGPIPE, SIG_IGN);
	test_timeout_ms = 5000;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
