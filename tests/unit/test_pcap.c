/* SPDX-License-Identifier: BSD-3-Clause */
/* net_pcap across real processes: a file read in one secondary and written
 * back from another is the same packets; the read position follows the
 * port from process to process; infinite_rx; partial checksums finished in
 * what is written; tcpdump and tshark read the output without a word;
 * live capture and injection on a veth pair; bad devargs leave no slot and
 * no fd. The test process is the primary; secondaries are this binary
 * re-executed with --child (hp_test_child.h). */
#include <dirent.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "test_pcap.h"

/* Set when a test lacked root: the binary then exits 77 (skip). */
static bool skipped;

/* ---- the secondary's commands ---- */

/* fwd PORT MAX: receives on queue 0 and sends what came back on queue 0
 * until MAX packets or the queue stays empty; writes how many, and how
 * many were chains. */
static void child_fwd(uint16_t port, unsigned max)
{
	struct hp_mbuf *pkts[32];
	unsigned done = 0, chains = 0, idle = 0;

	hp_rcu_thread_online();
	while (done < max && idle < 3) {
		unsigned want = max - done < 32 ? max - done : 32;
		uint16_t got = hp_port_rx_burst(port, 0, pkts, (uint16_t)want);
		uint16_t sent;

		idle = got ? 0 : idle + 1;
		for (uint16_t i = 0; i < got; i++)
			chains += pkts[i]->nb_segs > 1;
		sent = hp_port_tx_burst(port, 0, pkts, got);
		hp_mbuf_free_bulk(pkts + sent, got - sent);
		done += got;
		hp_rcu_quiescent();
	}
	hp_rcu_thread_offline();
	printf("ok %u %u\n", done, chains);
}

/* rxids PORT N: receives N packets (within 3 s) and writes their ids. */
static void child_rxids(uint16_t port, unsigned n)
{
	struct hp_mbuf *pkts[32];
	time_t end = time(NULL) + 3;
	char line[1024] = "ok";
	unsigned done = 0;

	hp_rcu_thread_online();
	while (done < n && time(NULL) < end) {
		unsigned want = n - done < 32 ? n - done : 32;
		uint16_t got = hp_port_rx_burst(port, 0, pkts, (uint16_t)want);

		for (uint16_t i = 0; i < got; i++) {
			uint32_t id = 0;

			hp_mbuf_read(pkts[i], ID_OFF, &id, sizeof(id));
			snprintf(line + strlen(line), sizeof(line) - strlen(line),
				 " %u", id);
		}
		hp_mbuf_free_bulk(pkts, got);
		done += got;
		hp_rcu_quiescent();
	}
	hp_rcu_thread_offline();
	printf("%s\n", line);
}

/* Fills a chain of nb_segs buffers from pool with the len bytes at b. */
static struct hp_mbuf *chain_of(const uint8_t *b, uint32_t len,
				unsigned nb_segs)
{
	struct hp_mempool *mp = child_pool("hp_pool_default");
	struct hp_mbuf *head = NULL;
	uint32_t per = (len + nb_segs - 1) / nb_segs;

	for (uint32_t off = 0; off < len; off += per) {
		struct hp_mbuf *m = hp_mbuf_alloc(mp);
		uint32_t k = len - off < per ? len - off : per;

		if (!m)
			return head;
		memcpy(hp_mbuf_data(m), b + off, k);
		m->data_len = (uint16_t)k;
		m->pkt_len = k;
		if (head)
			hp_mbuf_chain(head, m);
		else
			head = m;
	}
	return head;
}

/* txcsum PORT: sends UDP and TCP frames whose checksums are left to the
 * device (partial, HP_MBUF_F_OFFLOAD), in one buffer and as chains. */
static void child_txcsum(uint16_t port)
{
	struct hp_mbuf *pkts[4];
	uint8_t b[1500];
	uint16_t sent;

	for (unsigned i = 0; i < 4; i++) {
		uint8_t proto = i & 1 ? IPPROTO_TCP : IPPROTO_UDP;
		uint32_t len = 200 + 300 * i;

		pkt_build(b, len, 1000 + i, proto, true);
		pkts[i] = chain_of(b, len, i < 2 ? 1 : 3);
		pkts[i]->ol_flags = HP_MBUF_F_OFFLOAD;
		pkts[i]->offload.flags = HP_MBUF_CSUM_PARTIAL;
		pkts[i]->offload.csum_start = 34;
		pkts[i]->offload.csum_offset = proto == IPPROTO_UDP ? 6 : 16;
	}
	hp_rcu_thread_online();
	sent = hp_port_tx_burst(port, 0, pkts, 4);
	hp_rcu_quiescent();
	hp_rcu_thread_offline();
	hp_mbuf_free_bulk(pkts + sent, 4 - sent);
	printf("ok %u\n", sent);
}

/* txmark PORT N LEN: sends N frames of LEN bytes of type MARK_TYPE, to
 * the broadcast address, carrying their numbers. */
static void child_txmark(uint16_t port, unsigned n, unsigned len)
{
	struct hp_mbuf *pkts[32];
	uint8_t b[9000];
	uint16_t sent = 0;

	n = n < 32 ? n : 32;
	for (unsigned i = 0; i < n; i++) {
		memset(b, 0xff, 6);
		memcpy(b + 6, (uint8_t[6]){ 2, 0, 0, 0, 0, 1 }, 6);
		put16(b + 12, MARK_TYPE);
		for (unsigned j = 14; j < len; j++)
			b[j] = (uint8_t)(i + j);
		memcpy(b + ID_OFF, &i, 4);
		pkts[i] = chain_of(b, len, len > 2000 ? 3 : 1);
	}
	hp_rcu_thread_online();
	sent = hp_port_tx_burst(port, 0, pkts, (uint16_t)n);
	hp_rcu_quiescent();
	hp_rcu_thread_offline();
	hp_mbuf_free_bulk(pkts + sent, n - sent);
	printf("ok %u\n", sent);
}

/* rxmark PORT N MS: receives until N MARK_TYPE frames came, for up to MS
 * ms; writes how many came, how many were chains, and how many bytes were
 * not as sent. */
static void child_rxmark(uint16_t port, unsigned n, unsigned ms)
{
	struct hp_mbuf *pkts[32];
	unsigned marked = 0, chains = 0, bad = 0;
	struct timespec t0, t;
	uint8_t b[9000];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	hp_rcu_thread_online();
	do {
		uint16_t got = hp_port_rx_burst(port, 0, pkts, 32);

		for (uint16_t i = 0; i < got; i++) {
			uint32_t len = hp_mbuf_read(pkts[i], 0, b, sizeof(b)), id;

			if (len < 60 || b[12] != MARK_TYPE >> 8 ||
			    b[13] != (MARK_TYPE & 0xff))
				continue;
			marked++;
			chains += pkts[i]->nb_segs > 1;
			memcpy(&id, b + ID_OFF, 4);
			for (unsigned j = 14; j < len; j++)
				if (j < ID_OFF || j >= ID_OFF + 4)
					bad += b[j] != (uint8_t)(id + j);
		}
		hp_mbuf_free_bulk(pkts, got);
		hp_rcu_quiescent();
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (marked < n && (t.tv_sec - t0.tv_sec) * 1000 +
					(t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
	hp_rcu_thread_offline();
	printf("ok %u %u %u\n", marked, chains, bad);
}

static bool pcap_child_cmd(const char *line)
{
	unsigned p, a, b, c;

	if (!strcmp(line, "nfds"))
		printf("ok %u\n", count_fds());
	else if (sscanf(line, "fwd %u %u", &p, &a) == 2)
		child_fwd((uint16_t)p, a);
	else if (sscanf(line, "rxids %u %u", &p, &a) == 2)
		child_rxids((uint16_t)p, a);
	else if (sscanf(line, "txcsum %u", &p) == 1)
		child_txcsum((uint16_t)p);
	else if (sscanf(line, "txmark %u %u %u", &p, &a, &b) == 3)
		child_txmark((uint16_t)p, a, b);
	else if (sscanf(line, "rxmark %u %u %u", &p, &a, &c) == 3)
		child_rxmark((uint16_t)p, a, c);
	else
		return false;
	return true;
}

/* ---- set-up ---- */

/* The veth pair of the live test, named after this process. */
static char veth[2][IFNAMSIZ];

/* Deletes the veth pair, if there is one (both ends go together). */
static void veth_del(void)
{
	char cmd[96];

	if (!veth[0][0])
		return;
	snprintf(cmd, sizeof(cmd), "ip link del %s 2>/dev/null", veth[0]);
	if (system(cmd) != 0)
		print_message("could not delete %s\n", veth[0]);
	veth[0][0] = '\0';
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hp-pcap-%d-XXXXXX", (int)getpid());
	if (!mkdtemp(dir))
		return -1;
	return primary_setup("pcap");
}

static int teardown(void **state)
{
	char cmd[192];

	primary_teardown(state);
	veth_del();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- tests ---- */

#define NB_PKTS 300

static void test_pcap_file_round_trip_between_secondaries(void **state)
{
	struct child a = { 0 }, b = { 0 };
	char in[160], out[160], buf[256], here[256];
	struct hp_port_stats st;
	unsigned n1, n2, c1, c2;

	(void)state;
	path_of(in, sizeof(in), "in.pcap");
	path_of(out, sizeof(out), "out.pcap");
	file_write(in, NB_PKTS);
	/* a runs in the files' directory and names them relative to it. */
	assert_non_null(getcwd(here, sizeof(here)));
	assert_int_equal(chdir(dir), 0);
	child_start_env(&a, NULL, NULL);
	assert_int_equal(chdir(here), 0);
	child_start_env(&b, NULL, NULL);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf),
				      "attach net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap"),
			    "ok 0");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "start 0"), "ok 0");
	/* b forwards the first 100, a the rest: the position went along. */
	assert_int_equal(sscanf(child_cmd(&b, buf, sizeof(buf), "fwd 0 100"),
				"ok %u %u", &n1, &c1), 2);
	assert_int_equal(n1, 100);
	assert_int_equal(sscanf(child_cmd(&a, buf, sizeof(buf), "fwd 0 100000"),
				"ok %u %u", &n2, &c2), 2);
	assert_int_equal(n2, NB_PKTS - 100);
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "fwd 0 10"), "ok 0 0");
	/* Packets over a buffer's 2 KiB came as chains. */
	assert_int_equal(c1 + c2, chains_of(NB_PKTS));
	assert_int_equal(hp_port_stats_get(0, &st), 0);
	assert_int_equal(st.ipackets, NB_PKTS);
	assert_int_equal(st.opackets, NB_PKTS);
	assert_int_equal(st.ierrors + st.oerrors + st.imissed + st.odropped, 0);
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "stop 0"), "ok 0");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "detach 0"),
			    "ok net_pcap0");
	files_same(in, out);
	tools_read(out, NB_PKTS);
	child_stop(&a);
	child_stop(&b);
}

static void test_pcap_rx_position_shared_repeat_restart(void **state)
{
	struct child a = { 0 }, b = { 0 };
	char in[160], buf[256];
	uint16_t id;

	(void)state;
	path_of(in, sizeof(in), "three.pcap");
	file_write(in, 3);
	child_start_env(&a, NULL, NULL);
	child_start_env(&b, NULL, NULL);
	snprintf(buf, sizeof(buf), "eth_pcap3,rx_pcap=%s,infinite_rx=1", in);
	assert_int_equal(hp_port_attach(buf, &id), 0);
	assert_int_equal(hp_port_start(id), 0);
	/* Round and round, each process going on where the other stopped. */
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "rxids %u 2", id),
			    "ok 0 1");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "rxids %u 5", id),
			    "ok 2 0 1 2 0");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "rxids %u 1", id),
			    "ok 1");
	assert_int_equal(hp_port_stop(id), 0);
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);

	/* Once: read to the end, nothing more; stopped half-way, a port goes
	 * on where it was; once at the end, the next start reads it again. */
	snprintf(buf, sizeof(buf), "net_pcap3,rx_pcap=%s", in);
	assert_int_equal(hp_port_attach(buf, &id), 0);
	assert_int_equal(hp_port_start(id), 0);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "rxids %u 1", id),
			    "ok 0");
	assert_int_equal(hp_port_stop(id), 0);
	assert_int_equal(hp_port_start(id), 0);
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "fwd %u 10", id),
			    "ok 2 0");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "fwd %u 10", id),
			    "ok 0 0");
	assert_int_equal(hp_port_stop(id), 0);
	assert_int_equal(hp_port_start(id), 0);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "rxids %u 3", id),
			    "ok 0 1 2");
	assert_int_equal(hp_port_stop(id), 0);
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	child_stop(&a);
	child_stop(&b);
}

static void test_pcap_partial_checksums_finished(void **state)
{
	struct child a = { 0 };
	char out[160], buf[256];
	struct rec *recs;
	uint16_t id;
	unsigned n;

	(void)state;
	path_of(out, sizeof(out), "csum.pcap");
	child_start_env(&a, NULL, NULL);
	snprintf(buf, sizeof(buf), "net_pcap0,tx_pcap=%s", out);
	assert_int_equal(hp_port_attach(buf, &id), 0);
	assert_int_equal(hp_port_start(id), 0);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "txcsum %u", id),
			    "ok 4");
	assert_int_equal(hp_port_stop(id), 0);
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	n = file_read(out, &recs);
	assert_int_equal(n, 4);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(recs[i].caplen, 200 + 300 * i);
		assert_true(pkt_csum_ok(recs[i].data, recs[i].caplen));
	}
	recs_free(recs, n);
	tools_read(out, 4);
	child_stop(&a);
}


/* A raw socket on interface name that sees every frame. */
static int raw_open(const char *name)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_ALL) };
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	assert_true(s >= 0);
	sa.sll_ifindex = (int)if_nametoindex(name);
	assert_true(sa.sll_ifindex > 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return s;
}

/* MARK_TYPE frames the raw socket s receives within 2 s, up to n. */
static unsigned raw_count(int s, unsigned n)
{
	uint8_t b[9100];
	unsigned got = 0;
	struct pollfd p = { .fd = s, .events = POLLIN };

	while (got < n && poll(&p, 1, 2000) == 1) {
		ssize_t len = recv(s, b, sizeof(b), 0);

		got += len >= 14 && b[12] == MARK_TYPE >> 8 &&
		       b[13] == (MARK_TYPE & 0xff);
	}
	return got;
}

static void test_pcap_iface_veth(void **state)
{
	struct child a = { 0 }, b = { 0 };
	char cmd[512], buf[256];
	uint8_t frame[4000];
	int s;

	(void)state;
	snprintf(veth[0], IFNAMSIZ, "hpv%da", (int)getpid() % 1000000);
	snprintf(veth[1], IFNAMSIZ, "hpv%db", (int)getpid() % 1000000);
	/* No IPv6 on the pair: a neighbour discovery frame the kernel sends
	 * while one process's capture is open and the other's is not is in
	 * one capture only, and polling that moves back then delivers a
	 * frame twice (the limit pcap_iface.c describes). */
	snprintf(cmd, sizeof(cmd),
		 "ip link add %s mtu 9000 type veth peer name %s mtu 9000 2>/dev/null && "
		 "for i in %s %s; do f=/proc/sys/net/ipv6/conf/$i/disable_ipv6; "
		 "[ ! -e $f ] || echo 1 > $f || exit 1; done && "
		 "ip link set %s up && ip link set %s up",
		 veth[0], veth[1], veth[0], veth[1], veth[0], veth[1]);
	if (geteuid() != 0 || system(cmd) != 0) {
		print_message("needs root and iproute2 to make a veth pair: skipped\n");
		skipped = true;
		skip();
	}
	s = raw_open(veth[1]);
	child_start_env(&a, NULL, NULL);
	child_start_env(&b, NULL, NULL);
	child_cmd(&a, buf, sizeof(buf), "attach net_pcap1,iface=%s", veth[0]);
	assert_string_equal(buf, "ok 0");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "start 0"), "ok 0");
	/* b's first poll opens its capture; then frames sent on the peer,
	 * one of 4000 bytes (a chain), arrive intact. */
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "rxmark 0 1 50"),
			    "ok 0 0 0");
	memset(frame, 0xff, 6);
	memcpy(frame + 6, (uint8_t[6]){ 2, 0, 0, 0, 0, 9 }, 6);
	put16(frame + 12, MARK_TYPE);
	for (unsigned i = 0; i < 5; i++) {
		size_t len = i == 4 ? 4000 : 100;

		for (unsigned j = 14; j < len; j++)
			frame[j] = (uint8_t)(i + j);
		memcpy(frame + ID_OFF, &i, 4);
		assert_int_equal(send(s, frame, len, 0), (ssize_t)len);
	}
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "rxmark 0 5 2000"),
			    "ok 5 1 0");
	/* Polling moves to a, back to b: each frame is delivered once. */
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "rxmark 0 1 50"),
			    "ok 0 0 0");
	for (unsigned i = 0; i < 5; i++) {
		if (i == 3)
			assert_string_equal(child_cmd(&a, buf, sizeof(buf),
						      "rxmark 0 3 2000"),
					    "ok 3 0 0");
		assert_int_equal(send(s, frame, 100, 0), 100);
	}
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "rxmark 0 2 2000"),
			    "ok 2 0 0");
	/* a sends 8, one of them 3000 bytes in 3 segments: the kernel sees
	 * them on the peer; iface= does not receive them back. */
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "txmark 0 7 100"),
			    "ok 7");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "txmark 0 1 3000"),
			    "ok 1");
	assert_int_equal(raw_count(s, 8), 8);
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "rxmark 0 1 200"),
			    "ok 0 0 0");
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "stop 0"), "ok 0");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "detach 0"),
			    "ok net_pcap1");
	close(s);
	child_stop(&a);
	child_stop(&b);
	veth_del();
}

static void test_pcap_bad_devargs_leave_nothing(void **state)
{
	char in[160], out[160], text[160], empty[160], nopk[160], sub[256];
	char d[8][400];
	struct child a = { 0 };
	struct stat st0, st1;
	unsigned base_fds, child_fds;
	char buf[256], want[32];
	uint16_t id;
	FILE *f;

	(void)state;
	path_of(in, sizeof(in), "in.pcap");
	path_of(out, sizeof(out), "out.pcap");
	path_of(text, sizeof(text), "text.pcap");
	path_of(empty, sizeof(empty), "empty.pcap");
	path_of(nopk, sizeof(nopk), "nopackets.pcap");
	file_write(in, 10);
	file_write(nopk, 0);
	f = fopen(text, "w");
	assert_non_null(f);
	fputs("this is not a capture, just some text\n", f);
	fclose(f);
	f = fopen(empty, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(stat(in, &st0), 0);
	child_start_env(&a, NULL, NULL);
	snprintf(d[0], sizeof(d[0]), "net_pcap0,rx_pcap=%s", in);
	assert_int_equal(hp_port_attach(d[0], &id), 0);
	base_fds = count_fds();
	assert_int_equal(sscanf(child_cmd(&a, buf, sizeof(buf), "nfds"), "ok %u",
				&child_fds), 1);

	snprintf(d[0], sizeof(d[0]), "net_pcap1,rx_pcap=%s/nosuch.pcap", dir);
	snprintf(d[1], sizeof(d[1]), "net_pcap1,rx_pcap=%s", text);
	snprintf(d[2], sizeof(d[2]), "net_pcap1,rx_pcap=%s", empty);
	snprintf(d[3], sizeof(d[3]), "net_pcap1,rx_pcap=%s", dir);
	snprintf(d[4], sizeof(d[4]), "net_pcap1,rx_pcap=%s,tx_pcap=%s", in, in);
	snprintf(d[5], sizeof(d[5]), "net_pcap1,rx_pcap=%s,tx_pcap=%s/no/dir.pcap",
		 in, dir);
	snprintf(d[6], sizeof(d[6]), "net_pcap1,rx_pcap=%s,infinite_rx=1", nopk);
	snprintf(d[7], sizeof(d[7]), "net_pcap0,tx_pcap=%s", out);
	snprintf(sub, sizeof(sub), "rx_pcap=%s/nosuch.pcap: cannot open: No such file", dir);
	const struct bad_devargs bad[] = {
		{ d[0], -ENOENT, sub },
		{ d[1], -EINVAL, "not a pcap file (unknown file format)" },
		{ d[2], -EINVAL, "not a pcap file" },
		{ d[3], -EINVAL, "not a regular file" },
		{ d[4], -EINVAL, "the same file as rx_pcap=" },
		{ d[5], -ENOENT, "/no/dir.pcap: cannot create: No such file" },
		{ d[6], -EINVAL, "no packet to repeat (infinite_rx=1)" },
		{ d[7], -EEXIST, "net_pcap0 is already port 0" },
		{ "net_pcap1", -EINVAL, "nothing to receive from or send to" },
		{ "net_pcap1,infinite_rx=1", -EINVAL, "nothing to receive" },
		{ "net_pcap1,bogus=1,iface=lo", -EINVAL, "unknown key 'bogus'" },
		{ "net_pcap1,iface=hpnosuch0", -ENODEV, "iface=hpnosuch0: no such interface" },
		{ "net_pcap1,tx_iface=hpnosuch0", -ENODEV, "tx_iface=hpnosuch0: no such interface" },
		{ "net_pcap1,rx_iface_in=hpnosuch0", -ENODEV, "rx_iface_in=hpnosuch0: no such interface" },
		{ "net_pcap1,iface=a_name_far_too_long", -EINVAL, "not an interface name" },
		{ "net_pcap1,iface=", -EINVAL, "iface= is empty: give a network interface name" },
		{ "net_pcap1,rx_pcap=", -EINVAL, "rx_pcap= is empty: give a file name" },
		{ "net_pcap1,rx_iface=lo,tx_pcap=", -EINVAL, "tx_pcap= is empty: give a file name" },
		{ "net_pcap1,iface=lo,rx_iface=lo", -EINVAL, "one rx at most" },
		{ "net_pcap1,iface=lo,infinite_rx=1", -EINVAL, "needs rx_pcap=FILE" },
		{ "net_pcap1,iface=lo,infinite_rx=2", -EINVAL, "infinite_rx" },
	};
	for (size_t i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		attach_must_fail(&bad[i]);
		assert_int_equal(hp_port_count(), 1);
		assert_int_equal(count_fds(), base_fds);
	}
	/* Nothing written over, nothing created. */
	assert_int_equal(stat(in, &st1), 0);
	assert_int_equal(st1.st_size, st0.st_size);
	assert_int_equal(stat(out, &st1), -1);
	/* An unreadable file. The probe runs on this thread: as root, a
	 * file-system uid of nobody for it takes away root's way past file
	 * permissions. */
	assert_int_equal(chmod(in, 0), 0);
	snprintf(d[0], sizeof(d[0]), "net_pcap1,rx_pcap=%s", in);
	snprintf(sub, sizeof(sub), "rx_pcap=%s: cannot open: Permission denied", in);
	if (geteuid() == 0)
		setfsuid(65534);
	attach_must_fail(&(struct bad_devargs){ d[0], -EACCES, sub });
	if (geteuid() == 0)
		setfsuid(0);
	assert_int_equal(count_fds(), base_fds);
	assert_int_equal(chmod(in, 0644), 0);
	/* Attach and detach cycles leave no fd in any process. */
	snprintf(want, sizeof(want), "ok 10 %u", chains_of(10));
	for (int i = 0; i < 10; i++) {
		snprintf(d[0], sizeof(d[0]), "net_pcap1,rx_pcap=%s,tx_pcap=%s",
			 in, out);
		child_cmd(&a, buf, sizeof(buf), "attach %s", d[0]);
		assert_string_equal(buf, "ok 1");
		assert_string_equal(child_cmd(&a, buf, sizeof(buf), "start 1"), "ok 0");
		assert_string_equal(child_cmd(&a, buf, sizeof(buf), "fwd 1 1000"),
				    want);
		assert_string_equal(child_cmd(&a, buf, sizeof(buf), "stop 1"), "ok 0");
		assert_string_equal(child_cmd(&a, buf, sizeof(buf), "detach 1"),
				    "ok net_pcap1");
	}
	files_same(in, out);
	assert_int_equal(count_fds(), base_fds);
	snprintf(want, sizeof(want), "ok %u", child_fds);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "nfds"), want);
	child_stop(&a);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pcap_file_round_trip_between_secondaries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pcap_rx_position_shared_repeat_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pcap_partial_checksums_finished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pcap_iface_veth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pcap_bad_devargs_leave_nothing, setup, teardown),
	};
	int fails;

	if (argc == 4 && !strcmp(argv[1], "--child"))
		return child_main(argv[2], atoi(argv[3]), pcap_child_cmd);
	signal(SIGPIPE, SIG_IGN);
	fails = cmocka_run_group_tests(tests, NULL, NULL);
	/* meson's skip code, so a missing privilege never passes silently */
	return fails == 0 && skipped ? 77 : fails;
}
