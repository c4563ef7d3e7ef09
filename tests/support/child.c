/* SPDX-License-Identifier: BSD-3-Clause */
/* The secondary of the port tests (hp_test_child.h): joins the test's
 * instance, then answers one line per command line on stdin. Burst
 * commands run with the thread online only around the burst: while it
 * waits for the primary, refreshes must not wait for it. */
#include <stdio.h>
#include <string.h>

#include "hp_test_child.h"

struct hp_mempool *child_pool(const char *name)
{
	struct hp_mempool *mp = NULL;

	if (name[0] && hp_mempool_lookup(hp_core_shm(), name, &mp) < 0)
		return NULL;
	return mp;
}

/* Receives up to n packets on a queue and frees them; writes how many, or
 * an error if a buffer did not come from the pool named (if any). */
static void child_rx(unsigned port, unsigned q, unsigned n, const char *pool)
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
static void child_tx(unsigned port, unsigned q, unsigned n)
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
static bool child_queue_cmd(const char *line)
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

/* Events a child heard (commands "listen", "events", "links"). */
static unsigned child_events[8];

static void child_on_event(uint16_t port_id, enum hp_port_event ev, void *arg)
{
	(void)port_id;
	(void)arg;
	if ((unsigned)ev < HP_ARRAY_SIZE(child_events))
		__atomic_fetch_add(&child_events[ev], 1, __ATOMIC_RELAXED);
}

static unsigned child_events_of(enum hp_port_event ev)
{
	return __atomic_load_n(&child_events[ev], __ATOMIC_RELAXED);
}

int child_main(const char *prefix, int timeout_ms, child_cmd_fn extra)
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
