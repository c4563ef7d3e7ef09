/* SPDX-License-Identifier: BSD-3-Clause */
/* hotport-bench-fwd: io forwarding between two net_null ports on one
 * forwarding core, burst 32, as bench/dpdk/testpmd_null_fwd.sh measures
 * dpdk-testpmd; and what the RCU-protected burst calls cost against the
 * driver's burst functions called directly.
 *
 *   --mode fwd   (W1) this program is the primary with --vdev net_null0
 *                --vdev net_null1, both started; lib/fwd runs io forwarding
 *                with one thread pinned to --lcore (default 1: testpmd's
 *                -l 0-1 gives lcore 1 to forwarding), burst 32. The main
 *                thread sleeps and samples both ports' RX counters
 *                (hp_port_stats_get) every second for --seconds (default 5,
 *                as the DPDK script); one run's figure is the mean over the
 *                1-s intervals of RX summed over both ports, in Mpps.
 *   --mode rcu   one thread pinned to --lcore runs the same io loop (port 0
 *                -> 1, 1 -> 0, burst 32, hp_rcu_quiescent once per
 *                iteration) in two builds of the same inline function:
 *                "rcu" calls hp_port_rx_burst/hp_port_tx_burst (fast-path
 *                entry looked up under RCU on every call); "direct" takes
 *                hp_port_fp_get(port)->rx_burst/tx_burst and the queue
 *                pointers once, before the loop. One run = --rounds
 *                (default 15) rounds of four slices of --slice seconds
 *                (default 0.1) in the order rcu, direct, direct, rcu
 *                (drift cancels); its figures are each variant's rate over
 *                its slices, in Mpps and in Mpps per CPU-second of the
 *                thread (CLOCK_THREAD_CPUTIME_ID: time the thread was not
 *                running does not count, which other load on the machine
 *                moves), and their difference, from the per-CPU rates.
 *   --mode both  fwd, then rcu (the default).
 *
 * --runs N (default 3) repeats each figure; the median is printed as the
 * RESULT line, every run above it.
 *
 * Exit status: 0 done, 1 a run failed, 2 bad options, 3 set-up failed. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hp_test_app.h"
#include "hp_core.h"
#include "hp_fwd.h"
#include "hp_mbuf.h"
#include "hp_port.h"
#include "hp_rcu.h"
#include "hp_shm.h"

#define FB_MAX_RUNS 15
#define FB_MAX_SECONDS 30

struct fb_opts {
	bool fwd, rcu;
	int runs;
	int seconds;
	double slice;
	int rounds;
	unsigned burst;
	int lcore;
	bool no_huge;
	const char *prefix;
	const char *log_level;
};

static void fb_usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [OPTIONS]\n"
		"io forwarding between net_null0 and net_null1 (see bench/README.md).\n"
		"  --mode fwd|rcu|both  what to measure (default both)\n"
		"  --runs N             repeats of each figure; the median is the\n"
		"                       RESULT (default 3)\n"
		"  --seconds S          fwd: 1-s intervals per run (default 5)\n"
		"  --slice S            rcu: seconds per slice (default 0.1)\n"
		"  --rounds N           rcu: rounds of 4 slices per run (default 15)\n"
		"  --burst N            packets per burst (default 32)\n"
		"  --lcore N            the forwarding core (default 1)\n"
		"  --no-huge            ordinary pages instead of hugepages\n"
		"  --log-level SPEC     hotport log level (default warning)\n"
		"  --file-prefix NAME   instance name (default hpbench-fwd-<pid>)\n",
		prog);
}

static int fb_parse(int argc, char **argv, struct fb_opts *o)
{
	static const struct option lopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "runs", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "slice", required_argument, NULL, 'S' },
		{ "rounds", required_argument, NULL, 'R' },
		{ "burst", required_argument, NULL, 'b' },
		{ "lcore", required_argument, NULL, 'l' },
		{ "no-huge", no_argument, NULL, 'H' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "file-prefix", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct fb_opts){ .fwd = true, .rcu = true, .runs = 3,
			       .seconds = 5, .slice = 0.1, .rounds = 15, .burst = 32,
			       .lcore = 1, .log_level = "warning" };
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o->fwd = !strcmp(optarg, "fwd") || !strcmp(optarg, "both");
			o->rcu = !strcmp(optarg, "rcu") || !strcmp(optarg, "both");
			if (!o->fwd && !o->rcu)
				return -EINVAL;
			break;
		case 'r': o->runs = atoi(optarg); break;
		case 's': o->seconds = atoi(optarg); break;
		case 'S': o->slice = atof(optarg); break;
		case 'R': o->rounds = atoi(optarg); break;
		case 'b': o->burst = (unsigned)atoi(optarg); break;
		case 'l': o->lcore = atoi(optarg); break;
		case 'H': o->no_huge = true; break;
		case 'L': o->log_level = optarg; break;
		case 'p': o->prefix = optarg; break;
		case 'h': fb_usage(stdout, argv[0]); exit(0);
		default: return -EINVAL;
		}
	}
	if (optind != argc || o->runs < 1 || o->runs > FB_MAX_RUNS ||
	    o->seconds < 1 || o->seconds > FB_MAX_SECONDS || o->slice <= 0 ||
	    o->slice > 10 || o->rounds < 1 || o->rounds > 100 || o->burst < 1 || o->burst > HP_FWD_BURST_MAX ||
	    o->lcore < 0 || o->lcore >= CPU_SETSIZE)
		return -EINVAL;
	return 0;
}

static double fb_median(double *v, int n)
{
	return bench_stats_of(v, n).p50;
}

static void fb_sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !bench_stop_requested)
		;
}

/* CPU time (ms) of this process's thread named comm, or -1. */
static double fb_thread_cpu_ms(const char *comm)
{
	char path[300], name[64];
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	double ms = -1;

	if (!d)
		return -1;
	while (ms < 0 && (e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f) &&
		    !strncmp(name, comm, strlen(comm))) {
			snprintf(path, sizeof(path), "/proc/self/task/%s/stat",
				 e->d_name);
			ms = bench_stat_cpu_ms(path);
		}
		fclose(f);
	}
	closedir(d);
	return ms;
}

/* RX packets of ports 0 and 1 summed. */
static int fb_rx_sum(uint64_t *ret)
{
	struct hp_port_stats s0, s1;
	int r = hp_port_stats_get(0, &s0);

	if (r == 0)
		r = hp_port_stats_get(1, &s1);
	if (r == 0)
		*ret = s0.ipackets + s1.ipackets;
	return r;
}

/* ---- W1: lib/fwd io forwarding ---- */

static int fb_fwd_run(const struct fb_opts *o, int run, double *ret_mpps,
		      double *ret_per_cpu)
{
	struct hp_fwd_stats st;
	double t[FB_MAX_SECONDS + 1], mpps[FB_MAX_SECONDS], sum = 0, cpu0 = 0, cpu1;
	uint64_t rx[FB_MAX_SECONDS + 1];
	char lc[16];
	int r;

	snprintf(lc, sizeof(lc), "%d", o->lcore);
	if ((r = hp_fwd_set_mode(HP_FWD_IO)) < 0 ||
	    (r = hp_fwd_set_burst(o->burst)) < 0 ||
	    (r = hp_fwd_set_lcores(lc)) < 0 ||
	    (r = hp_fwd_set_ports("all")) < 0 || (r = hp_fwd_start()) < 0) {
		printf("  run %d: cannot start forwarding on lcore %s: %s\n", run,
		       lc, strerror(-r));
		return r;
	}
	/* as the DPDK script: a first sample right after start, then one a
	 * second; and the CPU time of the forwarding thread (hp-fwd-0) over
	 * the same time (the script takes testpmd's forwarding lcore's) */
	for (int i = 0; i <= o->seconds && r == 0; i++) {
		if (i > 0)
			fb_sleep_s(1.0);
		r = fb_rx_sum(&rx[i]);
		t[i] = bench_now_us();
		if (i == 0)
			cpu0 = fb_thread_cpu_ms("hp-fwd-0");
		if (bench_stop_requested)
			r = -EINTR;
	}
	cpu1 = fb_thread_cpu_ms("hp-fwd-0");
	hp_fwd_stop(&st);
	if (r < 0) {
		printf("  run %d: %s\n", run, strerror(-r));
		return r;
	}
	printf("  run %d: per 1-s interval, both ports, Mpps:", run);
	for (int i = 0; i < o->seconds; i++) {
		mpps[i] = (double)(rx[i + 1] - rx[i]) / (t[i + 1] - t[i]);
		sum += mpps[i];
		printf(" %.2f", mpps[i]);
	}
	*ret_mpps = sum / o->seconds;
	*ret_per_cpu = cpu1 > cpu0 ? (double)(rx[o->seconds] - rx[0]) /
					     ((cpu1 - cpu0) * 1e3) : 0;
	printf("  -> %.2f Mpps (fwd: rx %llu tx %llu dropped %llu; %.0f ms CPU over %.0f ms: "
	       "%.2f Mpps per CPU-second)\n", *ret_mpps,
	       (unsigned long long)st.total.rx_packets,
	       (unsigned long long)st.total.tx_packets,
	       (unsigned long long)st.total.tx_dropped, cpu1 - cpu0,
	       (t[o->seconds] - t[0]) / 1e3, *ret_per_cpu);
	return 0;
}

static int fb_fwd(const struct fb_opts *o)
{
	double v[FB_MAX_RUNS], pc[FB_MAX_RUNS], med;
	int r = 0;

	printf("hotport io forwarding, net_null0 <-> net_null1, lib/fwd, 1 thread on lcore %d, "
	       "burst %u, %d s per run, %s memory:\n",
	       o->lcore, o->burst, o->seconds,
	       hp_shm_is_huge(hp_core_shm()) ? "hugepage" : "ordinary");
	for (int i = 0; i < o->runs && r == 0; i++)
		r = fb_fwd_run(o, i + 1, &v[i], &pc[i]);
	if (r < 0) {
		printf("RESULT hotport.testpmd.io_fwd_null.error=\"%s\"\n", strerror(-r));
		return r;
	}
	med = fb_median(v, o->runs);
	printf("hotport io fwd null: %.2f Mpps (median of %d runs)\n", med, o->runs);
	printf("RESULT hotport.testpmd.io_fwd_null.mpps=%.2f\n", med);
	printf("RESULT hotport.testpmd.io_fwd_null.mpps_per_cpu=%.2f\n",
	       fb_median(pc, o->runs));
	return 0;
}

/* ---- RCU cost: the same io loop, looked up per call or not ---- */

struct fb_rcu {
	const struct fb_opts *o;
	/* direct: taken once, outside the loop */
	hp_port_burst_fn rx[2], tx[2];
	void *rxq[2], *txq[2];
	/* per slice: wall and thread CPU seconds */
	double secs, cpu;
	uint64_t pkts;
	int err;
	pthread_barrier_t go, done;
	int phase;		/* 0 rcu, 1 direct, -1 exit */
};

/* One slice of io forwarding, 0 -> 1 and 1 -> 0; the compiler makes two
 * loops of it, one per value of direct. Returns packets received. */
static inline __attribute__((always_inline)) uint64_t
fb_io_loop(struct fb_rcu *c, bool direct, double secs)
{
	struct hp_mbuf *pkts[HP_FWD_BURST_MAX];
	const uint16_t burst = (uint16_t)c->o->burst;
	double end = bench_now_us() + secs * 1e6;
	uint64_t rx = 0;

	for (unsigned it = 0;; it++) {
		if ((it & 63) == 0 && bench_now_us() >= end)
			break;
		for (unsigned p = 0; p < 2; p++) {
			uint16_t n, sent;

			if (direct)
				n = c->rx[p](c->rxq[p], pkts, burst);
			else
				n = hp_port_rx_burst((uint16_t)p, 0, pkts, burst);
			if (n == 0)
				continue;
			rx += n;
			if (direct)
				sent = c->tx[p ^ 1](c->txq[p ^ 1], pkts, n);
			else
				sent = hp_port_tx_burst((uint16_t)(p ^ 1), 0, pkts, n);
			if (HP_UNLIKELY(sent < n))
				hp_mbuf_free_bulk(pkts + sent, n - sent);
		}
		hp_rcu_quiescent();
	}
	return rx;
}

static __attribute__((noinline)) uint64_t fb_loop_rcu(struct fb_rcu *c, double s)
{
	return fb_io_loop(c, false, s);
}

static __attribute__((noinline)) uint64_t fb_loop_direct(struct fb_rcu *c, double s)
{
	return fb_io_loop(c, true, s);
}

/* CPU time of the calling thread, in s (ns resolution). */
static double fb_thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *fb_rcu_thread(void *arg)
{
	struct fb_rcu *c = arg;
	struct hp_mempool *pool;

	hp_rcu_thread_register();
	for (;;) {
		/* offline while blocked: no grace period waits for us */
		hp_rcu_thread_offline();
		pthread_barrier_wait(&c->go);
		hp_rcu_thread_online();
		if (c->phase < 0)
			break;
		double t0 = bench_now_us(), c0 = fb_thread_cpu_s();
		c->pkts = c->phase ? fb_loop_direct(c, c->o->slice) :
				     fb_loop_rcu(c, c->o->slice);
		c->cpu = fb_thread_cpu_s() - c0;
		c->secs = (bench_now_us() - t0) / 1e6;
		hp_rcu_thread_offline();
		pthread_barrier_wait(&c->done);
		hp_rcu_thread_online();
	}
	hp_rcu_thread_unregister();
	if (hp_mempool_lookup(hp_core_shm(), HP_CORE_POOL_NAME, &pool) == 0)
		hp_mempool_cache_release(pool);
	return NULL;
}

static int fb_rcu(const struct fb_opts *o)
{
	static const int order[4] = { 0, 1, 1, 0 };	/* rcu direct direct rcu */
	/* wall-clock Mpps, Mpps per CPU-second of the thread, differences */
	double vr[FB_MAX_RUNS], vd[FB_MAX_RUNS], cr[FB_MAX_RUNS], cd[FB_MAX_RUNS];
	double vp[FB_MAX_RUNS], cp[FB_MAX_RUNS];
	struct fb_rcu c = { .o = o };
	pthread_t tid;
	cpu_set_t set;
	int r;

	for (unsigned p = 0; p < 2; p++) {
		struct hp_port_fp *fp = hp_port_fp_get((uint16_t)p);

		if (!fp || fp->nb_rxq < 1 || fp->nb_txq < 1) {
			printf("RESULT hotport.fwd_rcu.error=\"port %u not in the fast path\"\n", p);
			return -ENODEV;
		}
		c.rx[p] = fp->rx_burst;
		c.tx[p] = fp->tx_burst;
		c.rxq[p] = fp->rxq[0];
		c.txq[p] = fp->txq[0];
	}
	pthread_barrier_init(&c.go, NULL, 2);
	pthread_barrier_init(&c.done, NULL, 2);
	r = -pthread_create(&tid, NULL, fb_rcu_thread, &c);
	if (r < 0) {
		printf("RESULT hotport.fwd_rcu.error=\"pthread_create: %s\"\n", strerror(-r));
		return r;
	}
	CPU_ZERO(&set);
	CPU_SET(o->lcore, &set);
	r = -pthread_setaffinity_np(tid, sizeof(set), &set);
	if (r < 0)
		printf("note: cannot pin to lcore %d: %s\n", o->lcore, strerror(-r));
	printf("hotport io forwarding loop, RCU-protected hp_port_rx/tx_burst vs the driver's "
	       "burst functions called directly; 1 thread on lcore %d, burst %u, "
	       "%d rounds of 4 slices of %.2f s (rcu, direct, direct, rcu) per run, %s memory:\n",
	       o->lcore, o->burst, o->rounds, o->slice,
	       hp_shm_is_huge(hp_core_shm()) ? "hugepage" : "ordinary");
	for (int i = 0; i < o->runs && !bench_stop_requested; i++) {
		uint64_t pk[2] = { 0, 0 };
		double sec[2] = { 0, 0 }, cpu[2] = { 0, 0 };

		for (int k = 0; k < 4 * o->rounds; k++) {
			int v = order[k % 4];

			c.phase = v;
			pthread_barrier_wait(&c.go);
			pthread_barrier_wait(&c.done);
			pk[v] += c.pkts;
			sec[v] += c.secs;
			cpu[v] += c.cpu;
		}
		vr[i] = pk[0] / sec[0] / 1e6;
		vd[i] = pk[1] / sec[1] / 1e6;
		cr[i] = pk[0] / cpu[0] / 1e6;
		cd[i] = pk[1] / cpu[1] / 1e6;
		vp[i] = (vd[i] - vr[i]) / vd[i] * 100;
		cp[i] = (cd[i] - cr[i]) / cd[i] * 100;
		printf("  run %d: rcu %.2f Mpps, direct %.2f Mpps (%.1f%%); per CPU-second of the "
		       "thread (had %.0f%% of the core): rcu %.2f, direct %.2f, rcu slower by %.2f%%\n",
		       i + 1, vr[i], vd[i], vp[i], (cpu[0] + cpu[1]) / (sec[0] + sec[1]) * 100,
		       cr[i], cd[i], cp[i]);
	}
	c.phase = -1;
	pthread_barrier_wait(&c.go);
	pthread_join(tid, NULL);
	pthread_barrier_destroy(&c.go);
	pthread_barrier_destroy(&c.done);
	if (bench_stop_requested) {
		printf("RESULT hotport.fwd_rcu.error=\"interrupted\"\n");
		return -EINTR;
	}
	double mr = fb_median(vr, o->runs), md = fb_median(vd, o->runs);
	double mcr = fb_median(cr, o->runs), mcd = fb_median(cd, o->runs);
	double mvp = fb_median(vp, o->runs), mcp = fb_median(cp, o->runs);

	printf("hotport RCU cost: rcu %.2f Mpps, direct %.2f Mpps (%.2f%%); per CPU-second: "
	       "rcu %.2f, direct %.2f Mpps: rcu slower by %.2f%% (medians of %d runs; the %% "
	       "are medians of the per-run differences)\n",
	       mr, md, mvp, mcr, mcd, mcp, o->runs);
	printf("RESULT hotport.fwd_rcu.rcu_mpps=%.2f\n", mr);
	printf("RESULT hotport.fwd_rcu.direct_mpps=%.2f\n", md);
	printf("RESULT hotport.fwd_rcu.rcu_mpps_per_cpu=%.2f\n", mcr);
	printf("RESULT hotport.fwd_rcu.direct_mpps_per_cpu=%.2f\n", mcd);
	printf("RESULT hotport.fwd_rcu.diff_pct=%.2f\n", mcp);
	printf("RESULT hotport.fwd_rcu.diff_wall_pct=%.2f\n", mvp);
	return 0;
}

/* ---- set-up ---- */

static int fb_core_init(const struct fb_opts *o, const char *prefix)
{
	char *argv[16] = { "hotport-bench-fwd", "--file-prefix", (char *)prefix,
			   "--log-level", (char *)o->log_level, "--vdev",
			   "net_null0", "--vdev", "net_null1" };
	int argc = 9, r;
	struct hp_core_opts opts;
	char err[256];

	if (o->no_huge)
		argv[argc++] = "--no-huge";
	r = hp_core_opts_parse(HP_ROLE_PRIMARY, argc, argv, &opts, err, sizeof(err));
	if (r < 0) {
		printf("hotport-bench-fwd: %s\n", err);
		return r;
	}
	r = hp_core_init(&opts, err, sizeof(err));
	if (r < 0) {
		printf("hotport-bench-fwd: %s\n", err);
		return r;
	}
	for (uint16_t p = 0; p < 2 && r == 0; p++)
		r = hp_port_start(p);
	if (r < 0) {
		printf("hotport-bench-fwd: cannot start the ports: %s\n", strerror(-r));
		hp_core_fini();
	}
	return r;
}

int main(int argc, char **argv)
{
	struct fb_opts o;
	char prefix[64], dir[PATH_MAX];
	int status = 0;

	if (fb_parse(argc, argv, &o) < 0) {
		fb_usage(stderr, argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_catch_signals();
	if (o.prefix)
		snprintf(prefix, sizeof(prefix), "%s", o.prefix);
	else
		snprintf(prefix, sizeof(prefix), "hpbench-fwd-%d", (int)getpid());
	if (fb_core_init(&o, prefix) < 0) {
		if (o.fwd)
			printf("RESULT hotport.testpmd.io_fwd_null.error=\"set-up failed\"\n");
		if (o.rcu)
			printf("RESULT hotport.fwd_rcu.error=\"set-up failed\"\n");
		return 3;
	}
	if (o.fwd && fb_fwd(&o) < 0)
		status = 1;
	if (o.rcu && !bench_stop_requested && fb_rcu(&o) < 0)
		status = 1;
	hp_core_fini();
	if (hp_shm_runtime_dir(prefix, dir, sizeof(dir)) == 0 && access(dir, F_OK) == 0) {
		printf("note: removing %s, left behind\n", dir);
		bench_rmdir(dir);
	}
	return status;
}
