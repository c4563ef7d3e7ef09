/* SPDX-License-Identifier: BSD-3-Clause */
/* hotport-bench-hotplug: times attach + detach cycles of a null port, from
 * the primary or from a secondary, with idle secondaries running, and
 * prints the figures and RESULT lines keyed as bench/dpdk's.
 *
 *   --role primary    this program is the primary; it starts K idle
 *                     hotport-secondary processes (stdin on a pipe: they
 *                     block in read) and times hp_port_attach/detach here.
 *   --role secondary  this program starts hotport-primary, K idle
 *                     secondaries, joins as one more secondary and times
 *                     the same calls, which go to the primary over IPC.
 *
 * --idle says what the idle secondaries are: "bare" (default) runs this
 * program as a plain library secondary that blocks reading its stdin and
 * registers no event callback, as DPDK's idle secondaries are EAL
 * processes blocked in sigwait; "app" runs hotport-secondary, which prints
 * every port event, so each hotplug wakes it (keys secondary_apps.*).
 *
 * --secondaries takes a list (0,1,4): the levels run in increasing order
 * in one instance, idle secondaries being added between them. One cycle is
 * hp_port_attach("net_null0") + hp_port_detach(port), CLOCK_MONOTONIC
 * around each call; warm-up cycles are not counted. Every child is stopped
 * on the way out, also on failure or SIGINT/SIGTERM, and gets SIGTERM if
 * this process dies (PR_SET_PDEATHSIG).
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

/* Most idle secondaries, and most entries in --secondaries. */
#define HB_MAX_IDLE 16
#define HB_MAX_LEVELS 8
/* Deadlines (ms): a child's ready line, a child's exit. */
#define HB_READY_MS 15000
#define HB_STOP_MS 5000

struct hb_opts {
	enum hp_proc_role role;
	bool idle_role;		/* --role idle: a bare idle secondary */
	bool idle_apps;		/* --idle app */
	int cycles;
	int warmup;
	unsigned levels[HB_MAX_LEVELS];
	unsigned nb_levels;
	bool no_huge;
	bool keep_logs;
	const char *dev;
	const char *apps;
	const char *log_level;
	const char *prefix;
};

struct hb_run {
	const struct hb_opts *o;
	char prefix[64];
	char tmpdir[64];
	char self_bin[PATH_MAX];
	char primary_bin[PATH_MAX];
	char secondary_bin[PATH_MAX];
	struct bench_child primary;	/* --role secondary */
	struct bench_child idle[HB_MAX_IDLE];
	unsigned nb_idle;
	bool core_up;
	double *cyc, *att, *det;	/* o->cycles each */
};

static void hb_usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s --role primary|secondary [OPTIONS]\n"
		"Times attach + detach cycles of a null port (see bench/README.md).\n"
		"  --role R            primary: this process is the primary;\n"
		"                      secondary: it starts a primary and joins it;\n"
		"                      idle: a bare idle secondary (for the others)\n"
		"  --cycles N          timed cycles per level (default 2000)\n"
		"  --warmup N          untimed cycles first (default 20)\n"
		"  --secondaries LIST  idle secondaries, e.g. 0,1,4 (default 0)\n"
		"  --idle bare|app     idle secondaries: this program blocked on\n"
		"                      stdin, no event callback (default), or\n"
		"                      hotport-secondary, which prints each event\n"
		"  --no-huge           ordinary pages instead of hugepages\n"
		"  --dev DEVARGS       device to attach (default net_null0)\n"
		"  --apps DIR          where primary/ and secondary/ apps are\n"
		"                      (default %s)\n"
		"  --log-level SPEC    this process's hotport log level (default warning)\n"
		"  --file-prefix NAME  instance name (default hpbench-<pid>)\n"
		"  --keep-logs         keep the children's logs (path printed)\n",
		prog, BENCH_APPS_DIR);
}

static int hb_cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return (x > y) - (x < y);
}

static int hb_parse_levels(const char *s, struct hb_opts *o)
{
	char *end;

	o->nb_levels = 0;
	for (;;) {
		unsigned long k = strtoul(s, &end, 10);

		if (end == s || k > HB_MAX_IDLE || o->nb_levels == HB_MAX_LEVELS)
			return -EINVAL;
		o->levels[o->nb_levels++] = (unsigned)k;
		if (*end == '\0')
			break;
		if (*end != ',')
			return -EINVAL;
		s = end + 1;
	}
	qsort(o->levels, o->nb_levels, sizeof(o->levels[0]), hb_cmp_uint);
	return 0;
}

static int hb_parse(int argc, char **argv, struct hb_opts *o)
{
	static const struct option lopts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "cycles", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "secondaries", required_argument, NULL, 'k' },
		{ "idle", required_argument, NULL, 'i' },
		{ "no-huge", no_argument, NULL, 'H' },
		{ "dev", required_argument, NULL, 'd' },
		{ "apps", required_argument, NULL, 'a' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "keep-logs", no_argument, NULL, 'K' },
		{ "file-prefix", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool role_set = false;
	int c;

	*o = (struct hb_opts){ .cycles = 2000, .warmup = 20, .nb_levels = 1,
			       .dev = "net_null0", .apps = BENCH_APPS_DIR,
			       .log_level = "warning" };
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			role_set = true;
			if (!strcmp(optarg, "primary"))
				o->role = HP_ROLE_PRIMARY;
			else if (!strcmp(optarg, "secondary"))
				o->role = HP_ROLE_SECONDARY;
			else if (!strcmp(optarg, "idle"))
				o->idle_role = true;
			else
				return -EINVAL;
			break;
		case 'i':
			if (strcmp(optarg, "bare") && strcmp(optarg, "app"))
				return -EINVAL;
			o->idle_apps = !strcmp(optarg, "app");
			break;
		case 'n': o->cycles = atoi(optarg); break;
		case 'w': o->warmup = atoi(optarg); break;
		case 'k':
			if (hb_parse_levels(optarg, o) < 0)
				return -EINVAL;
			break;
		case 'H': o->no_huge = true; break;
		case 'd': o->dev = optarg; break;
		case 'a': o->apps = optarg; break;
		case 'L': o->log_level = optarg; break;
		case 'K': o->keep_logs = true; break;
		case 'p': o->prefix = optarg; break;
		case 'h': hb_usage(stdout, argv[0]); exit(0);
		default: return -EINVAL;
		}
	}
	if (!role_set || optind != argc || o->cycles < 1 || o->warmup < 0 ||
	    (o->idle_role && !o->prefix))
		return -EINVAL;
	return 0;
}

/* This process joins (or creates) the instance. */
static int hb_core_init(struct hb_run *run, enum hp_proc_role role)
{
	char *argv[8] = { "hotport-bench-hotplug", "--file-prefix", run->prefix,
			  "--log-level", (char *)run->o->log_level };
	int argc = 5, r;
	struct hp_core_opts opts;
	char err[256];

	if (role == HP_ROLE_PRIMARY && run->o->no_huge)
		argv[argc++] = "--no-huge";
	r = hp_core_opts_parse(role, argc, argv, &opts, err, sizeof(err));
	if (r < 0) {
		printf("hotport-bench-hotplug: %s\n", err);
		return r;
	}
	r = hp_core_init(&opts, err, sizeof(err));
	if (r < 0) {
		printf("hotport-bench-hotplug: %s\n", err);
		return r;
	}
	run->core_up = true;
	return 0;
}

#define HB_IDLE_READY "hotport-bench-hotplug idle ready"

/* --role idle: a secondary that only joins and waits for its stdin to
 * close, with no event callback (so it is never woken for events). */
static int hb_idle_main(struct hb_run *run)
{
	char buf[256];

	if (hb_core_init(run, HP_ROLE_SECONDARY) < 0)
		return 3;
	printf(HB_IDLE_READY "\n");
	while (read(0, buf, sizeof(buf)) > 0)
		;
	hp_core_fini();
	return 0;
}

/* Starts one app (or a bare idle secondary) with the instance's prefix
 * and waits for its ready line. */
static int hb_start_app(struct hb_run *run, struct bench_child *c,
			bool primary, const char *name)
{
	char log[PATH_MAX], marker[64];
	char *argv[8] = { primary ? run->primary_bin : run->secondary_bin,
			  "--file-prefix", run->prefix };
	int argc = 3, r;
	bool bare = !primary && !run->o->idle_apps;

	if (primary && run->o->no_huge)
		argv[argc++] = "--no-huge";
	if (bare) {
		argv[0] = run->self_bin;
		argv[argc++] = "--role";
		argv[argc++] = "idle";
	}
	snprintf(log, sizeof(log), "%s/%s.log", run->tmpdir, name);
	snprintf(marker, sizeof(marker), "%s",
		 bare ? HB_IDLE_READY :
		 primary ? "hotport-primary ready:" : "hotport-secondary ready:");
	r = bench_child_start(c, argv, log);
	if (r < 0) {
		printf("cannot start %s: %s\n", argv[0], strerror(-r));
		return r;
	}
	r = bench_child_wait_line(c, marker, HB_READY_MS);
	if (r < 0) {
		printf("%s (%s) did not get ready: %s; its last lines:\n", name,
		       argv[0], r == -ECHILD ? "it exited" : strerror(-r));
		bench_child_tail(c, 6);
	}
	return r;
}

static int hb_add_idle(struct hb_run *run, unsigned want)
{
	char name[32];
	int r;

	while (run->nb_idle < want) {
		snprintf(name, sizeof(name), "idle%u", run->nb_idle);
		r = hb_start_app(run, &run->idle[run->nb_idle], false, name);
		run->nb_idle++;	/* stopped on the way out even if it failed */
		if (r < 0)
			return r;
	}
	return 0;
}

/* CPU (ms) of the primary, of the idle secondaries, of this process. */
static void hb_cpu(const struct hb_run *run, double cpu[3])
{
	cpu[0] = bench_cpu_ms(run->o->role == HP_ROLE_PRIMARY ? 0 :
								 run->primary.pid);
	cpu[1] = 0;
	for (unsigned i = 0; i < run->nb_idle; i++)
		cpu[1] += bench_cpu_ms(run->idle[i].pid);
	cpu[2] = bench_cpu_ms(0);
}

static void hb_print(const char *tag, const char *what, struct bench_stats s,
		     const char *key)
{
	printf("  %-7s mean %9.2f us  p50 %9.2f us  p99 %9.2f us  (min %.2f, max %.2f)\n",
	       what, s.mean, s.p50, s.p99, s.min, s.max);
	printf("RESULT hotport.attach_detach.%s.%smean_us=%.2f\n", tag, key, s.mean);
	printf("RESULT hotport.attach_detach.%s.%sp50_us=%.2f\n", tag, key, s.p50);
	printf("RESULT hotport.attach_detach.%s.%sp99_us=%.2f\n", tag, key, s.p99);
}

/* One cycle: attach, then detach; 0 or a negative errno with the step and
 * the reason in err. */
static int hb_cycle(const char *dev, double *t_att, double *t_det, char *err,
		    size_t errlen)
{
	char reason[256];
	uint16_t id;
	double t0, t1, t2;
	int r;

	t0 = bench_now_us();
	r = hp_port_attach_msg(dev, &id, reason, sizeof(reason));
	t1 = bench_now_us();
	if (r < 0) {
		snprintf(err, errlen, "hp_port_attach: %s", reason);
		return r;
	}
	r = hp_port_detach_msg(id, NULL, 0, reason, sizeof(reason));
	t2 = bench_now_us();
	if (r < 0) {
		snprintf(err, errlen, "hp_port_detach: %s", reason);
		return r;
	}
	*t_att = t1 - t0;
	*t_det = t2 - t1;
	return 0;
}

static int hb_level(struct hb_run *run, unsigned k)
{
	const struct hb_opts *o = run->o;
	bool primary = o->role == HP_ROLE_PRIMARY;
	double cpu0[3], cpu1[3], t0, wall_ms;
	char tag[32], err[512];
	int n = o->cycles;

	if (primary && k == 0)
		snprintf(tag, sizeof(tag), "primary");
	else
		snprintf(tag, sizeof(tag), "%s%s.idle%u",
			 primary ? "primary" : "secondary",
			 o->idle_apps ? "_apps" : "", k);
	hb_cpu(run, cpu0);
	t0 = bench_now_us();
	for (int i = -o->warmup; i < n; i++) {
		double a, d;
		int r = hb_cycle(o->dev, &a, &d, err, sizeof(err));

		if (r == 0 && bench_stop_requested) {
			r = -EINTR;
			snprintf(err, sizeof(err), "interrupted");
		}
		if (r < 0) {
			printf("hotport attach/detach %s: FAILED at cycle %d: %s\n",
			       tag, i, err);
			printf("RESULT hotport.attach_detach.%s.error=\"%s\"\n", tag,
			       err);
			return r;
		}
		if (i == -1) {	/* warm-up done: start counting */
			hb_cpu(run, cpu0);
			t0 = bench_now_us();
		}
		if (i >= 0) {
			run->att[i] = a;
			run->det[i] = d;
			run->cyc[i] = a + d;
		}
	}
	wall_ms = (bench_now_us() - t0) / 1e3;
	hb_cpu(run, cpu1);
	printf("hotport attach/detach %s (from the %s, %u idle secondar%s%s, %d cycles, %s, %s memory):\n",
	       tag, primary ? "primary" : "secondary", k, k == 1 ? "y" : "ies",
	       k == 0 ? "" : o->idle_apps ? " (hotport-secondary apps, printing events)" :
					    " (bare, no event callback)",
	       n, o->dev, hp_shm_is_huge(hp_core_shm()) ? "hugepage" : "ordinary");
	hb_print(tag, "cycle", bench_stats_of(run->cyc, n), "");
	hb_print(tag, "attach", bench_stats_of(run->att, n), "attach_");
	hb_print(tag, "detach", bench_stats_of(run->det, n), "detach_");
	if (primary)
		printf("  CPU while timing: primary (this process) %.0f ms, idle secondaries %.0f ms; %.0f ms wall\n",
		       cpu1[0] - cpu0[0], cpu1[1] - cpu0[1], wall_ms);
	else
		printf("  CPU while timing: primary %.0f ms, idle secondaries %.0f ms, this secondary %.0f ms; %.0f ms wall\n",
		       cpu1[0] - cpu0[0], cpu1[1] - cpu0[1], cpu1[2] - cpu0[2], wall_ms);
	fflush(stdout);
	return 0;
}

static int hb_setup(struct hb_run *run)
{
	const struct hb_opts *o = run->o;
	int r;

	snprintf(run->primary_bin, sizeof(run->primary_bin),
		 "%s/primary/hotport-primary", o->apps);
	snprintf(run->secondary_bin, sizeof(run->secondary_bin),
		 "%s/secondary/hotport-secondary", o->apps);
	if (readlink("/proc/self/exe", run->self_bin,
		     sizeof(run->self_bin) - 1) < 0)
		return -errno;
	if (access(run->primary_bin, X_OK) < 0 ||
	    access(run->secondary_bin, X_OK) < 0) {
		printf("hotport apps not found under %s (--apps DIR)\n", o->apps);
		return -ENOENT;
	}
	run->cyc = calloc((size_t)o->cycles, sizeof(double));
	run->att = calloc((size_t)o->cycles, sizeof(double));
	run->det = calloc((size_t)o->cycles, sizeof(double));
	if (!run->cyc || !run->att || !run->det)
		return -ENOMEM;
	if (o->role == HP_ROLE_PRIMARY)
		return hb_core_init(run, HP_ROLE_PRIMARY);
	r = hb_start_app(run, &run->primary, true, "primary");
	if (r < 0)
		return r;
	/* The first level's idle secondaries start before this one joins. */
	r = hb_add_idle(run, o->levels[0]);
	if (r < 0)
		return r;
	return hb_core_init(run, HP_ROLE_SECONDARY);
}

/* Stops everything: idle secondaries, this process, then the primary; and
 * removes the runtime dir if a killed primary left it. */
static void hb_teardown(struct hb_run *run)
{
	char dir[PATH_MAX];

	for (unsigned i = 0; i < run->nb_idle; i++)
		bench_child_stop(&run->idle[i], HB_STOP_MS);
	if (run->core_up)
		hp_core_fini();
	run->core_up = false;
	if (bench_child_stop(&run->primary, HB_STOP_MS) < 0)
		printf("note: the primary had to be killed\n");
	if (hp_shm_runtime_dir(run->prefix, dir, sizeof(dir)) == 0 &&
	    access(dir, F_OK) == 0) {
		printf("note: removing %s, left behind\n", dir);
		bench_rmdir(dir);
	}
	if (run->o->keep_logs) {
		printf("logs kept in %s\n", run->tmpdir);
	} else {
		bench_rmdir(run->tmpdir);
	}
	free(run->cyc);
	free(run->att);
	free(run->det);
}

int main(int argc, char **argv)
{
	struct hb_opts o;
	struct hb_run run = { .o = &o, .primary = { .stdin_fd = -1 } };
	int r, status = 0;

	if (hb_parse(argc, argv, &o) < 0) {
		hb_usage(stderr, argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_catch_signals();
	if (o.prefix)
		snprintf(run.prefix, sizeof(run.prefix), "%s", o.prefix);
	else
		snprintf(run.prefix, sizeof(run.prefix), "hpbench-%d", (int)getpid());
	if (o.idle_role)
		return hb_idle_main(&run);
	snprintf(run.tmpdir, sizeof(run.tmpdir), "/tmp/hotport-bench-XXXXXX");
	if (!mkdtemp(run.tmpdir)) {
		perror("mkdtemp");
		return 3;
	}
	r = hb_setup(&run);
	if (r < 0) {
		printf("RESULT hotport.attach_detach.%s.error=\"set-up failed: %s\"\n",
		       o.role == HP_ROLE_PRIMARY ? "primary" : "secondary",
		       strerror(-r));
		status = 3;
	}
	for (unsigned i = 0; status == 0 && i < o.nb_levels; i++) {
		r = hb_add_idle(&run, o.levels[i]);
		if (r < 0) {
			status = 3;
			break;
		}
		if (hb_level(&run, o.levels[i]) < 0)
			status = 1;
	}
	hb_teardown(&run);
	return status;
}
