/* SPDX-License-Identifier: BSD-3-Clause */
/* hotport-bench-ring: hotport's side of bench/dpdk/ring_pipeline.c, the
 * same steps with hp_ring and hp_mbuf in place of rte_ring and
 * rte_mempool.
 *
 *   one core   bulk-32 SP/SC enqueue then dequeue on a 1024-slot ring
 *              (hp_ring_sp_enqueue_bulk, hp_ring_sc_dequeue_bulk); TSC
 *              cycles (and ns) per element, median of 5 slices of 1 M
 *              bursts after 100,000 warm-up bursts.
 *   pipeline   A (this process, the primary, pinned to --a-lcore, default
 *              0) allocates bursts of 32 buffers (hp_mbuf_alloc_bulk from
 *              a pool in shared memory: 8191 buffers, cache 256) and
 *              enqueues them on ring 1; B (this program again, fork+exec,
 *              joined as a secondary with hp_core_init, pinned to
 *              --b-lcore, default 1) dequeues bursts of up to 32 from ring
 *              1 and enqueues them on ring 2 (B never touches the
 *              buffers); A dequeues up to 64 from ring 2 and frees them
 *              (hp_mbuf_free_bulk). Rings of 1024 slots, SP/SC, made with
 *              hp_ring_create and found by B with hp_ring_lookup. A run's
 *              figure: buffers that made the round trip per second over
 *              --seconds (default 3), in Mpps.
 *
 * --runs N (default 3): each figure N times (the same B serves every
 * pipeline run); the median is the RESULT line.
 *
 *   hotport-bench-ring [--runs N] [--seconds S] [--a-lcore N] [--b-lcore N]
 *   hotport-bench-ring --role b --file-prefix NAME   (started by A)
 *
 * Exit status: 0 done, 1 a run failed, 2 bad options, 3 set-up failed. */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "hp_test_app.h"
#include "hp_core.h"
#include "hp_mbuf.h"
#include "hp_ring.h"
#include "hp_shm.h"

#define BURST 32
#define RING_SIZE 1024
#define POOL_SIZE 8191
#define POOL_CACHE 256
#define SLICES 5
#define MAX_RUNS 15

#define POOL_NAME "rp_pool"
#define R1_NAME "rp_r1"
#define R2_NAME "rp_r2"
#define SINGLE_NAME "rp_single"
#define CTL_NAME "rp_ctl"

/* In shared memory: A and B's hand-shake. */
struct rb_ctl {
	int b_ready;
	int stop;
	int b_done;
	uint64_t b_count;
};

struct rb_opts {
	bool role_b;
	int runs;
	double seconds;
	uint64_t single_iters;
	int a_lcore, b_lcore;
	bool no_huge;
	bool keep_logs;
	const char *prefix;
	const char *log_level;
};

static void rb_usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [OPTIONS]\n"
		"hp_ring one-core cost and a two-process ring pipeline (see bench/README.md).\n"
		"  --runs N            repeats of each figure; the median is the RESULT (default 3)\n"
		"  --seconds S         pipeline seconds per run (default 3)\n"
		"  --single-iters N    one-core bursts per run (default 5000000)\n"
		"  --a-lcore N         core of process A, this one (default 0)\n"
		"  --b-lcore N         core of process B (default 1)\n"
		"  --no-huge           ordinary pages instead of hugepages\n"
		"  --log-level SPEC    hotport log level (default warning)\n"
		"  --file-prefix NAME  instance name (default hpbench-ring-<pid>)\n"
		"  --keep-logs         keep B's log (path printed)\n"
		"  --role b            internal: process B\n",
		prog);
}

static int rb_parse(int argc, char **argv, struct rb_opts *o)
{
	static const struct option lopts[] = {
		{ "role", required_argument, NULL, 'R' },
		{ "runs", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "single-iters", required_argument, NULL, 'i' },
		{ "a-lcore", required_argument, NULL, 'a' },
		{ "b-lcore", required_argument, NULL, 'b' },
		{ "no-huge", no_argument, NULL, 'H' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "file-prefix", required_argument, NULL, 'p' },
		{ "keep-logs", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct rb_opts){ .runs = 3, .seconds = 3, .single_iters = 5000000,
			       .a_lcore = 0, .b_lcore = 1, .log_level = "warning" };
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			if (strcmp(optarg, "a") && strcmp(optarg, "b"))
				return -EINVAL;
			o->role_b = !strcmp(optarg, "b");
			break;
		case 'r': o->runs = atoi(optarg); break;
		case 's': o->seconds = atof(optarg); break;
		case 'i': o->single_iters = strtoull(optarg, NULL, 0); break;
		case 'a': o->a_lcore = atoi(optarg); break;
		case 'b': o->b_lcore = atoi(optarg); break;
		case 'H': o->no_huge = true; break;
		case 'L': o->log_level = optarg; break;
		case 'p': o->prefix = optarg; break;
		case 'K': o->keep_logs = true; break;
		case 'h': rb_usage(stdout, argv[0]); exit(0);
		default: return -EINVAL;
		}
	}
	if (optind != argc || o->runs < 1 || o->runs > MAX_RUNS ||
	    o->seconds <= 0 || o->seconds > 30 || o->single_iters < SLICES ||
	    o->a_lcore < 0 || o->a_lcore >= CPU_SETSIZE || o->b_lcore < 0 ||
	    o->b_lcore >= CPU_SETSIZE || (o->role_b && !o->prefix))
		return -EINVAL;
	return 0;
}

static double rb_now_s(void)
{
	return bench_now_us() / 1e6;
}

/* Time-stamp counter, ordered after earlier memory operations, as
 * rte_rdtsc_precise. */
static inline uint64_t rb_tsc(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __rdtsc();
#else
	return (uint64_t)(bench_now_us() * 1e3); /* ns: "cycles" of 1 GHz */
#endif
}

static inline uint64_t rb_tsc_fast(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#else
	return (uint64_t)(bench_now_us() * 1e3);
#endif
}

static int rb_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) < 0 ? -errno : 0;
}

static int rb_core_init(const struct rb_opts *o, enum hp_proc_role role,
			const char *prefix)
{
	char *argv[8] = { "hotport-bench-ring", "--file-prefix", (char *)prefix,
			  "--log-level", (char *)o->log_level };
	int argc = 5, r;
	struct hp_core_opts opts;
	char err[256];

	if (role == HP_ROLE_PRIMARY && o->no_huge)
		argv[argc++] = "--no-huge";
	r = hp_core_opts_parse(role, argc, argv, &opts, err, sizeof(err));
	if (r < 0) {
		printf("hotport-bench-ring: %s\n", err);
		return r;
	}
	r = hp_core_init(&opts, err, sizeof(err));
	if (r < 0)
		printf("hotport-bench-ring: %s\n", err);
	return r;
}

/* ---- one core ---- */

/* One run: median (and best) of SLICES slices; cycles and ns per element. */
static int rb_single_run(struct hp_ring *r, uint64_t iters, double *cpe_med,
			 double *cpe_best, double *ns_med, double *mhz)
{
	void *objs[BURST], *out[BURST];
	double cpe[SLICES], nspe[SLICES];
	uint64_t per = iters / SLICES, tsc = 0;
	double ns = 0;

	for (int i = 0; i < BURST; i++)
		objs[i] = (void *)(uintptr_t)(i + 1);
	for (int i = 0; i < 100000; i++) {
		hp_ring_sp_enqueue_bulk(r, objs, BURST);
		hp_ring_sc_dequeue_bulk(r, out, BURST);
	}
	for (int k = 0; k < SLICES; k++) {
		unsigned bad = 0;
		double t0 = bench_now_us();
		uint64_t c0 = rb_tsc();

		for (uint64_t i = 0; i < per; i++) {
			bad += hp_ring_sp_enqueue_bulk(r, objs, BURST) != BURST;
			bad += hp_ring_sc_dequeue_bulk(r, out, BURST) != BURST;
		}
		uint64_t c1 = rb_tsc();
		double t1 = bench_now_us();

		if (bad) {
			printf("  one core: %u bulk calls failed\n", bad);
			return -EIO;
		}
		cpe[k] = (double)(c1 - c0) / ((double)per * BURST);
		nspe[k] = (t1 - t0) * 1e3 / ((double)per * BURST);
		tsc += c1 - c0;
		ns += (t1 - t0) * 1e3;
	}
	struct bench_stats sc = bench_stats_of(cpe, SLICES);
	*cpe_med = sc.p50;
	*cpe_best = sc.min;
	*ns_med = bench_stats_of(nspe, SLICES).p50;
	*mhz = (double)tsc / ns * 1e3;
	return 0;
}

static int rb_single(const struct rb_opts *o)
{
	double cm[MAX_RUNS], cb[MAX_RUNS], nm[MAX_RUNS], mhz = 0;
	struct hp_ring *r;
	int ret;

	ret = hp_ring_create(hp_core_shm(), SINGLE_NAME, RING_SIZE,
			     HP_RING_F_SP_ENQ | HP_RING_F_SC_DEQ, &r);
	if (ret < 0) {
		printf("RESULT hotport.ring.spsc_bulk32.error=\"hp_ring_create: %s\"\n",
		       strerror(-ret));
		return ret;
	}
	printf("hotport hp_ring SP/SC bulk-32 enqueue+dequeue, one core (lcore %d), "
	       "median of %d x %llu bursts per run, %s memory:\n", o->a_lcore, SLICES,
	       (unsigned long long)(o->single_iters / SLICES),
	       hp_shm_is_huge(hp_core_shm()) ? "hugepage" : "ordinary");
	for (int i = 0; i < o->runs && ret == 0; i++) {
		ret = rb_single_run(r, o->single_iters, &cm[i], &cb[i], &nm[i], &mhz);
		if (ret == 0)
			printf("  run %d: %.2f TSC cycles/element (%.2f ns/element; best slice %.2f; TSC %.0f MHz)\n",
			       i + 1, cm[i], nm[i], cb[i], mhz);
	}
	hp_ring_free(hp_core_shm(), r);
	if (ret < 0) {
		printf("RESULT hotport.ring.spsc_bulk32.error=\"%s\"\n", strerror(-ret));
		return ret;
	}
	double best = cb[0];
	for (int i = 1; i < o->runs; i++)
		best = cb[i] < best ? cb[i] : best;
	double med = bench_stats_of(cm, o->runs).p50;
	double nsm = bench_stats_of(nm, o->runs).p50;
	printf("hotport hp_ring SP/SC bulk-32: %.2f cycles/element, %.2f ns (median of %d runs)\n",
	       med, nsm, o->runs);
	printf("RESULT hotport.ring.spsc_bulk32.cycles_per_elem=%.2f\n", med);
	printf("RESULT hotport.ring.spsc_bulk32.cycles_per_elem_best=%.2f\n", best);
	printf("RESULT hotport.ring.spsc_bulk32.ns_per_elem=%.2f\n", nsm);
	return 0;
}

/* ---- pipeline, process A ---- */

struct rb_pipe {
	struct hp_mempool *pool;
	struct hp_ring *r1, *r2;
	struct rb_ctl *ctl;
};

/* One window of --seconds: the figure in Mpps, or a negative errno. */
static double rb_pipe_run(const struct rb_opts *o, struct rb_pipe *p, int run)
{
	struct hp_mbuf *tx[BURST], *rx[2 * BURST];
	uint64_t done = 0, alloc_fail = 0, mark_done = 0;
	char marks[256] = "";
	size_t ml = 0;
	double t0 = rb_now_s(), end = t0 + o->seconds, next_mark = t0 + 1;

	/* the clock is read every 256 iterations, as DPDK's rdtsc */
	for (uint64_t it = 0;; it++) {
		if ((it & 255) == 0) {
			double now = rb_now_s();

			if (now >= next_mark && ml < sizeof(marks) - 16) {
				ml += (size_t)snprintf(marks + ml, sizeof(marks) - ml,
						       " %.2f", (done - mark_done) / 1e6);
				mark_done = done;
				next_mark += 1;
			}
			if (now >= end || bench_stop_requested)
				break;
		}
		if (hp_ring_free_count(p->r1) >= BURST) {
			if (hp_mbuf_alloc_bulk(p->pool, tx, BURST) == 0)
				hp_ring_sp_enqueue_bulk(p->r1, (void **)tx, BURST);
			else
				alloc_fail++;
		}
		unsigned n = hp_ring_sc_dequeue_burst(p->r2, (void **)rx, 2 * BURST);
		if (n) {
			hp_mbuf_free_bulk(rx, n);
			done += n;
		}
	}
	double t1 = rb_now_s();
	if (bench_stop_requested)
		return -EINTR;
	double mpps = (double)done / (t1 - t0) / 1e6;
	printf("  run %d: %.2f Mpps over %.2f s (%llu buffers round-tripped, %llu alloc failures); per second:%s\n",
	       run, mpps, t1 - t0, (unsigned long long)done,
	       (unsigned long long)alloc_fail, marks);
	return mpps;
}

static void rb_drain(struct hp_ring *r)
{
	struct hp_mbuf *rx[2 * BURST];
	unsigned n;

	while ((n = hp_ring_sc_dequeue_burst(r, (void **)rx, 2 * BURST)) > 0)
		hp_mbuf_free_bulk(rx, n);
}

/* Waits up to ms for the child to exit on its own, then stops it. */
static int rb_child_reap(struct bench_child *c, int ms)
{
	double end = bench_now_us() + ms * 1e3;
	int st;

	while (c->pid > 0 && bench_now_us() < end) {
		if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
			c->pid = 0;
			if (c->stdin_fd >= 0)
				close(c->stdin_fd);
			c->stdin_fd = -1;
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		usleep(2000);
	}
	return bench_child_stop(c, 2000);
}

static int rb_pipeline(const struct rb_opts *o, const char *prefix,
		       const char *tmpdir)
{
	struct hp_shm *shm = hp_core_shm();
	struct bench_child b = { .stdin_fd = -1 };
	struct rb_pipe p;
	double v[MAX_RUNS];
	char self[PATH_MAX], log[PATH_MAX + 16], bl[16], ll[64];
	int r;
	void *mem;
	ssize_t len;

	r = hp_mempool_create(shm, POOL_NAME, POOL_SIZE, POOL_CACHE,
			      HP_MBUF_DEFAULT_DATAROOM, &p.pool);
	if (r == 0)
		r = hp_ring_create(shm, R1_NAME, RING_SIZE,
				   HP_RING_F_SP_ENQ | HP_RING_F_SC_DEQ, &p.r1);
	if (r == 0)
		r = hp_ring_create(shm, R2_NAME, RING_SIZE,
				   HP_RING_F_SP_ENQ | HP_RING_F_SC_DEQ, &p.r2);
	if (r == 0)
		r = hp_shm_zone_reserve(shm, CTL_NAME, sizeof(struct rb_ctl), 0, &mem);
	if (r < 0) {
		printf("ring pipeline: cannot create the pool, rings or control zone: %s\n",
		       strerror(-r));
		printf("RESULT hotport.ring_pipeline.error=\"set-up failed: %s\"\n", strerror(-r));
		return r;
	}
	p.ctl = mem;

	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0) {
		printf("RESULT hotport.ring_pipeline.error=\"readlink /proc/self/exe failed\"\n");
		return -errno;
	}
	self[len] = '\0';
	snprintf(bl, sizeof(bl), "%d", o->b_lcore);
	snprintf(ll, sizeof(ll), "%s", o->log_level);
	snprintf(log, sizeof(log), "%s/b.log", tmpdir);
	char *argv[] = { self, "--role", "b", "--file-prefix", (char *)prefix,
			 "--b-lcore", bl, "--log-level", ll, NULL };
	r = bench_child_start(&b, argv, log);
	if (r < 0) {
		printf("RESULT hotport.ring_pipeline.error=\"cannot start B: %s\"\n", strerror(-r));
		return r;
	}
	double wait_end = bench_now_us() + 15e6;
	while (!__atomic_load_n(&p.ctl->b_ready, __ATOMIC_ACQUIRE)) {
		int st;
		if (bench_now_us() > wait_end || bench_stop_requested ||
		    waitpid(b.pid, &st, WNOHANG) == b.pid) {
			if (b.pid > 0 && waitpid(b.pid, &st, WNOHANG) == b.pid)
				b.pid = 0;
			printf("ring pipeline: process B did not get ready; its last lines:\n");
			bench_child_tail(&b, 6);
			bench_child_stop(&b, 2000);
			printf("RESULT hotport.ring_pipeline.error=\"secondary did not start\"\n");
			return -ETIMEDOUT;
		}
		usleep(1000);
	}

	printf("hotport ring pipeline (A: alloc 32 -> ring1 -> B -> ring2 -> A: free; "
	       "A primary on lcore %d, B secondary on lcore %d), %.1f s per run:\n",
	       o->a_lcore, o->b_lcore, o->seconds);
	for (int i = 0; i < o->runs && r == 0; i++) {
		v[i] = rb_pipe_run(o, &p, i + 1);
		if (v[i] < 0)
			r = (int)v[i];
	}
	__atomic_store_n(&p.ctl->stop, 1, __ATOMIC_RELEASE);
	double t = bench_now_us() + 5e6;
	while (!__atomic_load_n(&p.ctl->b_done, __ATOMIC_ACQUIRE) && bench_now_us() < t)
		usleep(100);
	rb_drain(p.r2);
	rb_drain(p.r1);
	if (rb_child_reap(&b, 5000) != 0) {
		printf("note: process B did not exit cleanly; its last lines:\n");
		bench_child_tail(&b, 6);
	}
	printf("  B forwarded %llu buffers; the pool holds %u of %u\n",
	       (unsigned long long)__atomic_load_n(&p.ctl->b_count, __ATOMIC_ACQUIRE),
	       hp_mempool_avail(p.pool), hp_mempool_size(p.pool));
	hp_mempool_cache_release(p.pool);
	if (r < 0) {
		printf("RESULT hotport.ring_pipeline.error=\"%s\"\n", strerror(-r));
		return r;
	}
	double med = bench_stats_of(v, o->runs).p50;
	printf("hotport ring pipeline: %.2f Mpps (median of %d runs)\n", med, o->runs);
	printf("RESULT hotport.ring_pipeline.mpps=%.2f\n", med);
	return 0;
}

/* ---- process B ---- */

static int rb_role_b(const struct rb_opts *o)
{
	struct hp_shm *shm;
	struct hp_ring *r1, *r2;
	struct rb_ctl *ctl;
	void *objs[BURST], *mem;
	uint64_t count = 0;
	size_t len;
	int r;

	r = rb_core_init(o, HP_ROLE_SECONDARY, o->prefix);
	if (r < 0)
		return 3;
	shm = hp_core_shm();
	if ((r = hp_ring_lookup(shm, R1_NAME, &r1)) < 0 ||
	    (r = hp_ring_lookup(shm, R2_NAME, &r2)) < 0 ||
	    (r = hp_shm_zone_lookup(shm, CTL_NAME, &mem, &len)) < 0) {
		printf("B: lookup of A's rings and control zone failed: %s\n", strerror(-r));
		hp_core_fini();
		return 3;
	}
	ctl = mem;
	r = rb_pin(o->b_lcore);
	if (r < 0)
		printf("B: cannot pin to lcore %d: %s\n", o->b_lcore, strerror(-r));
	__atomic_store_n(&ctl->b_ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&ctl->stop, __ATOMIC_RELAXED)) {
		unsigned n = hp_ring_sc_dequeue_burst(r1, objs, BURST);
		unsigned sent = 0;

		while (sent < n && !__atomic_load_n(&ctl->stop, __ATOMIC_RELAXED))
			sent += hp_ring_sp_enqueue_burst(r2, objs + sent, n - sent);
		/* stopping: hand the rest back to A through ring 2 */
		while (sent < n)
			sent += hp_ring_sp_enqueue_burst(r2, objs + sent, n - sent);
		count += n;
	}
	__atomic_store_n(&ctl->b_count, count, __ATOMIC_RELAXED);
	__atomic_store_n(&ctl->b_done, 1, __ATOMIC_RELEASE);
	hp_core_fini();
	return 0;
}

int main(int argc, char **argv)
{
	struct rb_opts o;
	char prefix[64], tmpdir[64], dir[PATH_MAX];
	int r, status = 0;

	if (rb_parse(argc, argv, &o) < 0) {
		rb_usage(stderr, argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_catch_signals();
	if (o.role_b)
		return rb_role_b(&o);

	if (o.prefix)
		snprintf(prefix, sizeof(prefix), "%s", o.prefix);
	else
		snprintf(prefix, sizeof(prefix), "hpbench-ring-%d", (int)getpid());
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hotport-bench-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 3;
	}
	if (rb_core_init(&o, HP_ROLE_PRIMARY, prefix) < 0) {
		printf("RESULT hotport.ring.spsc_bulk32.error=\"set-up failed\"\n");
		printf("RESULT hotport.ring_pipeline.error=\"set-up failed\"\n");
		bench_rmdir(tmpdir);
		return 3;
	}
	/* after init: hotport's own threads keep the default affinity */
	r = rb_pin(o.a_lcore);
	if (r < 0)
		printf("note: cannot pin to lcore %d: %s\n", o.a_lcore, strerror(-r));
	if (rb_single(&o) < 0)
		status = 1;
	if (!bench_stop_requested && rb_pipeline(&o, prefix, tmpdir) < 0)
		status = 1;
	hp_core_fini();
	if (hp_shm_runtime_dir(prefix, dir, sizeof(dir)) == 0 && access(dir, F_OK) == 0) {
		printf("note: removing %s, left behind\n", dir);
		bench_rmdir(dir);
	}
	if (o.keep_logs)
		printf("logs kept in %s\n", tmpdir);
	else
		bench_rmdir(tmpdir);
	return status;
}
