/* SPDX-License-Identifier: BSD-3-Clause */
/* Crashes, containers, versions and limits, across real processes: the
 * test process is the primary; secondaries are this binary re-executed
 * with --child (hp_test_child.h).
 *
 * - a secondary SIGKILLed at random points of attach and detach (before
 *   its request, while the primary waits for it, while it builds its
 *   local entry), 300 times: every operation completes or rolls back, no
 *   slot stays ATTACHING/DETACHING, the primary's fds and heap stay flat,
 *   another secondary keeps moving packets;
 * - a secondary in another PID namespace works, and its cached buffers
 *   come back when it is killed;
 * - a secondary of another layout version is refused, naming both;
 * - 64 secondaries at once see a hotplug;
 * - 2,000 attach/detach cycles leave memory and fds flat.
 * It prints one "figure:" line per result for scripts/reliability.sh. */
#include <dirent.h>
#include <sys/resource.h>

#include "hp_test_child.h"
#include "core_private.h"
#include "hp_ipc.h"
#include "hp_shm.h"
#include "port_msg.h"

#define KILL_ROUNDS_DEFAULT 300

/* A driver whose local attach takes a while in secondaries, so that kills
 * land inside it too. */
static int slow_attach_local(struct hp_port_dev *dev, struct hp_port_fp *fp)
{
	(void)dev;
	(void)fp;
	if (hp_core_role() == HP_ROLE_SECONDARY)
		usleep(300);
	return 0;
}

static const struct hp_port_driver slow_driver = {
	.name = "net_slow",
	.detachable = true,
	.attach_local = slow_attach_local,
};
HP_PORT_DRIVER_REGISTER(slow_driver)

/* ---- child side ---- */

/* "churn": attach and detach ports without end (until killed); "cache":
 * claim a buffer cache and leave buffers in it; "procs": how many
 * processes the primary lists (it answers on its worker thread, after
 * what was queued there before). */
static bool rel_child_cmd(const char *line)
{
	char name[64], err[256];
	uint16_t id;

	if (!strcmp(line, "churn")) {
		printf("ok\n");
		fflush(stdout);
		for (unsigned i = 0;; i++) {
			snprintf(name, sizeof(name), "net_slow%u", getpid() * 16u + i % 4);
			if (hp_port_attach_msg(name, &id, err, sizeof(err)) == 0)
				hp_port_detach_msg(id, NULL, 0, err, sizeof(err));
		}
	}
	if (!strcmp(line, "cache")) {
		struct hp_mbuf *m[32];
		struct hp_mempool *mp = child_pool(HP_CORE_POOL_NAME);

		if (!mp || hp_mbuf_alloc_bulk(mp, m, 32) < 0) {
			printf("err no buffers\n");
			return true;
		}
		hp_mbuf_free_bulk(m, 32); /* into this thread's cache */
		printf("ok\n");
		return true;
	}
	if (!strcmp(line, "procs")) {
		struct hp_proc_info procs[HP_MAX_PROCS];

		printf("ok %d\n", hp_core_procs(procs, HP_ARRAY_SIZE(procs)));
		return true;
	}
	return false;
}

/* ---- primary side ---- */

static size_t heap_free(void)
{
	size_t f = 0;

	hp_shm_heap_stats(hp_core_shm(), &f, NULL);
	return f;
}

static long rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Slots neither FREE nor ATTACHED. */
static unsigned slots_in_flux(void)
{
	unsigned n = 0;

	for (uint16_t id = hp_port_next(0); id < HP_MAX_PORTS;
	     id = hp_port_next((uint16_t)(id + 1))) {
		struct hp_port_info info;
		if (hp_port_info_get(id, &info) == 0 &&
		    info.state != HP_PORT_ATTACHED) {
			n++;
		}
	}
	return n;
}

/* Waits (bounded: 2 s) until no slot is ATTACHING or DETACHING. */
static bool no_slot_in_flux(void)
{
	for (int i = 0; i < 200; i++) {
		if (slots_in_flux() == 0)
			return true;
		usleep(10000);
	}
	return false;
}

/* Waits until the primary is done with every secondary but the one left,
 * c: each victim's connection gone from the peers (bounded: 10 s; no
 * event says so), then c's request answered by the primary's worker
 * thread, which runs the requests a victim sent before it died and the
 * victims' peer-down work in the order they came. After it, no request
 * of a victim can attach a port. */
static bool victims_done(struct child *c)
{
	struct hp_ipc_peer_info peers[HP_MAX_PROCS];
	char buf[64];
	int i;

	for (i = 0; i < 1000; i++) {
		if (hp_ipc_peers(hp_core_ipc(), peers, HP_ARRAY_SIZE(peers)) == 1)
			break;
		usleep(10000);
	}
	return i < 1000 &&
	       !strcmp(child_cmd(c, buf, sizeof(buf), "procs"), "ok 2");
}

/* Detaches every port; the number detached. */
static unsigned detach_all(void)
{
	unsigned n = 0;

	for (uint16_t id = hp_port_next(0); id < HP_MAX_PORTS;
	     id = hp_port_next((uint16_t)(id + 1)))
		if (hp_port_detach(id, NULL, 0) == 0)
			n++;
	return n;
}

static struct hp_mempool *default_pool(void)
{
	struct hp_mempool *mp = NULL;

	assert_int_equal(hp_mempool_lookup(hp_core_shm(), HP_CORE_POOL_NAME, &mp), 0);
	return mp;
}

/* Waits (bounded) until the pool's claimed cache slots drop to want. */
static bool caches_back_to(struct hp_mempool *mp, unsigned want)
{
	struct hp_mempool_stats st;

	for (int i = 0; i < 500; i++) {
		hp_mempool_stats(mp, &st);
		if (st.caches_used == want && st.in_caches == 0)
			return true;
		usleep(10000);
	}
	return false;
}

static int setup(void **state)
{
	(void)state;
	return primary_setup("rel");
}

static void test_kill_secondary_during_hotplug(void **state)
{
	const char *env = getenv("HOTPORT_KILL_ROUNDS");
	unsigned rounds = env ? (unsigned)atoi(env) : KILL_ROUNDS_DEFAULT;
	struct child worker, victim;
	char buf[256];
	unsigned fds0, survived = 0, left = 0;
	size_t heap0;
	uint16_t ring;

	(void)state;
	srand((unsigned)getpid());
	heap0 = heap_free();
	/* Another secondary moves packets through a port the whole time. */
	assert_int_equal(hp_port_attach("net_ring0,size=1024", &ring), 0);
	assert_int_equal(hp_port_start(ring), 0);
	child_start_env(&worker, NULL, NULL);
	/* The worker builds its entry of the ring port first, as a
	 * forwarding thread does when it picks its ports: a burst from an
	 * online thread never waits for the port lock to build an entry
	 * (hp_port_fp_get), and the worker's I/O thread holds that lock
	 * while it follows the victims' hotplug, so a first burst may move
	 * nothing at all. */
	assert_string_equal(child_cmd(&worker, buf, sizeof(buf), "has %u", ring), "ok 1");
	fds0 = count_fds();
	for (unsigned i = 0; i < rounds; i++) {
		child_start_env(&victim, NULL, NULL);
		assert_string_equal(child_cmd(&victim, buf, sizeof(buf), "churn"), "ok");
		/* 0 to 3 ms: before, during and after requests */
		usleep((useconds_t)(rand() % 3000));
		child_kill(&victim);
		/* The primary may still serve a request the victim sent just
		 * before it died: every operation ends, completed or rolled
		 * back, within a bounded time. */
		uint16_t id;
		assert_true(no_slot_in_flux());
		assert_int_equal(hp_port_attach("net_null_probe0", &id), 0);
		assert_int_equal(hp_port_detach(id, NULL, 0), 0);
		left += detach_all(); /* the started ring port stays */
		if (i % 25 == 0) {
			assert_string_equal(child_cmd(&worker, buf, sizeof(buf), "tx %u 0 8", ring), "ok 8");
			assert_string_equal(child_cmd(&worker, buf, sizeof(buf), "rx %u 0 8", ring), "ok 8");
		}
		survived++;
	}
	/* The last victim's last request may still attach a port. */
	assert_true(victims_done(&worker));
	assert_true(no_slot_in_flux());
	left += detach_all();
	assert_string_equal(child_cmd(&worker, buf, sizeof(buf), "tx %u 0 8", ring), "ok 8");
	assert_string_equal(child_cmd(&worker, buf, sizeof(buf), "rx %u 0 8", ring), "ok 8");
	/* the victims' connections close as the primary drops them */
	fds_back_to(fds0);
	assert_int_equal(hp_port_stop(ring), 0);
	assert_int_equal(hp_port_detach(ring, NULL, 0), 0);
	printf("figure: kills survived %u/%u, ports a victim left attached %u, "
	       "leaked slots %u, fds %d, heap bytes %zd\n",
	       survived, rounds, left, hp_port_count(), (int)count_fds() - (int)fds0,
	       (ssize_t)heap0 - (ssize_t)heap_free());
	assert_int_equal(count_fds(), fds0);
	assert_int_equal(heap_free(), heap0);
	assert_int_equal(hp_port_count(), 0);
	child_stop(&worker);
}

static void test_secondary_in_pid_namespace(void **state)
{
	struct hp_mempool *mp = default_pool();
	struct hp_mempool_stats st0;
	struct child c;
	char buf[256];

	(void)state;
	if (access("/usr/bin/unshare", X_OK) != 0)
		skip();
	hp_mempool_stats(mp, &st0);
	child_in_pidns = true;
	child_start_env(&c, NULL, NULL);
	child_in_pidns = false;
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "attach net_null5"), "ok 0");
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "has 0"), "ok 1");
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "cache"), "ok");
	assert_true(hp_port_is_valid(0));
	child_kill(&c);
	/* The primary reclaims its cache under the pid it sees, though the
	 * process called itself 1. */
	assert_true(caches_back_to(mp, st0.caches_used));
	assert_int_equal(hp_mempool_avail(mp), hp_mempool_size(mp));
	assert_int_equal(hp_port_detach(0, NULL, 0), 0);
	printf("figure: secondary in another PID namespace: works, buffers reclaimed\n");
}

static void test_other_layout_version_refused(void **state)
{
	char path[PATH_MAX];
	struct hp_ipc *ipc;
	struct hp_ipc_msg msg, reply;
	struct core_hello_req req = { .shm_layout = HP_SHM_LAYOUT_VERSION + 7,
				      .max_ports = HP_MAX_PORTS,
				      .max_procs = HP_MAX_PROCS,
				      .pid = getpid() };
	struct core_hello_rep rep;
	char v1[32], v2[32];

	(void)state;
	snprintf(path, sizeof(path), "%s/%s", hp_shm_dir(hp_core_shm()), "mp.sock");
	assert_int_equal(hp_ipc_client_connect(path, &ipc), 0);
	hp_ipc_msg_init(&msg, CORE_MSG_HELLO, &req, sizeof(req));
	assert_int_equal(hp_ipc_request(ipc, HP_IPC_PRIMARY, &msg, &reply, 2000), 0);
	assert_int_equal(reply.status, -EPROTO);
	memcpy(&rep, reply.payload, sizeof(rep));
	rep.err[sizeof(rep.err) - 1] = '\0';
	snprintf(v1, sizeof(v1), "layout %u", HP_SHM_LAYOUT_VERSION);
	snprintf(v2, sizeof(v2), "layout %u", HP_SHM_LAYOUT_VERSION + 7);
	if (!strstr(rep.err, v1) || !strstr(rep.err, v2))
		fail_msg("refusal does not name both versions: '%s'", rep.err);
	hp_ipc_destroy(ipc);
	/* and the primary serves the next one */
	struct child c;
	char buf[64];
	child_start_env(&c, NULL, NULL);
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "count"), "ok 0");
	child_stop(&c);
}

/* fds sent with requests that take none are closed by the primary: a
 * peer cannot fill its fd table. */
static void test_unexpected_fds_closed(void **state)
{
	static const uint16_t types[] = { PORT_MSG_JOIN, PORT_MSG_FDS_REQ,
					  CORE_MSG_PROCS };
	char path[PATH_MAX];
	struct hp_ipc *ipc;
	struct port_msg_local m = { .port_id = 0 };
	unsigned before;

	(void)state;
	snprintf(path, sizeof(path), "%s/mp.sock", hp_shm_dir(hp_core_shm()));
	assert_int_equal(hp_ipc_client_connect(path, &ipc), 0);
	/* one answered request: the primary has accepted the connection */
	{
		struct hp_ipc_msg msg, reply;
		hp_ipc_msg_init(&msg, CORE_MSG_PROCS, NULL, 0);
		assert_int_equal(hp_ipc_request(ipc, HP_IPC_PRIMARY, &msg, &reply, 2000), 0);
	}
	before = count_fds();
	for (unsigned i = 0; i < 3 * HP_ARRAY_SIZE(types); i++) {
		struct hp_ipc_msg msg, reply;

		hp_ipc_msg_init(&msg, types[i % HP_ARRAY_SIZE(types)], &m, sizeof(m));
		msg.nb_fds = HP_IPC_MAX_FDS;
		for (unsigned k = 0; k < HP_IPC_MAX_FDS; k++)
			msg.fds[k] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_int_equal(hp_ipc_request(ipc, HP_IPC_PRIMARY, &msg, &reply, 2000), 0);
		for (unsigned k = 0; k < HP_IPC_MAX_FDS; k++)
			close(msg.fds[k]);
		for (unsigned k = 0; k < reply.nb_fds; k++)
			close(reply.fds[k]);
	}
	/* the primary is this process: its copies are gone too */
	assert_int_equal(count_fds(), before);
	hp_ipc_destroy(ipc);
}

static void test_64_secondaries(void **state)
{
	static struct child c[64];
	char buf[64];
	uint16_t id;

	(void)state;
	for (unsigned i = 0; i < 64; i++)
		child_start_env(&c[i], NULL, NULL);
	assert_string_equal(child_cmd(&c[17], buf, sizeof(buf), "attach net_null64"), "ok 0");
	for (unsigned i = 0; i < 64; i++)
		assert_string_equal(child_cmd(&c[i], buf, sizeof(buf), "has 0"), "ok 1");
	assert_int_equal(hp_port_find("net_null64", &id), 0);
	assert_string_equal(child_cmd(&c[63], buf, sizeof(buf), "detach 0"), "ok net_null64");
	for (unsigned i = 0; i < 64; i++)
		assert_string_equal(child_cmd(&c[i], buf, sizeof(buf), "has 0"), "ok 0");
	for (unsigned i = 0; i < 64; i++)
		child_stop(&c[i]);
	printf("figure: 64 secondaries at once saw attach and detach\n");
}

static void test_2000_cycles_flat(void **state)
{
	struct child c;
	char buf[256];
	unsigned fds0;
	size_t heap0;
	long rss0, rss1;
	int cycles = 2000;

	(void)state;
	child_start_env(&c, NULL, NULL);
	/* warm up: first-use allocations are not leaks */
	for (int i = 0; i < 50; i++) {
		assert_string_equal(child_cmd(&c, buf, sizeof(buf), "attach net_null%d", i), "ok 0");
		child_cmd(&c, buf, sizeof(buf), "detach 0");
		assert_true(!strncmp(buf, "ok net_null", 11));
	}
	fds0 = count_fds();
	heap0 = heap_free();
	rss0 = rss_kib();
	for (int i = 0; i < cycles; i++) {
		child_send(&c, "attach net_null%d", i);
		child_answer(&c, buf, sizeof(buf));
		assert_string_equal(buf, "ok 0");
		child_send(&c, "detach 0");
		child_answer(&c, buf, sizeof(buf));
		assert_true(!strncmp(buf, "ok net_null", 11));
	}
	rss1 = rss_kib();
	assert_int_equal(count_fds(), fds0);
	assert_int_equal(heap_free(), heap0);
	assert_int_equal(hp_port_count(), 0);
	printf("figure: %d attach/detach cycles: fds %+d, heap bytes %+zd, primary RSS %+ld KiB\n",
	       cycles, (int)count_fds() - (int)fds0, (ssize_t)heap_free() - (ssize_t)heap0,
	       rss1 - rss0);
	/* malloc may keep a few pages around; a leak per cycle would show
	 * as megabytes. (AddressSanitizer keeps freed memory in quarantine:
	 * there its leak check at exit says it instead.) */
#ifndef __SANITIZE_ADDRESS__
	assert_true(rss1 - rss0 < 512);
#endif
	child_stop(&c);
}

/* Stalls (SIGSTOP) at a detach, again and again: each fails with
 * -ETIMEDOUT naming the stalled pid (which had used the port) and frees
 * nothing; ports it never used come and go meanwhile; after SIGCONT the
 * retry succeeds, and another secondary sees everything meanwhile. */
static void test_stalled_secondaries(void **state)
{
	struct child stalled, other;
	char err[256], expect[64], buf[64];
	unsigned rounds = 5, survived = 0;
	uint16_t id;
	int st;

	(void)state;
	child_start_env(&stalled, NULL, NULL);
	child_start_env(&other, NULL, NULL);
	for (unsigned i = 0; i < rounds; i++) {
		assert_string_equal(child_cmd(&other, buf, sizeof(buf), "attach net_null%u", i), "ok 0");
		id = 0;
		assert_string_equal(child_cmd(&stalled, buf, sizeof(buf), "has 0"), "ok 1");
		kill(stalled.pid, SIGSTOP);
		assert_int_equal(waitpid(stalled.pid, &st, WUNTRACED), stalled.pid);
		uint16_t unused;
		assert_int_equal(hp_port_attach("net_null_unused", &unused), 0);
		assert_string_equal(child_cmd(&other, buf, sizeof(buf), "has %u", unused), "ok 1");
		assert_int_equal(hp_port_detach(unused, NULL, 0), 0);
		assert_int_equal(hp_port_detach_msg(id, NULL, 0, err, sizeof(err)), -ETIMEDOUT);
		snprintf(expect, sizeof(expect), "secondary pid %d did not answer", (int)stalled.pid);
		if (!strstr(err, expect))
			fail_msg("'%s' does not name the stalled pid", err);
		assert_int_equal(hp_port_count(), 1);
		assert_string_equal(child_cmd(&other, buf, sizeof(buf), "count"), "ok 1");
		kill(stalled.pid, SIGCONT);
		assert_int_equal(hp_port_detach(id, NULL, 0), 0);
		assert_string_equal(child_cmd(&stalled, buf, sizeof(buf), "has 0"), "ok 0");
		assert_string_equal(child_cmd(&other, buf, sizeof(buf), "has 0"), "ok 0");
		survived++;
	}
	printf("figure: stalls survived %u/%u (each detach -ETIMEDOUT naming the pid, retried after SIGCONT)\n",
	       survived, rounds);
	child_stop(&stalled);
	child_stop(&other);
}

static int setup_short(void **state)
{
	/* quick deadlines: each stall costs one */
	test_timeout_ms = 300;
	int r = setup(state);
	test_timeout_ms = 2000;
	return r;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_other_layout_version_refused, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_secondary_in_pid_namespace, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_unexpected_fds_closed, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_64_secondaries, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_2000_cycles_flat, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_kill_secondary_during_hotplug, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_stalled_secondaries, setup_short, primary_teardown),
	};

	if (argc == 4 && !strcmp(argv[1], "--child"))
		return child_main(argv[2], atoi(argv[3]), rel_child_cmd);
	signal(SIGPIPE, SIG_IGN);
	/* 64 secondaries and a test process: more open files than the
	 * default soft limit may allow. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096 &&
	    rl.rlim_max >= 4096) {
		rl.rlim_cur = 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
