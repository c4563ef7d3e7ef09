/* SPDX-License-Identifier: BSD-3-Clause */
/* pcap file replay rate: this program is a primary with net_pcap0 reading
 * a capture file (rx_pcap=FILE) and net_null0; one thread moves every
 * packet from the pcap port to the null port in bursts of 32 and times
 * the whole file, start of the first burst to the last packet. The same
 * steps as dpdk/pcap_replay.c.
 *
 *   hotport-bench-pcap --file F [--runs N] [--file-prefix P] [--no-huge]
 *
 * Prints the rate of each run and RESULT hotport.pcap_replay.mpps (the
 * median). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_test_app.h"
#include "hp_core.h"
#include "hp_log.h"
#include "hp_mbuf.h"
#include "hp_port.h"
#include "hp_rcu.h"

#define PB_BURST 32
#define PB_MAX_RUNS 20
#define PB_IDLE_POLLS 100000 /* empty polls in a row: the file is done */

struct pb_opts {
	const char *file;
	const char *prefix;
	int runs;
	bool no_huge;
};

static void pb_usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s --file PCAP [OPTIONS]\n"
		"Reads the whole capture file through net_pcap0 into net_null0\n"
		"and prints packets per second.\n"
		"  --file PCAP          capture file to replay\n"
		"  --runs N             replays (default 3, at most %d)\n"
		"  --file-prefix NAME   instance name (default: hp-bench-pcap)\n"
		"  --no-huge            ordinary pages\n"
		"  -h, --help           this text\n",
		prog, PB_MAX_RUNS);
}

static int pb_parse(int argc, char **argv, struct pb_opts *o)
{
	static const struct option lopts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "runs", required_argument, NULL, 'r' },
		{ "file-prefix", required_argument, NULL, 'p' },
		{ "no-huge", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct pb_opts){ .prefix = "hp-bench-pcap", .runs = 3 };
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->file = optarg; break;
		case 'r': o->runs = atoi(optarg); break;
		case 'p': o->prefix = optarg; break;
		case 'H': o->no_huge = true; break;
		case 'h': pb_usage(stdout, argv[0]); exit(0);
		default: return -EINVAL;
		}
	}
	if (optind != argc || !o->file || o->runs < 1 || o->runs > PB_MAX_RUNS)
		return -EINVAL;
	return 0;
}

/* One replay of the file: packets moved and seconds taken (first packet
 * to last), or a negative errno. */
static int pb_run(const char *file, uint64_t *ret_pkts, double *ret_s)
{
	char devargs[HP_DEVARGS_MAX + 1], err[256];
	struct hp_mbuf *pkts[PB_BURST];
	uint16_t in, out;
	uint64_t n = 0;
	double t0 = 0, t1 = 0;
	unsigned idle = 0;
	int r;

	snprintf(devargs, sizeof(devargs), "net_pcap0,rx_pcap=%s", file);
	r = hp_port_attach_msg(devargs, &in, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "attach %s: %s\n", devargs, err);
		return r;
	}
	r = hp_port_attach_msg("net_null0", &out, err, sizeof(err));
	if (r == 0 && (r = hp_port_start(in)) == 0)
		r = hp_port_start(out);
	if (r < 0)
		goto out;
	hp_rcu_thread_register();
	while (idle < PB_IDLE_POLLS) {
		uint16_t nb = hp_port_rx_burst(in, 0, pkts, PB_BURST);

		if (nb == 0) {
			idle++;
			hp_rcu_quiescent();
			continue;
		}
		if (n == 0)
			t0 = bench_now_us();
		n += nb;
		t1 = bench_now_us();
		idle = 0;
		uint16_t sent = hp_port_tx_burst(out, 0, pkts, nb);
		if (sent < nb)
			hp_mbuf_free_bulk(pkts + sent, nb - sent);
		hp_rcu_quiescent();
	}
	hp_rcu_thread_unregister();
	*ret_pkts = n;
	*ret_s = (t1 - t0) / 1e6;
	hp_port_stop(out);
	hp_port_stop(in);
	hp_port_detach(out, NULL, 0);
out:
	hp_port_stop(in);
	hp_port_detach(in, NULL, 0);
	return r;
}

int main(int argc, char **argv)
{
	struct pb_opts o;
	double mpps[PB_MAX_RUNS];
	char err[256];
	int r;

	if (pb_parse(argc, argv, &o) < 0) {
		pb_usage(stderr, argv[0]);
		return 2;
	}
	hp_log_set_levels("warning");
	struct hp_core_opts co = { .role = HP_ROLE_PRIMARY, .prefix = o.prefix,
				   .no_huge = o.no_huge };
	if (hp_core_init(&co, err, sizeof(err)) < 0) {
		fprintf(stderr, "hotport-bench-pcap: %s\n", err);
		return 3;
	}
	printf("hotport pcap replay: %s -> net_null0, bursts of %d\n", o.file,
	       PB_BURST);
	for (int i = 0; i < o.runs; i++) {
		uint64_t n = 0;
		double s = 0;

		r = pb_run(o.file, &n, &s);
		if (r < 0 || n == 0 || s <= 0) {
			printf("RESULT hotport.pcap_replay.error=\"run %d failed: %s\"\n",
			       i + 1, r < 0 ? strerror(-r) : "no packets");
			hp_core_fini();
			return 1;
		}
		mpps[i] = n / s / 1e6;
		printf("  run %d: %" PRIu64 " packets in %.3f s: %.2f Mpps\n",
		       i + 1, n, s, mpps[i]);
	}
	printf("RESULT hotport.pcap_replay.mpps=%.2f\n",
	       bench_stats_of(mpps, o.runs).p50);
	hp_core_fini();
	return 0;
}
