/* DPDK side of hotport's ring benchmarks.  Uses DPDK's public API only.
 *
 * Two processes:
 *   A (primary, --role a): creates an mbuf pool, two SP/SC rings and a control
 *     memzone; first measures single-core bulk-32 SP/SC enqueue+dequeue cost on
 *     a private ring; prints "ready" and waits for B; then for --seconds:
 *     allocates bursts of 32 mbufs (rte_pktmbuf_alloc_bulk), enqueues them on
 *     ring 1, dequeues from ring 2 and frees them (rte_pktmbuf_free_bulk).
 *   B (secondary, --role b): dequeues bursts from ring 1 and enqueues them on
 *     ring 2 until A says stop.  B never touches the mbufs.
 *
 *   ring_pipeline <EAL> -- --role a [--seconds S] [--single-iters N]
 *   ring_pipeline <EAL, --proc-type=secondary> -- --role b
 *
 * A prints the pipeline rate (mbufs that made the full round trip / s) and
 * machine-readable RESULT lines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_memzone.h>
#include <rte_pause.h>
#include <rte_ring.h>

#define BURST 32
#define RING_SIZE 1024
#define POOL_SIZE 8191
#define POOL_CACHE 256

#define POOL_NAME "rp_pool"
#define R1_NAME "rp_r1"
#define R2_NAME "rp_r2"
#define CTL_NAME "rp_ctl"

struct ctl {
	volatile int b_ready;
	volatile int stop;
	volatile int b_done;
	volatile uint64_t b_count;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int die(const char *what)
{
	fprintf(stderr, "ring_pipeline: %s: %s\n", what, rte_strerror(rte_errno));
	rte_eal_cleanup();
	return 1;
}

/* Single core: bulk-32 enqueue then bulk-32 dequeue on an SP/SC ring. */
static void single_core(uint64_t iters)
{
	struct rte_ring *r = rte_ring_create("rp_single", RING_SIZE, rte_socket_id(),
					     RING_F_SP_ENQ | RING_F_SC_DEQ);
	void *objs[BURST], *out[BURST];
	if (!r) {
		printf("single-core ring test: rte_ring_create failed: %s\n",
		       rte_strerror(rte_errno));
		return;
	}
	for (int i = 0; i < BURST; i++)
		objs[i] = (void *)(uintptr_t)(i + 1);
	for (int i = 0; i < 100000; i++) { /* warm up */
		rte_ring_sp_enqueue_bulk(r, objs, BURST, NULL);
		rte_ring_sc_dequeue_bulk(r, out, BURST, NULL);
	}
	/* 5 slices; the median slice is the figure, the best one is printed too
	 * (the machine may be shared). */
	enum { SLICES = 5 };
	double cpe[SLICES], nspe[SLICES];
	uint64_t per = iters / SLICES ? iters / SLICES : 1;
	for (int k = 0; k < SLICES; k++) {
		double t0 = now_s();
		uint64_t c0 = rte_rdtsc_precise();
		for (uint64_t i = 0; i < per; i++) {
			rte_ring_sp_enqueue_bulk(r, objs, BURST, NULL);
			rte_ring_sc_dequeue_bulk(r, out, BURST, NULL);
		}
		uint64_t c1 = rte_rdtsc_precise();
		double t1 = now_s();
		cpe[k] = (c1 - c0) / ((double)per * BURST);
		nspe[k] = (t1 - t0) * 1e9 / ((double)per * BURST);
	}
	qsort(cpe, SLICES, sizeof(double), cmp_double);
	qsort(nspe, SLICES, sizeof(double), cmp_double);
	printf("dpdk rte_ring SP/SC bulk-32 enqueue+dequeue, one core: %.2f TSC cycles/element "
	       "(%.2f ns/element; best slice %.2f cycles; TSC %.0f MHz; median of %d x %llu bursts)\n",
	       cpe[SLICES / 2], nspe[SLICES / 2], cpe[0], rte_get_tsc_hz() / 1e6, SLICES,
	       (unsigned long long)per);
	printf("RESULT dpdk.ring.spsc_bulk32.cycles_per_elem=%.2f\n", cpe[SLICES / 2]);
	printf("RESULT dpdk.ring.spsc_bulk32.cycles_per_elem_best=%.2f\n", cpe[0]);
	printf("RESULT dpdk.ring.spsc_bulk32.ns_per_elem=%.2f\n", nspe[SLICES / 2]);
	fflush(stdout);
	rte_ring_free(r);
}

static int role_a(double seconds, uint64_t single_iters)
{
	struct rte_mempool *mp = rte_pktmbuf_pool_create(POOL_NAME, POOL_SIZE, POOL_CACHE,
							 0, RTE_MBUF_DEFAULT_BUF_SIZE,
							 rte_socket_id());
	if (!mp)
		return die("rte_pktmbuf_pool_create");
	unsigned flags = RING_F_SP_ENQ | RING_F_SC_DEQ;
	struct rte_ring *r1 = rte_ring_create(R1_NAME, RING_SIZE, rte_socket_id(), flags);
	struct rte_ring *r2 = rte_ring_create(R2_NAME, RING_SIZE, rte_socket_id(), flags);
	if (!r1 || !r2)
		return die("rte_ring_create");
	const struct rte_memzone *mz = rte_memzone_reserve(CTL_NAME, sizeof(struct ctl),
							   rte_socket_id(), 0);
	if (!mz)
		return die("rte_memzone_reserve");
	struct ctl *ctl = mz->addr;
	memset(ctl, 0, sizeof(*ctl));

	single_core(single_iters);

	printf("ready\n");
	fflush(stdout);
	double wait_end = now_s() + 30;
	while (!ctl->b_ready) {
		if (now_s() > wait_end) {
			printf("ring pipeline: secondary (role b) did not show up in 30 s\n");
			printf("RESULT dpdk.ring_pipeline.error=\"secondary did not start\"\n");
			rte_eal_cleanup();
			return 1;
		}
		usleep(1000);
	}

	struct rte_mbuf *tx[BURST], *rx[2 * BURST];
	uint64_t done = 0, alloc_fail = 0;
	uint64_t hz = rte_get_tsc_hz();
	uint64_t start = rte_rdtsc(), end = start + (uint64_t)(seconds * hz);
	uint64_t next_mark = start + hz, mark_done = 0;
	char marks[256] = "";
	size_t ml = 0;
	double t0 = now_s();
	for (uint64_t it = 0;; it++) {
		if ((it & 255) == 0) {
			uint64_t now = rte_rdtsc();
			if (now >= next_mark && ml < sizeof(marks) - 16) {
				ml += snprintf(marks + ml, sizeof(marks) - ml, " %.2f",
					       (done - mark_done) / 1e6);
				mark_done = done;
				next_mark += hz;
			}
			if (now >= end)
				break;
		}
		if (rte_ring_free_count(r1) >= BURST) {
			if (rte_pktmbuf_alloc_bulk(mp, tx, BURST) == 0)
				rte_ring_sp_enqueue_bulk(r1, (void **)tx, BURST, NULL);
			else
				alloc_fail++;
		}
		unsigned n = rte_ring_sc_dequeue_burst(r2, (void **)rx, 2 * BURST, NULL);
		if (n) {
			rte_pktmbuf_free_bulk(rx, n);
			done += n;
		}
	}
	double t1 = now_s();
	ctl->stop = 1;
	while (!ctl->b_done && now_s() < t1 + 5)
		rte_pause();
	/* Give back whatever is still in flight. */
	unsigned n;
	while ((n = rte_ring_sc_dequeue_burst(r2, (void **)rx, 2 * BURST, NULL)) > 0)
		rte_pktmbuf_free_bulk(rx, n);
	while ((n = rte_ring_sc_dequeue_burst(r1, (void **)rx, 2 * BURST, NULL)) > 0)
		rte_pktmbuf_free_bulk(rx, n);

	double mpps = done / (t1 - t0) / 1e6;
	printf("dpdk ring pipeline (A: alloc 32 -> ring1 -> B -> ring2 -> A: free; "
	       "primary lcore %u + secondary): %.2f Mpps over %.2f s "
	       "(%llu mbufs round-tripped, B forwarded %llu, %llu alloc failures)\n",
	       rte_lcore_id(), mpps, t1 - t0, (unsigned long long)done,
	       (unsigned long long)ctl->b_count, (unsigned long long)alloc_fail);
	printf("  per-second Mpps:%s\n", marks);
	printf("RESULT dpdk.ring_pipeline.mpps=%.2f\n", mpps);
	fflush(stdout);
	rte_eal_cleanup();
	return 0;
}

static int role_b(void)
{
	const struct rte_memzone *mz = rte_memzone_lookup(CTL_NAME);
	struct rte_ring *r1 = rte_ring_lookup(R1_NAME);
	struct rte_ring *r2 = rte_ring_lookup(R2_NAME);
	if (!mz || !r1 || !r2)
		return die("lookup of the primary's rings/memzone");
	struct ctl *ctl = mz->addr;
	void *objs[BURST];
	uint64_t count = 0;

	ctl->b_ready = 1;
	while (!ctl->stop) {
		unsigned n = rte_ring_sc_dequeue_burst(r1, objs, BURST, NULL);
		unsigned sent = 0;
		while (sent < n && !ctl->stop)
			sent += rte_ring_sp_enqueue_burst(r2, objs + sent, n - sent, NULL);
		if (sent < n) /* stopping: hand the rest back to A through ring 2 */
			while (sent < n)
				sent += rte_ring_sp_enqueue_burst(r2, objs + sent, n - sent, NULL);
		count += n;
	}
	ctl->b_count = count;
	rte_smp_wmb();
	ctl->b_done = 1;
	rte_eal_cleanup();
	return 0;
}

int main(int argc, char **argv)
{
	int ret = rte_eal_init(argc, argv);
	if (ret < 0)
		return die("rte_eal_init");
	argc -= ret;
	argv += ret;

	static const struct option opts[] = {
		{"role", required_argument, NULL, 'r'},
		{"seconds", required_argument, NULL, 's'},
		{"single-iters", required_argument, NULL, 'i'},
		{NULL, 0, NULL, 0},
	};
	const char *role = "a";
	double seconds = 3;
	uint64_t single_iters = 5000000;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "r:s:i:", opts, NULL)) != -1) {
		switch (c) {
		case 'r': role = optarg; break;
		case 's': seconds = atof(optarg); break;
		case 'i': single_iters = strtoull(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: ring_pipeline <EAL> -- --role a|b "
				"[--seconds S] [--single-iters N]\n");
			rte_eal_cleanup();
			return 2;
		}
	}
	if (strcmp(role, "a") == 0)
		return role_a(seconds, single_iters);
	if (strcmp(role, "b") == 0)
		return role_b();
	fprintf(stderr, "unknown role %s\n", role);
	rte_eal_cleanup();
	return 2;
}
