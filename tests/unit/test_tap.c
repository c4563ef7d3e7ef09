/* SPDX-License-Identifier: BSD-3-Clause */
/* net_tap across real processes: the kernel sees the interface, with the MAC
 * the port reports; frames go both ways between the kernel and any process;
 * multi-queue; an existing persistent TAP is taken and given back; TCP
 * between two network namespaces through two ports, the kernel's large
 * (GSO) frames passed through whole; detach leaves no interface and no fd
 * in any process; bad devargs leave nothing. The test process is the
 * primary; secondaries are this binary re-executed with --child
 * (hp_test_child.h). Needs root (CAP_NET_ADMIN): skipped otherwise. */
#include <sched.h>

#include "test_tap.h"

/* ---- the secondary side ---- */

/* Open fds of this process on /dev/net/tun: TAP queues. */
static unsigned count_tun_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	char path[300], target[64];
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len > 0) {
			target[len] = '\0';
			n += !strcmp(target, "/dev/net/tun");
		}
	}
	closedir(d);
	return n;
}

/* txf PORT Q SEED K LEN SEGS: sends test frame k of LEN bytes, in a chain
 * of SEGS buffers, on tx queue Q; "ok SENT". */
static void tap_child_txf(uint16_t p, uint16_t q, unsigned seed, unsigned k,
			  unsigned len, unsigned nsegs)
{
	static uint8_t f[FRAME_MAX];
	struct hp_mbuf *segs[16];
	unsigned off = 0;
	uint16_t sent;

	if (nsegs < 1 || nsegs > 16 || len > FRAME_MAX ||
	    hp_mbuf_alloc_bulk(child_pool("hp_pool_default"), segs, nsegs) < 0) {
		printf("err bad txf\n");
		return;
	}
	frame_fill(f, len, seed, k);
	for (unsigned i = 0; i < nsegs; i++) {
		unsigned part = i == nsegs - 1 ? len - off : len / nsegs;

		memcpy(hp_mbuf_data(segs[i]), f + off, part);
		segs[i]->data_len = (uint16_t)part;
		segs[i]->pkt_len = part;
		off += part;
		if (i)
			hp_mbuf_chain(segs[0], segs[i]);
	}
	hp_rcu_thread_online();
	sent = hp_port_tx_burst(p, q, segs, 1);
	hp_rcu_quiescent();
	hp_rcu_thread_offline();
	if (!sent)
		hp_mbuf_free(segs[0]);
	printf("ok %u\n", sent);
}

/* rxf PORT NQ SEED LEN COUNT: polls rx queues 0..NQ-1 for up to 5 s until
 * COUNT intact test frames of LEN bytes came (other frames are skipped);
 * "ok TOTAL Q0 .. QNQ-1", or "err ..." on a bad frame. */
static void tap_child_rxf(uint16_t p, unsigned nq, unsigned seed, unsigned len,
			  unsigned count)
{
	static uint8_t f[FRAME_MAX];
	unsigned per_q[HP_PORT_MAX_QUEUES] = { 0 }, total = 0;
	time_t end = time(NULL) + 5;
	struct hp_mbuf *pkts[32];
	char bad[128] = "";

	hp_rcu_thread_online();
	while (total < count && !bad[0] && time(NULL) < end) {
		unsigned got_all = 0;

		for (uint16_t q = 0; q < nq && q < HP_PORT_MAX_QUEUES; q++) {
			uint16_t got = hp_port_rx_burst(p, q, pkts, 32);

			for (uint16_t i = 0; i < got; i++) {
				const struct hp_mbuf *m = pkts[i];
				uint32_t n = hp_mbuf_read(m, 0, f, sizeof(f)), k;

				if (!frame_is_test(f, n))
					continue;
				if (n != len || m->pkt_len != n || m->port != p ||
				    m->queue != q || !frame_check(f, n, seed, &k))
					snprintf(bad, sizeof(bad),
						 "err frame of %u bytes (%u segments) on queue %u", n,
						 m->nb_segs, q);
				else
					per_q[q]++, total++;
			}
			hp_mbuf_free_bulk(pkts, got);
			got_all += got;
		}
		hp_rcu_quiescent();
		if (!got_all)
			usleep(100);
	}
	hp_rcu_thread_offline();
	if (bad[0]) {
		printf("%s\n", bad);
		return;
	}
	printf("ok %u", total);
	for (unsigned q = 0; q < nq; q++)
		printf(" %u", per_q[q]);
	printf("\n");
}

/* fwd A B: forwards queue 0 of port A to port B and back until a line
 * comes on stdin; "ok FRAMES GSO MAXLEN MAXSEGS": frames moved, of which
 * with GSO metadata, the longest and the most segments seen. */
static void tap_child_fwd(uint16_t a, uint16_t b)
{
	unsigned long frames = 0, gso = 0, maxlen = 0, maxsegs = 0;
	const uint16_t ports[2] = { a, b };
	struct hp_mbuf *pkts[32];

	hp_rcu_thread_online();
	for (;;) {
		struct pollfd pf = { .fd = 0, .events = POLLIN };
		unsigned moved = 0;

		if (poll(&pf, 1, 0) > 0)
			break;
		for (int d = 0; d < 2; d++) {
			uint16_t got = hp_port_rx_burst(ports[d], 0, pkts, 32);
			uint16_t sent;

			for (uint16_t i = 0; i < got; i++) {
				const struct hp_mbuf *m = pkts[i];

				gso += (m->ol_flags & HP_MBUF_F_OFFLOAD) &&
				       m->offload.gso_type != HP_MBUF_GSO_NONE;
				maxlen = m->pkt_len > maxlen ? m->pkt_len : maxlen;
				maxsegs = m->nb_segs > maxsegs ? m->nb_segs : maxsegs;
			}
			sent = hp_port_tx_burst(ports[!d], 0, pkts, got);
			hp_mbuf_free_bulk(pkts + sent, got - sent);
			frames += got;
			moved += got;
		}
		hp_rcu_quiescent();
		if (!moved) {
			hp_rcu_thread_offline();
			usleep(50);
			hp_rcu_thread_online();
		}
	}
	hp_rcu_thread_offline();
	printf("ok %lu %lu %lu %lu\n", frames, gso, maxlen, maxsegs);
}

static bool tap_child_cmd(const char *line)
{
	unsigned p, q, seed, k, len, n;

	if (!strcmp(line, "nfds"))
		printf("ok %u\n", count_fds());
	else if (!strcmp(line, "ntun"))
		printf("ok %u\n", count_tun_fds());
	else if (!strcmp(line, "end"))
		printf("ok\n");
	else if (sscanf(line, "txf %u %u %u %u %u %u", &p, &q, &seed, &k, &len, &n) == 6)
		tap_child_txf((uint16_t)p, (uint16_t)q, seed, k, len, n);
	else if (sscanf(line, "rxf %u %u %u %u %u", &p, &q, &seed, &len, &n) == 5)
		tap_child_rxf((uint16_t)p, q, seed, len, n);
	else if (sscanf(line, "fwd %u %u", &p, &q) == 2)
		tap_child_fwd((uint16_t)p, (uint16_t)q);
	else
		return false;
	return true;
}

static char ifa[IFNAMSIZ], ifb[IFNAMSIZ];	/* interface names of this run */
static char nsa[32], nsb[32];			/* network namespaces */

static unsigned child_nfds(struct child *c)
{
	char buf[64];
	unsigned n = 0;

	assert_int_equal(sscanf(child_cmd(c, buf, sizeof(buf), "nfds"), "ok %u", &n), 1);
	return n;
}

static int setup(void **state)
{
	(void)state;
	snprintf(ifa, sizeof(ifa), "hpt%da", (int)getpid());
	snprintf(ifb, sizeof(ifb), "hpt%db", (int)getpid());
	snprintf(nsa, sizeof(nsa), "hpt%da", (int)getpid());
	snprintf(nsb, sizeof(nsb), "hpt%db", (int)getpid());
	return primary_setup("tap");
}

/* Whatever a failed test left: namespaces and persistent TAPs. */
static int teardown(void **state)
{
	char cmd[256];

	primary_teardown(state);
	snprintf(cmd, sizeof(cmd),
		 "ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null; ip link del %s 2>/dev/null; ip link del %s 2>/dev/null",
		 nsa, nsb, ifa, ifb);
	if (system(cmd) < 0)
		return -1;
	return 0;
}

/* ---- tests ---- */

static void test_tap_kernel_sees_port_in_every_process(void **state)
{
	struct child a, b;
	struct hp_port_stats st;
	struct hp_port_info info;
	char buf[256], name[IFNAMSIZ], want[64];
	unsigned base, a0, b0;
	unsigned long rx0;
	uint8_t mac[6];
	int ps;

	(void)state;
	child_start_env(&a, NULL, NULL);
	child_start_env(&b, NULL, NULL);
	base = count_fds();
	a0 = child_nfds(&a);
	b0 = child_nfds(&b);
	/* Attached from a secondary, with the default name. */
	snprintf(name, sizeof(name), "hp_tap%d", (int)getpid());
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "attach net_tap%d",
				      (int)getpid()), "ok 0");
	assert_true(if_nametoindex(name) > 0);
	assert_int_equal(hp_port_info_get(0, &info), 0);
	assert_string_equal(info.driver, "net_tap");
	assert_true(info.link_up);
	if_mac(name, mac);
	assert_memory_equal(mac, info.mac, 6);
	/* Every process holds the queue. */
	assert_int_equal(count_fds(), base + 1);
	assert_int_equal(child_nfds(&a), a0 + 1);
	assert_int_equal(child_nfds(&b), b0 + 1);

	/* Started from the other one: the interface is up. */
	if_quiet(name);
	assert_false(if_up(name));
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "start 0"), "ok 0");
	assert_true(if_up(name));
	ps = pkt_sock(name);

	/* Kernel to b. */
	const unsigned lens[] = { 60, 1000, 1514 };
	for (unsigned i = 0; i < 3; i++) {
		ks_send(ps, lens[i], 5, i);
		snprintf(want, sizeof(want), "ok 1 1");
		assert_string_equal(child_cmd(&b, buf, sizeof(buf), "rxf 0 1 5 %u 1",
					      lens[i]), want);
	}
	/* a to the kernel, in chains of 1, 2 and 3 buffers. */
	rx0 = if_sys(name, "statistics/rx_packets");
	for (unsigned segs = 1; segs <= 3; segs++) {
		assert_string_equal(child_cmd(&a, buf, sizeof(buf), "txf 0 0 9 %u 1514 %u",
					      segs, segs), "ok 1");
		assert_true(ks_recv(ps, 1514, 9, segs));
	}
	assert_true(if_sys(name, "statistics/rx_packets") >= rx0 + 3);
	/* A jumbo frame comes as a chain. */
	if_mtu(name, 9000);
	ks_send(ps, 9014, 6, 0);
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "rxf 0 1 6 9014 1"), "ok 1 1");
	assert_int_equal(hp_port_stats_get(0, &st), 0);
	assert_true(st.ipackets >= 3);
	assert_int_equal(st.opackets, 3);
	assert_int_equal(st.obytes, 3 * 1514);
	close(ps);

	/* Stopped: down. Detached: gone, and no process holds an fd. */
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "stop 0"), "ok 0");
	assert_false(if_up(name));
	snprintf(want, sizeof(want), "ok net_tap%d", (int)getpid());
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "detach 0"), want);
	assert_int_equal(if_nametoindex(name), 0);
	assert_int_equal(count_fds(), base);
	assert_int_equal(child_nfds(&a), a0);
	assert_int_equal(child_nfds(&b), b0);
	assert_int_equal(count_tun_fds(), 0);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "ntun"), "ok 0");
	child_stop(&a);
	child_stop(&b);
}

/* queues=4: four kernel queues; with two rx queues configured, start
 * leaves two attached and the kernel spreads flows over both; a secondary
 * that starts later polls them; a tx queue past the rx ones sends. */
static void test_tap_multi_queue(void **state)
{
	struct child a, late;
	struct hp_port_stats st;
	char buf[256];
	struct hp_mempool *small, *tiny;
	unsigned total, q0, q1;
	uint16_t id;
	int ps;

	(void)state;
	child_start_env(&a, NULL, NULL);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf),
				      "attach net_tap1,iface=%s,queues=4", ifa), "ok 0");
	id = 0;
	assert_int_equal(count_tun_fds(), 4);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "ntun"), "ok 4");
	assert_int_equal(if_rx_queues(ifa), 4);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "configure 0 2 4"), "ok 0");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "configure 0 2 5"),
			    "ok -22");
	/* Rx queue 0 takes buffers of 128 bytes past the headroom: frames
	 * come as chains; smaller ones are refused. */
	assert_int_equal(hp_mempool_create(hp_core_shm(), "tap_small", 1023, 32,
					   HP_MBUF_HEADROOM + 128, &small), 0);
	assert_int_equal(hp_mempool_create(hp_core_shm(), "tap_tiny", 63, 0,
					   HP_MBUF_HEADROOM + 32, &tiny), 0);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "rxq 0 0 0 tap_tiny"),
			    "ok -22");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "rxq 0 0 0 tap_small"),
			    "ok 0");
	if_quiet(ifa);
	assert_int_equal(hp_port_start(id), 0);
	assert_int_equal(if_rx_queues(ifa), 2);

	child_start_env(&late, NULL, NULL);
	assert_string_equal(child_cmd(&late, buf, sizeof(buf), "nbq 0"), "ok 2 4");
	assert_string_equal(child_cmd(&late, buf, sizeof(buf), "ntun"), "ok 4");
	ps = pkt_sock(ifa);
	for (unsigned k = 0; k < 64; k++)
		ks_send(ps, 200, 3, k);
	assert_int_equal(sscanf(child_cmd(&late, buf, sizeof(buf), "rxf 0 2 3 200 64"),
				"ok %u %u %u", &total, &q0, &q1), 3);
	assert_int_equal(total, 64);
	assert_true(q0 > 0 && q1 > 0);
	/* Tx queue 3 writes on queue 1. */
	assert_string_equal(child_cmd(&late, buf, sizeof(buf), "txf 0 3 4 77 300 1"), "ok 1");
	assert_true(ks_recv(ps, 300, 4, 77));
	assert_int_equal(hp_port_stats_get(id, &st), 0);
	assert_int_equal(st.q_opackets[3], 1);
	assert_int_equal(st.q_ipackets[0] + st.q_ipackets[1], st.ipackets);
	close(ps);

	/* All four queues back for the next start. */
	assert_int_equal(hp_port_stop(id), 0);
	assert_int_equal(hp_port_configure(id, 4, 4), 0);
	assert_int_equal(hp_port_start(id), 0);
	assert_int_equal(if_rx_queues(ifa), 4);
	assert_int_equal(hp_port_stop(id), 0);
	/* A secondary killed while it holds the queues takes its copies
	 * with it; detach closes the others: the interface goes. */
	child_kill(&a);
	assert_string_equal(child_cmd(&late, buf, sizeof(buf), "detach 0"), "ok net_tap1");
	assert_int_equal(if_nametoindex(ifa), 0);
	assert_int_equal(count_tun_fds(), 0);
	assert_string_equal(child_cmd(&late, buf, sizeof(buf), "ntun"), "ok 0");
	child_stop(&late);
	assert_int_equal(hp_mempool_avail(small), hp_mempool_size(small));
	hp_mempool_destroy(hp_core_shm(), small);
	hp_mempool_destroy(hp_core_shm(), tiny);
}

/* An existing persistent TAP that nobody holds is taken as it is, and is
 * still there after detach, without the offloads the port set; one that a
 * program holds, or a multi-queue one, is refused. */
static void test_tap_takes_persistent_tap(void **state)
{
	const struct bad_devargs bad_q2 = { NULL, -EEXIST, "taken only with queues=1" };
	struct bad_devargs bad = bad_q2;
	struct hp_port_info info;
	char devargs[64], held[64];
	struct ifreq ifr;
	uint8_t mac[6];
	uint16_t id;
	int fd;

	(void)state;
	tap_persistent(ifa, false, true);
	if_mac(ifa, mac);
	snprintf(devargs, sizeof(devargs), "net_tap1,iface=%s", ifa);
	assert_int_equal(hp_port_attach(devargs, &id), 0);
	assert_int_equal(hp_port_info_get(id, &info), 0);
	assert_memory_equal(info.mac, mac, 6);
	assert_true(if_tso(ifa));
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	assert_true(if_nametoindex(ifa) > 0);
	assert_false(if_tso(ifa));

	/* Held by a program (this one). */
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	ifr_set(&ifr, ifa);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	snprintf(held, sizeof(held), "TAP '%s' exists and is in use by another program", ifa);
	bad = (struct bad_devargs){ devargs, -EBUSY, held };
	attach_must_fail(&bad);
	close(fd);
	/* With more than one queue. */
	snprintf(devargs, sizeof(devargs), "net_tap1,iface=%s,queues=2", ifa);
	bad = bad_q2;
	bad.devargs = devargs;
	attach_must_fail(&bad);
	tap_persistent(ifa, false, false);
	assert_int_equal(if_nametoindex(ifa), 0);

	/* Multi-queue. */
	tap_persistent(ifb, true, true);
	snprintf(devargs, sizeof(devargs), "net_tap1,iface=%s", ifb);
	bad = (struct bad_devargs){ devargs, -EINVAL, "is multi-queue" };
	attach_must_fail(&bad);
	tap_persistent(ifb, true, false);
	assert_int_equal(hp_port_count(), 0);
}

static void test_tap_bad_devargs_leave_nothing(void **state)
{
	char dup_iface[64], dup_says[64], lo_says[96];
	struct bad_devargs bad[] = {
		{ "net_tap1,bogus=1", -EINVAL, "unknown key 'bogus'" },
		{ "net_tap1,iface=abcdefghijklmnop", -ENAMETOOLONG,
		  "interface name 'abcdefghijklmnop' has 16 characters; at most 15" },
		{ "net_tap1234567890", -ENAMETOOLONG,
		  "gives interface name 'hp_tap1234567890' of 16 characters (at most 15): name one with iface=" },
		{ "net_tap1,iface=lo", -EEXIST,
		  "interface 'lo' exists and is not a TAP this port may take" },
		{ "net_tap1,iface=a/b", -EINVAL, "iface=a/b: not an interface name" },
		{ "net_tap1,iface=tap%d", -EINVAL, "not an interface name" },
		{ "net_tap1,iface=..", -EINVAL, "not an interface name" },
		{ dup_iface, -EBUSY, dup_says },
		{ "net_tap0,iface=hpt_other", -EEXIST, "device net_tap0 is already port 0" },
		{ "net_tap1,queues=0", -EINVAL, "queues=0" },
		{ "net_tap1,queues=9", -EINVAL, "queues=9" },
		{ "net_tap1,queues=two", -EINVAL, "queues=two" },
		{ "net_tap1,offload=2", -EINVAL, "offload=2" },
		{ "net_tap1,mac=02:00:00:00:00", -EINVAL, "mac=02:00:00:00:00: not a unicast" },
		{ "net_tap1,mac=01:00:5e:00:00:01", -EINVAL, "not a unicast" },
		{ "net_tap1,mac=00:00:00:00:00:00", -EINVAL, "not a unicast" },
	};
	struct child a;
	char buf[256];
	unsigned base, a0;
	uint16_t id;

	(void)state;
	snprintf(dup_iface, sizeof(dup_iface), "net_tap1,iface=%s", ifa);
	snprintf(dup_says, sizeof(dup_says), "interface '%s' is port 0's (net_tap0)", ifa);
	snprintf(lo_says, sizeof(lo_says), "err -17 %s", bad[3].says);
	child_start_env(&a, NULL, NULL);
	snprintf(buf, sizeof(buf), "net_tap0,iface=%s", ifa);
	assert_int_equal(hp_port_attach(buf, &id), 0);
	base = count_fds();
	a0 = child_nfds(&a);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		attach_must_fail(&bad[i]);
		assert_int_equal(hp_port_count(), 1);
		assert_int_equal(count_fds(), base);
		assert_int_equal(count_tun_fds(), 1);
		assert_int_equal(if_nametoindex("hp_tap1"), 0);
		assert_int_equal(if_nametoindex("hpt_other"), 0);
	}
	/* From a secondary: the same line comes back. */
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "attach net_tap1,iface=lo"),
			    lo_says);
	assert_int_equal(child_nfds(&a), a0);
	assert_int_equal(count_fds(), base);
	assert_int_equal(hp_port_count(), 1);
	/* The name is free again once its port is gone. */
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	assert_int_equal(if_nametoindex(ifa), 0);
	assert_int_equal(hp_port_attach(dup_iface, &id), 0);
	assert_true(if_nametoindex(ifa) > 0);
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	assert_int_equal(if_nametoindex(ifa), 0);
	child_stop(&a);
}

/* ---- TCP between two network namespaces through two ports ---- */

#define TCP_BYTES (8u << 20)
#define TCP_PORT 5555

static int run(const char *fmt, ...) HP_PRINTF(1, 2);
static int run(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* A TCP socket in network namespace ns. */
static int tcp_sock_in(const char *ns)
{
	char path[64];
	int self, nsfd, s;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(self >= 0 && nsfd >= 0);
	assert_int_equal(setns(nsfd, CLONE_NEWNET), 0);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(setns(self, CLONE_NEWNET), 0);
	close(self);
	close(nsfd);
	assert_true(s >= 0);
	return s;
}

static void *tcp_send_all(void *arg)
{
	static uint8_t chunk[65536];
	int s = *(int *)arg;
	size_t done = 0;

	while (done < TCP_BYTES) {
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = (uint8_t)((done + i) % 251);
		ssize_t n = send(s, chunk, sizeof(chunk), MSG_NOSIGNAL);
		if (n <= 0)
			break;
		done += (size_t)n;
		if ((size_t)n < sizeof(chunk))
			break; /* keeps the pattern simple: whole chunks only */
	}
	shutdown(s, SHUT_WR);
	return (void *)done;
}

/* Moves interface name into namespace ns, as 10.211.0.<host>/24, up. */
static void ns_put(const char *ns, const char *name, int host)
{
	assert_int_equal(run("ip link set %s netns %s && ip -n %s addr add 10.211.0.%d/24 dev %s && ip -n %s link set %s up && ip -n %s link set lo up",
			     name, ns, ns, host, name, ns, name, ns), 0);
}

static void tcp_through_ports(bool offload)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(TCP_PORT) };
	struct timeval tv = { .tv_sec = 15 };
	unsigned long frames, gso, maxlen, maxsegs;
	static uint8_t got[65536];
	char devargs[64], buf[256];
	size_t total = 0;
	bool intact = true;
	int ls, cs, ss, one = 1;
	uint16_t pa, pb;
	struct child f;
	pthread_t th;
	void *sent;

	if (run("ip netns add %s && ip netns add %s", nsa, nsb) != 0)
		skip();
	child_start_env(&f, NULL, NULL);
	snprintf(devargs, sizeof(devargs), "net_tap1,iface=%s,offload=%d", ifa, offload);
	assert_int_equal(hp_port_attach(devargs, &pa), 0);
	snprintf(devargs, sizeof(devargs), "net_tap2,iface=%s,offload=%d", ifb, offload);
	assert_int_equal(hp_port_attach(devargs, &pb), 0);
	/* In namespaces of their own, up there; start leaves them so. */
	ns_put(nsa, ifa, 1);
	ns_put(nsb, ifb, 2);
	assert_int_equal(hp_port_start(pa), 0);
	assert_int_equal(hp_port_start(pb), 0);
	child_send(&f, "fwd %u %u", pa, pb);

	ls = tcp_sock_in(nsb);
	assert_int_equal(setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	to.sin_addr.s_addr = htonl(0x0ad30002);
	assert_int_equal(bind(ls, (struct sockaddr *)&to, sizeof(to)), 0);
	assert_int_equal(listen(ls, 1), 0);
	cs = tcp_sock_in(nsa);
	assert_int_equal(setsockopt(cs, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(cs, (struct sockaddr *)&to, sizeof(to)), 0);
	ss = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	assert_true(ss >= 0);
	assert_int_equal(setsockopt(ss, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(pthread_create(&th, NULL, tcp_send_all, &cs), 0);
	for (;;) {
		ssize_t n = recv(ss, got, sizeof(got), 0);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			intact &= got[i] == (uint8_t)((total + (size_t)i) % 251);
		total += (size_t)n;
	}
	pthread_join(th, &sent);
	close(ss);
	close(cs);
	close(ls);
	child_send(&f, "end");
	assert_int_equal(sscanf(child_answer(&f, buf, sizeof(buf)), "ok %lu %lu %lu %lu",
				&frames, &gso, &maxlen, &maxsegs), 4);
	assert_string_equal(child_answer(&f, buf, sizeof(buf)), "ok");
	print_message("offload=%d: %zu bytes through %lu frames, %lu GSO, longest %lu bytes, up to %lu buffers\n",
		      offload, total, frames, gso, maxlen, maxsegs);
	assert_int_equal((size_t)sent, TCP_BYTES);
	assert_int_equal(total, TCP_BYTES);
	assert_true(intact);
	if (offload) {
		/* The kernel's large frames went through whole, both ways. */
		assert_true(gso > 0);
		assert_true(maxlen > 1514);
		assert_true(maxsegs > 1);
	} else {
		assert_int_equal(gso, 0);
		assert_true(maxlen <= 1514);
	}
	assert_int_equal(hp_port_stop(pa), 0);
	assert_int_equal(hp_port_stop(pb), 0);
	assert_int_equal(run("ip -n %s link show %s | grep -q ',UP'", nsa, ifa), 0);
	assert_int_equal(hp_port_detach(pa, NULL, 0), 0);
	assert_int_equal(hp_port_detach(pb, NULL, 0), 0);
	child_stop(&f);
	assert_int_equal(run("ip netns del %s && ip netns del %s", nsa, nsb), 0);
}

static void test_tap_tcp_between_namespaces_gso(void **state)
{
	(void)state;
	tcp_through_ports(true);
}

static void test_tap_tcp_between_namespaces_no_offload(void **state)
{
	(void)state;
	tcp_through_ports(false);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tap_kernel_sees_port_in_every_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tap_multi_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tap_takes_persistent_tap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tap_bad_devargs_leave_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tap_tcp_between_namespaces_gso, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tap_tcp_between_namespaces_no_offload, setup, teardown),
	};
	int fd;

	if (argc == 4 && !strcmp(argv[1], "--child"))
		return child_main(argv[2], atoi(argv[3]), tap_child_cmd);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (geteuid() != 0 || fd < 0) {
		printf("skip: net_tap tests need root and /dev/net/tun (%s)\n",
		       geteuid() != 0 ? "not root" : strerror(errno));
		return 77;
	}
	close(fd);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
