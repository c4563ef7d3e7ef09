/* SPDX-License-Identifier: BSD-3-Clause */
/* net_pcap interfaces: live capture (iface=, rx_iface=, rx_iface_in=) and
 * injection (iface=, tx_iface=) with libpcap.
 *
 * A capture handle cannot move between processes, so each process opens
 * its own, at its first poll of a queue (a process that never polls a
 * queue never captures), and closes it in detach_local. The probe only
 * checks, in the primary, that the interface exists and can be opened;
 * a process that polls later checks that the name still names that
 * interface (the same ifindex: not deleted and recreated, not another
 * network namespace), and each polling process needs CAP_NET_RAW. The
 * probe refuses a requester that is neither root nor the primary's user
 * (hp_port_iface_allowed): the primary would capture for it.
 *
 * rx: every open capture of an interface receives every packet. So that
 * a packet is delivered once when polling of the queue moves from one
 * process to another, the port counts in shared memory the packets the
 * queue delivered and which process polled last. A process that takes
 * the queue over skips, at the head of its own capture (which holds what
 * arrived since its last poll), as many packets as the others delivered
 * meanwhile: those are the same packets, in the same order. That is exact
 * while the processes keep their captures open. A process's capture
 * starts at its first poll: what arrived between the previous poll (in
 * another process) and then is in the other capture only; should polling
 * go back there, up to that many packets are lost and as many delivered
 * twice (the count no longer lines up). iface= captures incoming packets
 * only (what the port sends is not received back); rx_iface= captures both
 * directions, as tcpdump does; rx_iface_in= incoming only.
 *
 * tx: pcap_inject, one packet at a time; chains are gathered and partial
 * checksums finished first. GSO packets (larger than the interface takes)
 * are dropped and counted as errors. A send that finds no room (ENOBUFS)
 * ends the burst: the caller keeps the rest. The tx handle has a filter
 * that takes no packet, so it never captures. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hp_log.h"
#include "pcap_private.h"

/* Opens a live handle on interface name: a capture (rx) or a handle that
 * captures nothing and sends (tx). NULL with a reason in errbuf. */
static pcap_t *pcap_iface_open(const char *name, bool rx, bool in_only,
			       char *errbuf)
{
	/* Takes no packet: the filter of tx handles. */
	static struct bpf_insn none[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct bpf_program prog = { 1, none };
	pcap_t *p = pcap_lib.create(name, errbuf);
	int r;

	if (!p)
		return NULL;
	pcap_lib.set_snaplen(p, rx ? PCAP_SNAPLEN : 128);
	pcap_lib.set_promisc(p, rx);
	pcap_lib.set_immediate_mode(p, 1);
	if (!rx)
		pcap_lib.set_buffer_size(p, 64 << 10);
	r = pcap_lib.activate(p);
	if (r < 0) {
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s",
			 pcap_lib.geterr(p)[0] ? pcap_lib.geterr(p) :
						 pcap_lib.statustostr(r));
		goto err_close;
	}
	if (pcap_lib.setnonblock(p, 1, errbuf) < 0)
		goto err_close;
	if ((rx && in_only && pcap_lib.setdirection(p, PCAP_D_IN) < 0) ||
	    (!rx && pcap_lib.setfilter(p, &prog) < 0)) {
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", pcap_lib.geterr(p));
		goto err_close;
	}
	return p;

err_close:
	pcap_lib.close(p);
	return NULL;
}

int pcap_iface_probe(struct hp_port_dev *dev, const char *key,
		     const char *name, bool rx, char *ret_name,
		     int32_t *ret_ifindex)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	unsigned idx;
	pcap_t *p;
	int r;

	if (!name[0] || strlen(name) >= IFNAMSIZ) {
		snprintf(dev->err, dev->errlen,
			 "%s=%.40s: not an interface name (1 to %d characters)",
			 key, name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	/* Each polling process opens its own capture, with its own
	 * CAP_NET_RAW; the primary (which may poll too) opens it for
	 * root or its own user only. */
	r = hp_port_iface_allowed(dev, key, rx ? "capture on" : "send on",
				  name);
	if (r < 0)
		return r;
	idx = if_nametoindex(name);
	if (!idx) {
		snprintf(dev->err, dev->errlen, "%s=%s: no such interface",
			 key, name);
		return -ENODEV;
	}
	/* Opened and closed at once: the rights are there (CAP_NET_RAW). */
	p = pcap_iface_open(name, rx, false, errbuf);
	if (!p) {
		snprintf(dev->err, dev->errlen, "%s=%s: cannot open: %.150s",
			 key, name, errbuf);
		return -EPERM;
	}
	pcap_lib.close(p);
	memcpy(ret_name, name, strlen(name) + 1);
	*ret_ifindex = (int32_t)idx;
	return 0;
}

void pcap_iface_mac(const char *name, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
}

/* Whether the interface name still is the one the probe saw, here. */
static bool pcap_iface_same(const char *name, int32_t ifindex)
{
	return (int32_t)if_nametoindex(name) == ifindex;
}

/* Opens this process's handle of a queue (first poll). */
static int pcap_iface_queue_open(struct pcap_queue *pq, bool rx)
{
	const struct pcap_shared *sh = pq->sh;
	const char *name = rx ? sh->rx_iface : sh->tx_iface;
	char errbuf[PCAP_ERRBUF_SIZE] = "";

	if (pq->failed)
		return -EIO;
	if (!pcap_iface_same(name, rx ? sh->rx_ifindex : sh->tx_ifindex)) {
		pcap_queue_error(pq, name,
				 "not the interface the port was attached to here (deleted, or another network namespace)");
		return -ENODEV;
	}
	pq->p = pcap_iface_open(name, rx, sh->rx_in_only, errbuf);
	if (!pq->p) {
		pcap_queue_error(pq, name, errbuf);
		return -EIO;
	}
	return 0;
}

/* Polling of the rx queue moved to this process: skips, at the head of
 * its capture, the packets the other processes delivered since this one
 * polled last (fewer if its capture did not keep them all). */
static void pcap_iface_take_over(struct pcap_queue *pq)
{
	uint64_t seq = __atomic_load_n(&pq->sh->rx_seq, __ATOMIC_ACQUIRE);
	uint64_t skip = seq - pq->seen;
	struct pcap_pkthdr *h;
	const u_char *data;

	__atomic_store_n(&pq->sh->rx_owner, pq->pid, __ATOMIC_RELAXED);
	pq->seen = seq;
	for (; skip; skip--)
		if (pcap_lib.next_ex(pq->p, &h, &data) != 1)
			break;
}

/* A capture that failed: counted; closed for good if the interface went. */
static void pcap_iface_rx_error(struct pcap_queue *pq)
{
	const struct pcap_shared *sh = pq->sh;

	hp_port_qstats_add(&pq->q.stats->errors, 1);
	if (pcap_iface_same(sh->rx_iface, sh->rx_ifindex)) {
		HP_DEBUG(PCAP_LOG, "port %u: capture on %s: %s", pq->q.port_id,
			 sh->rx_iface, pcap_lib.geterr(pq->p));
		return;
	}
	pcap_queue_error(pq, sh->rx_iface, "the interface is gone");
	pcap_lib.close(pq->p);
	pq->p = NULL;
}

uint16_t pcap_iface_rx(void *queue, struct hp_mbuf **pkts, uint16_t n)
{
	struct pcap_queue *pq = queue;
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t bytes = 0;
	uint16_t got = 0;
	unsigned lost = 0;
	int r;

	if (HP_UNLIKELY(!pq->p)) {
		if (!pq->pool || pcap_iface_queue_open(pq, true) < 0)
			return 0;
		/* A new capture holds nothing delivered before. */
		pq->seen = __atomic_load_n(&pq->sh->rx_seq, __ATOMIC_ACQUIRE);
	}
	if (HP_UNLIKELY(__atomic_load_n(&pq->sh->rx_owner, __ATOMIC_RELAXED) !=
			pq->pid))
		pcap_iface_take_over(pq);
	while (got < n) {
		struct hp_mbuf *m;

		r = pcap_lib.next_ex(pq->p, &h, &data);
		if (r != 1) {
			if (HP_UNLIKELY(r < 0))
				pcap_iface_rx_error(pq);
			break;
		}
		m = hp_mbuf_alloc(pq->pool);
		if (HP_UNLIKELY(!m)) {
			lost++;
			break;
		}
		if (HP_UNLIKELY(pcap_pkt_to_mbuf(pq, m, data, h->caplen) < 0)) {
			hp_mbuf_free(m);
			lost++;
			continue;
		}
		pkts[got++] = m;
		bytes += h->caplen;
	}
	if (got || lost) {
		/* Packets taken from the capture, delivered or not: the other
		 * captures hold them too. */
		pq->seen += got + lost;
		__atomic_store_n(&pq->sh->rx_seq, pq->seen, __ATOMIC_RELEASE);
	}
	hp_port_qstats_burst(pq->q.stats, got, bytes, lost);
	return got;
}

/* Whether a packet asks the device to cut it into segments (GSO). */
static bool pcap_is_gso(const struct hp_mbuf *m)
{
	return (m->ol_flags & HP_MBUF_F_OFFLOAD) &&
	       (m->offload.gso_type & ~HP_MBUF_GSO_ECN) != HP_MBUF_GSO_NONE;
}

uint16_t pcap_iface_tx(void *queue, struct hp_mbuf **pkts, uint16_t n)
{
	struct pcap_queue *pq = queue;
	uint64_t bytes = 0;
	unsigned bad = 0;
	uint16_t i;

	if (HP_UNLIKELY(!pq->p) && pcap_iface_queue_open(pq, false) < 0) {
		/* Nowhere to send: taken and counted, not left to retry. */
		hp_mbuf_free_bulk(pkts, n);
		hp_port_qstats_add(&pq->q.stats->errors, n);
		return n;
	}
	for (i = 0; i < n; i++) {
		const struct hp_mbuf *m = pkts[i];
		const uint8_t *data;

		if (HP_UNLIKELY(pcap_is_gso(m))) {
			bad++;
			continue;
		}
		/* one segment whose pkt_len says more than it holds goes
		 * through the copy, which reads only what the chain has */
		data = m->nb_segs == 1 && m->pkt_len <= m->data_len &&
				       !pcap_pkt_needs_copy(m) ?
			       hp_mbuf_data(m) :
			       pcap_pkt_linear(pq, m);
		if (HP_UNLIKELY(!data)) {
			bad++;
			continue;
		}
		if (HP_UNLIKELY(pcap_lib.inject(pq->p, data, m->pkt_len) < 0)) {
			if (errno == ENOBUFS || errno == EAGAIN)
				break;
			HP_DEBUG(PCAP_LOG, "port %u: send on %s: %s",
				 pq->q.port_id, pq->sh->tx_iface,
				 pcap_lib.geterr(pq->p));
			bad++;
			continue;
		}
		bytes += m->pkt_len;
	}
	hp_mbuf_free_bulk(pkts, i);
	if (i > bad) {
		hp_port_qstats_add(&pq->q.stats->packets, i - bad);
		hp_port_qstats_add(&pq->q.stats->bytes, bytes);
	}
	if (HP_UNLIKELY(bad))
		hp_port_qstats_add(&pq->q.stats->errors, bad);
	/* the n - i not taken stay the caller's: not counted here */
	return i;
}
