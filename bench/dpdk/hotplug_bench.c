/* DPDK side of hotport's hotplug benchmark.
 *
 * Uses DPDK's public API only (rte_eal_init, rte_dev_probe, rte_dev_remove,
 * rte_eth_dev_get_port_by_name).  Usage:
 *
 *   hotplug_bench <EAL options> -- [--mode MODE] [-n CYCLES] [--dev DEVARGS]
 *                                  [--tag NAME] [--warmup N]
 *
 * MODE:
 *   cycles  (default) N cycles of probe + get_port_by_name + remove, each
 *           timed with CLOCK_MONOTONIC; prints mean/p50/p99 in µs and a
 *           "RESULT dpdk.attach_detach.<tag>.<stat>_us=<v>" line per stat.
 *           Works as primary, or as secondary (the EAL forwards the request
 *           to the primary over its IPC).
 *   serve   print "ready", then block in sigwait() until SIGTERM/SIGINT.
 *           Used both for the serving primary and for idle secondaries.
 *   ready   print "ready" right after rte_eal_init returns, clean up, exit
 *           (start-up time measurement).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_errno.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double pct(const double *sorted, int n, double p)
{
	int i = (int)(p / 100.0 * (n - 1) + 0.5);
	return sorted[i < 0 ? 0 : i >= n ? n - 1 : i];
}

struct stats { double mean, p50, p99, min, max; };

static struct stats summarize(double *v, int n)
{
	struct stats s = {0};
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += v[i];
	qsort(v, n, sizeof(*v), cmp_double);
	s.mean = sum / n;
	s.p50 = pct(v, n, 50);
	s.p99 = pct(v, n, 99);
	s.min = v[0];
	s.max = v[n - 1];
	return s;
}

/* One cycle: attach, look the port up, detach.  Returns 0 or a negative errno
 * and fills in the step that failed. */
static int one_cycle(const char *devargs, const char *name, double *t_att,
		     double *t_det, const char **step)
{
	uint16_t port;
	struct rte_eth_dev_info info;
	double t0 = now_us();
	int ret = rte_dev_probe(devargs);
	if (ret < 0) {
		*step = "rte_dev_probe";
		return ret;
	}
	ret = rte_eth_dev_get_port_by_name(name, &port);
	if (ret < 0) {
		*step = "rte_eth_dev_get_port_by_name";
		return ret;
	}
	double t1 = now_us();
	ret = rte_eth_dev_info_get(port, &info);
	if (ret < 0) {
		*step = "rte_eth_dev_info_get";
		return ret;
	}
	ret = rte_dev_remove(info.device);
	if (ret < 0) {
		*step = "rte_dev_remove";
		return ret;
	}
	double t2 = now_us();
	*t_att = t1 - t0;
	*t_det = t2 - t1;
	return 0;
}

static void print_stats(const char *tag, const char *what, struct stats s,
			int machine)
{
	printf("  %-8s mean %9.1f us  p50 %9.1f us  p99 %9.1f us  (min %.1f, max %.1f)\n",
	       what, s.mean, s.p50, s.p99, s.min, s.max);
	if (machine) {
		printf("RESULT dpdk.attach_detach.%s.mean_us=%.1f\n", tag, s.mean);
		printf("RESULT dpdk.attach_detach.%s.p50_us=%.1f\n", tag, s.p50);
		printf("RESULT dpdk.attach_detach.%s.p99_us=%.1f\n", tag, s.p99);
	}
}

static int run_cycles(const char *devargs, int n, int warmup, const char *tag)
{
	char name[128];
	const char *step = "";
	double *cyc = calloc(n, sizeof(double));
	double *att = calloc(n, sizeof(double));
	double *det = calloc(n, sizeof(double));
	if (!cyc || !att || !det)
		return -ENOMEM;

	/* The port name is the device name: devargs up to the first comma. */
	snprintf(name, sizeof(name), "%s", devargs);
	name[strcspn(name, ",")] = '\0';

	for (int i = -warmup; i < n; i++) {
		double a, d;
		int ret = one_cycle(devargs, name, &a, &d, &step);
		if (ret < 0) {
			printf("dpdk attach/detach %s: FAILED at cycle %d: %s() = %d (%s)\n",
			       tag, i, step, ret, strerror(-ret));
			printf("RESULT dpdk.attach_detach.%s.error=\"%s: %s\"\n",
			       tag, step, strerror(-ret));
			fflush(stdout);
			return ret;
		}
		if (i >= 0) {
			att[i] = a;
			det[i] = d;
			cyc[i] = a + d;
		}
	}
	printf("dpdk attach/detach %s (%s, %d cycles, %s):\n", tag,
	       rte_eal_process_type() == RTE_PROC_PRIMARY ? "primary" : "secondary",
	       n, devargs);
	print_stats(tag, "cycle", summarize(cyc, n), 1);
	print_stats(tag, "attach", summarize(att, n), 0);
	print_stats(tag, "detach", summarize(det, n), 0);
	fflush(stdout);
	free(cyc);
	free(att);
	free(det);
	return 0;
}

static int serve(void)
{
	sigset_t set;
	int sig = 0;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	printf("ready pid %d\n", (int)getpid());
	fflush(stdout);
	while (sigwait(&set, &sig) != 0)
		;
	return 0;
}

int main(int argc, char **argv)
{
	sigset_t set;
	const char *mode = "cycles", *devargs = "net_null0", *tag = NULL;
	int n = 2000, warmup = 20;

	/* Block the stop signals before the EAL starts its threads, so that
	 * every thread inherits the mask and serve() can sigwait() for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	int ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;

	static const struct option opts[] = {
		{"mode", required_argument, NULL, 'm'},
		{"dev", required_argument, NULL, 'd'},
		{"tag", required_argument, NULL, 't'},
		{"warmup", required_argument, NULL, 'w'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "m:n:d:t:w:", opts, NULL)) != -1) {
		switch (c) {
		case 'm': mode = optarg; break;
		case 'n': n = atoi(optarg); break;
		case 'd': devargs = optarg; break;
		case 't': tag = optarg; break;
		case 'w': warmup = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s <EAL args> -- [--mode cycles|serve|ready] "
				"[-n N] [--dev DEVARGS] [--tag NAME] [--warmup N]\n",
				argv[0]);
			rte_eal_cleanup();
			return 2;
		}
	}
	if (n < 1)
		n = 1;
	if (!tag)
		tag = rte_eal_process_type() == RTE_PROC_PRIMARY ? "primary" : "secondary";

	int rc = 0;
	if (strcmp(mode, "ready") == 0) {
		printf("ready\n");
		fflush(stdout);
	} else if (strcmp(mode, "serve") == 0) {
		serve();
	} else if (strcmp(mode, "cycles") == 0) {
		rc = run_cycles(devargs, n, warmup, tag) < 0 ? 3 : 0;
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		rc = 2;
	}
	rte_eal_cleanup();
	return rc;
}
