/* SPDX-License-Identifier: BSD-3-Clause */
/* Port table, hotplug and queue configuration across real processes: the
 * test process is the primary; secondaries are this same binary
 * re-executed with --child (hp_test_child.h). */
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "hp_log.h"
#include "hp_test_child.h"

/* A driver whose local attach fails in a process that has
 * HP_TEST_FAIL_LOCAL set: the way to make one secondary refuse a port. */
static int fault_attach_local(struct hp_port_dev *dev, struct hp_port_fp *fp)
{
	(void)fp;
	if (getenv("HP_TEST_FAIL_LOCAL")) {
		snprintf(dev->err, dev->errlen, "injected failure");
		return -EIO;
	}
	return 0;
}

static const struct hp_port_driver fault_driver = {
	.name = "net_fault",
	.detachable = true,
	.attach_local = fault_attach_local,
};
HP_PORT_DRIVER_REGISTER(fault_driver)

/* A driver that takes at most 4 rx and 2 tx queues, and whose local
 * attach fails for as many rx queues as HP_TEST_FAIL_RXQ says: the way to
 * make one secondary refuse a configuration. */
static int cap_probe(struct hp_port_dev *dev)
{
	dev->info->max_rx_queues = 4;
	dev->info->max_tx_queues = 2;
	return 0;
}

static int cap_attach_local(struct hp_port_dev *dev, struct hp_port_fp *fp)
{
	const char *fail = getenv("HP_TEST_FAIL_RXQ");

	if (fail && atoi(fail) == fp->nb_rxq) {
		snprintf(dev->err, dev->errlen, "injected failure");
		return -EIO;
	}
	return 0;
}

static const struct hp_port_driver cap_driver = {
	.name = "net_cap",
	.detachable = true,
	.probe = cap_probe,
	.attach_local = cap_attach_local,
};
HP_PORT_DRIVER_REGISTER(cap_driver)

/* A driver that shares fds: its probe opens two memfds and records their
 * inodes; every process's attach_local checks that its fds are those very
 * files. */
struct fdt_shared {
	ino_t ino[2];
};

static int fdt_probe(struct hp_port_dev *dev)
{
	struct fdt_shared *sh = dev->shared;
	struct stat st;
	int r;

	for (unsigned i = 0; i < 2; i++) {
		int fd = memfd_create("fdt", MFD_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0)
			return -errno;
		sh->ino[i] = st.st_ino;
		r = hp_port_fd_add(dev, fd);
		if (r < 0)
			return r;
	}
	return 0;
}

static int fdt_attach_local(struct hp_port_dev *dev, struct hp_port_fp *fp)
{
	const struct fdt_shared *sh = dev->shared;
	struct stat st;

	(void)fp;
	if (dev->fds->nb != 2)
		return -EBADF;
	for (unsigned i = 0; i < 2; i++)
		if (fstat(dev->fds->fd[i], &st) < 0 || st.st_ino != sh->ino[i]) {
			snprintf(dev->err, dev->errlen, "fd %u is not the probe's", i);
			return -EBADF;
		}
	return 0;
}

static const struct hp_port_driver fdt_driver = {
	.name = "net_fdt",
	.detachable = true,
	.shared_size = sizeof(struct fdt_shared),
	.probe = fdt_probe,
	.attach_local = fdt_attach_local,
};
HP_PORT_DRIVER_REGISTER(fdt_driver)

/* A driver whose probe looks at its own port while it runs: what the
 * primary sees (state, info, usable), and, through an observing secondary
 * when one is set, what another process sees. A device whose name holds
 * "fail" fails its probe. */
static struct {
	struct child *observer;	/* asked "state N" during the probe, or NULL */
	int info_r;		/* hp_port_info_get of the port */
	struct hp_port_info info;
	bool valid;		/* hp_port_is_valid */
	unsigned count;		/* hp_port_count */
	char seen[64];		/* the observer's answer */
} look;

/* Taken by the probe for its whole run and by the test around what it
 * sets and reads: the probe may run on the primary's I/O thread, and
 * what orders the two otherwise goes through another process (which
 * ThreadSanitizer cannot see). */
static pthread_mutex_t look_lock = PTHREAD_MUTEX_INITIALIZER;

static int look_probe(struct hp_port_dev *dev)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 7 };
	int r = 0;

	pthread_mutex_lock(&look_lock);
	look.info_r = hp_port_info_get(dev->port_id, &look.info);
	look.valid = hp_port_is_valid(dev->port_id);
	look.count = hp_port_count();
	if (look.observer)
		child_cmd(look.observer, look.seen, sizeof(look.seen),
			  "state %u", dev->port_id);
	memcpy(dev->info->mac, mac, sizeof(mac));
	if (strstr(dev->name, "fail")) {
		snprintf(dev->err, dev->errlen, "injected probe failure");
		r = -EIO;
	}
	pthread_mutex_unlock(&look_lock);
	return r;
}

/* Clears what the probe saw and sets who observes the next one. */
static void look_start(struct child *observer)
{
	pthread_mutex_lock(&look_lock);
	memset(&look, 0, sizeof(look));
	look.observer = observer;
	pthread_mutex_unlock(&look_lock);
}

/* After an attach returned: what its probe wrote is this thread's to
 * read. */
static void look_done(void)
{
	pthread_mutex_lock(&look_lock);
	pthread_mutex_unlock(&look_lock);
}

static const struct hp_port_driver look_driver = {
	.name = "net_look",
	.detachable = true,
	.probe = look_probe,
	.attach_local = fault_attach_local,
};
HP_PORT_DRIVER_REGISTER(look_driver)

/* Child commands "nfds": its count of open fds; "state N": port N's state
 * as hp_port_info_get tells it here, or its error. */
static bool port_child_cmd(const char *line)
{
	struct hp_port_info info;
	unsigned n;
	int r;

	if (sscanf(line, "state %u", &n) == 1) {
		r = hp_port_info_get((uint16_t)n, &info);
		if (r == 0)
			printf("ok %s\n", hp_port_state_name(info.state));
		else
			printf("ok %d\n", r);
		return true;
	}
	if (strcmp(line, "nfds"))
		return false;
	printf("ok %u\n", count_fds());
	return true;
}

static void child_start(struct child *c, bool fail_local)
{
	child_start_env(c, fail_local ? "HP_TEST_FAIL_LOCAL" : NULL, "1");
}

static int setup(void **state)
{
	(void)state;
	return primary_setup("port");
}

static void test_port_attach_detach_primary(void **state)
{
	struct hp_port_info info;
	char name[64];
	uint16_t id;

	(void)state;
	assert_int_equal(hp_port_attach("net_null0,size=128", &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(hp_port_info_get(id, &info), 0);
	assert_string_equal(info.name, "net_null0");
	assert_string_equal(info.driver, "net_null");
	assert_int_equal(info.state, HP_PORT_ATTACHED);
	assert_int_equal(info.requester, getpid());
	assert_non_null(hp_port_fp_get(id));
	assert_int_equal(hp_port_count(), 1);
	assert_int_equal(hp_port_detach(id, name, sizeof(name)), 0);
	assert_string_equal(name, "net_null0");
	assert_null(hp_port_fp_get(id));
	assert_int_equal(hp_port_count(), 0);
	assert_int_equal(hp_port_info_get(id, &info), -ENODEV);
	assert_int_equal(hp_port_detach(id, NULL, 0), -ENODEV);
}

static void test_port_attach_from_secondary_seen_by_all(void **state)
{
	struct child a = { 0 }, b = { 0 };
	struct hp_port_info info;
	char buf[512];

	(void)state;
	child_start(&a, false);
	child_start(&b, false);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "attach net_null3"), "ok 0");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "has 0"), "ok 1");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "has 0"), "ok 1");
	assert_non_null(hp_port_fp_get(0));
	assert_int_equal(hp_port_info_get(0, &info), 0);
	assert_int_equal(info.requester, a.pid);
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "detach 0"), "ok net_null3");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "has 0"), "ok 0");
	assert_null(hp_port_fp_get(0));
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "count"), "ok 0");
	child_stop(&a);
	child_stop(&b);
}

/* A port built on demand: a secondary that never used it is not asked at
 * detach (here it is stopped, and the detach still succeeds at once); the
 * one that used it is, and loses it. */
static void test_port_on_demand_asks_only_users(void **state)
{
	struct child user = { 0 }, idle = { 0 };
	char buf[256], err[256];
	uint16_t id;
	int st;

	(void)state;
	child_start(&user, false);
	child_start(&idle, false);
	assert_int_equal(hp_port_attach("net_null0", &id), 0);
	assert_string_equal(child_cmd(&user, buf, sizeof(buf), "has 0"), "ok 1");
	kill(idle.pid, SIGSTOP);
	assert_int_equal(waitpid(idle.pid, &st, WUNTRACED), idle.pid);
	assert_int_equal(hp_port_detach_msg(id, NULL, 0, err, sizeof(err)), 0);
	assert_string_equal(child_cmd(&user, buf, sizeof(buf), "has 0"), "ok 0");
	/* Again, the user asking: the slot is reused, the user builds anew. */
	assert_string_equal(child_cmd(&user, buf, sizeof(buf), "attach net_null1"), "ok 0");
	assert_string_equal(child_cmd(&user, buf, sizeof(buf), "has 0"), "ok 1");
	assert_string_equal(child_cmd(&user, buf, sizeof(buf), "detach 0"), "ok net_null1");
	assert_string_equal(child_cmd(&user, buf, sizeof(buf), "has 0"), "ok 0");
	kill(idle.pid, SIGCONT);
	assert_string_equal(child_cmd(&idle, buf, sizeof(buf), "has 0"), "ok 0");
	assert_string_equal(child_cmd(&idle, buf, sizeof(buf), "count"), "ok 0");
	child_stop(&user);
	child_stop(&idle);
}

/* Events reach a secondary that listens, one doorbell at a time: one
 * stopped through 300 attach/detach cycles does not slow them (nothing
 * piles up for it) and, once running, tells NEW and DESTROY in pairs. */
static void test_port_events_by_doorbell(void **state)
{
	struct child ear = { 0 }, deaf = { 0 };
	char buf[64];
	unsigned n = 0, c, d = 0;
	uint16_t id;
	int st;

	(void)state;
	child_start(&ear, false);
	child_start(&deaf, false);
	assert_string_equal(child_cmd(&ear, buf, sizeof(buf), "listen"), "ok 0");
	assert_int_equal(hp_port_attach("net_null0", &id), 0);
	assert_true(child_answer_is(&ear, "events", "ok 1 0 0"));
	assert_int_equal(hp_port_configure(id, 2, 2), 0);
	assert_true(child_answer_is(&ear, "events", "ok 1 1 0"));
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	assert_true(child_answer_is(&ear, "events", "ok 1 1 1"));
	/* A late listener hears of the ports there already. */
	assert_int_equal(hp_port_attach("net_null1", &id), 0);
	assert_string_equal(child_cmd(&deaf, buf, sizeof(buf), "events"), "ok 0 0 0");
	assert_string_equal(child_cmd(&deaf, buf, sizeof(buf), "listen"), "ok 0");
	assert_true(child_answer_is(&deaf, "events", "ok 1 0 0"));
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	assert_true(child_answer_is(&deaf, "events", "ok 1 0 1"));
	/* Stopped: the bell rings once, the rest waits in the table. */
	kill(ear.pid, SIGSTOP);
	assert_int_equal(waitpid(ear.pid, &st, WUNTRACED), ear.pid);
	for (int i = 0; i < 300; i++) {
		assert_int_equal(hp_port_attach("net_null2", &id), 0);
		assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	}
	kill(ear.pid, SIGCONT);
	assert_int_equal(hp_port_attach("net_null3", &id), 0);
	for (int i = 0; i < 200; i++) {
		assert_int_equal(sscanf(child_cmd(&ear, buf, sizeof(buf), "events"),
					"ok %u %u %u", &n, &c, &d), 3);
		if (n == d + 1 && n >= 2)
			break;
		usleep(10000);
	}
	/* NEW for net_null3 after at most one pair for the stopped time. */
	assert_int_equal(n, d + 1);
	assert_true(n <= 3);
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	child_stop(&ear);
	child_stop(&deaf);
}

static void test_port_late_secondary_sees_ports(void **state)
{
	struct child c = { 0 };
	char buf[256];
	uint16_t id;

	(void)state;
	for (int i = 0; i < 3; i++) {
		snprintf(buf, sizeof(buf), "net_null%d", i);
		assert_int_equal(hp_port_attach(buf, &id), 0);
	}
	assert_int_equal(hp_port_detach(1, NULL, 0), 0);
	child_start(&c, false);
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "has 0"), "ok 1");
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "has 1"), "ok 0");
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "has 2"), "ok 1");
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "count"), "ok 2");
	child_stop(&c);
}

static void test_port_rollback_when_a_secondary_fails(void **state)
{
	struct child good = { 0 }, bad = { 0 };
	char buf[512], err[256], expect[64];
	uint16_t id = 77;

	(void)state;
	child_start(&good, false);
	child_start(&bad, true);
	assert_int_equal(hp_port_attach_msg("net_fault0", &id, err, sizeof(err)),
			 -EIO);
	assert_int_equal(id, 77);
	snprintf(expect, sizeof(expect), "secondary pid %d", (int)bad.pid);
	assert_non_null(strstr(err, expect));
	assert_non_null(strstr(err, "injected failure"));
	assert_int_equal(hp_port_count(), 0);
	assert_null(hp_port_fp_get(0));
	assert_string_equal(child_cmd(&good, buf, sizeof(buf), "has 0"), "ok 0");
	/* From a secondary, the caller gets the same reason. */
	child_cmd(&good, buf, sizeof(buf), "attach net_fault1");
	assert_non_null(strstr(buf, "err -5"));
	assert_non_null(strstr(buf, expect));
	assert_int_equal(hp_port_count(), 0);
	/* The slot is reusable at once. */
	assert_int_equal(hp_port_attach("net_null0", &id), 0);
	assert_int_equal(id, 0);
	child_stop(&good);
	child_stop(&bad);
}

static void test_port_detach_of_started_port_refused(void **state)
{
	struct child c = { 0 };
	char buf[512], err[256];
	uint16_t id;

	(void)state;
	child_start(&c, false);
	assert_int_equal(hp_port_attach("net_null0", &id), 0);
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "start 0"), "ok 0");
	assert_int_equal(hp_port_detach_msg(id, NULL, 0, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "stop it first"));
	child_cmd(&c, buf, sizeof(buf), "detach 0");
	assert_non_null(strstr(buf, "err -16"));
	assert_non_null(strstr(buf, "stop it first"));
	assert_true(hp_port_is_valid(id));
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "stop 0"), "ok 0");
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "detach 0"), "ok net_null0");
	child_stop(&c);
}

static void test_port_table_full(void **state)
{
	char name[32], err[256];
	uint16_t id;

	(void)state;
	for (int i = 0; i < HP_MAX_PORTS; i++) {
		snprintf(name, sizeof(name), "net_null%d", i);
		assert_int_equal(hp_port_attach(name, &id), 0);
		assert_int_equal(id, i);
	}
	assert_int_equal(hp_port_attach_msg("net_nullx", &id, err, sizeof(err)),
			 -ENOSPC);
	assert_non_null(strstr(err, "port slots are in use"));
	assert_int_equal(hp_port_count(), HP_MAX_PORTS);
	for (int i = 0; i < HP_MAX_PORTS; i++)
		assert_int_equal(hp_port_detach((uint16_t)i, NULL, 0), 0);
	assert_int_equal(hp_port_count(), 0);
}

static void test_port_bad_devargs_leave_no_slot(void **state)
{
	static char longargs[4097];
	static const struct bad_devargs bad[] = {
		{ "", -EINVAL, "empty" },
		{ "nosuchdrv0", -ENODEV, "no driver" },
		{ "net_null0,bogus=1", -EINVAL, "unknown key 'bogus'" },
		{ "net_null0,size=abc", -EINVAL, "size=abc" },
		{ "net_null0,size=1", -EINVAL, "size=1" },
		{ "net_null0,,", -EINVAL, "" },
		{ "net_null0,size", -EINVAL, "not key=value" },
		{ "net_null0,size=64,size=64", -EINVAL, "twice" },
		{ ",size=64", -EINVAL, "no device name" },
		{ "net null0", -EINVAL, "character" },
		{ "0000:01:00.0", -ENODEV, "no such PCI device" },
		{ longargs, -ENAMETOOLONG, "longer than 1024" },
	};
	char err[256];
	uint16_t id = 5;

	(void)state;
	memset(longargs, 'a', sizeof(longargs) - 1);
	memcpy(longargs, "net_null0,x=", 12);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		attach_must_fail(&bad[i]);
		assert_int_equal(hp_port_count(), 0);
	}
	/* devargs of exactly 1024 characters are fine. */
	memset(longargs, 0, sizeof(longargs));
	memcpy(longargs, "net_null0,size=64,x", 19);
	memset(longargs + 19, 'y', HP_DEVARGS_MAX - 19);
	int r = hp_port_attach_msg(longargs, &id, err, sizeof(err));
	if (r != -EINVAL || !strstr(err, "not key=value"))
		fail_msg("1024 characters: got %d '%s'", r, err);
	assert_int_equal(hp_port_attach("net_null0", &id), 0);
	assert_int_equal(hp_port_attach_msg("net_null0,size=100", &id, err, sizeof(err)),
			 -EEXIST);
	assert_non_null(strstr(err, "already port 0"));
	assert_int_equal(hp_port_count(), 1);
}

static void *hotplug_thread(void *arg)
{
	char name[32];
	uint16_t id;
	long fails = 0;

	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "net_null%ld_%d", (long)(intptr_t)arg, i);
		if (hp_port_attach(name, &id) < 0 || hp_port_detach(id, NULL, 0) < 0)
			fails++;
	}
	return (void *)fails;
}

static void test_port_hotplug_is_thread_safe(void **state)
{
	pthread_t t[4];
	struct child c = { 0 };
	char buf[256];
	void *fails;

	(void)state;
	child_start(&c, false);
	for (intptr_t i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hotplug_thread, (void *)i), 0);
	for (int i = 0; i < 20; i++) {
		child_cmd(&c, buf, sizeof(buf), "attach net_nullc%d", i);
		assert_int_equal(strncmp(buf, "ok ", 3), 0);
		child_cmd(&c, buf, sizeof(buf), "detach %s", buf + 3);
		assert_int_equal(strncmp(buf, "ok net_nullc", 12), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &fails), 0);
		assert_int_equal((long)fails, 0);
	}
	assert_int_equal(hp_port_count(), 0);
	child_stop(&c);
}

static void test_port_stalled_secondary_fails_detach(void **state)
{
	struct child c = { 0 };
	char err[256], expect[64], buf[64];
	uint16_t id;
	int st;

	(void)state;
	child_start(&c, false);
	assert_int_equal(hp_port_attach("net_null0", &id), 0);
	/* The child uses the port: its fast path has it. */
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "has 0"), "ok 1");
	/* Regression: kill() returns before the child's threads stop, and a
	 * busy machine let its I/O thread answer the detach first; wait
	 * until the whole child is stopped. */
	kill(c.pid, SIGSTOP);
	assert_int_equal(waitpid(c.pid, &st, WUNTRACED), c.pid);
	assert_true(WIFSTOPPED(st));
	assert_int_equal(hp_port_detach_msg(id, NULL, 0, err, sizeof(err)),
			 -ETIMEDOUT);
	snprintf(expect, sizeof(expect), "secondary pid %d did not answer", (int)c.pid);
	assert_non_null(strstr(err, expect));
	/* Nothing freed: the slot is still there. */
	assert_int_equal(hp_port_count(), 1);
	kill(c.pid, SIGCONT);
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	assert_int_equal(hp_port_count(), 0);
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "has 0"), "ok 0");
	child_stop(&c);
}

static void test_port_dead_secondary_counts_as_done(void **state)
{
	struct child c = { 0 };
	uint16_t id;

	(void)state;
	child_start(&c, false);
	assert_int_equal(hp_port_attach("net_null0", &id), 0);
	child_kill(&c);
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	assert_int_equal(hp_port_attach("net_null1", &id), 0);
}

/* The answer of "nbq" for port_id in this process. */
static const char *nbq_here(uint16_t port_id, char *buf, size_t len)
{
	struct hp_port_fp *fp;

	/* Read the entry as a fast-path reader would. */
	hp_rcu_thread_register();
	fp = hp_port_fp_get(port_id);
	snprintf(buf, len, "ok %u %u", fp->nb_rxq, fp->nb_txq);
	hp_rcu_thread_unregister();
	return buf;
}

static void test_port_configure_reaches_every_process(void **state)
{
	struct child a = { 0 }, b = { 0 }, late = { 0 };
	struct hp_port_info info;
	struct hp_mempool *mp;
	char buf[256], here[64];
	uint16_t id;

	(void)state;
	child_start(&a, false);
	child_start(&b, false);
	assert_int_equal(hp_port_attach("net_null0", &id), 0);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "nbq 0"), "ok 1 1");
	/* From the primary. */
	assert_int_equal(hp_port_configure(id, 4, 2), 0);
	assert_int_equal(hp_port_info_get(id, &info), 0);
	assert_int_equal(info.nb_rx_queues, 4);
	assert_int_equal(info.nb_tx_queues, 2);
	assert_int_equal(info.max_rx_queues, HP_PORT_MAX_QUEUES);
	assert_string_equal(nbq_here(id, here, sizeof(here)), "ok 4 2");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "nbq 0"), "ok 4 2");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "nbq 0"), "ok 4 2");
	/* From a secondary. */
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "configure 0 2 3"), "ok 0");
	assert_string_equal(nbq_here(id, here, sizeof(here)), "ok 2 3");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "nbq 0"), "ok 2 3");
	/* A secondary that joins later sees the configuration. */
	child_start(&late, false);
	assert_string_equal(child_cmd(&late, buf, sizeof(buf), "nbq 0"), "ok 2 3");

	/* rx queue 1 takes its buffers from a pool of its own, set up by a
	 * secondary; another secondary receives from it. */
	assert_int_equal(hp_mempool_create(hp_core_shm(), "t_q_pool", 255, 0,
					   HP_MBUF_DEFAULT_DATAROOM, &mp), 0);
	assert_int_equal(hp_port_start(id), 0);
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "rx 0 1 8 t_q_pool"),
			    "err pool");
	assert_int_equal(hp_port_stop(id), 0);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "rxq 0 1 256 t_q_pool"),
			    "ok 0");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "txq 0 2 512"), "ok 0");
	assert_int_equal(hp_port_start(id), 0);
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "rx 0 1 8 t_q_pool"),
			    "ok 8");
	assert_string_equal(child_cmd(&late, buf, sizeof(buf), "rx 0 1 8 t_q_pool"),
			    "ok 8");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf),
				      "rx 0 0 8 hp_pool_default"), "ok 8");
	assert_int_equal(hp_mempool_avail(mp), 255);
	assert_int_equal(hp_port_stop(id), 0);
	/* Back to the default pool. */
	assert_int_equal(hp_port_rx_queue_setup(id, 1, 0, NULL), 0);
	assert_int_equal(hp_port_start(id), 0);
	assert_string_equal(child_cmd(&b, buf, sizeof(buf),
				      "rx 0 1 8 hp_pool_default"), "ok 8");
	assert_int_equal(hp_port_stop(id), 0);
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	hp_mempool_destroy(hp_core_shm(), mp);
	child_stop(&a);
	child_stop(&b);
	child_stop(&late);
}

static void test_port_configure_of_started_port_refused(void **state)
{
	struct child c = { 0 };
	char buf[256], here[64];
	uint16_t id;

	(void)state;
	child_start(&c, false);
	assert_int_equal(hp_port_attach("net_null0,queues=2", &id), 0);
	assert_int_equal(hp_port_start(id), 0);
	assert_int_equal(hp_port_configure(id, 1, 1), -EBUSY);
	assert_int_equal(hp_port_rx_queue_setup(id, 0, 128, NULL), -EBUSY);
	assert_int_equal(hp_port_tx_queue_setup(id, 0, 128), -EBUSY);
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "configure 0 1 1"), "ok -16");
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "rxq 0 0 128"), "ok -16");
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "nbq 0"), "ok 2 2");
	assert_string_equal(nbq_here(id, here, sizeof(here)), "ok 2 2");
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "stop 0"), "ok 0");
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "configure 0 1 1"), "ok 0");
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "nbq 0"), "ok 1 1");
	child_stop(&c);
}

/* Regression: a null port's packets were written past the end of buffers
 * from a pool smaller than its size= when that pool was given to an rx
 * queue. Such a queue set-up is refused; the old pool stays. */
static void test_port_queue_pool_too_small_refused(void **state)
{
	struct hp_mempool *small;
	struct hp_port_fp *fp;
	uint16_t id;

	(void)state;
	assert_int_equal(hp_mempool_create(hp_core_shm(), "t_small", 255, 0,
					   HP_MBUF_HEADROOM + 128, &small), 0);
	assert_int_equal(hp_port_attach("net_null0,size=200", &id), 0);
	assert_true(hp_port_rx_queue_setup(id, 0, 256, small) < 0);
	/* Still usable with the default pool, which holds 200 bytes. */
	assert_int_equal(hp_port_start(id), 0);
	hp_rcu_thread_register();
	fp = hp_port_fp_get(id);
	assert_non_null(fp);
	struct hp_mbuf *m[4];
	uint16_t n = hp_port_rx_burst(id, 0, m, 4);
	assert_int_equal(n, 4);
	for (unsigned i = 0; i < n; i++)
		assert_true(m[i]->pool != small && m[i]->data_len == 200);
	hp_mbuf_free_bulk(m, n);
	hp_rcu_thread_unregister();
	assert_int_equal(hp_port_stop(id), 0);
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
}

static void test_port_configure_bad_queue_counts(void **state)
{
	struct child c = { 0 };
	struct hp_port_info info;
	struct hp_mempool *not_shared = (struct hp_mempool *)&info;
	char buf[256];
	uint16_t id;

	(void)state;
	child_start(&c, false);
	assert_int_equal(hp_port_attach("net_null0", &id), 0);
	assert_int_equal(hp_port_configure(id, 0, 1), -EINVAL);
	assert_int_equal(hp_port_configure(id, 1, 0), -EINVAL);
	assert_int_equal(hp_port_configure(id, HP_PORT_MAX_QUEUES + 1, 1), -EINVAL);
	assert_int_equal(hp_port_configure(id, 1, HP_PORT_MAX_QUEUES + 1), -EINVAL);
	assert_int_equal(hp_port_configure(id, HP_PORT_MAX_QUEUES, HP_PORT_MAX_QUEUES), 0);
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "configure 0 17 1"), "ok -22");
	assert_int_equal(hp_port_configure(HP_MAX_PORTS - 1, 1, 1), -ENODEV);
	assert_int_equal(hp_port_configure(HP_PORT_INVALID, 1, 1), -ENODEV);
	/* Queue set-up: queue in range, descriptors, a pool in shm. */
	assert_int_equal(hp_port_configure(id, 2, 2), 0);
	assert_int_equal(hp_port_rx_queue_setup(id, 2, 128, NULL), -EINVAL);
	assert_int_equal(hp_port_tx_queue_setup(id, 2, 128), -EINVAL);
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "txq 0 2 128"), "ok -22");
	assert_int_equal(hp_port_rx_queue_setup(id, 1, HP_PORT_MAX_DESC + 1, NULL),
			 -EINVAL);
	assert_int_equal(hp_port_rx_queue_setup(id, 1, 128, not_shared), -EINVAL);
	assert_int_equal(hp_port_rx_queue_setup(id, 1, HP_PORT_MAX_DESC, NULL), 0);
	/* A driver's own limit. */
	assert_int_equal(hp_port_attach("net_cap0", &id), 0);
	assert_int_equal(hp_port_info_get(id, &info), 0);
	assert_int_equal(info.max_rx_queues, 4);
	assert_int_equal(info.max_tx_queues, 2);
	assert_int_equal(hp_port_configure(id, 4, 3), -EINVAL);
	assert_int_equal(hp_port_configure(id, 5, 2), -EINVAL);
	assert_int_equal(hp_port_configure(id, 4, 2), 0);
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "nbq 1"), "ok 4 2");
	child_stop(&c);
}

static void test_port_configure_failing_in_a_secondary_keeps_old(void **state)
{
	struct child good = { 0 }, bad = { 0 };
	struct hp_port_info info;
	char buf[256], here[64];
	uint16_t id;

	(void)state;
	child_start(&good, false);
	child_start_env(&bad, "HP_TEST_FAIL_RXQ", "3");
	assert_int_equal(hp_port_attach("net_cap0", &id), 0);
	assert_int_equal(hp_port_configure(id, 2, 2), 0);
	assert_int_equal(hp_port_configure(id, 3, 1), -EIO);
	assert_int_equal(hp_port_info_get(id, &info), 0);
	assert_int_equal(info.nb_rx_queues, 2);
	assert_int_equal(info.nb_tx_queues, 2);
	assert_string_equal(nbq_here(id, here, sizeof(here)), "ok 2 2");
	assert_string_equal(child_cmd(&good, buf, sizeof(buf), "nbq 0"), "ok 2 2");
	assert_string_equal(child_cmd(&bad, buf, sizeof(buf), "nbq 0"), "ok 2 2");
	/* From a secondary, the same. */
	assert_string_equal(child_cmd(&good, buf, sizeof(buf), "configure 0 3 2"),
			    "ok -5");
	assert_string_equal(child_cmd(&good, buf, sizeof(buf), "nbq 0"), "ok 2 2");
	assert_string_equal(child_cmd(&bad, buf, sizeof(buf), "configure 0 4 2"),
			    "ok 0");
	assert_string_equal(child_cmd(&good, buf, sizeof(buf), "nbq 0"), "ok 4 2");
	child_stop(&good);
	child_stop(&bad);
}

static void test_port_counters_same_in_every_process(void **state)
{
	struct child a = { 0 }, b = { 0 };
	struct hp_port_stats st;
	struct hp_mbuf *pkts[8];
	char buf[256], here[256];
	uint16_t id;

	(void)state;
	child_start(&a, false);
	child_start(&b, false);
	assert_int_equal(hp_port_attach("net_null0,size=60", &id), 0);
	assert_int_equal(hp_port_configure(id, 2, 2), 0);
	assert_int_equal(hp_port_start(id), 0);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "rx 0 0 32"), "ok 32");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "rx 0 1 16"), "ok 16");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "tx 0 1 5"), "ok 5");
	hp_rcu_thread_register();
	assert_int_equal(hp_port_rx_burst(id, 0, pkts, 8), 8);
	hp_rcu_thread_unregister();
	hp_mbuf_free_bulk(pkts, 8);
	assert_int_equal(hp_port_stats_get(id, &st), 0);
	assert_int_equal(st.ipackets, 56);
	assert_int_equal(st.ibytes, 56 * 60);
	assert_int_equal(st.q_ipackets[0], 40);
	assert_int_equal(st.q_ipackets[1], 16);
	assert_int_equal(st.opackets, 5);
	assert_int_equal(st.q_opackets[1], 5);
	snprintf(here, sizeof(here), "ok 56 %d 5 500 40 16", 56 * 60);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "stats 0"), here);
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "stats 0"), here);
	/* A reset is seen everywhere too. */
	assert_int_equal(hp_port_stats_reset(id), 0);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "stats 0"), "ok 0 0 0 0 0 0");
	child_stop(&a);
	child_stop(&b);
}

/* A port's fds reach every process, also one that starts later; detach
 * closes every copy. */
static void test_port_fds_shared_with_every_process(void **state)
{
	struct child a, late;
	char buf[256], before[64], mine[64];
	unsigned base;
	uint16_t id;

	(void)state;
	child_start(&a, false);
	base = count_fds();
	snprintf(before, sizeof(before), "%s", child_cmd(&a, buf, sizeof(buf), "nfds"));
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "attach net_fdt0"), "ok 0");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "has 0"), "ok 1");
	assert_int_equal(count_fds(), base + 2);
	child_start(&late, false);
	base = count_fds() - 2;
	assert_string_equal(child_cmd(&late, buf, sizeof(buf), "has 0"), "ok 1");
	snprintf(mine, sizeof(mine), "%s", child_cmd(&late, buf, sizeof(buf), "nfds"));
	assert_string_equal(child_cmd(&late, buf, sizeof(buf), "detach 0"), "ok net_fdt0");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "nfds"), before);
	assert_int_equal(count_fds(), base);
	/* The late one holds two fewer now. */
	unsigned n = 0;
	assert_int_equal(sscanf(mine, "ok %u", &n), 1);
	snprintf(mine, sizeof(mine), "ok %u", n - 2);
	assert_string_equal(child_cmd(&late, buf, sizeof(buf), "nfds"), mine);
	/* Attached by the primary too, and again after the slot is reused. */
	assert_int_equal(hp_port_attach("net_fdt1", &id), 0);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "has 0"), "ok 1");
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "nfds"), before);
	child_stop(&a);
	child_stop(&late);
}

/* A callback that blocks while stall.hold is set, and checks that each
 * port's events alternate NEW, DESTROY. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool hold;
	bool inside;
	unsigned calls;
	bool disorder;
	int last[HP_MAX_PORTS];
	unsigned long dropped;	/* from the warning line */
} stall = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static void stall_cb(uint16_t port_id, enum hp_port_event ev, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&stall.lock);
	stall.inside = true;
	pthread_cond_broadcast(&stall.cond);
	while (stall.hold)
		pthread_cond_wait(&stall.cond, &stall.lock);
	if (ev == HP_PORT_EVENT_NEW)
		stall.disorder |= stall.last[port_id] == HP_PORT_EVENT_NEW;
	if (ev == HP_PORT_EVENT_DESTROY)
		stall.disorder |= stall.last[port_id] != HP_PORT_EVENT_NEW;
	stall.last[port_id] = (int)ev;
	stall.calls++;
	stall.inside = false;
	pthread_mutex_unlock(&stall.lock);
}

static void stall_sink(int level, const char *topic, const char *line,
		       void *arg)
{
	const char *p = strstr(line, "port: warning: ");

	(void)level;
	(void)topic;
	(void)arg;
	if (p && strstr(p, "port events dropped")) {
		pthread_mutex_lock(&stall.lock);
		stall.dropped = strtoul(p + strlen("port: warning: "), NULL, 10);
		pthread_cond_broadcast(&stall.cond);
		pthread_mutex_unlock(&stall.lock);
	}
}

static void stall_set(bool hold)
{
	pthread_mutex_lock(&stall.lock);
	stall.hold = hold;
	pthread_cond_broadcast(&stall.cond);
	pthread_mutex_unlock(&stall.lock);
}

/* Regression (issue 10, item 0): callbacks ran on the thread that
 * attached or detached the port here (in a secondary, the IPC I/O thread
 * that answers the primary), so one that blocked stopped hotplug for
 * everyone. Now a blocked callback holds up only its own events: hotplug
 * goes on, events past the queue's 4096 are dropped and counted, the
 * rest come in order, and unregister returns once it cannot run. */
static void test_port_callback_stall_costs_nobody(void **state)
{
	const unsigned cycles = 2100;
	unsigned calls;
	uint16_t id;

	(void)state;
	memset(stall.last, 0xff, sizeof(stall.last));
	stall.calls = 0;
	stall.dropped = 0;
	stall.disorder = false;
	hp_log_set_sink(stall_sink, NULL);
	stall_set(true);
	assert_int_equal(hp_port_event_register(stall_cb, NULL), 0);
	for (unsigned i = 0; i < cycles; i++) {
		assert_int_equal(hp_port_attach("net_null0", &id), 0);
		assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	}
	pthread_mutex_lock(&stall.lock);
	while (!stall.inside)
		pthread_cond_wait(&stall.cond, &stall.lock);
	stall.hold = false;
	pthread_cond_broadcast(&stall.cond);
	/* the warning comes once the queue has drained */
	while (!stall.dropped)
		pthread_cond_wait(&stall.cond, &stall.lock);
	calls = stall.calls;
	pthread_mutex_unlock(&stall.lock);
	hp_log_set_sink(NULL, NULL);
	assert_int_equal(calls + stall.dropped, 2 * cycles);
	assert_true(calls >= 4096);
	assert_false(stall.disorder);

	/* once unregister returns, the callback neither runs nor will */
	assert_int_equal(hp_port_event_unregister(stall_cb, NULL), 0);
	assert_int_equal(hp_port_attach("net_null0", &id), 0);
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	pthread_mutex_lock(&stall.lock);
	assert_int_equal(stall.calls, calls);
	assert_false(stall.inside);
	pthread_mutex_unlock(&stall.lock);
}

/* The slot is ATTACHING while the driver probes, in every process (it was
 * FREE: the port did not exist for anyone until after the probe, unlike
 * what doc/design.md says): listed, not usable, none of the probe's
 * findings shown yet. A failed probe, from the primary or a secondary,
 * leaves no slot behind. */
static void test_port_attaching_during_probe(void **state)
{
	static const uint8_t zero[6];
	struct hp_port_info info;
	struct child obs, req;
	char buf[256], want[64];
	uint16_t id, bad = 0;

	(void)state;
	child_start(&obs, false);
	child_start(&req, false);
	look_start(&obs);
	assert_int_equal(hp_port_attach("net_look0", &id), 0);
	look_done();
	assert_int_equal(look.info_r, 0);
	assert_int_equal(look.info.state, HP_PORT_ATTACHING);
	assert_string_equal(look.info.name, "net_look0");
	assert_memory_equal(look.info.mac, zero, sizeof(zero));
	assert_int_equal(look.info.peer, HP_PORT_INVALID);
	assert_false(look.valid);
	assert_int_equal(look.count, 1);
	assert_string_equal(look.seen, "ok attaching");
	assert_int_equal(hp_port_info_get(id, &info), 0);
	assert_int_equal(info.state, HP_PORT_ATTACHED);
	assert_int_equal(info.mac[5], 7);

	/* A failed probe: the slot was ATTACHING, and is FREE again. */
	look_start(&obs);
	assert_int_equal(hp_port_attach_msg("net_lookfail0", &bad, buf, sizeof(buf)),
			 -EIO);
	look_done();
	assert_non_null(strstr(buf, "injected probe failure"));
	assert_int_equal(look.info_r, 0);
	assert_int_equal(look.info.state, HP_PORT_ATTACHING);
	bad = look.info.port_id;
	assert_int_not_equal(bad, id);
	assert_int_equal(hp_port_info_get(bad, &info), -ENODEV);
	assert_int_equal(hp_port_count(), 1);
	snprintf(want, sizeof(want), "ok %d", -ENODEV);
	assert_string_equal(child_cmd(&obs, buf, sizeof(buf), "state %u", bad), want);

	/* The same, asked by a secondary (the probe runs in the primary). */
	look_start(&obs);
	child_send(&req, "attach net_lookfail1");
	assert_non_null(strstr(child_answer(&req, buf, sizeof(buf)),
			       "injected probe failure"));
	look_done();
	assert_int_equal(look.info.state, HP_PORT_ATTACHING);
	assert_string_equal(look.seen, "ok attaching");
	assert_int_equal(hp_port_info_get(look.info.port_id, &info), -ENODEV);
	assert_int_equal(hp_port_count(), 1);
	assert_string_equal(child_cmd(&obs, buf, sizeof(buf), "count"), "ok 1");
	look_start(NULL);
	child_stop(&obs);
	child_stop(&req);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_port_attach_detach_primary, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_attach_from_secondary_seen_by_all, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_late_secondary_sees_ports, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_on_demand_asks_only_users, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_events_by_doorbell, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_callback_stall_costs_nobody, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_rollback_when_a_secondary_fails, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_detach_of_started_port_refused, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_table_full, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_bad_devargs_leave_no_slot, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_hotplug_is_thread_safe, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_stalled_secondary_fails_detach, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_dead_secondary_counts_as_done, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_configure_reaches_every_process, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_configure_of_started_port_refused, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_configure_bad_queue_counts, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_queue_pool_too_small_refused, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_configure_failing_in_a_secondary_keeps_old, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_counters_same_in_every_process, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_fds_shared_with_every_process, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_port_attaching_during_probe, setup, primary_teardown),
	};

	if (argc == 4 && !strcmp(argv[1], "--child"))
		return child_main(argv[2], atoi(argv[3]), port_child_cmd);
	signal(SIGPIPE, SIG_IGN);
	/* Short deadlines keep the stalled-peer test quick. */
	test_timeout_ms = 1000;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
