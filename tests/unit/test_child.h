/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers of the port tests: secondaries that are the test binary itself
 * re-executed with --child <prefix> <timeout>, driven one command line at
 * a time over pipes, and the primary's set-up and teardown. */
#ifndef TEST_CHILD_H
#define TEST_CHILD_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hp_core.h"
#include "hp_mbuf.h"
#include "hp_port.h"
#include "hp_port_driver.h"
#include "hp_rcu.h"

/* Open file descriptors of this process (the directory's own not
 * counted), for leak checks. */
static inline unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;
}

/* ---- the secondary side ---- */

/* A pool by name, for commands that name one. */
static inline struct hp_mempool *child_pool(const char *name)
{
	struct hp_mempool *mp = NULL;

	if (name[0] && hp_mempool_lookup(hp_core_shm(), name, &mp) < 0)
		return NULL;
	return mp;
}

/* Receives up to n packets on a queue and frees them; writes how many, or
 * an error if a buffer did not come from the pool named (if any). */
static inline void child_rx(unsigned port, unsigned q, unsigned n,
			    const char *pool)
{
	struct hp_mbuf *pkts[64];
	struct hp_mempool *mp = child_pool(pool);
	uint16_t got;
	bool pool_ok = true;

	hp_rcu_thread_online();
	got = hp_port_rx_burst((uint16_t)port, (uint16_t)q, pkts,
			       (uint16_t)(n < 64 ? n : 64));
	hp_rcu_quiescent();
	hp_rcu_thread_offline();
	for (uint16_t i = 0; i < got; i++)
		pool_ok &= !mp || pkts[i]->pool == mp;
	hp_mbuf_free_bulk(pkts, got);
	printf(pool_ok ? "ok %u\n" : "err pool\n", got);
}

/* Transmits n packets of 100 bytes from the default pool on a queue. */
static inline void child_tx(unsigned port, unsigned q, unsigned n)
{
	struct hp_mbuf *pkts[64];
	uint16_t sent;

	n = n < 64 ? n : 64;
	if (hp_mbuf_alloc_bulk(child_pool("hp_pool_default"), pkts, n) < 0) {
		printf("err no buffers\n");
		return;
	}
	for (unsigned i = 0; i < n; i++)
		pkts[i]->data_len = pkts[i]->pkt_len = 100;
	hp_rcu_thread_online();
	sent = hp_port_tx_burst((uint16_t)port, (uint16_t)q, pkts, (uint16_t)n);
	hp_rcu_quiescent();
	hp_rcu_thread_offline();
	hp_mbuf_free_bulk(pkts + sent, n - sent);
	printf("ok %u\n", sent);
}

/* The commands about queues; false if line is none of them. */
static inline bool child_queue_cmd(const char *line)
{
	struct hp_port_stats st;
	struct hp_port_fp *fp;
	char pool[32] = "";
	unsigned p, a, b, c;

	if (sscanf(line, "configure %u %u %u", &p, &a, &b) == 3) {
		printf("ok %d\n", hp_port_configure((uint16_t)p, (uint16_t)a,
						    (uint16_t)b));
	} else if (sscanf(line, "rxq %u %u %u %31s", &p, &a, &b, pool) >= 3) {
		printf("ok %d\n", hp_port_rx_queue_setup((uint16_t)p, (uint16_t)a,
							 (uint16_t)b,
							 child_pool(pool)));
	} else if (sscanf(line, "txq %u %u %u", &p, &a, &b) == 3) {
		printf("ok %d\n", hp_port_tx_queue_setup((uint16_t)p, (uint16_t)a,
							 (uint16_t)b));
	} else if (sscanf(line, "nbq %u", &p) == 1) {
		/* Read the entry as a fast-path reader would. */
		hp_rcu_thread_online();
		fp = hp_port_fp_get((uint16_t)p);
		if (fp)
			printf("ok %u %u\n", fp->nb_rxq, fp->nb_txq);
		else
			printf("err none\n");
		hp_rcu_quiescent();
		hp_rcu_thread_offline();
	} else if (sscanf(line, "rx %u %u %u %31s", &p, &a, &c, pool) >= 3) {
		child_rx(p, a, c, pool);
	} else if (sscanf(line, "tx %u %u %u", &p, &a, &c) == 3) {
		child_tx(p, a, c);
	} else if (sscanf(line, "stats %u", &p) == 1) {
		if (hp_port_stats_get((uint16_t)p, &st) < 0)
			printf("err none\n");
		else
			printf("ok %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
			       st.ipackets, st.ibytes, st.opackets, st.obytes,
			       st.q_ipackets[0], st.q_ipackets[1]);
	} else {
		return false;
	}
	return true;
}

/* A test's own child commands: true if it knew line (and answered). */
typedef bool (*child_cmd_fn)(const char *line);

/* Events a child heard (commands "listen", "events", "links"). */
static unsigned child_events[8];

static inline void child_on_event(uint16_t port_id, enum hp_port_event ev,
				  void *arg)
{
	(void)port_id;
	(void)arg;
	if ((unsigned)ev < HP_ARRAY_SIZE(child_events))
		__atomic_fetch_add(&child_events[ev], 1, __ATOMIC_RELAXED);
}

static inline unsigned child_events_of(enum hp_port_event ev)
{
	return __atomic_load_n(&child_events[ev], __ATOMIC_RELAXED);
}

/* The secondary: joins prefix, says "ready", then answers one line per
 * command line on stdin until it closes; extra (may be NULL) sees the
 * lines the common commands do not take. Returns the exit status. */
static inline int child_main(const char *prefix, int timeout_ms,
			     child_cmd_fn extra)
{
	struct hp_core_opts o = { .role = HP_ROLE_SECONDARY, .prefix = prefix,
				  .timeout_ms = timeout_ms };
	char line[4096], err[256], name[64];
	uint16_t id;
	int r;

	if (hp_core_init(&o, err, sizeof(err)) < 0) {
		fprintf(stderr, "child: %s\n", err);
		return 3;
	}
	/* A reader for the burst commands, online only around them: while
	 * this thread waits for the primary, refreshes here must not wait
	 * for it. */
	hp_rcu_thread_register();
	hp_rcu_thread_offline();
	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		unsigned n = 0;
		if (!strncmp(line, "attach ", 7)) {
			r = hp_port_attach_msg(line + 7, &id, err, sizeof(err));
			if (r == 0)
				printf("ok %u\n", id);
			else
				printf("err %d %s\n", r, err);
		} else if (sscanf(line, "detach %u", &n) == 1) {
			r = hp_port_detach_msg((uint16_t)n, name, sizeof(name),
					       err, sizeof(err));
			if (r == 0)
				printf("ok %s\n", name);
			else
				printf("err %d %s\n", r, err);
		} else if (sscanf(line, "start %u", &n) == 1) {
			printf("ok %d\n", hp_port_start((uint16_t)n));
		} else if (sscanf(line, "stop %u", &n) == 1) {
			printf("ok %d\n", hp_port_stop((uint16_t)n));
		} else if (sscanf(line, "has %u", &n) == 1) {
			printf("ok %d\n", hp_port_fp_get((uint16_t)n) != NULL);
		} else if (!strcmp(line, "count")) {
			printf("ok %u\n", hp_port_count());
		} else if (!strcmp(line, "listen")) {
			printf("ok %d\n", hp_port_event_register(child_on_event,
								 NULL));
		} else if (!strcmp(line, "events")) {
			printf("ok %u %u %u\n",
			       child_events_of(HP_PORT_EVENT_NEW),
			       child_events_of(HP_PORT_EVENT_CONFIG),
			       child_events_of(HP_PORT_EVENT_DESTROY));
		} else if (!strcmp(line, "links")) {
			printf("ok %u\n", child_events_of(HP_PORT_EVENT_LINK));
		} else if (!child_queue_cmd(line) && !(extra && extra(line))) {
			printf("err unknown command\n");
		}
		fflush(stdout);
	}
	hp_rcu_thread_online();
	hp_rcu_thread_unregister();
	hp_core_fini();
	return 0;
}

/* ---- the primary side ---- */

/* A secondary driven by the test. */
struct child {
	pid_t pid;
	FILE *in;	/* its stdin */
	int out;	/* its stdout */
};

static char prefix[64];
/* Every child started by the running test, killed in teardown whatever
 * happened, so that a failed assertion never leaves a stopped child
 * holding the test runner's pipes. */
static pid_t children[160];
static unsigned nb_children;
static int test_timeout_ms = 2000;

/* Reads one line from fd within ms; returns its length or -ETIMEDOUT. */
static inline int read_line(int fd, char *buf, size_t len, int ms)
{
	size_t n = 0;

	while (n + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, ms) <= 0)
			return -ETIMEDOUT;
		if (read(fd, buf + n, 1) != 1)
			return -EPIPE;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return (int)n;
}

/* When set, secondaries start inside a new PID namespace (unshare). */
static bool child_in_pidns;

/* Starts a secondary with the environment variable env set to val (env
 * may be NULL). */
static inline void child_start_env(struct child *c, const char *env,
				   const char *val)
{
	int in[2], out[2];
	char line[256], tmo[16], self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		if (env)
			setenv(env, val, 1);
		snprintf(tmo, sizeof(tmo), "%d", test_timeout_ms);
		self[n > 0 ? n : 0] = '\0';
		/* --kill-child: the secondary dies with the unshare process
		 * the test kills. */
		if (child_in_pidns)
			execlp("unshare", "unshare", "--pid", "--kill-child",
			       self, "--child", prefix, tmo, (char *)NULL);
		execl("/proc/self/exe", "test-child", "--child", prefix, tmo,
		      (char *)NULL);
		_exit(127);
	}
	if (nb_children < sizeof(children) / sizeof(children[0]))
		children[nb_children++] = c->pid;
	close(in[0]);
	close(out[1]);
	c->in = fdopen(in[1], "w");
	c->out = out[0];
	assert_int_equal(read_line(c->out, line, sizeof(line), 5000), 5);
	assert_string_equal(line, "ready");
}

/* Sends one command without waiting for its answer (child_answer). */
static inline void child_send_v(struct child *c, const char *fmt, va_list ap)
{
	vfprintf(c->in, fmt, ap);
	fputc('\n', c->in);
	fflush(c->in);
}

static inline void child_send(struct child *c, const char *fmt, ...)
	HP_PRINTF(2, 3);
static inline void child_send(struct child *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	child_send_v(c, fmt, ap);
	va_end(ap);
}

/* Reads the answer to the command sent last into buf and returns buf. */
static inline const char *child_answer(struct child *c, char *buf, size_t len)
{
	assert_true(read_line(c->out, buf, len, 3 * test_timeout_ms + 2000) >= 0);
	return buf;
}

/* Sends one command and returns its answer line in buf. */
static inline const char *child_cmd(struct child *c, char *buf, size_t len,
				    const char *fmt, ...) HP_PRINTF(4, 5);
static inline const char *child_cmd(struct child *c, char *buf, size_t len,
				    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	child_send_v(c, fmt, ap);
	va_end(ap);
	return child_answer(c, buf, len);
}

static inline void child_stop(struct child *c)
{
	int st;

	if (c->pid <= 0)
		return;
	fclose(c->in);
	close(c->out);
	waitpid(c->pid, &st, 0);
	c->pid = 0;
}

static inline void child_kill(struct child *c)
{
	kill(c->pid, SIGKILL);
	child_stop(c);
}

/* A devargs string that attach must refuse with err, with a reason that
 * contains says. */
struct bad_devargs {
	const char *devargs;
	int err;
	const char *says;
};

/* Checks that attaching bad->devargs fails as bad says, with a one-line
 * reason, and leaves the port id alone. */
static inline void attach_must_fail(const struct bad_devargs *bad)
{
	char err[256] = "";
	uint16_t id = 77;
	int r = hp_port_attach_msg(bad->devargs, &id, err, sizeof(err));

	if (r != bad->err || !strstr(err, bad->says))
		fail_msg("'%.60s': got %d '%s', expected %d '%s'",
			 bad->devargs, r, err, bad->err, bad->says);
	assert_true(err[0] != '\0');
	assert_null(strchr(err, '\n'));
	assert_int_equal(id, 77);
}

/* Starts this process as the primary of a new instance "t-<tag>-...";
 * 0 or -1, for a cmocka setup. */
static inline int primary_setup(const char *tag)
{
	static int n;
	const char *nh = getenv("HOTPORT_TEST_NO_HUGE");
	/* Hugepages unless the suite runs without them; the memory falls
	 * back to ordinary pages by itself when none are free. */
	struct hp_core_opts o = { .role = HP_ROLE_PRIMARY, .prefix = prefix,
				  .no_huge = nh && *nh,
				  .timeout_ms = test_timeout_ms,
				  .mem_size = 128u << 20 };

	snprintf(prefix, sizeof(prefix), "t-%s-%d-%d", tag, (int)getpid(), n++);
	return hp_core_init(&o, NULL, 0) == 0 ? 0 : -1;
}

/* Kills every child the test started and stops the primary. */
static inline int primary_teardown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < nb_children; i++) {
		kill(children[i], SIGKILL);
		waitpid(children[i], NULL, 0);
	}
	nb_children = 0;
	hp_core_fini();
	return 0;
}

/* Asks c with cmd until its answer reads want (events come after the
 * requester's answer); false after about 2 s. */
static inline bool child_answer_is(struct child *c, const char *cmd,
				   const char *want)
{
	char buf[64];

	for (int i = 0; i < 200; i++) {
		if (!strcmp(child_cmd(c, buf, sizeof(buf), "%s", cmd), want))
			return true;
		usleep(10000);
	}
	fprintf(stderr, "%s: '%s', want '%s'\n", cmd, buf, want);
	return false;
}

#endif
