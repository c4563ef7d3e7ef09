/* SPDX-License-Identifier: BSD-3-Clause */
/* hotport-bench-detach: how long hp_port_detach takes while other
 * processes forward traffic.
 *
 * This program is the primary (hp_core_init, HP_ROLE_PRIMARY) with two
 * started net_null ports of --queues queues (default: one per forwarder).
 * It starts --forwarders hotport-secondary processes (default 3), each
 * with -l --fwd-lcores (default 0-1: two pinned threads per forwarder, as
 * the torture test), and tells each on its stdin: set fwd io, set
 * fwd-queues <its own queue>, start. They forward io on every port,
 * including the one that comes and goes, each on its own queue.
 *
 * One cycle, in this process: hp_port_attach(--dev, default
 * "net_null2,queues=<same>"), hp_port_start, hp_port_stop, hp_port_detach,
 * CLOCK_MONOTONIC around each call. The detach is of a stopped port that
 * every forwarder polls: each forwarder unpublishes it, waits for its own
 * forwarding threads (RCU grace period), and rebuilds its streams. Between
 * start and stop, untimed, the cycle waits until every forwarder has
 * received on its queue of the new port (they take a port when its NEW
 * event reaches them, just after the attach returns; a process that never
 * used a port is not asked at its detach). A run
 * is --cycles cycles (default 200) after --warmup (default 5); --runs runs
 * (default 3); the RESULT is the median over runs of each run's p50 and
 * p99. The forwarding rate on ports 0 and 1 during each run is printed, so
 * that "under traffic" can be checked.
 *
 * Exit status: 0 done, 1 a cycle failed, 2 bad options, 3 set-up failed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp_test_app.h"
#include "hp_core.h"
#include "hp_port.h"
#include "hp_shm.h"

#ifndef BENCH_APPS_DIR
#define BENCH_APPS_DIR "build/apps"
#endif

#define DB_MAX_FWD 8
#define DB_MAX_RUNS 15
#define DB_READY_MS 15000
#define DB_STOP_MS 5000
/* Longest wait (ms) for every forwarder to poll a new port. */
#define DB_POLLED_MS 2000

enum { DB_ATTACH, DB_START, DB_STOP, DB_DETACH, DB_NB_STEPS };
static const char *const db_step_names[DB_NB_STEPS] = { "attach", "start", "stop",
							"detach" };

struct db_opts {
	int cycles, warmup, runs;
	unsigned forwarders;
	unsigned queues;
	const char *fwd_lcores;
	const char *dev;
	const char *apps;
	const char *log_level;
	const char *prefix;
	bool no_huge;
	bool keep_logs;
};

struct db_run {
	const struct db_opts *o;
	char prefix[64];
	char tmpdir[64];
	char secondary_bin[PATH_MAX];
	char dev[HP_DEVARGS_MAX + 1];
	struct bench_child fwd[DB_MAX_FWD];
	unsigned nb_fwd;
	bool core_up;
	double *t[DB_NB_STEPS];	/* o->cycles each */
};

static void db_usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [OPTIONS]\n"
		"Times attach/start/stop/detach of a port while secondaries forward (see bench/README.md).\n"
		"  --cycles N          timed cycles per run (default 200)\n"
		"  --warmup N          untimed cycles first (default 5)\n"
		"  --runs N            runs; the median of their p50/p99 is the RESULT (default 3)\n"
		"  --forwarders N      forwarding secondaries (default 3, at most %d)\n"
		"  --fwd-lcores LIST   -l of each forwarder (default 0-1)\n"
		"  --queues N          queues of every null port (default: one per forwarder)\n"
		"  --dev DEVARGS       the port that comes and goes (default net_null2,queues=N)\n"
		"  --apps DIR          where secondary/hotport-secondary is (default %s)\n"
		"  --no-huge           ordinary pages instead of hugepages\n"
		"  --log-level SPEC    this process's hotport log level (default warning)\n"
		"  --file-prefix NAME  instance name (default hpbench-det-<pid>)\n"
		"  --keep-logs         keep the forwarders' logs (path printed)\n",
		prog, DB_MAX_FWD, BENCH_APPS_DIR);
}

static int db_parse(int argc, char **argv, struct db_opts *o)
{
	static const struct option lopts[] = {
		{ "cycles", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "runs", required_argument, NULL, 'r' },
		{ "forwarders", required_argument, NULL, 'f' },
		{ "fwd-lcores", required_argument, NULL, 'l' },
		{ "queues", required_argument, NULL, 'q' },
		{ "dev", required_argument, NULL, 'd' },
		{ "apps", required_argument, NULL, 'a' },
		{ "no-huge", no_argument, NULL, 'H' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "file-prefix", required_argument, NULL, 'p' },
		{ "keep-logs", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct db_opts){ .cycles = 200, .warmup = 5, .runs = 3,
			       .forwarders = 3, .fwd_lcores = "0-1",
			       .apps = BENCH_APPS_DIR, .log_level = "warning" };
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'n': o->cycles = atoi(optarg); break;
		case 'w': o->warmup = atoi(optarg); break;
		case 'r': o->runs = atoi(optarg); break;
		case 'f': o->forwarders = (unsigned)atoi(optarg); break;
		case 'l': o->fwd_lcores = optarg; break;
		case 'q': o->queues = (unsigned)atoi(optarg); break;
		case 'd': o->dev = optarg; break;
		case 'a': o->apps = optarg; break;
		case 'H': o->no_huge = true; break;
		case 'L': o->log_level = optarg; break;
		case 'p': o->prefix = optarg; break;
		case 'K': o->keep_logs = true; break;
		case 'h': db_usage(stdout, argv[0]); exit(0);
		default: return -EINVAL;
		}
	}
	if (o->queues == 0)
		o->queues = o->forwarders ? o->forwarders : 1;
	if (optind != argc || o->cycles < 1 || o->warmup < 0 || o->runs < 1 ||
	    o->runs > DB_MAX_RUNS || o->forwarders > DB_MAX_FWD ||
	    o->queues > HP_PORT_MAX_QUEUES || o->queues < o->forwarders)
		return -EINVAL;
	return 0;
}

static int db_core_init(struct db_run *run)
{
	char d0[64], d1[64];
	char *argv[16] = { "hotport-bench-detach", "--file-prefix", run->prefix,
			   "--log-level", (char *)run->o->log_level, "--vdev", d0,
			   "--vdev", d1 };
	int argc = 9, r;
	struct hp_core_opts opts;
	char err[256];

	snprintf(d0, sizeof(d0), "net_null0,queues=%u", run->o->queues);
	snprintf(d1, sizeof(d1), "net_null1,queues=%u", run->o->queues);
	if (run->o->no_huge)
		argv[argc++] = "--no-huge";
	r = hp_core_opts_parse(HP_ROLE_PRIMARY, argc, argv, &opts, err, sizeof(err));
	if (r < 0) {
		printf("hotport-bench-detach: %s\n", err);
		return r;
	}
	r = hp_core_init(&opts, err, sizeof(err));
	if (r < 0) {
		printf("hotport-bench-detach: %s\n", err);
		return r;
	}
	run->core_up = true;
	for (uint16_t p = 0; p < 2 && r == 0; p++)
		r = hp_port_start(p);
	if (r < 0)
		printf("hotport-bench-detach: cannot start ports 0 and 1: %s\n", strerror(-r));
	return r;
}

/* Writes a command line to a forwarder's stdin. */
static int db_send(struct bench_child *c, const char *line)
{
	size_t len = strlen(line);

	return write(c->stdin_fd, line, len) == (ssize_t)len ? 0 : -EIO;
}

static int db_start_forwarder(struct db_run *run, unsigned k)
{
	struct bench_child *c = &run->fwd[k];
	char log[PATH_MAX], cmd[128];
	char *argv[8] = { run->secondary_bin, "--file-prefix", run->prefix, "-l",
			  (char *)run->o->fwd_lcores };
	int r;

	snprintf(log, sizeof(log), "%s/fwd%u.log", run->tmpdir, k);
	r = bench_child_start(c, argv, log);
	if (r < 0) {
		printf("cannot start %s: %s\n", argv[0], strerror(-r));
		return r;
	}
	r = bench_child_wait_line(c, "hotport-secondary ready:", DB_READY_MS);
	if (r == 0) {
		snprintf(cmd, sizeof(cmd), "set fwd io\nset fwd-queues %u\nstart\n", k);
		r = db_send(c, cmd);
	}
	if (r == 0)
		r = bench_child_wait_line(c, "io packet forwarding", DB_READY_MS);
	if (r < 0) {
		printf("forwarder %u did not start forwarding: %s; its last lines:\n", k,
		       r == -ECHILD ? "it exited" : strerror(-r));
		bench_child_tail(c, 6);
	}
	return r;
}

/* RX packets of ports 0 and 1 summed. */
static uint64_t db_rx(void)
{
	struct hp_port_stats s;
	uint64_t n = 0;

	for (uint16_t p = 0; p < 2; p++)
		if (hp_port_stats_get(p, &s) == 0)
			n += s.ipackets;
	return n;
}

/* One cycle; 0 or a negative errno with the step and the reason in err. */
/* Waits (untimed, bounded) until every forwarder has received on its own
 * queue of the started port: each then has it in its fast path, so the
 * detach must wait for each. Forwarders take a new port when its NEW event
 * reaches them, after the attach has returned. */
static int db_wait_polled(const struct db_run *run, uint16_t id)
{
	struct hp_port_stats st;

	for (int i = 0; i < DB_POLLED_MS * 10; i++) {
		unsigned n = 0;

		if (hp_port_stats_get(id, &st) < 0)
			return -ENODEV;
		for (unsigned q = 0; q < run->o->forwarders; q++)
			n += st.q_ipackets[q % HP_PORT_MAX_QUEUES] > 0;
		if (n == run->o->forwarders)
			return 0;
		usleep(100);
	}
	return -ETIMEDOUT;
}

static int db_cycle(struct db_run *run, double t[DB_NB_STEPS], char *err,
		    size_t errlen)
{
	char reason[256] = "";
	uint16_t id = HP_PORT_INVALID;
	double t0, t1;
	int r = 0;

	for (int s = 0; s < DB_NB_STEPS && r == 0; s++) {
		t0 = bench_now_us();
		switch (s) {
		case DB_ATTACH:
			r = hp_port_attach_msg(run->dev, &id, reason, sizeof(reason));
			break;
		case DB_START:
			r = hp_port_start(id);
			break;
		case DB_STOP:
			r = db_wait_polled(run, id);
			if (r < 0) {
				snprintf(reason, sizeof(reason),
					 "not every forwarder polled the port within %d ms",
					 DB_POLLED_MS);
				break;
			}
			t0 = bench_now_us();
			r = hp_port_stop(id);
			break;
		case DB_DETACH:
			r = hp_port_detach_msg(id, NULL, 0, reason, sizeof(reason));
			break;
		}
		t1 = bench_now_us();
		t[s] = t1 - t0;
		if (r < 0)
			snprintf(err, errlen, "hp_port_%s: %s", db_step_names[s],
				 reason[0] ? reason : strerror(-r));
	}
	if (r < 0 && id != HP_PORT_INVALID) {	/* leave no port behind */
		hp_port_stop(id);
		hp_port_detach(id, NULL, 0);
	}
	return r;
}

static int db_one_run(struct db_run *run, int k, double p50[DB_NB_STEPS],
		      double p99[DB_NB_STEPS], double *mpps)
{
	const struct db_opts *o = run->o;
	double t[DB_NB_STEPS], t0 = 0, cpu0[DB_MAX_FWD], cpu = 0;
	uint64_t rx0 = 0;
	char err[512];

	for (int i = -o->warmup; i < o->cycles; i++) {
		int r = db_cycle(run, t, err, sizeof(err));

		if (r == 0 && bench_stop_requested) {
			r = -EINTR;
			snprintf(err, sizeof(err), "interrupted");
		}
		if (r < 0) {
			printf("  run %d: FAILED at cycle %d: %s\n", k, i, err);
			printf("RESULT hotport.detach_traffic.fwd%u.error=\"%s\"\n",
			       o->forwarders, err);
			return r;
		}
		if (i == -1 || (o->warmup == 0 && i == 0 && t0 == 0)) {
			for (unsigned f = 0; f < run->nb_fwd; f++)
				cpu0[f] = bench_cpu_ms(run->fwd[f].pid);
			rx0 = db_rx();
			t0 = bench_now_us();
		}
		if (i >= 0)
			for (int s = 0; s < DB_NB_STEPS; s++)
				run->t[s][i] = t[s];
	}
	double wall = bench_now_us() - t0;
	*mpps = (double)(db_rx() - rx0) / wall;
	for (unsigned f = 0; f < run->nb_fwd; f++)
		cpu += bench_cpu_ms(run->fwd[f].pid) - cpu0[f];
	printf("  run %d: %d cycles in %.2f s; ports 0+1 forwarded %.2f Mpps meanwhile; "
	       "forwarders used %.0f%% of a core each\n",
	       k, o->cycles, wall / 1e6, *mpps,
	       run->nb_fwd ? cpu / run->nb_fwd / (wall / 1e3) * 100 : 0.0);
	for (int s = 0; s < DB_NB_STEPS; s++) {
		struct bench_stats st = bench_stats_of(run->t[s], o->cycles);

		p50[s] = st.p50;
		p99[s] = st.p99;
		printf("    %-7s mean %9.1f us  p50 %9.1f us  p99 %9.1f us  (min %.1f, max %.1f)\n",
		       db_step_names[s], st.mean, st.p50, st.p99, st.min, st.max);
	}
	return 0;
}

static int db_setup(struct db_run *run)
{
	const struct db_opts *o = run->o;
	int r;

	snprintf(run->secondary_bin, sizeof(run->secondary_bin),
		 "%s/secondary/hotport-secondary", o->apps);
	if (access(run->secondary_bin, X_OK) < 0) {
		printf("hotport-secondary not found under %s (--apps DIR)\n", o->apps);
		return -ENOENT;
	}
	if (o->dev)
		snprintf(run->dev, sizeof(run->dev), "%s", o->dev);
	else
		snprintf(run->dev, sizeof(run->dev), "net_null2,queues=%u", o->queues);
	for (int s = 0; s < DB_NB_STEPS; s++) {
		run->t[s] = calloc((size_t)o->cycles, sizeof(double));
		if (!run->t[s])
			return -ENOMEM;
	}
	r = db_core_init(run);
	for (unsigned k = 0; r == 0 && k < o->forwarders; k++) {
		r = db_start_forwarder(run, k);
		run->nb_fwd++;	/* stopped on the way out even if it failed */
	}
	return r;
}

static void db_teardown(struct db_run *run)
{
	char dir[PATH_MAX];

	for (unsigned k = 0; k < run->nb_fwd; k++) {
		if (run->fwd[k].stdin_fd >= 0)
			db_send(&run->fwd[k], "stop\n");
		bench_child_stop(&run->fwd[k], DB_STOP_MS);
	}
	if (run->core_up)
		hp_core_fini();
	run->core_up = false;
	if (hp_shm_runtime_dir(run->prefix, dir, sizeof(dir)) == 0 &&
	    access(dir, F_OK) == 0) {
		printf("note: removing %s, left behind\n", dir);
		bench_rmdir(dir);
	}
	if (run->o->keep_logs)
		printf("logs kept in %s\n", run->tmpdir);
	else
		bench_rmdir(run->tmpdir);
	for (int s = 0; s < DB_NB_STEPS; s++)
		free(run->t[s]);
}

int main(int argc, char **argv)
{
	struct db_opts o;
	struct db_run run = { .o = &o };
	double p50[DB_NB_STEPS][DB_MAX_RUNS], p99[DB_NB_STEPS][DB_MAX_RUNS];
	double mpps[DB_MAX_RUNS];
	int r, status = 0, done = 0;

	if (db_parse(argc, argv, &o) < 0) {
		db_usage(stderr, argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_catch_signals();
	for (unsigned k = 0; k < DB_MAX_FWD; k++)
		run.fwd[k].stdin_fd = -1;
	if (o.prefix)
		snprintf(run.prefix, sizeof(run.prefix), "%s", o.prefix);
	else
		snprintf(run.prefix, sizeof(run.prefix), "hpbench-det-%d", (int)getpid());
	snprintf(run.tmpdir, sizeof(run.tmpdir), "/tmp/hotport-bench-XXXXXX");
	if (!mkdtemp(run.tmpdir)) {
		perror("mkdtemp");
		return 3;
	}
	r = db_setup(&run);
	if (r < 0) {
		printf("RESULT hotport.detach_traffic.fwd%u.error=\"set-up failed: %s\"\n",
		       o.forwarders, strerror(-r));
		db_teardown(&run);
		return 3;
	}
	printf("hotport detach under traffic: %u forwarding secondaries (io, -l %s each, "
	       "own queue of %u), cycles of attach/start/stop/detach of %s from the primary, "
	       "%d cycles per run, %s memory:\n",
	       o.forwarders, o.fwd_lcores, o.queues, run.dev, o.cycles,
	       hp_shm_is_huge(hp_core_shm()) ? "hugepage" : "ordinary");
	for (int k = 0; k < o.runs; k++) {
		double a[DB_NB_STEPS], b[DB_NB_STEPS];

		if (db_one_run(&run, k + 1, a, b, &mpps[k]) < 0) {
			status = 1;
			break;
		}
		for (int s = 0; s < DB_NB_STEPS; s++) {
			p50[s][k] = a[s];
			p99[s][k] = b[s];
		}
		done++;
	}
	if (done == o.runs) {
		const char *tag = "detach_traffic";
		double m50[DB_NB_STEPS], m99[DB_NB_STEPS];

		for (int s = 0; s < DB_NB_STEPS; s++) {
			m50[s] = bench_stats_of(p50[s], done).p50;
			m99[s] = bench_stats_of(p99[s], done).p50;
		}
		printf("hotport detach under traffic (%u forwarders): detach p50 %.1f us, p99 %.1f us; "
		       "start p50 %.1f us, stop p50 %.1f us, attach p50 %.1f us (medians of %d runs)\n",
		       o.forwarders, m50[DB_DETACH], m99[DB_DETACH], m50[DB_START],
		       m50[DB_STOP], m50[DB_ATTACH], done);
		printf("RESULT hotport.%s.fwd%u.p50_us=%.1f\n", tag, o.forwarders, m50[DB_DETACH]);
		printf("RESULT hotport.%s.fwd%u.p99_us=%.1f\n", tag, o.forwarders, m99[DB_DETACH]);
		for (int s = 0; s < DB_NB_STEPS; s++) {
			if (s == DB_DETACH)
				continue;
			printf("RESULT hotport.%s.fwd%u.%s_p50_us=%.1f\n", tag, o.forwarders,
			       db_step_names[s], m50[s]);
			printf("RESULT hotport.%s.fwd%u.%s_p99_us=%.1f\n", tag, o.forwarders,
			       db_step_names[s], m99[s]);
		}
		printf("RESULT hotport.%s.fwd%u.fwd_mpps=%.2f\n", tag, o.forwarders,
		       bench_stats_of(mpps, done).p50);
	}
	db_teardown(&run);
	return status;
}
