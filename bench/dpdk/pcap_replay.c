/* DPDK side of hotport's pcap replay benchmark (bench/pcap_bench.c). Uses
 * DPDK's public API only: net_pcap0 (rx_pcap=FILE) and net_null0 given with
 * --vdev; one lcore moves every packet from port 0 to port 1 in bursts of
 * 32 and times the whole file, first packet to last.
 *
 *   pcap_replay <EAL, --vdev net_pcap0,rx_pcap=F --vdev net_null0>
 *
 * Prints RESULT dpdk.pcap_replay.mpps. One replay per process (the file is
 * read once per probe); the caller runs it several times. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#define BURST 32
#define IDLE_POLLS 100000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int port_setup(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf conf = { 0 };

	if (rte_eth_dev_configure(port, 1, 1, &conf) < 0 ||
	    rte_eth_rx_queue_setup(port, 0, 512, rte_socket_id(), NULL, pool) < 0 ||
	    rte_eth_tx_queue_setup(port, 0, 512, rte_socket_id(), NULL) < 0 ||
	    rte_eth_dev_start(port) < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct rte_mbuf *pkts[BURST];
	struct rte_mempool *pool;
	uint64_t n = 0;
	double t0 = 0, t1 = 0;
	unsigned idle = 0;

	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	if (rte_eth_dev_count_avail() < 2) {
		fprintf(stderr, "need --vdev net_pcap0,rx_pcap=F --vdev net_null0\n");
		return 1;
	}
	pool = rte_pktmbuf_pool_create("pr_pool", 8191, 256, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (!pool || port_setup(0, pool) < 0 || port_setup(1, pool) < 0) {
		fprintf(stderr, "port set-up failed\n");
		return 1;
	}
	while (idle < IDLE_POLLS) {
		uint16_t nb = rte_eth_rx_burst(0, 0, pkts, BURST);

		if (nb == 0) {
			idle++;
			continue;
		}
		if (n == 0)
			t0 = now_s();
		n += nb;
		t1 = now_s();
		idle = 0;
		uint16_t sent = rte_eth_tx_burst(1, 0, pkts, nb);
		if (sent < nb)
			rte_pktmbuf_free_bulk(pkts + sent, nb - sent);
	}
	if (n == 0 || t1 <= t0) {
		printf("RESULT dpdk.pcap_replay.error=\"no packets\"\n");
		return 1;
	}
	printf("  %" PRIu64 " packets in %.3f s: %.2f Mpps\n", n, t1 - t0,
	       n / (t1 - t0) / 1e6);
	printf("RESULT dpdk.pcap_replay.mpps=%.2f\n", n / (t1 - t0) / 1e6);
	rte_eth_dev_stop(0);
	rte_eth_dev_stop(1);
	rte_eal_cleanup();
	return 0;
}
