/* SPDX-License-Identifier: BSD-3-Clause */
/* Forwarding engines in a primary run by the test itself: each mode moves
 * (or makes, or eats) packets on net_null ports and on a capturing test
 * driver, the threads follow hotplug, block when they have nothing to
 * poll, and give every buffer back. Assertions wait for counters to grow
 * (bounded) and never depend on speed. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hp_core.h"
#include "hp_fwd.h"
#include "hp_mbuf.h"
#include "hp_port.h"
#include "hp_port_driver.h"
#include "hp_test.h"

/* How long a counter may take to grow before the test fails (ms). */
#define WAIT_MS 5000

/* ThreadSanitizer keeps the default base (HP_SHM_DEFAULT_BASE, 32 TiB) for
 * itself and aborts ("mmap at bad address"); 64 GiB lies in the range it
 * leaves to the program. */
#if defined(__SANITIZE_THREAD__)
#define TEST_BASE 0x1000000000ULL
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_BASE 0x1000000000ULL
#endif
#endif
#ifndef TEST_BASE
#define TEST_BASE 0
#endif

/* ---- net_cap: receives nothing, keeps a copy of the last frame sent ---- */

static struct {
	pthread_mutex_t lock;
	uint64_t packets;
	uint16_t len;
	uint8_t frame[HP_FWD_TXONLY_LEN];
} cap = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint16_t cap_rx(void *q, struct hp_mbuf **pkts, uint16_t n)
{
	(void)q;
	(void)pkts;
	(void)n;
	return 0;
}

static uint16_t cap_tx(void *q, struct hp_mbuf **pkts, uint16_t n)
{
	struct hp_mbuf *last = pkts[n - 1];

	(void)q;
	pthread_mutex_lock(&cap.lock);
	cap.packets += n;
	cap.len = last->data_len;
	memcpy(cap.frame, hp_mbuf_data(last),
	       last->data_len < sizeof(cap.frame) ? last->data_len :
						    sizeof(cap.frame));
	pthread_mutex_unlock(&cap.lock);
	hp_mbuf_free_bulk(pkts, n);
	return n;
}

static int cap_probe(struct hp_port_dev *dev)
{
	static const uint8_t mac[6] = { 0x02, 0xca, 0xfe, 0, 0, 0 };

	memcpy(dev->info->mac, mac, sizeof(mac));
	dev->info->mac[5] = (uint8_t)dev->port_id;
	dev->info->nb_rx_queues = 1;
	dev->info->nb_tx_queues = 1;
	dev->info->link_up = 1;
	return 0;
}

static int cap_attach_local(struct hp_port_dev *dev, struct hp_port_fp *fp)
{
	fp->rx_burst = cap_rx;
	fp->tx_burst = cap_tx;
	fp->rxq[0] = &cap;
	fp->txq[0] = &cap;
	(void)dev;
	return 0;
}

static const struct hp_port_driver cap_driver = {
	.name = "net_cap",
	.detachable = true,
	.probe = cap_probe,
	.attach_local = cap_attach_local,
};
HP_PORT_DRIVER_REGISTER(cap_driver)

static uint64_t cap_packets(void)
{
	uint64_t n;

	pthread_mutex_lock(&cap.lock);
	n = cap.packets;
	pthread_mutex_unlock(&cap.lock);
	return n;
}

/* ---- net_excl: two queues that count how often two threads poll one ---- */

static struct {
	uint32_t inside[8][2];	/* threads in rx, by port id and queue */
	uint32_t overlaps;	/* times a second thread came in */
	uint64_t polls;
} excl;

static uint16_t excl_rx(void *q, struct hp_mbuf **pkts, uint16_t n)
{
	uint32_t *inside = q;

	(void)pkts;
	(void)n;
	if (__atomic_fetch_add(inside, 1, __ATOMIC_ACQ_REL) != 0)
		__atomic_fetch_add(&excl.overlaps, 1, __ATOMIC_RELAXED);
	/* stay a while, so that an overlap has time to happen */
	for (volatile int i = 0; i < 1000; i++)
		;
	__atomic_fetch_sub(inside, 1, __ATOMIC_ACQ_REL);
	__atomic_fetch_add(&excl.polls, 1, __ATOMIC_RELAXED);
	return 0;
}

static int excl_probe(struct hp_port_dev *dev)
{
	if (dev->port_id >= HP_ARRAY_SIZE(excl.inside))
		return -ENOSPC;
	dev->info->nb_rx_queues = 2;
	dev->info->nb_tx_queues = 2;
	return 0;
}

static int excl_attach_local(struct hp_port_dev *dev, struct hp_port_fp *fp)
{
	fp->rx_burst = excl_rx;
	fp->tx_burst = cap_rx;	/* takes nothing; never called */
	for (unsigned q = 0; q < 2; q++) {
		fp->rxq[q] = &excl.inside[dev->port_id][q];
		fp->txq[q] = &excl.inside[dev->port_id][q];
	}
	return 0;
}

static const struct hp_port_driver excl_driver = {
	.name = "net_excl",
	.detachable = true,
	.probe = excl_probe,
	.attach_local = excl_attach_local,
};
HP_PORT_DRIVER_REGISTER(excl_driver)

/* ---- helpers ---- */

static char prefix[64];
static struct hp_mempool *pool;

static int setup(void **state)
{
	struct hp_core_opts o = { .role = HP_ROLE_PRIMARY, .prefix = prefix,
				  .no_huge = true, .timeout_ms = 2000,
				  .mem_size = 128u << 20,
				  .base_virtaddr = TEST_BASE };

	(void)state;
	hp_test_prefix(prefix, sizeof(prefix), "fwd");
	if (hp_core_init(&o, NULL, 0) < 0 ||
	    hp_mempool_lookup(hp_core_shm(), HP_CORE_POOL_NAME, &pool) < 0)
		return -1;
	pthread_mutex_lock(&cap.lock);
	cap.packets = 0;
	cap.len = 0;
	pthread_mutex_unlock(&cap.lock);
	/* the set-up is per process: back to the defaults */
	if (hp_fwd_set_mode(HP_FWD_IO) < 0 ||
	    hp_fwd_set_burst(HP_FWD_BURST_DEFAULT) < 0 ||
	    hp_fwd_set_lcores(NULL) < 0 || hp_fwd_set_ports("all") < 0 ||
	    hp_fwd_set_queues("0") < 0 || hp_fwd_set_pool(NULL) < 0 ||
	    hp_fwd_set_topology(HP_FWD_TOPO_PAIRED) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (hp_fwd_running())
		hp_fwd_stop(NULL);
	hp_core_fini();
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static struct hp_port_stats port_stats(uint16_t id)
{
	struct hp_port_stats st;

	assert_int_equal(hp_port_stats_get(id, &st), 0);
	return st;
}

/* Attaches and starts devargs; returns the port id. Its counters start
 * at 0 (never reset here: a forwarding thread may already poll it). */
static uint16_t port_up(const char *devargs)
{
	uint16_t id;

	assert_int_equal(hp_port_attach(devargs, &id), 0);
	assert_int_equal(port_stats(id).ipackets, 0);
	assert_int_equal(hp_port_start(id), 0);
	return id;
}

/* Waits until port id has received (rx) or sent (!rx) more than min
 * packets; fails the test after WAIT_MS. */
static void wait_port(uint16_t id, bool rx, uint64_t min)
{
	for (int ms = 0; ms < WAIT_MS; ms += 10) {
		struct hp_port_stats st = port_stats(id);

		if ((rx ? st.ipackets : st.opackets) > min)
			return;
		sleep_ms(10);
	}
	fail_msg("port %u: %s did not pass %llu in %d ms", id,
		 rx ? "rx" : "tx", (unsigned long long)min, WAIT_MS);
}

static void wait_cap(uint64_t min)
{
	for (int ms = 0; ms < WAIT_MS && cap_packets() <= min; ms += 10)
		sleep_ms(10);
	assert_true(cap_packets() > min);
}

static struct hp_fwd_port_stats fwd_port(uint16_t id)
{
	struct hp_fwd_port_stats st;

	assert_int_equal(hp_fwd_port_stats_get(id, &st), 0);
	return st;
}

static unsigned fwd_streams(void)
{
	struct hp_fwd_info info;

	assert_int_equal(hp_fwd_info_get(&info), 0);
	return info.nb_streams;
}

/* The thread ids of this process's forwarding threads (named hp-fwd-N). */
static unsigned fwd_tids(pid_t *tids, unsigned max)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) && n < max) {
		char path[300], comm[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "hp-fwd-", 7))
			tids[n++] = (pid_t)atoi(e->d_name);
		fclose(f);
	}
	closedir(d);
	return n;
}

/* A thread's state letter and CPU time (user + system, in clock ticks). */
static unsigned long thread_ticks(pid_t tid, char *ret_state)
{
	char path[64], buf[1024], *p;
	unsigned long utime = 0, stime = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	/* after "pid (comm) ": state is field 3, utime 14, stime 15 */
	p = strrchr(buf, ')');
	assert_non_null(p);
	assert_int_equal(sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u "
				"%*u %*u %lu %lu", ret_state, &utime, &stime),
			 3);
	return utime + stime;
}

/* Forwards on the first two cores this process may use (one if it has
 * one); returns how many. */
static unsigned use_two_cores(void)
{
	char lcores[32] = "";
	unsigned nb = 0;
	cpu_set_t mine;

	assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
	for (int cpu = 0; cpu < CPU_SETSIZE && nb < 2; cpu++)
		if (CPU_ISSET(cpu, &mine))
			snprintf(lcores + strlen(lcores),
				 sizeof(lcores) - strlen(lcores), "%s%d",
				 nb++ ? "," : "", cpu);
	assert_int_equal(hp_fwd_set_lcores(lcores), 0);
	return nb;
}

/* rx of one port == what its partner sent plus dropped, in both ways. */
static void assert_pair_balanced(uint16_t a, uint16_t b)
{
	struct hp_fwd_port_stats sa = fwd_port(a), sb = fwd_port(b);

	assert_int_equal(sa.rx_packets, sb.tx_packets + sb.tx_dropped);
	assert_int_equal(sb.rx_packets, sa.tx_packets + sa.tx_dropped);
}

/* ---- tests ---- */

static void test_fwd_io_moves_packets(void **state)
{
	unsigned avail = hp_mempool_avail(pool);
	struct hp_fwd_stats st;
	uint16_t p0, p1;

	(void)state;
	p0 = port_up("net_null0");
	p1 = port_up("net_null1");
	assert_int_equal(hp_fwd_start(), 0);
	assert_true(hp_fwd_running());
	assert_int_equal(fwd_streams(), 2);
	wait_port(p0, true, 1000);
	wait_port(p1, true, 1000);
	wait_port(p0, false, 1000);
	assert_int_equal(hp_fwd_stop(&st), 0);
	assert_false(hp_fwd_running());

	assert_int_equal(st.nb_ports, 2);
	assert_true(st.total.rx_packets > 2000);
	assert_int_equal(st.total.rx_packets,
			 st.total.tx_packets + st.total.tx_dropped);
	assert_pair_balanced(p0, p1);
	/* the ports' own counters saw the same packets */
	assert_int_equal(port_stats(p0).ipackets, fwd_port(p0).rx_packets);
	assert_int_equal(port_stats(p1).opackets, fwd_port(p1).tx_packets);
	assert_int_equal(port_stats(p0).opackets, fwd_port(p0).tx_packets);
	assert_int_equal(hp_mempool_avail(pool), avail);
	/* a port that took no part has no counters */
	struct hp_fwd_port_stats none;
	assert_int_equal(hp_fwd_port_stats_get(7, &none), -ENOENT);
	assert_int_equal(hp_fwd_port_stats_get(HP_MAX_PORTS, &none), -EINVAL);
}

/* start while running and stop while stopped are refused (-EALREADY) and
 * change nothing; so are set-up changes that need a restart. */
static void test_fwd_start_stop_twice_refused(void **state)
{
	struct hp_fwd_port_stats ps;
	struct hp_fwd_info info;

	(void)state;
	assert_int_equal(hp_fwd_stop(NULL), -EALREADY);
	port_up("net_null0");
	assert_int_equal(hp_fwd_start(), 0);
	assert_int_equal(hp_fwd_start(), -EALREADY);
	assert_true(hp_fwd_running());
	assert_int_equal(hp_fwd_set_mode(HP_FWD_MAC), -EBUSY);
	assert_int_equal(hp_fwd_set_burst(64), -EBUSY);
	assert_int_equal(hp_fwd_set_lcores("0"), -EBUSY);
	assert_int_equal(hp_fwd_set_pool(NULL), -EBUSY);
	assert_int_equal(hp_fwd_port_stats_get(0, &ps), -EBUSY);
	assert_int_equal(hp_fwd_info_get(&info), 0);
	assert_true(info.running);
	assert_int_equal(info.mode, HP_FWD_IO);
	assert_int_equal(info.nb_streams, 1);
	assert_int_equal(hp_fwd_stop(NULL), 0);
	assert_int_equal(hp_fwd_stop(NULL), -EALREADY);
	assert_false(hp_fwd_running());
	assert_int_equal(hp_fwd_info_get(&info), 0);
	assert_false(info.running);
	assert_int_equal(info.nb_streams, 0);
	/* and it starts again */
	assert_int_equal(hp_fwd_start(), 0);
	assert_int_equal(hp_fwd_stop(NULL), 0);
}

static void test_fwd_rxonly_receives_and_frees(void **state)
{
	unsigned avail = hp_mempool_avail(pool);
	struct hp_fwd_stats st;
	uint16_t p0, p1;

	(void)state;
	p0 = port_up("net_null0");
	p1 = port_up("net_null1");
	assert_int_equal(hp_fwd_set_mode(HP_FWD_RXONLY), 0);
	assert_int_equal(hp_fwd_set_burst(8), 0);
	assert_int_equal(hp_fwd_start(), 0);
	wait_port(p0, true, 500);
	wait_port(p1, true, 500);
	assert_int_equal(hp_fwd_stop(&st), 0);
	assert_true(st.total.rx_packets > 1000);
	assert_int_equal(st.total.tx_packets, 0);
	assert_int_equal(st.total.tx_dropped, 0);
	assert_int_equal(port_stats(p0).opackets, 0);
	assert_int_equal(port_stats(p1).opackets, 0);
	assert_int_equal(port_stats(p0).ipackets, fwd_port(p0).rx_packets);
	assert_int_equal(hp_mempool_avail(pool), avail);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void test_fwd_txonly_sends_udp_frames(void **state)
{
	unsigned avail = hp_mempool_avail(pool);
	struct hp_port_info info;
	struct hp_fwd_stats st;
	uint8_t f[HP_FWD_TXONLY_LEN];
	uint32_t sum = 0;
	uint16_t id;

	(void)state;
	/* alone, the port is its own partner */
	id = port_up("net_cap0");
	assert_int_equal(hp_port_info_get(id, &info), 0);
	assert_int_equal(hp_fwd_set_mode(HP_FWD_TXONLY), 0);
	assert_int_equal(hp_fwd_start(), 0);
	wait_cap(1000);
	assert_int_equal(hp_fwd_stop(&st), 0);

	assert_int_equal(st.total.rx_packets, 0);
	assert_int_equal(st.total.tx_packets, cap_packets());
	assert_int_equal(fwd_port(id).tx_packets, cap_packets());
	assert_int_equal(cap.len, HP_FWD_TXONLY_LEN);
	memcpy(f, cap.frame, sizeof(f));
	assert_memory_equal(f, ((uint8_t[]){ 2, 0, 0, 0, 0, (uint8_t)id }), 6);
	assert_memory_equal(f + 6, info.mac, 6);
	assert_int_equal(get16(f + 12), 0x0800);
	assert_int_equal(f[14], 0x45);
	assert_int_equal(get16(f + 16), HP_FWD_TXONLY_LEN - 14);
	assert_int_equal(f[23], 17);
	for (unsigned i = 14; i < 34; i += 2)
		sum += get16(f + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(sum, 0xffff);	/* the IPv4 checksum holds */
	assert_memory_equal(f + 26, ((uint8_t[]){ 198, 18, 0, 1, 198, 18, 0, 2 }),
			    8);
	assert_int_equal(get16(f + 34), 9);
	assert_int_equal(get16(f + 36), 9);
	assert_int_equal(get16(f + 38), HP_FWD_TXONLY_LEN - 34);
	assert_int_equal(hp_mempool_avail(pool), avail);
}

/* mac: source = the transmit port's MAC, destination 02:00:00:00:00:<id>. */
static void test_fwd_mac_rewrites_addresses(void **state)
{
	unsigned avail = hp_mempool_avail(pool);
	struct hp_port_info info;
	uint16_t null_id, cap_id;

	(void)state;
	null_id = port_up("net_null0,size=60");
	cap_id = port_up("net_cap0");
	assert_int_equal(hp_port_info_get(cap_id, &info), 0);
	assert_int_equal(hp_fwd_set_mode(HP_FWD_MAC), 0);
	assert_int_equal(hp_fwd_start(), 0);
	wait_cap(1000);
	assert_int_equal(hp_fwd_stop(NULL), 0);
	assert_int_equal(cap.len, 60);
	assert_memory_equal(cap.frame,
			    ((uint8_t[]){ 2, 0, 0, 0, 0, (uint8_t)cap_id }), 6);
	assert_memory_equal(cap.frame + 6, info.mac, 6);
	assert_pair_balanced(null_id, cap_id);
	assert_int_equal(fwd_port(cap_id).tx_packets, cap_packets());
	assert_int_equal(hp_mempool_avail(pool), avail);
}

/* A port detached while forwarding runs leaves the streams (the threads
 * go on with the rest); one attached joins them. */
static void test_fwd_follows_hotplug(void **state)
{
	unsigned avail = hp_mempool_avail(pool);
	struct hp_fwd_stats st;
	uint16_t p0, p1, p2;
	uint64_t tx0;
	pid_t tids[4];

	(void)state;
	p0 = port_up("net_null0");
	p1 = port_up("net_null1");
	assert_int_equal(hp_fwd_start(), 0);
	assert_int_equal(fwd_tids(tids, 4), 1);
	wait_port(p1, false, 100);

	/* detach: stop first (a started port cannot be detached) */
	assert_int_equal(hp_port_stop(p1), 0);
	assert_int_equal(hp_port_detach(p1, NULL, 0), 0);
	assert_int_equal(fwd_streams(), 1);	/* p0 forwards to itself */
	tx0 = port_stats(p0).opackets;
	wait_port(p0, false, tx0 + 100);
	assert_int_equal(fwd_tids(tids, 4), 1);

	/* attach: joins the streams, paired with p0 */
	p2 = port_up("net_null2");
	assert_int_equal(fwd_streams(), 2);
	wait_port(p2, true, 100);
	wait_port(p2, false, 100);
	assert_true(hp_fwd_running());
	assert_int_equal(hp_fwd_stop(&st), 0);
	assert_int_equal(st.total.rx_packets,
			 st.total.tx_packets + st.total.tx_dropped);
	assert_true(fwd_port(p0).rx_packets > 0);
	assert_true(fwd_port(p2).tx_packets > 0);
	assert_int_equal(hp_mempool_avail(pool), avail);
}

/* Regression: after a port's queues were reconfigured, forwarding kept
 * its old streams and never polled the new queue. */
static void test_fwd_follows_reconfiguration(void **state)
{
	struct hp_port_stats st;
	uint16_t p0;

	(void)state;
	p0 = port_up("net_null0,queues=2");
	assert_int_equal(hp_port_stop(p0), 0);
	assert_int_equal(hp_port_configure(p0, 1, 1), 0);
	assert_int_equal(hp_port_start(p0), 0);
	assert_int_equal(hp_fwd_set_queues("0-1"), 0);
	assert_int_equal(hp_fwd_start(), 0);
	assert_int_equal(fwd_streams(), 1);
	assert_int_equal(hp_port_stop(p0), 0);
	assert_int_equal(hp_port_configure(p0, 2, 2), 0);
	assert_int_equal(fwd_streams(), 2);
	assert_int_equal(hp_port_start(p0), 0);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(hp_port_stats_get(p0, &st), 0);
		if (st.q_ipackets[1] > 0)
			break;
		poll(NULL, 0, 10);
	}
	assert_true(st.q_ipackets[1] > 0);
	assert_int_equal(hp_fwd_stop(NULL), 0);
}

/* Each topology on three ports: the port each one transmits to (-1:
 * none), as the counters of a run show it. */
static void test_fwd_topologies(void **state)
{
	static const int partner[HP_FWD_NB_TOPOLOGIES][3] = {
		[HP_FWD_TOPO_PAIRED] = { 1, 0, 2 },
		[HP_FWD_TOPO_CHAINED] = { 1, 2, 0 },
		[HP_FWD_TOPO_LOOP] = { 0, 1, 2 },
		[HP_FWD_TOPO_ONEWAY] = { 1, 2, -1 },
	};
	struct hp_fwd_port_stats st[3];
	uint16_t p[3];

	(void)state;
	p[0] = port_up("net_null0");
	p[1] = port_up("net_null1");
	p[2] = port_up("net_null2");
	for (int t = 0; t < HP_FWD_NB_TOPOLOGIES; t++) {
		for (int i = 0; i < 3; i++)
			assert_int_equal(hp_port_stats_reset(p[i]), 0);
		assert_int_equal(hp_fwd_set_topology(t), 0);
		assert_int_equal(hp_fwd_start(), 0);
		assert_int_equal(fwd_streams(), t == HP_FWD_TOPO_ONEWAY ? 2 : 3);
		for (int i = 0; i < 3; i++)
			if (partner[t][i] >= 0)
				wait_port(p[partner[t][i]], false, 100);
		assert_int_equal(hp_fwd_stop(NULL), 0);
		for (int i = 0; i < 3; i++)
			st[i] = fwd_port(p[i]);
		for (int q = 0; q < 3; q++) {
			uint64_t in = 0;

			for (int i = 0; i < 3; i++)
				if (partner[t][i] == q)
					in += st[i].rx_packets;
			assert_int_equal(st[q].tx_packets + st[q].tx_dropped, in);
			assert_int_equal(st[q].rx_packets > 0, partner[t][q] >= 0);
			assert_int_equal(port_stats(p[q]).ipackets, st[q].rx_packets);
			assert_int_equal(port_stats(p[q]).opackets, st[q].tx_packets);
		}
	}
	/* a change applies at once */
	assert_int_equal(hp_fwd_start(), 0);
	assert_int_equal(hp_fwd_set_topology(HP_FWD_TOPO_PAIRED), 0);
	assert_int_equal(fwd_streams(), 3);
	assert_int_equal(hp_fwd_set_ports("1-2"), 0);
	assert_int_equal(hp_fwd_set_topology(HP_FWD_TOPO_ONEWAY), 0);
	assert_int_equal(fwd_streams(), 1);
	assert_int_equal(hp_fwd_stop(NULL), 0);
}

/* oneway through a net_ring port that loops back: a two-stage pipeline
 * in one process (null -> ring -> null, two queues). Every packet that
 * came in went out, was dropped, or is still in the ring. */
static void test_fwd_oneway_through_a_ring(void **state)
{
	unsigned avail = hp_mempool_avail(pool);
	struct hp_fwd_port_stats in, mid, out;
	struct hp_port_stats ring;
	uint16_t p_in, p_ring, p_out;
	uint64_t left;

	(void)state;
	p_in = port_up("net_null0,queues=2");
	p_ring = port_up("net_ring0,queues=2,size=256");
	p_out = port_up("net_null1,queues=2");
	assert_int_equal(hp_fwd_set_topology(HP_FWD_TOPO_ONEWAY), 0);
	assert_int_equal(hp_fwd_set_queues("0-1"), 0);
	assert_int_equal(hp_fwd_start(), 0);
	assert_int_equal(fwd_streams(), 4);
	wait_port(p_out, false, 1000);
	assert_int_equal(hp_fwd_stop(NULL), 0);
	in = fwd_port(p_in);
	mid = fwd_port(p_ring);
	out = fwd_port(p_out);
	ring = port_stats(p_ring);
	assert_int_equal(in.tx_packets + in.tx_dropped, 0);
	assert_int_equal(out.rx_packets, 0);
	assert_int_equal(mid.tx_packets + mid.tx_dropped, in.rx_packets);
	assert_int_equal(out.tx_packets + out.tx_dropped, mid.rx_packets);
	assert_int_equal(ring.opackets, mid.tx_packets);
	assert_int_equal(ring.ipackets, mid.rx_packets);
	left = ring.opackets - ring.ipackets;
	assert_int_equal(in.rx_packets, out.tx_packets + mid.tx_dropped +
						out.tx_dropped + left);
	assert_int_equal(hp_mempool_avail(pool) + left, avail);
}

/* A thread with nothing to poll sleeps: its CPU time does not grow. */
static void assert_threads_sleep(unsigned nb)
{
	unsigned long before[8], after;
	pid_t tids[8];
	char s;

	assert_int_equal(fwd_tids(tids, 8), nb);
	/* let it reach its wait, then measure */
	for (int ms = 0; ms < WAIT_MS; ms += 10) {
		bool all = true;
		for (unsigned i = 0; i < nb; i++) {
			before[i] = thread_ticks(tids[i], &s);
			all &= s == 'S';
		}
		if (all)
			break;
		sleep_ms(10);
	}
	sleep_ms(300);
	for (unsigned i = 0; i < nb; i++) {
		after = thread_ticks(tids[i], &s);
		assert_int_equal(s, 'S');
		/* a spinning thread would have taken ~30 ticks */
		if (after - before[i] > 2)
			fail_msg("thread %d took %lu ticks with nothing to do",
				 (int)tids[i], after - before[i]);
	}
}

static void test_fwd_no_streams_no_spin(void **state)
{
	uint16_t p0, p1;

	(void)state;
	/* no port at all */
	assert_int_equal(hp_fwd_start(), 0);
	assert_int_equal(fwd_streams(), 0);
	assert_threads_sleep(1);
	/* a port wakes it */
	p0 = port_up("net_null0");
	assert_int_equal(fwd_streams(), 1);
	wait_port(p0, false, 100);
	/* ports that are not chosen do not */
	assert_int_equal(hp_fwd_set_ports("5-6"), 0);
	assert_int_equal(fwd_streams(), 0);
	p1 = port_up("net_null1");
	assert_int_equal(fwd_streams(), 0);
	assert_threads_sleep(1);
	assert_int_equal(port_stats(p1).ipackets, 0);
	/* choosing them again does */
	assert_int_equal(hp_fwd_set_ports("0-1"), 0);
	assert_int_equal(fwd_streams(), 2);
	wait_port(p1, false, 100);
	assert_int_equal(hp_fwd_stop(NULL), 0);
	assert_true(fwd_port(p1).rx_packets > 0);
}

/* One pinned thread per core of the list, streams shared out, each
 * transmit queue used by one thread. */
static void test_fwd_threads_pinned_queues_split(void **state)
{
	unsigned avail = hp_mempool_avail(pool), nb;
	struct hp_fwd_info info;
	pid_t tids[8];
	uint16_t p0, p1;

	(void)state;
	nb = use_two_cores();
	p0 = port_up("net_null0,queues=2");
	p1 = port_up("net_null1,queues=2");
	assert_int_equal(hp_fwd_set_queues("0-1"), 0);
	assert_int_equal(hp_fwd_start(), 0);
	assert_int_equal(hp_fwd_info_get(&info), 0);
	assert_int_equal(info.nb_threads, nb);
	assert_int_equal(info.nb_streams, 4);
	assert_string_equal(info.queues, "0-1");
	assert_string_equal(info.active, "0-1");
	assert_int_equal(fwd_tids(tids, 8), nb);
	for (unsigned i = 0; i < nb; i++) {
		cpu_set_t set;

		assert_int_equal(sched_getaffinity(tids[i], sizeof(set), &set), 0);
		assert_int_equal(CPU_COUNT(&set), 1);
	}
	wait_port(p0, false, 1000);
	wait_port(p1, false, 1000);
	/* queue 1 only: half the streams */
	assert_int_equal(hp_fwd_set_queues("1"), 0);
	assert_int_equal(fwd_streams(), 2);
	assert_int_equal(hp_fwd_stop(NULL), 0);
	assert_pair_balanced(p0, p1);
	assert_int_equal(hp_mempool_avail(pool), avail);
}

/* Regression: a rebuild moves streams between threads (here queue 1 of
 * port 0 goes back and forth between the two threads); a thread must not
 * poll a queue before the one that had it has let go. */
static void test_fwd_queue_never_polled_by_two_threads(void **state)
{
	(void)state;
	use_two_cores();
	port_up("net_excl0");
	port_up("net_excl1");
	assert_int_equal(hp_fwd_set_queues("0-1"), 0);
	assert_int_equal(hp_fwd_start(), 0);
	for (int i = 0; i < 200; i++) {
		uint64_t polls = __atomic_load_n(&excl.polls, __ATOMIC_RELAXED);

		assert_int_equal(hp_fwd_set_queues(i % 2 ? "0-1" : "1"), 0);
		/* until the threads poll again, bounded */
		for (int ms = 0; ms < WAIT_MS &&
		     __atomic_load_n(&excl.polls, __ATOMIC_RELAXED) < polls + 8;
		     ms++)
			sleep_ms(1);
	}
	assert_int_equal(hp_fwd_stop(NULL), 0);
	assert_int_equal(__atomic_load_n(&excl.overlaps, __ATOMIC_RELAXED), 0);
}

static void test_fwd_setup_checks(void **state)
{
	uint64_t bits[HP_FWD_BITS_WORDS(100)];
	static const struct {
		const char *list;
		int res;
	} lists[] = {
		{ "0", 0 }, { "99", 0 }, { "0,2-5,7", 0 }, { "3-3", 0 },
		{ "007", 0 }, { "", -EINVAL }, { ",", -EINVAL },
		{ "1,", -EINVAL }, { "1-", -EINVAL }, { "-1", -EINVAL },
		{ "1--2", -EINVAL }, { "a", -EINVAL }, { "1 2", -EINVAL },
		{ "+1", -EINVAL }, { "100", -ERANGE }, { "5-2", -EINVAL },
		{ "0-100", -ERANGE }, { "99999999999999999999", -ERANGE },
	};
	struct hp_fwd_info info;

	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(lists); i++) {
		memset(bits, 0xa5, sizeof(bits));
		if (hp_fwd_list_parse(lists[i].list, 100, bits) != lists[i].res)
			fail_msg("list '%s'", lists[i].list);
		if (lists[i].res < 0)
			assert_int_equal(bits[0], 0xa5a5a5a5a5a5a5a5ull);
	}
	assert_int_equal(hp_fwd_list_parse("0,2-5,64", 100, bits), 0);
	assert_int_equal(bits[0], 0x3dull);
	assert_int_equal(bits[1], 1);
	assert_int_equal(hp_fwd_list_parse(NULL, 100, bits), -EINVAL);

	assert_int_equal(hp_fwd_mode_parse("txonly"), HP_FWD_TXONLY);
	assert_int_equal(hp_fwd_mode_parse("macswap"), -EINVAL);
	assert_string_equal(hp_fwd_mode_name(HP_FWD_RXONLY), "rxonly");
	assert_null(hp_fwd_mode_name(HP_FWD_NB_MODES));
	assert_int_equal(hp_fwd_topology_parse("oneway"), HP_FWD_TOPO_ONEWAY);
	assert_int_equal(hp_fwd_topology_parse("paired"), HP_FWD_TOPO_PAIRED);
	assert_int_equal(hp_fwd_topology_parse("ring"), -EINVAL);
	assert_int_equal(hp_fwd_topology_parse(NULL), -EINVAL);
	assert_string_equal(hp_fwd_topology_name(HP_FWD_TOPO_CHAINED), "chained");
	assert_null(hp_fwd_topology_name(HP_FWD_NB_TOPOLOGIES));
	assert_int_equal(hp_fwd_set_topology(HP_FWD_NB_TOPOLOGIES), -EINVAL);
	assert_int_equal(hp_fwd_set_topology(HP_FWD_TOPO_LOOP), 0);
	assert_int_equal(hp_fwd_set_mode(HP_FWD_NB_MODES), -EINVAL);
	assert_int_equal(hp_fwd_set_burst(0), -EINVAL);
	assert_int_equal(hp_fwd_set_burst(HP_FWD_BURST_MAX + 1), -EINVAL);
	assert_int_equal(hp_fwd_set_burst(HP_FWD_BURST_MAX), 0);
	assert_int_equal(hp_fwd_set_lcores("x"), -EINVAL);
	assert_int_equal(hp_fwd_set_lcores("1023"), -ERANGE);
	assert_int_equal(hp_fwd_set_lcores("5000"), -ERANGE);
	assert_int_equal(hp_fwd_set_ports("all,1"), -EINVAL);
	assert_int_equal(hp_fwd_set_ports("70000"), -ERANGE);
	assert_int_equal(hp_fwd_set_queues(NULL), -EINVAL);
	assert_int_equal(hp_fwd_set_queues("16"), -ERANGE);
	assert_int_equal(hp_fwd_set_ports("0,2-4"), 0);
	assert_int_equal(hp_fwd_set_queues("0-3"), 0);
	assert_int_equal(hp_fwd_info_get(&info), 0);
	assert_string_equal(info.ports, "0,2-4");
	assert_false(info.ports_all);
	assert_string_equal(info.queues, "0-3");
	assert_string_equal(info.lcores, "");
	assert_int_equal(info.nb_threads, 1);
	assert_int_equal(info.burst, HP_FWD_BURST_MAX);
	assert_int_equal(info.topology, HP_FWD_TOPO_LOOP);
	assert_false(info.running);
	assert_int_equal(hp_fwd_info_get(NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fwd_io_moves_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fwd_follows_reconfiguration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fwd_start_stop_twice_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fwd_rxonly_receives_and_frees, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fwd_txonly_sends_udp_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fwd_mac_rewrites_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fwd_follows_hotplug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fwd_topologies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fwd_oneway_through_a_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fwd_no_streams_no_spin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fwd_threads_pinned_queues_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fwd_queue_never_polled_by_two_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fwd_setup_checks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
