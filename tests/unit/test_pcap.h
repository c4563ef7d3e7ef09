/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers of the net_pcap tests: test packets (UDP or TCP over IPv4 with
 * their checksums, whole or left partial), pcap files written and read
 * with libpcap, and tcpdump and tshark run on a file. */
#ifndef TEST_PCAP_H
#define TEST_PCAP_H

#include <pcap/pcap.h>

#include "hp_test_child.h"

/* Ethertype of the frames the veth test sends (IEEE local experimental). */
#define MARK_TYPE 0x88b5
/* Where a test packet keeps its number: the first UDP payload bytes. */
#define ID_OFF 42

static char dir[128];	/* the running test's files */

/* ---- packets ---- */

static inline uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len >= 2; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static inline uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The IPv4 pseudo-header sum of an L4 segment of l4len bytes. */
static inline uint32_t pseudo_sum(const uint8_t *ip, uint8_t proto,
				  uint16_t l4len)
{
	uint8_t ph[4] = { 0, proto, (uint8_t)(l4len >> 8), (uint8_t)l4len };

	return csum_add(csum_add(0, ip + 12, 8), ph, 4);
}

/* Builds a UDP (or TCP) over IPv4 frame of len bytes (at least 60), to
 * port 9 (discard: no dissector reads the payload), that carries id, with
 * every checksum right, or with the L4 one left partial (the pseudo-header
 * sum, as a kernel hands it over with offload). */
static inline void pkt_build(uint8_t *b, uint32_t len, uint32_t id,
			     uint8_t proto, bool partial)
{
	static const uint8_t eth[14] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1,
					 0x08, 0x00 };
	uint8_t *ip = b + 14, *l4 = ip + 20;
	uint16_t l4len = (uint16_t)(len - 34), at;
	uint32_t at_id;

	memcpy(b, eth, sizeof(eth));
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(len - 14));
	put16(ip + 4, (uint16_t)id);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, (uint8_t[8]){ 198, 18, 0, 1, 198, 18, 0, 2 }, 8);
	put16(ip + 10, (uint16_t)~csum_fold(csum_add(0, ip, 20)));
	if (proto == IPPROTO_UDP) {
		memset(l4, 0, 8);
		put16(l4, 9);
		put16(l4 + 2, 9);
		put16(l4 + 4, l4len);
		at = 6;
	} else {
		memset(l4, 0, 20);
		put16(l4, (uint16_t)(20000 + id)); /* a stream each */
		put16(l4 + 2, 9);
		memcpy(l4 + 4, &id, 4);
		l4[12] = 5 << 4;
		l4[13] = 0x18;
		put16(l4 + 14, 65535);
		at = 16;
	}
	at_id = proto == IPPROTO_UDP ? ID_OFF : ID_OFF + 12;
	memcpy(b + at_id, &id, 4);
	for (uint32_t j = at_id + 4; j < len; j++)
		b[j] = (uint8_t)(id * 7 + j);
	if (partial) {
		put16(l4 + at, csum_fold(pseudo_sum(ip, proto, l4len)));
	} else {
		uint16_t c = (uint16_t)~csum_fold(csum_add(
			pseudo_sum(ip, proto, l4len), l4, l4len));
		put16(l4 + at, c ? c : 0xffff);
	}
}

/* Whether the L4 checksum of a frame made by pkt_build is right. */
static inline bool pkt_csum_ok(const uint8_t *b, uint32_t len)
{
	const uint8_t *ip = b + 14;
	uint16_t l4len = (uint16_t)(len - 34);

	return csum_fold(csum_add(pseudo_sum(ip, ip[9], l4len), ip + 20,
				  l4len)) == 0xffff;
}

/* Length of test packet k: small, full-size, just over and just at the
 * 2 KiB of a buffer, jumbo, and sizes in between. */
static inline uint32_t pkt_len_of(uint32_t k)
{
	static const uint32_t lens[] = { 60, 64, 1514, 2049, 9000, 2048, 4100 };

	return k % 8 < 7 ? lens[k % 8] : 60 + (k * 37) % 1400;
}

/* How many of the first n test packets take more than one buffer. */
static inline unsigned chains_of(unsigned n)
{
	unsigned c = 0;

	for (uint32_t k = 0; k < n; k++)
		c += pkt_len_of(k) > HP_MBUF_DEFAULT_DATAROOM - HP_MBUF_HEADROOM;
	return c;
}

/* Writes n test packets with libpcap's own writer. */
static inline void file_write(const char *path, unsigned n)
{
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d;
	uint8_t buf[9000];

	assert_non_null(p);
	d = pcap_dump_open(p, path);
	assert_non_null(d);
	for (uint32_t k = 0; k < n; k++) {
		struct pcap_pkthdr h = { .ts = { 1700000000 + k, k } };

		h.caplen = h.len = pkt_len_of(k);
		pkt_build(buf, h.caplen, k, IPPROTO_UDP, false);
		pcap_dump((u_char *)d, &h, buf);
	}
	pcap_dump_close(d);
	pcap_close(p);
}

/* One packet of a file. */
struct rec {
	uint32_t caplen, len;
	uint8_t *data;
};

/* Reads every packet of a file; returns how many (recs malloc'ed). */
static inline unsigned file_read(const char *path, struct rec **ret_recs)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, errbuf);
	struct pcap_pkthdr *h;
	const u_char *data;
	struct rec *recs = NULL;
	unsigned n = 0;

	if (!p)
		fail_msg("%s: %s", path, errbuf);
	while (pcap_next_ex(p, &h, &data) == 1) {
		recs = realloc(recs, (n + 1) * sizeof(*recs));
		assert_non_null(recs);
		recs[n].caplen = h->caplen;
		recs[n].len = h->len;
		recs[n].data = malloc(h->caplen ? h->caplen : 1);
		memcpy(recs[n].data, data, h->caplen);
		n++;
	}
	pcap_close(p);
	*ret_recs = recs;
	return n;
}

static inline void recs_free(struct rec *recs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(recs[i].data);
	free(recs);
}

/* Checks that two files hold the same packets, in the same order. */
static inline void files_same(const char *a, const char *b)
{
	struct rec *ra, *rb;
	unsigned na = file_read(a, &ra), nb = file_read(b, &rb);

	assert_int_equal(na, nb);
	for (unsigned i = 0; i < na; i++) {
		if (ra[i].caplen != rb[i].caplen || ra[i].len != rb[i].len ||
		    memcmp(ra[i].data, rb[i].data, ra[i].caplen))
			fail_msg("packet %u differs (%u/%u bytes, %u/%u)", i,
				 ra[i].caplen, ra[i].len, rb[i].caplen,
				 rb[i].len);
	}
	recs_free(ra, na);
	recs_free(rb, nb);
}

static inline void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* ---- tools ---- */

/* Runs argv with stdout to out (a file) and stderr to err (a file);
 * returns its exit status, 127 when it is not installed. */
static inline int run(char *const argv[], const char *out, const char *err)
{
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(o, 1);
		dup2(e, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Checks that a tool exited with status 0 and that its stderr holds
 * nothing but its usual notes. */
static inline void tool_clean(const char *tool, int status, const char *err)
{
	static const char *const notes[] = {
		"reading from file ",		 /* tcpdump */
		"Running as user \"root\"",	 /* tshark as root */
	};
	char line[512];
	FILE *f = fopen(err, "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		bool note = false;

		for (size_t i = 0; i < HP_ARRAY_SIZE(notes); i++)
			note |= !strncmp(line, notes[i], strlen(notes[i]));
		if (!note || status != 0)
			fail_msg("%s (exit status %d) wrote on stderr: %s",
				 tool, status, line);
	}
	fclose(f);
	if (status != 0)
		fail_msg("%s: exit status %d", tool, status);
}

/* Lines a file holds. */
static inline unsigned lines_of(const char *path)
{
	FILE *f = fopen(path, "r");
	unsigned n = 0;
	int c;

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* tcpdump -r and tshark -r read file with exit status 0 and nothing on
 * stderr; tcpdump prints each packet; tshark, checking every checksum,
 * flags none of them (bad checksum, malformed, expert warning). A tool
 * that is not installed is skipped with a message. */
static inline void tools_read(const char *file, unsigned nb_pkts)
{
	char out[192], err[192], path[160];
	char *tcpdump[] = { "tcpdump", "-n", "-r", path, NULL };
	/* Port 9 read as plain data: the test payloads are no protocol, and
	 * tshark's guesses (QUIC...) would flag them. */
	char *tshark[] = {
		"tshark", "-n", "-r", path, "-d", "udp.port==9,data", "-d",
		"tcp.port==9,data", "-o", "ip.check_checksum:TRUE",
		"-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
		"-Y", "ip.checksum.status == 0 || udp.checksum.status == 0 || tcp.checksum.status == 0 || _ws.malformed || _ws.expert.severity >= warning",
		NULL
	};
	char line[512] = "";
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s", file);
	path_of(out, sizeof(out), "tool.out");
	path_of(err, sizeof(err), "tool.err");
	r = run(tcpdump, out, err);
	if (r == 127) {
		print_message("tcpdump is not installed: its check is skipped\n");
	} else {
		tool_clean("tcpdump", r, err);
		assert_int_equal(lines_of(out), nb_pkts);
	}
	r = run(tshark, out, err);
	if (r == 127) {
		print_message("tshark is not installed: its check is skipped\n");
		return;
	}
	tool_clean("tshark", r, err);
	if (!lines_of(out))
		return;
	f = fopen(out, "r");
	if (f && !fgets(line, sizeof(line), f))
		line[0] = '\0';
	if (f)
		fclose(f);
	fail_msg("tshark flags %u packets, e.g.: %s", lines_of(out), line);
}

#endif
