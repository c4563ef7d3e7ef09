/* SPDX-License-Identifier: BSD-3-Clause */
/* net_af_packet on veth pairs whose far ends live in private network
 * namespaces: frames received and sent by secondaries (the sockets reach
 * them as fds) and the ring position kept across pollers; VLAN tags; TCP
 * through a forwarder with the kernel's offloads on (GSO packets arrive
 * as chains with their metadata); GSO and partial checksums handed back to
 * the kernel; queue pairs; drops; bad devargs. Needs root (exit 77, skip,
 * otherwise). The namespaces go away with the test whatever happens
 * (test_netns.h); teardown also deletes the veth pairs by name. */
#include <dirent.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

#include "hp_test_child.h"
#include "test_netns.h"

/* The test frames: this EtherType, "HPAF", a sequence number, a pattern. */
#define T_ETHERTYPE 0x88b5
#define T_FRAME_LEN 60
/* Bytes of the virtio-net header a far-end socket may put in front. */
#define T_VNET 10
/* The far ends' addresses, and one nobody has (frames nobody answers). */
#define T_ADDR_A "10.99.0.1"
#define T_ADDR_B "10.99.0.2"
#define T_ADDR_NONE "10.99.0.77"

static struct netns ns_a = { .fd = -1 }, ns_b = { .fd = -1 };
/* The near ends of the veth pairs, in this namespace; the far ends are
 * "p0" in ns_a and ns_b. */
static char if_a[IFNAMSIZ], if_b[IFNAMSIZ];

/* ---- test frames ---- */

static void frame_fill(uint8_t *d, uint32_t seq)
{
	memset(d, 0xff, 6);
	memcpy(d + 6, (uint8_t[6]){ 0x02, 0, 0, 0, 0, 0x01 }, 6);
	d[12] = T_ETHERTYPE >> 8;
	d[13] = T_ETHERTYPE & 0xff;
	memcpy(d + 14, "HPAF", 4);
	memcpy(d + 18, &seq, 4);
	for (unsigned i = 22; i < T_FRAME_LEN; i++)
		d[i] = (uint8_t)(seq + i);
}

/* The sequence number of test frame d, or -1 if it is not one, intact. */
static int64_t frame_seq(const uint8_t *d, size_t len)
{
	uint32_t seq;

	if (len != T_FRAME_LEN || d[12] != T_ETHERTYPE >> 8 ||
	    d[13] != (T_ETHERTYPE & 0xff) || memcmp(d + 14, "HPAF", 4))
		return -1;
	memcpy(&seq, d + 18, 4);
	for (unsigned i = 22; i < T_FRAME_LEN; i++)
		if (d[i] != (uint8_t)(seq + i))
			return -1;
	return seq;
}

static bool is_test_frame(const uint8_t *d, size_t len)
{
	return frame_seq(d, len) >= 0;
}

/* Sends test frames first.. first+n-1 from the far end socket fd. */
static void far_send(int fd, uint32_t first, unsigned n)
{
	uint8_t f[T_FRAME_LEN];

	for (unsigned i = 0; i < n; i++) {
		frame_fill(f, first + i);
		assert_int_equal(send(fd, f, sizeof(f), 0), sizeof(f));
	}
}

/* Transmits test frames first..first+n-1 on a queue (for up to a second
 * while the socket is full); returns how many went. The calling thread
 * is a registered, offline RCU reader. */
static unsigned port_send(uint16_t port, uint16_t q, uint32_t first, unsigned n)
{
	struct hp_mempool *mp = child_pool("hp_pool_default");
	struct hp_mbuf *pkts[64];
	time_t end = time(NULL) + 1;
	unsigned done = 0;

	hp_rcu_thread_online();
	while (done < n && time(NULL) <= end) {
		unsigned b = n - done < 64 ? n - done : 64;
		uint16_t sent;

		if (hp_mbuf_alloc_bulk(mp, pkts, b) < 0)
			break;
		for (unsigned i = 0; i < b; i++) {
			frame_fill(hp_mbuf_data(pkts[i]), first + done + i);
			pkts[i]->data_len = T_FRAME_LEN;
			pkts[i]->pkt_len = T_FRAME_LEN;
		}
		sent = hp_port_tx_burst(port, q, pkts, (uint16_t)b);
		hp_mbuf_free_bulk(pkts + sent, b - sent);
		done += sent;
		hp_rcu_quiescent();
	}
	hp_rcu_thread_offline();
	return done;
}

/* What port_recv saw. */
struct seen {
	unsigned n;		/* test frames */
	int64_t first, last;	/* their sequence numbers */
	bool in_order;		/* each one after the one before */
	unsigned other;		/* packets that were no test frame */
};

/* Receives from a queue until n test frames came or ms passed. The
 * calling thread is a registered, offline RCU reader. */
static struct seen port_recv(uint16_t port, uint16_t q, unsigned n, int ms)
{
	struct seen s = { .first = -1, .last = -1, .in_order = true };
	struct timespec t0, t;
	struct hp_mbuf *pkts[32];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	hp_rcu_thread_online();
	while (s.n < n) {
		uint16_t got = hp_port_rx_burst(port, q, pkts, 32);

		for (uint16_t i = 0; i < got; i++) {
			int64_t seq = pkts[i]->nb_segs == 1 ?
					      frame_seq(hp_mbuf_data(pkts[i]),
							pkts[i]->pkt_len) : -1;

			if (seq < 0 || pkts[i]->port != port || pkts[i]->queue != q) {
				s.other++;
				continue;
			}
			s.in_order &= s.last < 0 || seq == s.last + 1;
			s.first = s.first < 0 ? seq : s.first;
			s.last = seq;
			s.n++;
		}
		hp_mbuf_free_bulk(pkts, got);
		hp_rcu_quiescent();
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			break;
	}
	hp_rcu_thread_offline();
	return s;
}

/* Child commands: "afsend PORT Q FIRST N", "afrecv PORT Q N MS". */
static bool afp_child_cmd(const char *line)
{
	unsigned p, q, a, b;
	struct seen s;

	if (sscanf(line, "afsend %u %u %u %u", &p, &q, &a, &b) == 4) {
		printf("ok %u\n", port_send((uint16_t)p, (uint16_t)q, a, b));
	} else if (sscanf(line, "afrecv %u %u %u %u", &p, &q, &a, &b) == 4) {
		s = port_recv((uint16_t)p, (uint16_t)q, a, (int)b);
		printf("ok %u %" PRId64 " %" PRId64 " %s\n", s.n, s.first, s.last,
		       s.in_order ? "in-order" : "out-of-order");
	} else {
		return false;
	}
	return true;
}

/* Whether the primary's thread is a registered reader (a failed
 * assertion may leave it so: teardown ends it). */
static bool reader_on;

/* The primary's thread as a fast-path reader (offline between bursts),
 * and back. */
static void reader_begin(void)
{
	hp_rcu_thread_register();
	hp_rcu_thread_offline();
	reader_on = true;
}

static void reader_end(void)
{
	hp_rcu_thread_online();
	hp_rcu_thread_unregister();
	reader_on = false;
}

/* ---- set-up ---- */

static int setup(void **state)
{
	static unsigned n;

	(void)state;
	if (primary_setup("afp") < 0)
		return -1;
	/* Fresh names each time: a namespace goes away asynchronously. */
	snprintf(if_a, sizeof(if_a), "hpa%dx%u", (int)getpid() % 1000000, n);
	snprintf(if_b, sizeof(if_b), "hpb%dx%u", (int)getpid() % 1000000, n++);
	if (ns_open_self() < 0 || netns_new(&ns_a) < 0 || netns_new(&ns_b) < 0 ||
	    veth_new(if_a, &ns_a, T_ADDR_A) < 0 || veth_new(if_b, &ns_b, T_ADDR_B) < 0) {
		print_error("cannot set up namespaces and veth pairs\n");
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	if (reader_on)
		reader_end();
	primary_teardown(state);
	run(NULL, "ip link del %s 2>/dev/null; ip link del %s 2>/dev/null", if_a, if_b);
	netns_del(&ns_a);
	netns_del(&ns_b);
	ns_close_self();
	return 0;
}

/* ---- tests ---- */

static void test_af_packet_bad_devargs_leave_nothing(void **state)
{
	char d[6][96], buf[256];
	const struct bad_devargs bad[] = {
		{ "net_af_packet0", -EINVAL, "iface= is missing" },
		{ "net_af_packet0,iface=hpnosuch0", -ENODEV,
		  "no interface 'hpnosuch0' (see 'ip link')" },
		{ "net_af_packet0,iface=averyveryverylongname", -ENODEV,
		  "no interface 'averyveryverylongname'" },
		{ d[0], -EINVAL, "unknown key 'speed' (known: iface, qpairs, framecnt)" },
		{ d[1], -EINVAL, "qpairs=0" },
		{ d[2], -EINVAL, "qpairs=9" },
		{ d[3], -EINVAL, "qpairs=two" },
		{ d[4], -EINVAL, "framecnt=2" },
	};
	const char *tail[] = { "speed=1", "qpairs=0", "qpairs=9", "qpairs=two",
			       "framecnt=2" };
	unsigned fds = count_fds();
	struct child c = { 0 };
	uint16_t id;

	for (unsigned i = 0; i < HP_ARRAY_SIZE(tail); i++)
		snprintf(d[i], sizeof(d[i]), "net_af_packet0,iface=%s,%s", if_a, tail[i]);
	(void)state;
	for (unsigned i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		attach_must_fail(&bad[i]);
		assert_int_equal(hp_port_count(), 0);
		assert_int_equal(count_fds(), fds);
	}
	/* A name in use. */
	snprintf(d[0], sizeof(d[0]), "net_af_packet0,iface=%s", if_a);
	assert_int_equal(hp_port_attach(d[0], &id), 0);
	/* its socket, and the primary's link watch (rtnetlink) */
	assert_int_equal(count_fds(), fds + 2);
	snprintf(d[1], sizeof(d[1]), "net_af_packet0,iface=%s", if_b);
	attach_must_fail(&(struct bad_devargs){ d[1], -EEXIST, "already port 0" });
	assert_int_equal(hp_port_count(), 1);
	assert_int_equal(count_fds(), fds + 2);
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	assert_int_equal(count_fds(), fds);
	/* A secondary's request gets the same one line. */
	child_start_env(&c, NULL, NULL);
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "count"), "ok 0");
	fds = count_fds(); /* with the secondary's pipes and connection */
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "attach net_af_packet1,iface=hpnosuch0"),
			    "err -19 no interface 'hpnosuch0' (see 'ip link')");
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "count"), "ok 0");
	assert_int_equal(count_fds(), fds);
	child_stop(&c);
}

/* Waits (bounded: 2 s) until port id's link reads up. */
static bool link_is(uint16_t id, bool up)
{
	struct hp_port_info info;

	for (int i = 0; i < 200; i++) {
		if (hp_port_info_get(id, &info) == 0 && info.link_up == up)
			return true;
		usleep(10000);
	}
	return false;
}

/* The link of an af_packet port follows its interface: the far end of
 * the veth pair going down takes the carrier away, and the primary (from
 * rtnetlink) says so in the table and to every process with callbacks. */
static void test_af_packet_link_follows_the_kernel(void **state)
{
	struct hp_port_info info;
	struct child c = { 0 };
	char buf[64];
	uint16_t id;

	(void)state;
	child_start_env(&c, NULL, NULL);
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "listen"), "ok 0");
	snprintf(buf, sizeof(buf), "net_af_packet0,iface=%s", if_a);
	assert_int_equal(hp_port_attach(buf, &id), 0);
	assert_int_equal(hp_port_info_get(id, &info), 0);
	assert_true(info.link_up);
	assert_int_equal(info.ifindex, (int32_t)if_nametoindex(if_a));
	assert_true(child_answer_is(&c, "events", "ok 1 0 0"));
	for (int round = 1; round <= 2; round++) {
		assert_int_equal(run(&ns_a, "ip link set p0 down"), 0);
		assert_true(link_is(id, false));
		snprintf(buf, sizeof(buf), "ok %d", 2 * round - 1);
		assert_true(child_answer_is(&c, "links", buf));
		assert_int_equal(run(&ns_a, "ip link set p0 up"), 0);
		assert_true(link_is(id, true));
		snprintf(buf, sizeof(buf), "ok %d", 2 * round);
		assert_true(child_answer_is(&c, "links", buf));
	}
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	assert_true(child_answer_is(&c, "events", "ok 1 0 1"));
	child_stop(&c);
}

static void test_af_packet_secondaries_share_the_sockets(void **state)
{
	struct child a = { 0 }, b = { 0 }, late = { 0 };
	struct hp_port_stats st;
	uint8_t f[2048];
	unsigned fds;
	char buf[256];
	struct seen s;
	int far;

	(void)state;
	child_start_env(&a, NULL, NULL);
	child_start_env(&b, NULL, NULL);
	far = far_socket(&ns_a, false);
	fds = count_fds();
	/* One secondary attaches, another starts and polls: the socket
	 * reached it as an fd. */
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "attach net_af_packet0,iface=%s", if_a),
			    "ok 0");
	/* its socket, and the primary's link watch (rtnetlink) */
	assert_int_equal(count_fds(), fds + 2);
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "start 0"), "ok 0");
	far_send(far, 0, 5);
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "afrecv 0 0 5 2000"),
			    "ok 5 0 4 in-order");
	/* The next poller, in another process, goes on where it stopped. */
	far_send(far, 5, 3);
	reader_begin();
	s = port_recv(0, 0, 3, 2000);
	reader_end();
	assert_int_equal(s.n, 3);
	assert_int_equal(s.first, 5);
	assert_int_equal(s.last, 7);
	assert_true(s.in_order);
	assert_int_equal(s.other, 0);
	/* A secondary that starts now asks for the sockets, and polls too. */
	child_start_env(&late, NULL, NULL);
	assert_string_equal(child_cmd(&late, buf, sizeof(buf), "has 0"), "ok 1");
	fds = count_fds() - 2; /* with its pipes and connection, without the
				* port's socket and the link watch */
	far_send(far, 8, 2);
	assert_string_equal(child_cmd(&late, buf, sizeof(buf), "afrecv 0 0 2 2000"),
			    "ok 2 8 9 in-order");
	/* And transmits from any process reach the far end, in order. */
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "afsend 0 0 100 4"), "ok 4");
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(far_recv(far, f, sizeof(f), 2000, is_test_frame), T_FRAME_LEN);
		assert_int_equal(frame_seq(f, T_FRAME_LEN), 100 + i);
	}
	/* Its own transmissions are not received. */
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "afrecv 0 0 1 50"),
			    "ok 0 -1 -1 in-order");
	assert_int_equal(hp_port_stats_get(0, &st), 0);
	assert_int_equal(st.ipackets, 10);
	assert_int_equal(st.ibytes, 10 * T_FRAME_LEN);
	assert_int_equal(st.opackets, 4);
	assert_int_equal(st.obytes, 4 * T_FRAME_LEN);
	assert_int_equal(st.ierrors + st.imissed + st.oerrors + st.odropped, 0);
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "stop 0"), "ok 0");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "detach 0"), "ok net_af_packet0");
	assert_int_equal(count_fds(), fds);
	close(far);
	child_stop(&a);
	child_stop(&b);
	child_stop(&late);
}

/* Whether d is a frame with an 802.1Q or 802.1ad tag. */
static bool is_tagged(const uint8_t *d, size_t len)
{
	return len > 18 && ((d[12] == 0x81 && d[13] == 0x00) ||
			    (d[12] == 0x88 && d[13] == 0xa8));
}

static void test_af_packet_vlan_tags_kept(void **state)
{
	uint8_t f[2][T_FRAME_LEN + 4], got[T_FRAME_LEN + 4];
	struct hp_mbuf *pkts[4];
	char devargs[64];
	uint16_t id, n = 0;
	int far;

	(void)state;
	snprintf(devargs, sizeof(devargs), "net_af_packet0,iface=%s", if_a);
	assert_int_equal(hp_port_attach(devargs, &id), 0);
	assert_int_equal(hp_port_start(id), 0);
	far = far_socket(&ns_a, false);
	/* 802.1Q, VLAN 5 priority 3; then 802.1ad, VLAN 4094. */
	for (unsigned i = 0; i < 2; i++) {
		frame_fill(f[i] + 4, i);
		memmove(f[i], f[i] + 4, 12);
		memcpy(f[i] + 12, i ? (uint8_t[4]){ 0x88, 0xa8, 0x0f, 0xfe } :
				      (uint8_t[4]){ 0x81, 0x00, 0x60, 0x05 }, 4);
		assert_int_equal(send(far, f[i], sizeof(f[i]), 0), sizeof(f[i]));
	}
	reader_begin();
	hp_rcu_thread_online();
	for (int tries = 0; n < 2 && tries < 200; tries++) {
		n = (uint16_t)(n + hp_port_rx_burst(id, 0, pkts + n, (uint16_t)(4 - n)));
		hp_rcu_quiescent();
		usleep(n < 2 ? 5000 : 0);
	}
	hp_rcu_thread_offline();
	reader_end();
	assert_int_equal(n, 2);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(pkts[i]->pkt_len, sizeof(f[i]));
		assert_int_equal(hp_mbuf_read(pkts[i], 0, got, sizeof(got)), sizeof(got));
		assert_true(is_tagged(got, sizeof(got)));
		assert_memory_equal(got, f[i], sizeof(got));
	}
	hp_mbuf_free_bulk(pkts, n);
	close(far);
}

/* ---- IPv4 packets for the offload tests ---- */

/* The ones' complement sum of len bytes, added to sum (not folded). */
static uint32_t csum_add(uint32_t sum, const uint8_t *d, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(d[i] << 8 | d[i + 1]);
	if (len & 1)
		sum += (uint32_t)d[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The pseudo-header sum of an IPv4 packet ip, for l4len bytes of proto. */
static uint32_t pseudo_sum(const uint8_t *ip, uint8_t proto, uint32_t l4len)
{
	return csum_add(0, ip + 12, 8) + proto + l4len;
}

/* Writes Ethernet + IPv4 + TCP (proto 6) or UDP (17) headers for payload
 * bytes of payload at d, the L4 checksum left partial (the pseudo-header
 * sum, as the kernel wants it for a checksum to finish); returns the
 * header bytes. */
static unsigned pkt_headers(uint8_t *d, uint8_t proto, uint16_t sport,
			    unsigned payload)
{
	unsigned l4 = proto == 6 ? 20 : 8, len = 20 + l4 + payload;
	uint8_t *ip = d + 14, *th = ip + 20;
	uint16_t c;

	memcpy(d, (uint8_t[12]){ 0x02, 0, 0, 0, 0, 0x99, 0x02, 0, 0, 0, 0, 0x01 }, 12);
	d[12] = 0x08;
	d[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(len >> 8);
	ip[3] = (uint8_t)len;
	ip[8] = 64;
	ip[9] = proto;
	inet_pton(AF_INET, T_ADDR_A, ip + 12);
	inet_pton(AF_INET, T_ADDR_NONE, ip + 16);
	c = (uint16_t)~csum_fold(csum_add(0, ip, 20));
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	memset(th, 0, l4);
	th[0] = (uint8_t)(sport >> 8);
	th[1] = (uint8_t)sport;
	th[2] = 0x13;
	th[3] = 0x89;
	if (proto == 6) {
		th[4] = 0x12;		/* sequence number */
		th[12] = 5 << 4;	/* data offset */
		th[13] = 0x18;		/* PSH, ACK */
		th[14] = 0xff;		/* window */
	} else {
		th[4] = (uint8_t)((8 + payload) >> 8);
		th[5] = (uint8_t)(8 + payload);
	}
	c = csum_fold(pseudo_sum(ip, proto, l4 + payload));
	th[proto == 6 ? 16 : 6] = (uint8_t)(c >> 8);
	th[proto == 6 ? 17 : 7] = (uint8_t)c;
	return 14 + 20 + l4;
}

/* A packet of the headers above and payload bytes (byte k: k % 253) as a
 * chain of segments of at most seg bytes, from the default pool. */
static struct hp_mbuf *pkt_chain(uint8_t proto, uint16_t sport,
				 unsigned payload, unsigned seg)
{
	static uint8_t d[16384];
	unsigned len = pkt_headers(d, proto, sport, payload) + payload;
	unsigned hdr = len - payload;
	struct hp_mbuf *head = NULL;

	for (unsigned k = 0; k < payload; k++)
		d[hdr + k] = (uint8_t)(k % 253);
	for (unsigned off = 0; off < len; off += seg) {
		struct hp_mbuf *m = hp_mbuf_alloc(child_pool("hp_pool_default"));
		unsigned n = len - off < seg ? len - off : seg;

		assert_non_null(m);
		memcpy(hp_mbuf_data(m), d + off, n);
		m->data_len = (uint16_t)n;
		m->pkt_len = n;
		if (head)
			hp_mbuf_chain(head, m);
		else
			head = m;
	}
	return head;
}

/* Whether d is an IPv4 frame to T_ADDR_NONE (what the offload test sends). */
static bool is_to_none(const uint8_t *d, size_t len)
{
	uint8_t none[4];

	inet_pton(AF_INET, T_ADDR_NONE, none);
	return len >= T_VNET + 34 && d[T_VNET + 12] == 0x08 &&
	       d[T_VNET + 13] == 0x00 && !memcmp(d + T_VNET + 30, none, 4);
}

/* Checks that the IPv4 frame ip (after the Ethernet header, l3len bytes)
 * has valid IP and L4 checksums. */
static void check_sums(const uint8_t *ip, unsigned l3len)
{
	unsigned l4len = l3len - 20;

	assert_int_equal(ip[2] << 8 | ip[3], l3len);
	assert_int_equal(csum_fold(csum_add(0, ip, 20)), 0xffff);
	assert_int_equal(csum_fold(csum_add(pseudo_sum(ip, ip[9], l4len), ip + 20, l4len)),
			 0xffff);
}

static void test_af_packet_tx_hands_offloads_to_the_kernel(void **state)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_STXCSUM, .data = 0 };
	static uint8_t f[70000];
	struct hp_mbuf *m[2];
	struct ifreq ifr;
	char devargs[64];
	uint16_t id;
	int far, fd, n;

	(void)state;
	snprintf(devargs, sizeof(devargs), "net_af_packet0,iface=%s", if_a);
	assert_int_equal(hp_port_attach(devargs, &id), 0);
	assert_int_equal(hp_port_start(id), 0);
	far = far_socket(&ns_a, true);
	for (int pass = 0; pass < 2; pass++) {
		/* 3000 bytes of TCP to cut in segments of 1000, in chains of
		 * 700-byte segments; 300 bytes of UDP with a checksum to
		 * finish, in 100-byte segments. */
		m[0] = pkt_chain(6, 1000, 3000, 700);
		m[0]->ol_flags = HP_MBUF_F_OFFLOAD;
		m[0]->offload = (struct hp_mbuf_offload){
			.flags = HP_MBUF_CSUM_PARTIAL | HP_MBUF_CSUM_VALID,
			.gso_type = HP_MBUF_GSO_TCPV4, .gso_size = 1000,
			.csum_start = 34, .csum_offset = 16 };
		m[1] = pkt_chain(17, 2000, 300, 100);
		m[1]->ol_flags = HP_MBUF_F_OFFLOAD;
		m[1]->offload = (struct hp_mbuf_offload){
			.flags = HP_MBUF_CSUM_PARTIAL, .csum_start = 34, .csum_offset = 6 };
		assert_true(m[0]->nb_segs > 2 && m[1]->nb_segs > 2);
		reader_begin();
		hp_rcu_thread_online();
		assert_int_equal(hp_port_tx_burst(id, 0, m, 2), 2);
		hp_rcu_thread_offline();
		reader_end();
		if (pass == 0) {
			/* Offloads on: the far end gets both as they were
			 * sent, with the same metadata. */
			const struct virtio_net_hdr *vh = (const void *)f;

			n = far_recv(far, f, sizeof(f), 2000, is_to_none);
			assert_int_equal(n, T_VNET + 14 + 40 + 3000);
			assert_int_equal(vh->gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
			assert_int_equal(vh->gso_size, 1000);
			assert_int_equal(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM, 1);
			assert_int_equal(vh->csum_start, 34);
			assert_int_equal(vh->csum_offset, 16);
			for (unsigned k = 0; k < 3000; k++)
				assert_int_equal(f[T_VNET + 54 + k], k % 253);
			n = far_recv(far, f, sizeof(f), 2000, is_to_none);
			assert_int_equal(n, T_VNET + 14 + 28 + 300);
			assert_int_equal(vh->gso_type, VIRTIO_NET_HDR_GSO_NONE);
			assert_int_equal(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM, 1);
			assert_int_equal(vh->csum_start, 34);
			assert_int_equal(vh->csum_offset, 6);
			/* Now make the kernel do the work in software: no
			 * checksum offload (so no TSO) on the near end. */
			memset(&ifr, 0, sizeof(ifr));
			snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", if_a);
			ifr.ifr_data = (void *)&ev;
			fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			assert_int_equal(ioctl(fd, SIOCETHTOOL, &ifr), 0);
			close(fd);
			continue;
		}
		/* Three segments of 1000 bytes, then the UDP datagram, all
		 * with checksums that add up. */
		for (unsigned s = 0; s < 3; s++) {
			n = far_recv(far, f, sizeof(f), 2000, is_to_none);
			assert_int_equal(n, T_VNET + 14 + 40 + 1000);
			assert_int_equal(f[T_VNET + 23], 6);
			check_sums(f + T_VNET + 14, 40 + 1000);
			for (unsigned k = 0; k < 1000; k++)
				assert_int_equal(f[T_VNET + 54 + k], (s * 1000 + k) % 253);
		}
		n = far_recv(far, f, sizeof(f), 2000, is_to_none);
		assert_int_equal(n, T_VNET + 14 + 28 + 300);
		check_sums(f + T_VNET + 14, 28 + 300);
	}
	close(far);
}

/* Whether d is an IPv4 frame to T_ADDR_NONE, without a virtio-net header. */
static bool is_udp_to_none(const uint8_t *d, size_t len)
{
	uint8_t none[4];

	inet_pton(AF_INET, T_ADDR_NONE, none);
	return len >= 34 && d[12] == 0x08 && d[23] == 17 && !memcmp(d + 30, none, 4);
}

/* Sends the 32 packets m on a new port of if_a in one burst: every one is
 * taken, and every one arrives in ns_a as a UDP datagram to T_ADDR_NONE. */
static void tx_burst_all_arrive(struct hp_mbuf **m)
{
	static uint8_t f[2048];
	char devargs[64];
	uint16_t id, sent;
	unsigned got = 0;
	int far;

	snprintf(devargs, sizeof(devargs), "net_af_packet0,iface=%s", if_a);
	assert_int_equal(hp_port_attach(devargs, &id), 0);
	assert_int_equal(hp_port_start(id), 0);
	far = far_socket(&ns_a, false);
	reader_begin();
	hp_rcu_thread_online();
	sent = hp_port_tx_burst(id, 0, m, 32);
	hp_rcu_thread_offline();
	reader_end();
	hp_mbuf_free_bulk(m + sent, 32u - sent);
	assert_int_equal(sent, 32);
	while (far_recv(far, f, sizeof(f), 1000, is_udp_to_none) > 0)
		got++;
	assert_int_equal(got, 32);
	close(far);
}

/* Regression: a burst whose chains needed more iovecs than one sendmmsg
 * takes stopped after the first call, as if the socket were full, and the
 * caller dropped the rest. */
static void test_af_packet_tx_burst_of_long_chains_all_taken(void **state)
{
	struct hp_mbuf *m[32];

	(void)state;
	/* 32 datagrams of 1400 bytes in 40-byte segments: 38 iovecs each. */
	for (unsigned i = 0; i < 32; i++)
		m[i] = pkt_chain(17, (uint16_t)(6000 + i), 1400, 40);
	assert_int_equal(m[0]->nb_segs, 37);
	tx_burst_all_arrive(m);
}

/* Regression: a burst whose packets filled the iovecs exactly (30 of 34,
 * one of 4) wrote the next packet's iovecs past the array (found under
 * AddressSanitizer). */
static void test_af_packet_tx_iovecs_filled_exactly(void **state)
{
	struct hp_mbuf *m[32];

	(void)state;
	for (unsigned i = 0; i < 30; i++)	/* 42 + 1400 bytes: 33 segments */
		m[i] = pkt_chain(17, (uint16_t)(7000 + i), 1400, 44);
	m[30] = pkt_chain(17, 7030, 90, 44);	/* 3 segments */
	m[31] = pkt_chain(17, 7031, 2, 44);	/* 1 segment */
	assert_int_equal(m[0]->nb_segs, 33);
	assert_int_equal(m[30]->nb_segs, 3);
	tx_burst_all_arrive(m);
}

/* TCP from ns_a to ns_b through two af_packet ports and a forwarding loop
 * in this thread. */
struct tcp_run {
	uint16_t port[2];
	unsigned gso, chains, partial;	/* data packets (a to b) with each */
	uint32_t longest;
	uint64_t sent, received;
	bool intact;
};

static void tcp_forward(struct tcp_run *t)
{
	struct hp_mbuf *pkts[32];

	for (unsigned dir = 0; dir < 2; dir++) {
		uint16_t n = hp_port_rx_burst(t->port[dir], 0, pkts, 32), s;

		for (uint16_t i = 0; i < n && dir == 0; i++) {
			const struct hp_mbuf *m = pkts[i];

			t->gso += (m->ol_flags & HP_MBUF_F_OFFLOAD) &&
				  m->offload.gso_type != HP_MBUF_GSO_NONE;
			t->partial += (m->ol_flags & HP_MBUF_F_OFFLOAD) &&
				      (m->offload.flags & HP_MBUF_CSUM_PARTIAL);
			t->chains += m->nb_segs > 1;
			t->longest = m->pkt_len > t->longest ? m->pkt_len : t->longest;
		}
		s = hp_port_tx_burst(t->port[!dir], 0, pkts, n);
		hp_mbuf_free_bulk(pkts + s, n - s);
	}
	hp_rcu_quiescent();
}

/* Sends 8 MiB from ns_a to ns_b through ports on if_a and if_b and the
 * forwarding loop of this thread; fills t. */
static void tcp_run(struct tcp_run *t)
{
	const uint64_t total = 8u << 20;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(5001) };
	static uint8_t out[65536 + 253], in[65536];
	struct hp_port_stats st;
	struct timespec t0, t1 = { 0 };
	int lst, cli, srv = -1;
	char devargs[64];
	double secs;

	t->intact = true;
	for (unsigned i = 0; i < 2; i++) {
		snprintf(devargs, sizeof(devargs), "net_af_packet%u,iface=%s", i,
			 i ? if_b : if_a);
		assert_int_equal(hp_port_attach(devargs, &t->port[i]), 0);
		assert_int_equal(hp_port_start(t->port[i]), 0);
	}
	for (unsigned k = 0; k < sizeof(out); k++)
		out[k] = (uint8_t)(k % 253);
	inet_pton(AF_INET, T_ADDR_B, &sa.sin_addr);
	lst = socket_in(&ns_b, AF_INET, SOCK_STREAM);
	assert_int_equal(bind(lst, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lst, 1), 0);
	cli = socket_in(&ns_a, AF_INET, SOCK_STREAM);
	assert_int_equal(connect(cli, (struct sockaddr *)&sa, sizeof(sa)), -1);
	assert_int_equal(errno, EINPROGRESS);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	reader_begin();
	hp_rcu_thread_online();
	while (t->received < total && t->intact) {
		ssize_t n;

		tcp_forward(t);
		if (srv < 0)
			srv = accept4(lst, NULL, NULL, SOCK_NONBLOCK);
		if (t->sent < total) {
			size_t want = total - t->sent < 65536 ? total - t->sent : 65536;

			n = send(cli, out + t->sent % 253, want, MSG_NOSIGNAL);
			if (n > 0)
				t->sent += (uint64_t)n;
			else
				assert_true(errno == EAGAIN);
		}
		while (srv >= 0 && (n = recv(srv, in, sizeof(in), 0)) > 0) {
			for (ssize_t k = 0; k < n; k++)
				t->intact &= in[k] == (t->received + (uint64_t)k) % 253;
			t->received += (uint64_t)n;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > 20)
			break;
	}
	hp_rcu_thread_offline();
	reader_end();
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("    %.1f MiB through the forwarder in %.0f ms (%.2f Gbit/s); "
		      "a to b: %u GSO packets (longest %u bytes), %u chains, %u with a partial checksum\n",
		      (double)t->received / (1 << 20), secs * 1000,
		      (double)t->received * 8 / secs / 1e9, t->gso, t->longest,
		      t->chains, t->partial);
	assert_true(t->intact);
	assert_int_equal(t->received, total);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(hp_port_stats_get(t->port[i], &st), 0);
		assert_int_equal(st.ierrors + st.oerrors, 0);
	}
	close(cli);
	close(srv);
	close(lst);
}

static void test_af_packet_tcp_through_a_forwarder_keeps_offloads(void **state)
{
	struct tcp_run t = { 0 };

	(void)state;
	tcp_run(&t);
	/* The sender's 64 KiB sends crossed the veth whole: the kernel
	 * handed them over as such, with a checksum to finish. */
	assert_true(t.gso > 0);
	assert_true(t.chains > 0);
	assert_true(t.partial > 0);
	assert_true(t.longest > 2048);
}

static void test_af_packet_tcp_through_a_forwarder_with_gro(void **state)
{
	struct tcp_run t = { 0 };

	(void)state;
	/* As from a NIC: the sender cuts its segments and sums them itself,
	 * they arrive one by one, and GRO on the near end merges them into
	 * large packets for the socket; on the way out the kernel cuts them
	 * again. */
	if (run(&ns_a, "ethtool -K p0 tx off gso off") ||
	    run(NULL, "ethtool -K %s gro on", if_a)) {
		print_message("    skipped: ethtool could not set the offloads\n");
		skip();
	}
	tcp_run(&t);
	assert_true(t.gso > 0);
	assert_true(t.chains > 0);
	assert_true(t.longest > 2048);
}

static void test_af_packet_qpairs_spread_flows(void **state)
{
	static uint8_t d[128];
	struct hp_mbuf *pkts[32], *m;
	unsigned got[2] = { 0, 0 };
	uint32_t ports_seen = 0;
	char devargs[64];
	uint16_t id;
	int far;

	(void)state;
	snprintf(devargs, sizeof(devargs), "net_af_packet0,iface=%s,qpairs=2", if_a);
	assert_int_equal(hp_port_attach(devargs, &id), 0);
	/* Fewer tx queues will do; fewer rx queues would lose traffic. */
	assert_int_equal(hp_port_configure(id, 1, 1), -EINVAL);
	assert_int_equal(hp_port_configure(id, 2, 1), 0);
	assert_int_equal(hp_port_configure(id, 2, 2), 0);
	assert_int_equal(hp_port_start(id), 0);
	far = far_socket(&ns_a, false);
	/* 32 flows (UDP source ports), one datagram each. */
	for (uint16_t i = 0; i < 32; i++) {
		unsigned len = pkt_headers(d, 17, (uint16_t)(4000 + i), 20) + 20;
		uint8_t *udp = d + 34;
		uint16_t c;

		/* Whole checksums: these come from a socket, not a stack. */
		memset(d + 42, (int)i, 20);
		udp[6] = udp[7] = 0;
		c = (uint16_t)~csum_fold(csum_add(pseudo_sum(d + 14, 17, 28), udp, 28));
		udp[6] = (uint8_t)(c >> 8);
		udp[7] = (uint8_t)c;
		assert_int_equal(send(far, d, len, 0), len);
	}
	reader_begin();
	hp_rcu_thread_online();
	for (int tries = 0; got[0] + got[1] < 32 && tries < 400; tries++) {
		for (uint16_t q = 0; q < 2; q++) {
			uint16_t n = hp_port_rx_burst(id, q, pkts, 32);

			for (uint16_t i = 0; i < n; i++) {
				uint8_t c[64];

				assert_int_equal(pkts[i]->queue, q);
				hp_mbuf_read(pkts[i], 0, c, sizeof(c));
				if (is_udp_to_none(c, pkts[i]->pkt_len)) {
					ports_seen |= 1u << (((c[34] << 8) | c[35]) - 4000);
					got[q]++;
				}
			}
			hp_mbuf_free_bulk(pkts, n);
		}
		hp_rcu_quiescent();
		usleep(got[0] + got[1] < 32 ? 5000 : 0);
	}
	/* Transmit queue 1 is socket 1. */
	m = pkt_chain(17, 5000, 30, 1000);
	assert_int_equal(hp_port_tx_burst(id, 1, &m, 1), 1);
	hp_rcu_thread_offline();
	reader_end();
	assert_int_equal(got[0] + got[1], 32);
	assert_int_equal(ports_seen, 0xffffffffu);
	assert_true(got[0] > 0 && got[1] > 0);
	assert_int_equal(far_recv(far, d, sizeof(d), 2000, is_udp_to_none), 14 + 28 + 30);
	close(far);
}

static void test_af_packet_short_of_buffers_packets_wait(void **state)
{
	struct hp_mempool *tiny, *small;
	struct hp_mbuf *held[8];
	struct hp_port_stats st;
	unsigned nheld = 0;
	uint16_t more;
	char devargs[64];
	struct seen s;
	uint16_t id;
	int far;

	(void)state;
	assert_int_equal(hp_mempool_create(hp_core_shm(), "t_afp_tiny", 64, 0,
					   HP_MBUF_HEADROOM + 32, &tiny), 0);
	assert_int_equal(hp_mempool_create(hp_core_shm(), "t_afp_small", 8, 0,
					   HP_MBUF_DEFAULT_DATAROOM, &small), 0);
	snprintf(devargs, sizeof(devargs), "net_af_packet0,iface=%s", if_a);
	assert_int_equal(hp_port_attach(devargs, &id), 0);
	/* Buffers too small for the Ethernet header and a VLAN tag: refused. */
	assert_int_equal(hp_port_rx_queue_setup(id, 0, 0, tiny), -EINVAL);
	assert_int_equal(hp_port_rx_queue_setup(id, 0, 0, small), 0);
	assert_int_equal(hp_port_start(id), 0);
	far = far_socket(&ns_a, false);
	far_send(far, 0, 20);
	usleep(20000);
	/* Eight buffers for twenty frames: bursts take what they can, the
	 * rest wait in the ring, nothing is lost. */
	reader_begin();
	hp_rcu_thread_online();
	for (int tries = 0; nheld < 8 && tries < 100; tries++) {
		nheld += hp_port_rx_burst(id, 0, held + nheld, (uint16_t)(8 - nheld));
		hp_rcu_quiescent();
	}
	assert_int_equal(nheld, 8);
	assert_int_equal(hp_port_rx_burst(id, 0, held, 8), 0);
	for (unsigned i = 0; i < nheld; i++)
		assert_int_equal(frame_seq(hp_mbuf_data(held[i]), held[i]->pkt_len), i);
	/* Three free: a burst of eight takes some of them. */
	hp_mbuf_free_bulk(held, 3);
	more = hp_port_rx_burst(id, 0, held, 8);
	hp_rcu_thread_offline();
	assert_true(more >= 1 && more <= 3);
	for (unsigned i = 0; i < more; i++)
		assert_int_equal(frame_seq(hp_mbuf_data(held[i]), held[i]->pkt_len), 8 + i);
	hp_mbuf_free_bulk(held, more);
	hp_mbuf_free_bulk(held + 3, 5);
	s = port_recv(id, 0, 12u - more, 2000);
	reader_end();
	assert_int_equal(s.n, 12 - more);
	assert_int_equal(s.first, 8 + more);
	assert_int_equal(s.last, 19);
	assert_true(s.in_order);
	assert_int_equal(hp_port_stats_get(id, &st), 0);
	assert_int_equal(st.ipackets, 20);
	assert_int_equal(st.imissed + st.ierrors, 0);
	assert_int_equal(hp_mempool_avail(small), 8);
	close(far);
}

static void test_af_packet_full_ring_counts_drops(void **state)
{
	struct hp_port_stats st;
	char devargs[80];
	struct seen s;
	uint16_t id;
	int far;

	(void)state;
	snprintf(devargs, sizeof(devargs), "net_af_packet0,iface=%s,framecnt=64", if_a);
	assert_int_equal(hp_port_attach(devargs, &id), 0);
	assert_int_equal(hp_port_start(id), 0);
	far = far_socket(&ns_a, false);
	/* 100 frames into a ring of 64 that nobody polls. */
	far_send(far, 0, 100);
	reader_begin();
	s = port_recv(id, 0, 100, 300);
	assert_int_equal(s.n, 64);
	assert_int_equal(s.first, 0);
	assert_int_equal(s.last, 63);
	/* The next frame says that some were lost; the kernel says how many. */
	far_send(far, 100, 1);
	s = port_recv(id, 0, 1, 2000);
	reader_end();
	assert_int_equal(s.n, 1);
	assert_int_equal(s.first, 100);
	assert_int_equal(hp_port_stats_get(id, &st), 0);
	assert_int_equal(st.ipackets, 65);
	assert_int_equal(st.imissed, 36);
	close(far);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_af_packet_bad_devargs_leave_nothing, setup, teardown),
cmocka_unit_test_setup_teardown(test_af_packet_link_follows_the_kernel, setup, teardown),
				cmocka_unit_test_setup_teardown(test_af_packet_secondaries_share_the_sockets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_af_packet_vlan_tags_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_af_packet_tx_hands_offloads_to_the_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_af_packet_tx_iovecs_filled_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_af_packet_tx_burst_of_long_chains_all_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_af_packet_tcp_through_a_forwarder_keeps_offloads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_af_packet_tcp_through_a_forwarder_with_gro, setup, teardown),
		cmocka_unit_test_setup_teardown(test_af_packet_qpairs_spread_flows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_af_packet_short_of_buffers_packets_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_af_packet_full_ring_counts_drops, setup, teardown),
	};

	if (argc == 4 && !strcmp(argv[1], "--child"))
		return child_main(argv[2], atoi(argv[3]), afp_child_cmd);
	if (geteuid() != 0) {
		printf("skipped: net_af_packet tests need root (network namespaces, veth pairs, packet sockets)\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
