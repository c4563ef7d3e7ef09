/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers of the TAP tests: test frames (Ethernet, IPv4, UDP, a payload
 * that names the frame) and the kernel's end of a port (the interface's
 * state, a packet socket on it, persistent TAPs). */
#ifndef TEST_TAP_H
#define TEST_TAP_H

#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>

#include "hp_test_child.h"

/* ---- test frames: Ethernet, IPv4, UDP from port 1024 + k, a payload
 * that starts with a magic and k ---- */

#define FRAME_MAGIC 0x48505450u /* "HPTP" */
#define FRAME_MIN 60
#define FRAME_MAX 65600
#define FRAME_PAYLOAD 42	/* after the Ethernet, IPv4 and UDP headers */

static inline void be16_put(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void be32_put(uint8_t *p, uint32_t v)
{
	be16_put(p, v >> 16);
	be16_put(p + 2, v & 0xffff);
}

static inline uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void frame_fill(uint8_t *f, unsigned len, unsigned seed, uint32_t k)
{
	static const uint8_t hdr[34] = {
		0x02, 0x68, 0x70, 0, 0, 2,	/* to: nobody the kernel knows */
		0x02, 0x68, 0x70, 0, 0, 1, 0x08, 0x00,
		0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0,
		10, 213, 0, 1, 10, 213, 0, 2,
	};
	uint32_t sum = 0;

	memcpy(f, hdr, sizeof(hdr));
	be16_put(f + 16, len - 14);
	for (unsigned i = 14; i < 34; i += 2)
		sum += (uint32_t)f[i] << 8 | f[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	be16_put(f + 24, ~sum & 0xffff);
	be16_put(f + 34, 1024 + (k & 0x7fff));
	be16_put(f + 36, 9);
	be16_put(f + 38, len - 34);
	be16_put(f + 40, 0);
	be32_put(f + FRAME_PAYLOAD, FRAME_MAGIC);
	be32_put(f + FRAME_PAYLOAD + 4, k);
	for (unsigned i = FRAME_PAYLOAD + 8; i < len; i++)
		f[i] = (uint8_t)(seed + k + i);
}

static inline bool frame_is_test(const uint8_t *f, unsigned len)
{
	return len >= FRAME_PAYLOAD + 8 && f[12] == 0x08 && f[13] == 0 &&
	       f[23] == 17 && be32_get(f + FRAME_PAYLOAD) == FRAME_MAGIC;
}

/* Whether test frame f of len bytes is intact; writes its k. */
static inline bool frame_check(const uint8_t *f, unsigned len, unsigned seed,
			uint32_t *ret_k)
{
	static uint8_t want[FRAME_MAX];
	uint32_t k = be32_get(f + FRAME_PAYLOAD + 4);

	frame_fill(want, len, seed, k);
	*ret_k = k;
	return !memcmp(f, want, len);
}

/* ---- the kernel's side ---- */

static inline void ifr_set(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
}

static inline int if_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	assert_true(s >= 0);
	r = ioctl(s, req, ifr);
	close(s);
	return r;
}

static inline void if_mac(const char *name, uint8_t *mac)
{
	struct ifreq ifr;

	ifr_set(&ifr, name);
	assert_int_equal(if_ioctl(SIOCGIFHWADDR, &ifr), 0);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
}

static inline bool if_up(const char *name)
{
	struct ifreq ifr;

	ifr_set(&ifr, name);
	assert_int_equal(if_ioctl(SIOCGIFFLAGS, &ifr), 0);
	return ifr.ifr_flags & IFF_UP;
}

/* Whether the interface's TCP segmentation offload is on. */
static inline bool if_tso(const char *name)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_GTSO };
	struct ifreq ifr;

	ifr_set(&ifr, name);
	ifr.ifr_data = (void *)&ev;
	assert_int_equal(if_ioctl(SIOCETHTOOL, &ifr), 0);
	return ev.data;
}

static inline void if_mtu(const char *name, int mtu)
{
	struct ifreq ifr;

	ifr_set(&ifr, name);
	ifr.ifr_mtu = mtu;
	assert_int_equal(if_ioctl(SIOCSIFMTU, &ifr), 0);
}

/* A number from /sys/class/net/NAME/FILE. */
static inline unsigned long if_sys(const char *name, const char *file)
{
	char path[128];
	unsigned long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", name, file);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%lu", &v), 1);
	fclose(f);
	return v;
}

/* The interface's rx queues as the kernel counts them (one per attached
 * TAP queue). */
static inline unsigned if_rx_queues(const char *name)
{
	char path[128];
	struct dirent *e;
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", name);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, "rx-", 3);
	closedir(d);
	return n;
}

/* IPv6 off on the interface, so the kernel sends nothing of its own. */
static inline void if_quiet(const char *name)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	f = fopen(path, "w");
	if (f) {
		fputs("1", f);
		fclose(f);
	}
}

/* A packet socket on the interface: the kernel's end of the port. */
static inline int pkt_sock(const char *name)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)if_nametoindex(name) };
	struct timeval tv = { .tv_sec = 3 };
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	assert_true(s >= 0);
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return s;
}

/* The kernel sends test frame k out of the interface (to the port). */
static inline void ks_send(int s, unsigned len, unsigned seed, uint32_t k)
{
	static uint8_t f[FRAME_MAX];

	frame_fill(f, len, seed, k);
	assert_int_equal(send(s, f, len, 0), (ssize_t)len);
}

/* Whether the kernel receives test frame k of len bytes, intact, within
 * 3 s (other frames are skipped). */
static inline bool ks_recv(int s, unsigned len, unsigned seed, uint32_t k)
{
	static uint8_t f[FRAME_MAX];
	struct sockaddr_ll from;
	socklen_t fl = sizeof(from);
	uint32_t got;
	ssize_t n;

	while ((n = recvfrom(s, f, sizeof(f), 0, (struct sockaddr *)&from, &fl)) > 0) {
		if (from.sll_pkttype == PACKET_OUTGOING || !frame_is_test(f, (unsigned)n))
			continue;
		return (unsigned)n == len && frame_check(f, len, seed, &got) && got == k;
	}
	return false;
}

/* Makes a persistent TAP (multi-queue or not) that no program holds. */
static inline void tap_persistent(const char *name, bool mq, bool persist)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	ifr_set(&ifr, name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (mq ? IFF_MULTI_QUEUE : 0);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, (unsigned long)persist), 0);
	close(fd);
}

#endif
