/* SPDX-License-Identifier: BSD-3-Clause */
/* A secondary that uses the installed library: joins a running primary,
 * attaches a net_null port, forwards on it (receive, transmit back) for a
 * second from a registered RCU reader thread, stops and detaches it, and
 * prints the counts. Build: see Makefile (pkg-config hotport only).
 *
 *   ./secondary_fwd --file-prefix NAME
 *
 * Exit status: 0, 1 a call failed, 2 bad options. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hp_core.h>
#include <hp_mbuf.h>
#include <hp_port.h>
#include <hp_rcu.h>

#define BURST 32

struct fwd {
	uint16_t port_id;
	struct hp_mempool *pool;	/* the default pool: our rx buffers' */
	uint64_t rx;
	uint64_t tx;
	uint64_t dropped;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The fast path: a registered reader that passes a quiescent state on
 * every loop, so that a detach anywhere never waits on it for long. */
static void *fwd_loop(void *arg)
{
	struct fwd *f = arg;
	struct hp_mbuf *pkts[BURST];
	double end = now_s() + 1.0;

	hp_rcu_thread_register();
	while (now_s() < end) {
		uint16_t n = hp_port_rx_burst(f->port_id, 0, pkts, BURST);
		uint16_t sent = hp_port_tx_burst(f->port_id, 0, pkts, n);

		hp_mbuf_free_bulk(pkts + sent, n - sent);
		f->rx += n;
		f->tx += sent;
		f->dropped += n - sent;
		hp_rcu_quiescent();
	}
	/* this thread's buffer cache goes back before it exits */
	hp_mempool_cache_release(f->pool);
	hp_rcu_thread_unregister();
	return NULL;
}

static int forward(const char *devargs)
{
	struct fwd f = { 0 };
	char err[256], name[HP_NAME_MAX];
	pthread_t t;
	int r;

	r = hp_mempool_lookup(hp_core_shm(), HP_CORE_POOL_NAME, &f.pool);
	if (r < 0) {
		fprintf(stderr, "error: no default pool: %s\n", strerror(-r));
		return r;
	}
	r = hp_port_attach_msg(devargs, &f.port_id, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "error: attach %s: %s\n", devargs, err);
		return r;
	}
	printf("attached port %u: %s\n", f.port_id, devargs);
	r = hp_port_start(f.port_id);
	if (r < 0) {
		fprintf(stderr, "error: start port %u: %s\n", f.port_id,
			strerror(-r));
		goto err_detach;
	}
	r = -pthread_create(&t, NULL, fwd_loop, &f);
	if (r < 0) {
		fprintf(stderr, "error: thread: %s\n", strerror(-r));
		goto err_stop;
	}
	pthread_join(t, NULL);
	printf("forwarded on port %u for 1 s: rx %llu tx %llu dropped %llu\n",
	       f.port_id, (unsigned long long)f.rx, (unsigned long long)f.tx,
	       (unsigned long long)f.dropped);
err_stop:
	hp_port_stop(f.port_id);
err_detach:
	if (hp_port_detach_msg(f.port_id, name, sizeof(name), err,
			       sizeof(err)) < 0) {
		fprintf(stderr, "error: detach port %u: %s\n", f.port_id, err);
		return r < 0 ? r : -EIO;
	}
	printf("detached port %u: %s\n", f.port_id, name);
	return r;
}

int main(int argc, char **argv)
{
	struct hp_core_opts opts;
	char err[256], devargs[64];
	int r;

	r = hp_core_opts_parse(HP_ROLE_SECONDARY, argc, argv, &opts, err,
			       sizeof(err));
	if (r < 0 || opts.help) {
		if (r < 0)
			fprintf(stderr, "error: %s\n", err);
		fprintf(r < 0 ? stderr : stdout,
			"usage: %s --file-prefix NAME [hotport-secondary options]\n",
			argv[0]);
		return r < 0 ? 2 : 0;
	}
	r = hp_core_init(&opts, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "error: %s\n", err);
		return 1;
	}
	printf("joined %s as a secondary (pid %d)\n", hp_core_prefix(),
	       (int)getpid());
	snprintf(devargs, sizeof(devargs), "net_null_ex%d,size=64",
		 (int)getpid());
	r = forward(devargs);
	hp_core_fini();
	return r < 0 ? 1 : 0;
}
