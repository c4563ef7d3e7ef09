/* SPDX-License-Identifier: BSD-3-Clause */
/* Forwarding threads, the stream table they share out, and the control
 * calls of hp_fwd.h.
 *
 * The stream table (fwd_ctx.streams) lists every stream of the run: the
 * chosen ports attached in this process, in id order, each with the
 * partner the topology gives it (fwd_topology.c), times the chosen
 * queues. It is rebuilt under fwd_ctx.lock whenever it may change (start,
 * a port event, hp_fwd_set_ports/queues/topology), and each rebuild bumps
 * fwd_ctx.version and wakes the threads.
 *
 * A thread compares fwd_ctx.version with its own once per loop iteration
 * (one load). When they differ it goes RCU-offline, takes the lock, folds
 * the counters of its old streams into per-port sums (acc) and drops
 * them, copies its share of the table (streams idx, idx + nb_threads, ...)
 * and comes back online. A thread whose share is empty waits on
 * fwd_ctx.cond, offline, until a rebuild or a stop: it never spins idle.
 * Streams hold port ids only, so no fast-path pointer outlives the
 * quiescent state that ends each iteration; a port being detached answers
 * 0 to every burst until its DESTROY event rebuilds the table without it.
 *
 * One table gives each rx queue and each tx queue to one stream, so to
 * one thread; but a rebuild may give a queue to another thread (streams
 * shift in the round-robin, a port gets a new partner). So nobody takes
 * streams of a new table while a thread still holds streams of an older
 * one: a rebuild counts the threads that hold streams (nb_stale), each
 * drops its own when it sees the new version, and the last one to drop
 * wakes the others. The hand-over costs the threads one short wait per
 * rebuild; queues never have two pollers.
 *
 * Locks: ctl_lock serialises the control calls (start and stop hold it
 * while they create or join threads); lock guards what the threads and
 * the event callback read. The set-up is written under both and read under
 * either. Nobody waits for a thread or an RCU grace period while holding
 * lock, and hp_port_event_register/unregister (whose lock the callbacks
 * run under) are called without it. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd_private.h"
#include "hp_core.h"
#include "hp_log.h"
#include "hp_port_internal.h"
#include "hp_rcu.h"

#define FWD_PORT_WORDS HP_FWD_BITS_WORDS(HP_MAX_PORTS)
#define FWD_QUEUE_WORDS HP_FWD_BITS_WORDS(HP_PORT_MAX_QUEUES)
#define FWD_CPU_WORDS HP_FWD_BITS_WORDS(CPU_SETSIZE)

static struct fwd_ctx {
	pthread_mutex_t ctl_lock;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* version changed */
	/* the set-up */
	enum hp_fwd_mode mode;
	enum hp_fwd_topology topology;
	unsigned burst;
	struct hp_mempool *pool;	/* NULL: the default pool */
	bool ports_all;
	uint64_t ports[FWD_PORT_WORDS];
	uint64_t queues[FWD_QUEUE_WORDS];
	uint64_t lcores[FWD_CPU_WORDS];
	unsigned nb_lcores;		/* 0: one thread, not pinned */
	/* the run, under lock */
	bool running;			/* also read without lock (atomic) */
	bool stopping;
	uint64_t version;		/* also read without lock (atomic) */
	struct fwd_stream *streams;
	unsigned nb_streams;
	unsigned nb_holders;		/* threads holding streams */
	unsigned nb_stale;		/* of them, those of an older table */
	uint64_t seen[FWD_PORT_WORDS];	/* ports that had a stream */
	/* under ctl_lock */
	struct fwd_thread *threads;
	unsigned nb_threads;
	bool last_valid;		/* last and last_seen hold a run */
	uint64_t last_seen[FWD_PORT_WORDS];
	struct hp_fwd_port_stats last[HP_MAX_PORTS];
} fwd_ctx = {
	.ctl_lock = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.mode = HP_FWD_IO,
	.topology = HP_FWD_TOPO_PAIRED,
	.burst = HP_FWD_BURST_DEFAULT,
	.ports_all = true,
	.queues = { 1 },
};

/* ---- the stream table ---- */

/* What the table needs of a chosen port attached here. */
struct fwd_port {
	uint16_t id;
	uint16_t nb_rxq;
	uint16_t nb_txq;
	uint8_t mac[6];
};

static bool fwd_port_chosen(uint16_t id)
{
	return fwd_ctx.ports_all || fwd_bit(fwd_ctx.ports, id);
}

/* The chosen ports in this process's fast path now, in id order. Only
 * whether an entry is there is looked at, never the entry itself. */
static unsigned fwd_ports_collect(struct fwd_port *ports)
{
	struct hp_port_info info;
	unsigned n = 0;

	for (uint16_t id = 0; id < HP_MAX_PORTS; id++) {
		if (!fwd_port_chosen(id) || !hp_port_fp_get(id) ||
		    hp_port_info_get(id, &info) < 0)
			continue;
		ports[n].id = id;
		ports[n].nb_rxq = info.nb_rx_queues;
		ports[n].nb_txq = info.nb_tx_queues;
		memcpy(ports[n].mac, info.mac, sizeof(ports[n].mac));
		n++;
	}
	return n;
}

/* Streams of port p, whose partner is peer, into s; returns how many. A
 * queue the port cannot receive on (io, mac, rxonly) or the partner
 * cannot transmit on (io, mac, txonly) makes no stream. */
static unsigned fwd_port_streams(const struct fwd_port *p,
				 const struct fwd_port *peer,
				 struct fwd_stream *s)
{
	enum hp_fwd_mode mode = fwd_ctx.mode;
	bool rx = mode != HP_FWD_TXONLY, tx = mode != HP_FWD_RXONLY;
	unsigned n = 0;

	for (uint16_t q = 0; q < HP_PORT_MAX_QUEUES; q++) {
		if (!fwd_bit(fwd_ctx.queues, q) || (rx && q >= p->nb_rxq) ||
		    (tx && q >= peer->nb_txq))
			continue;
		memset(&s[n], 0, sizeof(s[n]));
		s[n].rx_port = p->id;
		s[n].rx_queue = q;
		s[n].tx_port = peer->id;
		s[n].tx_queue = q;
		fwd_stream_prepare(&s[n], mode, peer->mac);
		n++;
	}
	if (n > 0) {
		fwd_bit_set(fwd_ctx.seen, p->id);
		fwd_bit_set(fwd_ctx.seen, peer->id);
	}
	return n;
}

/* Rebuilds the table and wakes the threads; under lock. On -ENOMEM the
 * old table stays (its streams on a port that left just receive 0). */
static int fwd_table_build(void)
{
	struct fwd_port *ports = malloc(HP_MAX_PORTS * sizeof(*ports));
	struct fwd_stream *streams = NULL;
	unsigned n, nb = 0;

	if (!ports)
		return -ENOMEM;
	n = fwd_ports_collect(ports);
	streams = calloc((size_t)n * HP_PORT_MAX_QUEUES + 1, sizeof(*streams));
	if (!streams) {
		free(ports);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		int peer = fwd_topology_partner(fwd_ctx.topology, i, n);

		if (peer >= 0)
			nb += fwd_port_streams(&ports[i], &ports[peer],
					       streams + nb);
	}
	free(ports);
	free(fwd_ctx.streams);
	fwd_ctx.streams = streams;
	fwd_ctx.nb_streams = nb;
	fwd_ctx.nb_stale = fwd_ctx.nb_holders;
	__atomic_store_n(&fwd_ctx.version, fwd_ctx.version + 1,
			 __ATOMIC_RELEASE);
	pthread_cond_broadcast(&fwd_ctx.cond);
	HP_DEBUG(FWD_LOG, "%u ports, %u streams", n, nb);
	return 0;
}

/* Under lock: rebuilds the table of a run that goes on, and logs a
 * failure (the caller is a port event or a set-up call that cannot fail
 * for this). */
static void fwd_table_update(void)
{
	int r;

	if (!fwd_ctx.running || fwd_ctx.stopping)
		return;
	r = fwd_table_build();
	if (r < 0)
		HP_WARN(FWD_LOG, "cannot rebuild the streams: %s; keeping the "
			"old ones", strerror(-r));
}

static void fwd_on_port_event(uint16_t port_id, enum hp_port_event ev,
			      void *arg)
{
	(void)arg;
	if (ev != HP_PORT_EVENT_NEW && ev != HP_PORT_EVENT_DESTROY &&
	    ev != HP_PORT_EVENT_CONFIG)
		return;
	pthread_mutex_lock(&fwd_ctx.lock);
	if (fwd_port_chosen(port_id))
		fwd_table_update();
	pthread_mutex_unlock(&fwd_ctx.lock);
}

/* ---- forwarding threads ---- */

void fwd_thread_add_pool(struct fwd_thread *t, struct hp_mempool *pool)
{
	t->last_pool = pool;
	if (!pool)
		return;
	for (unsigned i = 0; i < t->nb_pools; i++)
		if (t->pools[i] == pool)
			return;
	if (t->nb_pools == FWD_POOLS_MAX) {
		/* its cache waits for hp_mempool_reclaim_pid */
		HP_DEBUG(FWD_LOG, "thread %u: more than %d pools", t->idx,
			 FWD_POOLS_MAX);
		return;
	}
	t->pools[t->nb_pools++] = pool;
}

/* Adds the counters of t's streams to its per-port sums; drops them. */
static void fwd_thread_fold(struct fwd_thread *t)
{
	for (unsigned i = 0; i < t->nb_streams; i++) {
		const struct fwd_stream *s = &t->streams[i];

		t->acc[s->rx_port].rx_packets += s->rx;
		t->acc[s->tx_port].tx_packets += s->tx;
		t->acc[s->tx_port].tx_dropped += s->drops;
	}
	free(t->streams);
	t->streams = NULL;
	t->nb_streams = 0;
}

/* Under lock: lets go of t's streams of an older table. */
static void fwd_thread_drop(struct fwd_thread *t)
{
	fwd_thread_fold(t);
	fwd_ctx.nb_holders--;
	if (--fwd_ctx.nb_stale == 0)
		pthread_cond_broadcast(&fwd_ctx.cond);
}

/* Under lock, once no thread holds streams of an older table: takes t's
 * share of the current one. */
static void fwd_thread_take(struct fwd_thread *t, unsigned nb_threads)
{
	unsigned n = 0, want = 0;

	t->version = fwd_ctx.version;
	if (fwd_ctx.nb_streams > t->idx)
		want = (fwd_ctx.nb_streams - t->idx + nb_threads - 1) /
		       nb_threads;
	if (want == 0)
		return;
	t->streams = malloc(want * sizeof(*t->streams));
	if (!t->streams) {
		HP_WARN(FWD_LOG, "thread %u: no memory for %u streams", t->idx,
			want);
		return;
	}
	for (unsigned j = t->idx; j < fwd_ctx.nb_streams; j += nb_threads)
		t->streams[n++] = fwd_ctx.streams[j];
	t->nb_streams = n;
	fwd_ctx.nb_holders++;
}

/* The slow path of fwd_thread_sync: false when t must exit. */
static bool fwd_thread_update(struct fwd_thread *t)
{
	bool stop;

	hp_rcu_thread_offline();
	pthread_mutex_lock(&fwd_ctx.lock);
	for (;;) {
		stop = fwd_ctx.stopping;
		if (stop)
			break;
		if (t->version != fwd_ctx.version && t->nb_streams > 0)
			fwd_thread_drop(t);
		if (t->version != fwd_ctx.version && fwd_ctx.nb_stale == 0)
			fwd_thread_take(t, fwd_ctx.nb_threads);
		if (t->version == fwd_ctx.version && t->nb_streams > 0)
			break;
		pthread_cond_wait(&fwd_ctx.cond, &fwd_ctx.lock);
	}
	pthread_mutex_unlock(&fwd_ctx.lock);
	hp_rcu_thread_online();
	return !stop;
}

/* Once per iteration: one load unless the table changed. */
static inline bool fwd_thread_sync(struct fwd_thread *t)
{
	if (HP_LIKELY(__atomic_load_n(&fwd_ctx.version, __ATOMIC_ACQUIRE) ==
		      t->version))
		return true;
	return fwd_thread_update(t);
}

static void *fwd_thread_main(void *arg)
{
	struct fwd_thread *t = arg;
	const fwd_mode_fn burst = fwd_mode_fns[t->mode];
	struct hp_mbuf *pkts[HP_FWD_BURST_MAX];

	hp_rcu_thread_register();
	if (t->pool)
		fwd_thread_add_pool(t, t->pool);
	while (fwd_thread_sync(t)) {
		for (unsigned i = 0; i < t->nb_streams; i++)
			burst(t, &t->streams[i], pkts);
		hp_rcu_quiescent();
	}
	fwd_thread_fold(t);
	for (unsigned i = 0; i < t->nb_pools; i++)
		hp_mempool_cache_release(t->pools[i]);
	hp_rcu_thread_unregister();
	return NULL;
}

static void fwd_threads_free(void)
{
	for (unsigned i = 0; i < fwd_ctx.nb_threads; i++)
		free(fwd_ctx.threads[i].acc);
	free(fwd_ctx.threads);
	fwd_ctx.threads = NULL;
	fwd_ctx.nb_threads = 0;
}

/* One thread per core of the set-up (or one, not pinned), not started. */
static int fwd_threads_alloc(struct hp_mempool *pool)
{
	unsigned nb = fwd_ctx.nb_lcores ? fwd_ctx.nb_lcores : 1, cpu = 0;

	fwd_ctx.threads = calloc(nb, sizeof(*fwd_ctx.threads));
	if (!fwd_ctx.threads)
		return -ENOMEM;
	fwd_ctx.nb_threads = nb;
	for (unsigned i = 0; i < nb; i++) {
		struct fwd_thread *t = &fwd_ctx.threads[i];

		t->idx = i;
		t->cpu = -1;
		if (fwd_ctx.nb_lcores) {
			while (!fwd_bit(fwd_ctx.lcores, cpu))
				cpu++;
			t->cpu = (int)cpu++;
		}
		t->mode = fwd_ctx.mode;
		t->burst = (uint16_t)fwd_ctx.burst;
		t->pool = fwd_ctx.mode == HP_FWD_TXONLY ? pool : NULL;
		t->acc = calloc(HP_MAX_PORTS, sizeof(*t->acc));
		if (!t->acc) {
			fwd_threads_free();
			return -ENOMEM;
		}
	}
	return 0;
}

static int fwd_thread_create(struct fwd_thread *t)
{
	char name[16];
	cpu_set_t set;
	int r;

	r = -pthread_create(&t->tid, NULL, fwd_thread_main, t);
	if (r < 0)
		return r;
	t->created = true;
	snprintf(name, sizeof(name), "hp-fwd-%u", t->idx);
	pthread_setname_np(t->tid, name);
	if (t->cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET((unsigned)t->cpu, &set);
	return -pthread_setaffinity_np(t->tid, sizeof(set), &set);
}

/* Tells every created thread to stop and joins it. */
static void fwd_threads_join(void)
{
	pthread_mutex_lock(&fwd_ctx.lock);
	fwd_ctx.stopping = true;
	__atomic_store_n(&fwd_ctx.version, fwd_ctx.version + 1,
			 __ATOMIC_RELEASE);
	pthread_cond_broadcast(&fwd_ctx.cond);
	pthread_mutex_unlock(&fwd_ctx.lock);
	for (unsigned i = 0; i < fwd_ctx.nb_threads; i++)
		if (fwd_ctx.threads[i].created)
			pthread_join(fwd_ctx.threads[i].tid, NULL);
}

/* Ends a run whose threads are joined; under ctl_lock. */
static void fwd_run_end(void)
{
	hp_port_event_unregister(fwd_on_port_event, NULL);
	pthread_mutex_lock(&fwd_ctx.lock);
	__atomic_store_n(&fwd_ctx.running, false, __ATOMIC_RELEASE);
	fwd_ctx.stopping = false;
	free(fwd_ctx.streams);
	fwd_ctx.streams = NULL;
	fwd_ctx.nb_streams = 0;
	pthread_mutex_unlock(&fwd_ctx.lock);
	fwd_threads_free();
}

/* ---- control ---- */

/* Takes both locks for a set-up change; -EBUSY (nothing held) when
 * forwarding runs and busy_if_running. */
static int fwd_setup_lock(bool busy_if_running)
{
	pthread_mutex_lock(&fwd_ctx.ctl_lock);
	if (busy_if_running && fwd_ctx.running) {
		pthread_mutex_unlock(&fwd_ctx.ctl_lock);
		return -EBUSY;
	}
	pthread_mutex_lock(&fwd_ctx.lock);
	return 0;
}

static void fwd_setup_unlock(void)
{
	pthread_mutex_unlock(&fwd_ctx.lock);
	pthread_mutex_unlock(&fwd_ctx.ctl_lock);
}

int hp_fwd_set_mode(enum hp_fwd_mode mode)
{
	int r;

	if ((unsigned)mode >= HP_FWD_NB_MODES)
		return -EINVAL;
	r = fwd_setup_lock(true);
	if (r < 0)
		return r;
	fwd_ctx.mode = mode;
	fwd_setup_unlock();
	return 0;
}

int hp_fwd_set_burst(unsigned burst)
{
	int r;

	if (burst < 1 || burst > HP_FWD_BURST_MAX)
		return -EINVAL;
	r = fwd_setup_lock(true);
	if (r < 0)
		return r;
	fwd_ctx.burst = burst;
	fwd_setup_unlock();
	return 0;
}

int hp_fwd_set_pool(struct hp_mempool *pool)
{
	int r = fwd_setup_lock(true);

	if (r < 0)
		return r;
	fwd_ctx.pool = pool;
	fwd_setup_unlock();
	return 0;
}

/* How many cores bits lists, or -ERANGE if this process may not run on
 * one of them. */
static int fwd_lcores_check(const uint64_t *bits)
{
	cpu_set_t allowed;
	int n = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return -errno;
	for (unsigned cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!fwd_bit(bits, cpu))
			continue;
		if (!CPU_ISSET(cpu, &allowed))
			return -ERANGE;
		n++;
	}
	return n;
}

int hp_fwd_set_lcores(const char *list)
{
	uint64_t bits[FWD_CPU_WORDS] = { 0 };
	int r, n = 0;

	if (list && *list) {
		r = hp_fwd_list_parse(list, CPU_SETSIZE, bits);
		if (r < 0)
			return r;
		n = fwd_lcores_check(bits);
		if (n < 0)
			return n;
		if (n > HP_FWD_THREADS_MAX)
			return -E2BIG;
	}
	r = fwd_setup_lock(true);
	if (r < 0)
		return r;
	memcpy(fwd_ctx.lcores, bits, sizeof(bits));
	fwd_ctx.nb_lcores = (unsigned)n;
	fwd_setup_unlock();
	return 0;
}

int hp_fwd_set_ports(const char *list)
{
	uint64_t bits[FWD_PORT_WORDS] = { 0 };
	bool all = !list || !strcmp(list, "all");
	int r;

	if (!all) {
		r = hp_fwd_list_parse(list, HP_MAX_PORTS, bits);
		if (r < 0)
			return r;
	}
	fwd_setup_lock(false);
	fwd_ctx.ports_all = all;
	memcpy(fwd_ctx.ports, bits, sizeof(bits));
	fwd_table_update();
	fwd_setup_unlock();
	return 0;
}

int hp_fwd_set_topology(enum hp_fwd_topology topo)
{
	if ((unsigned)topo >= HP_FWD_NB_TOPOLOGIES)
		return -EINVAL;
	fwd_setup_lock(false);
	fwd_ctx.topology = topo;
	fwd_table_update();
	fwd_setup_unlock();
	return 0;
}

int hp_fwd_set_queues(const char *list)
{
	uint64_t bits[FWD_QUEUE_WORDS];
	int r = hp_fwd_list_parse(list, HP_PORT_MAX_QUEUES, bits);

	if (r < 0)
		return r;
	fwd_setup_lock(false);
	memcpy(fwd_ctx.queues, bits, sizeof(bits));
	fwd_table_update();
	fwd_setup_unlock();
	return 0;
}

/* The pool txonly uses; NULL for the other modes. */
static int fwd_pool_find(struct hp_mempool **ret_pool)
{
	struct hp_mempool *pool = fwd_ctx.pool;
	int r;

	if (fwd_ctx.mode == HP_FWD_TXONLY && !pool) {
		if (!hp_core_shm())
			return -ENOENT;
		r = hp_mempool_lookup(hp_core_shm(), HP_CORE_POOL_NAME, &pool);
		if (r < 0)
			return r;
	}
	*ret_pool = pool;
	return 0;
}

/* Under ctl_lock: the run's table, its threads and the event callback. */
static int fwd_run_begin(void)
{
	struct hp_mempool *pool = NULL;
	int r;

	r = fwd_pool_find(&pool);
	if (r < 0)
		return r;
	r = fwd_threads_alloc(pool);
	if (r < 0)
		return r;
	/* before the first table: no NEW event can fall between the two */
	/* inline: a detached port leaves the streams before the detach
	 * returns, and the callback takes fwd_ctx.lock only */
	r = hp_port_event_register_inline(fwd_on_port_event, NULL);
	if (r < 0)
		goto err_free;
	pthread_mutex_lock(&fwd_ctx.lock);
	memset(fwd_ctx.seen, 0, sizeof(fwd_ctx.seen));
	fwd_ctx.nb_holders = 0;
	r = fwd_table_build();
	if (r == 0)
		__atomic_store_n(&fwd_ctx.running, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&fwd_ctx.lock);
	if (r < 0)
		goto err_unregister;
	return 0;

err_unregister:
	hp_port_event_unregister(fwd_on_port_event, NULL);
err_free:
	fwd_threads_free();
	return r;
}

int hp_fwd_start(void)
{
	int r = 0;

	pthread_mutex_lock(&fwd_ctx.ctl_lock);
	if (fwd_ctx.running) {
		r = -EALREADY;
		goto out;
	}
	r = fwd_run_begin();
	if (r < 0)
		goto out;
	fwd_ctx.last_valid = false;
	for (unsigned i = 0; i < fwd_ctx.nb_threads && r == 0; i++)
		r = fwd_thread_create(&fwd_ctx.threads[i]);
	if (r < 0) {
		HP_DEBUG(FWD_LOG, "cannot start thread: %s", strerror(-r));
		fwd_threads_join();
		fwd_run_end();
		goto out;
	}
	/* the streams change with port events: read them under their lock */
	pthread_mutex_lock(&fwd_ctx.lock);
	unsigned nb_streams = fwd_ctx.nb_streams;
	pthread_mutex_unlock(&fwd_ctx.lock);
	HP_DEBUG(FWD_LOG, "%s forwarding: %u threads, %u streams",
		 hp_fwd_mode_name(fwd_ctx.mode), fwd_ctx.nb_threads,
		 nb_streams);
out:
	pthread_mutex_unlock(&fwd_ctx.ctl_lock);
	return r;
}

/* Sums the joined threads' counters into the last run's. */
static void fwd_run_collect(struct hp_fwd_stats *st)
{
	memset(st, 0, sizeof(*st));
	memset(fwd_ctx.last, 0, sizeof(fwd_ctx.last));
	memcpy(fwd_ctx.last_seen, fwd_ctx.seen, sizeof(fwd_ctx.seen));
	for (unsigned i = 0; i < fwd_ctx.nb_threads; i++) {
		const struct hp_fwd_port_stats *acc = fwd_ctx.threads[i].acc;

		for (unsigned id = 0; id < HP_MAX_PORTS; id++) {
			fwd_ctx.last[id].rx_packets += acc[id].rx_packets;
			fwd_ctx.last[id].tx_packets += acc[id].tx_packets;
			fwd_ctx.last[id].tx_dropped += acc[id].tx_dropped;
		}
	}
	for (unsigned id = 0; id < HP_MAX_PORTS; id++) {
		if (!fwd_bit(fwd_ctx.last_seen, id))
			continue;
		st->total.rx_packets += fwd_ctx.last[id].rx_packets;
		st->total.tx_packets += fwd_ctx.last[id].tx_packets;
		st->total.tx_dropped += fwd_ctx.last[id].tx_dropped;
		st->nb_ports++;
	}
	fwd_ctx.last_valid = true;
}

int hp_fwd_stop(struct hp_fwd_stats *ret_stats)
{
	struct hp_fwd_stats st;
	int r = 0;

	pthread_mutex_lock(&fwd_ctx.ctl_lock);
	if (!fwd_ctx.running) {
		r = -EALREADY;
		goto out;
	}
	fwd_threads_join();
	fwd_run_collect(&st);
	fwd_run_end();
	HP_DEBUG(FWD_LOG, "stopped: rx %llu, tx %llu, dropped %llu",
		 (unsigned long long)st.total.rx_packets,
		 (unsigned long long)st.total.tx_packets,
		 (unsigned long long)st.total.tx_dropped);
	if (ret_stats)
		*ret_stats = st;
out:
	pthread_mutex_unlock(&fwd_ctx.ctl_lock);
	return r;
}

int hp_fwd_ports_stopped(uint16_t *ret_ids, unsigned max)
{
	struct hp_port_info info;
	unsigned n = 0;

	if (!ret_ids && max)
		return -EINVAL;
	pthread_mutex_lock(&fwd_ctx.lock);
	for (uint16_t id = 0; id < HP_MAX_PORTS; id++) {
		if (!fwd_port_chosen(id) || !hp_port_fp_get(id) ||
		    hp_port_info_get(id, &info) < 0 ||
		    info.admin == HP_PORT_STARTED)
			continue;
		if (n < max)
			ret_ids[n] = id;
		n++;
	}
	pthread_mutex_unlock(&fwd_ctx.lock);
	return (int)n;
}

bool hp_fwd_running(void)
{
	return __atomic_load_n(&fwd_ctx.running, __ATOMIC_ACQUIRE);
}

int hp_fwd_port_stats_get(uint16_t port_id,
			  struct hp_fwd_port_stats *ret_stats)
{
	int r = 0;

	if (port_id >= HP_MAX_PORTS || !ret_stats)
		return -EINVAL;
	pthread_mutex_lock(&fwd_ctx.ctl_lock);
	if (fwd_ctx.running)
		r = -EBUSY;
	else if (!fwd_ctx.last_valid || !fwd_bit(fwd_ctx.last_seen, port_id))
		r = -ENOENT;
	else
		*ret_stats = fwd_ctx.last[port_id];
	pthread_mutex_unlock(&fwd_ctx.ctl_lock);
	return r;
}

int hp_fwd_info_get(struct hp_fwd_info *ret_info)
{
	uint64_t active[FWD_PORT_WORDS] = { 0 };
	struct hp_fwd_info info;

	if (!ret_info)
		return -EINVAL;
	memset(&info, 0, sizeof(info));
	pthread_mutex_lock(&fwd_ctx.lock);
	info.mode = fwd_ctx.mode;
	info.topology = fwd_ctx.topology;
	info.burst = fwd_ctx.burst;
	info.running = fwd_ctx.running;
	info.nb_threads = fwd_ctx.nb_lcores ? fwd_ctx.nb_lcores : 1;
	info.nb_streams = fwd_ctx.nb_streams;
	info.ports_all = fwd_ctx.ports_all;
	for (uint16_t id = 0; id < HP_MAX_PORTS; id++)
		if (fwd_port_chosen(id) && hp_port_fp_get(id))
			fwd_bit_set(active, id);
	if (info.ports_all)
		strcpy(info.ports, "all");
	else
		fwd_list_format(fwd_ctx.ports, HP_MAX_PORTS, info.ports,
				sizeof(info.ports));
	fwd_list_format(active, HP_MAX_PORTS, info.active, sizeof(info.active));
	fwd_list_format(fwd_ctx.queues, HP_PORT_MAX_QUEUES, info.queues,
			sizeof(info.queues));
	fwd_list_format(fwd_ctx.lcores, CPU_SETSIZE, info.lcores,
			sizeof(info.lcores));
	pthread_mutex_unlock(&fwd_ctx.lock);
	*ret_info = info;
	return 0;
}
