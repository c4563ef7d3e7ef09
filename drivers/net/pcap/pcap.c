/* SPDX-License-Identifier: BSD-3-Clause */
/* net_pcap: ports that read and write pcap files, or capture from and send
 * on kernel interfaces, with libpcap.
 *
 * devargs: net_pcap<N> (alias eth_pcap<N>) with at least one of
 *   rx_pcap=FILE      packets read from FILE (pcap or pcapng), once;
 *   infinite_rx=1     ... over and over (with rx_pcap);
 *   tx_pcap=FILE      packets written to FILE (created or emptied);
 *   iface=IF          received on IF (incoming only) and sent on IF;
 *   rx_iface=IF       received on IF (both directions, as tcpdump);
 *   rx_iface_in=IF    received on IF (incoming only);
 *   tx_iface=IF       sent on IF;
 * at most one rx and one tx among them. A relative FILE is taken from the
 * working directory of the process that asked for the attach.
 *
 * Queues: one rx queue (the file or the capture); tx queues up to
 * HP_PORT_MAX_QUEUES, all writing to the one file or interface. A port
 * without rx receives nothing; without tx it frees what it is given and
 * counts it as dropped.
 *
 * Files: pcap_file.c; interfaces: pcap_iface.c; both say how they behave
 * when several processes poll. libpcap itself is loaded by the first probe
 * or attach_local in a process (pcap_lib.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp_log.h"
#include "pcap_private.h"

static const char *const pcap_keys[] = {
	"rx_pcap", "tx_pcap", "iface", "rx_iface", "rx_iface_in", "tx_iface",
	"infinite_rx", NULL
};

void pcap_queue_error(struct pcap_queue *pq, const char *what,
		      const char *why)
{
	hp_port_qstats_add(&pq->q.stats->errors, 1);
	if (pq->failed)
		return;
	pq->failed = true;
	HP_ERR(PCAP_LOG, "port %u: %s queue %u: %s: %s", pq->q.port_id,
	       pq->q.rx ? "rx" : "tx", pq->q.queue_id, what, why);
}

static uint16_t pcap_none_rx(void *queue, struct hp_mbuf **pkts, uint16_t n)
{
	(void)queue;
	(void)pkts;
	(void)n;
	return 0;
}

static uint16_t pcap_drop_tx(void *queue, struct hp_mbuf **pkts, uint16_t n)
{
	struct pcap_queue *pq = queue;

	hp_mbuf_free_bulk(pkts, n);
	hp_port_qstats_add(&pq->q.stats->drops, n);
	return n;
}

/* The devargs value of the first of keys present, and which key it was. */
static const char *pcap_arg(const struct hp_port_dev *dev,
			    const char *const *keys, unsigned *ret_nb,
			    const char **ret_key)
{
	const char *val = NULL;

	*ret_nb = 0;
	for (; *keys; keys++) {
		const char *v = hp_devargs_get(dev->args, *keys);

		if (!v)
			continue;
		if (!val) {
			val = v;
			*ret_key = *keys;
		}
		(*ret_nb)++;
	}
	return val;
}

/* Reads the rx and tx keys into sh (kinds only; the sources are opened
 * after). */
static int pcap_parse(struct hp_port_dev *dev, struct pcap_shared *sh,
		      const char **rx, const char **rx_key, const char **tx,
		      const char **tx_key)
{
	static const char *const rx_keys[] = { "rx_pcap", "iface", "rx_iface",
					       "rx_iface_in", NULL };
	static const char *const tx_keys[] = { "tx_pcap", "iface", "tx_iface",
					       NULL };
	const char *empty;
	unsigned long inf;
	unsigned nrx, ntx;
	int r;

	*rx = pcap_arg(dev, rx_keys, &nrx, rx_key);
	*tx = pcap_arg(dev, tx_keys, &ntx, tx_key);
	if (!nrx && !ntx) {
		snprintf(dev->err, dev->errlen,
			 "nothing to receive from or send to: give rx_pcap=FILE, tx_pcap=FILE, iface=IF, rx_iface=IF or tx_iface=IF");
		return -EINVAL;
	}
	if (nrx > 1 || ntx > 1) {
		snprintf(dev->err, dev->errlen,
			 "one %s at most: rx from one of rx_pcap=, rx_iface=, rx_iface_in=, iface=; tx to one of tx_pcap=, tx_iface=, iface=",
			 nrx > 1 ? "rx" : "tx");
		return -EINVAL;
	}
	empty = *rx && !(*rx)[0] ? *rx_key : *tx && !(*tx)[0] ? *tx_key : NULL;
	if (empty) {
		snprintf(dev->err, dev->errlen, "%s= is empty: give a %s", empty,
			 strstr(empty, "pcap") ? "file name" :
						 "network interface name");
		return -EINVAL;
	}
	r = hp_devargs_get_uint(dev->args, "infinite_rx", 0, 1, 0, &inf,
				dev->err, dev->errlen);
	if (r < 0)
		return r;
	if (inf && (!*rx || strcmp(*rx_key, "rx_pcap"))) {
		snprintf(dev->err, dev->errlen,
			 "infinite_rx=1 repeats a file: it needs rx_pcap=FILE");
		return -EINVAL;
	}
	sh->infinite_rx = inf;
	sh->rx_in_only = *rx && strcmp(*rx_key, "rx_iface");
	sh->linktype = DLT_EN10MB;
	return 0;
}

/* MAC, link and queues of a probed port. */
static void pcap_info(struct hp_port_dev *dev, const struct pcap_shared *sh)
{
	struct hp_port_info *info = dev->info;

	info->nb_rx_queues = info->max_rx_queues = 1;
	info->nb_tx_queues = 1;
	info->max_tx_queues = HP_PORT_MAX_QUEUES;
	info->link_up = 1;
	info->link_speed = 10000;
	if (sh->tx_kind == PCAP_IFACE || sh->rx_kind == PCAP_IFACE)
		pcap_iface_mac(sh->tx_kind == PCAP_IFACE ? sh->tx_iface :
							   sh->rx_iface,
			       info->mac);
	if (!memcmp(info->mac, (uint8_t[6]){ 0 }, 6)) {
		/* A locally administered MAC derived from the port id. */
		memcpy(info->mac, (uint8_t[6]){ 0x02, 0x70, 0x63, 0, 0, 0 }, 6);
		info->mac[4] = (uint8_t)(dev->port_id >> 8);
		info->mac[5] = (uint8_t)dev->port_id;
	}
}

/* Checks everything, opens the rx source, and creates the tx file last,
 * so that a failed probe has created nothing. The port layer closes the
 * fds added so far when a probe fails. */
static int pcap_probe(struct hp_port_dev *dev)
{
	struct pcap_shared *sh = dev->shared;
	const char *rx, *rx_key = NULL, *tx, *tx_key = NULL;
	int r;

	r = pcap_parse(dev, sh, &rx, &rx_key, &tx, &tx_key);
	if (r < 0)
		return r;
	r = pcap_lib_load(dev);
	if (r < 0)
		return r;
	if (rx && strcmp(rx_key, "rx_pcap")) {
		r = pcap_iface_probe(dev, rx_key, rx, true, sh->rx_iface,
				     &sh->rx_ifindex);
		if (r < 0)
			return r;
		sh->rx_kind = PCAP_IFACE;
	}
	if (tx && strcmp(tx_key, "tx_pcap")) {
		r = pcap_iface_probe(dev, tx_key, tx, false, sh->tx_iface,
				     &sh->tx_ifindex);
		if (r < 0)
			return r;
		sh->tx_kind = PCAP_IFACE;
	}
	if (rx && !strcmp(rx_key, "rx_pcap")) {
		r = pcap_file_rx_probe(dev, sh, rx);
		if (r < 0)
			return r;
	}
	if (tx && !strcmp(tx_key, "tx_pcap")) {
		r = pcap_file_tx_probe(dev, sh, tx);
		if (r < 0)
			return r;
	}
	pcap_info(dev, sh);
	return 0;
}

/* Primary: a port that read its rx file to the end reads it again from
 * the start (a port stopped half-way goes on where it was). */
static int pcap_start(struct hp_port_dev *dev)
{
	struct pcap_shared *sh = dev->shared;

	if (sh->rx_kind == PCAP_FILE &&
	    __atomic_load_n(&sh->rx_eof, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&sh->rx_off, sh->rx_start, __ATOMIC_RELAXED);
		__atomic_store_n(&sh->rx_eof, 0, __ATOMIC_RELEASE);
	}
	return 0;
}

static const hp_port_burst_fn pcap_rx_fns[] = {
	[PCAP_NONE] = pcap_none_rx,
	[PCAP_FILE] = pcap_file_rx,
	[PCAP_IFACE] = pcap_iface_rx,
};

static const hp_port_burst_fn pcap_tx_fns[] = {
	[PCAP_NONE] = pcap_drop_tx,
	[PCAP_FILE] = pcap_file_tx,
	[PCAP_IFACE] = pcap_iface_tx,
};

static void pcap_detach_local(struct hp_port_dev *dev, struct hp_port_fp *fp)
{
	struct pcap_queue *qs = fp->priv;

	(void)dev;
	if (!qs)
		return;
	for (unsigned i = 0; i < (unsigned)fp->nb_rxq + fp->nb_txq; i++) {
		if (qs[i].p)
			pcap_lib.close(qs[i].p);
		free(qs[i].rbuf);	/* after the stream that used it */
		free(qs[i].lin);
		free(qs[i].iov);
		free(qs[i].rec);
	}
	free(qs);
	fp->priv = NULL;
}

static int pcap_attach_local(struct hp_port_dev *dev, struct hp_port_fp *fp)
{
	struct pcap_shared *sh = dev->shared;
	struct pcap_queue *qs;
	int r;

	if ((sh->rx_kind == PCAP_FILE && sh->rx_fd >= dev->fds->nb) ||
	    (sh->tx_kind == PCAP_FILE && sh->tx_fd >= dev->fds->nb)) {
		snprintf(dev->err, dev->errlen,
			 "the port's files did not reach this process (%u fds)",
			 dev->fds->nb);
		return -EBADF;
	}
	r = pcap_lib_load(dev);
	if (r < 0)
		return r;
	r = hp_port_queues_alloc(dev, fp, sizeof(*qs));
	if (r < 0)
		return r;
	qs = fp->priv;
	for (unsigned i = 0; i < (unsigned)fp->nb_rxq + fp->nb_txq; i++) {
		struct pcap_queue *pq = &qs[i];
		bool file = (pq->q.rx ? sh->rx_kind : sh->tx_kind) == PCAP_FILE;

		pq->sh = sh;
		pq->pid = getpid();
		pq->pool = pq->q.rx ? dev->rxq_conf[pq->q.queue_id].pool : NULL;
		pq->fd = file ? dev->fds->fd[pq->q.rx ? sh->rx_fd : sh->tx_fd] :
				-1;
		if (file && !pq->q.rx)
			pcap_file_tx_local(pq);
		/* Packets longer than a buffer become chains, but each
		 * buffer must hold some. */
		if (pq->pool && hp_mempool_data_room(pq->pool) <
					HP_MBUF_HEADROOM + 64) {
			snprintf(dev->err, dev->errlen,
				 "rx queue %u: the pool's buffers hold less than 64 bytes of data",
				 pq->q.queue_id);
			pcap_detach_local(dev, fp);
			return -EINVAL;
		}
	}
	fp->rx_burst = pcap_rx_fns[sh->rx_kind];
	fp->tx_burst = pcap_tx_fns[sh->tx_kind];
	return 0;
}

static const struct hp_port_driver pcap_driver = {
	.name = "net_pcap",
	.alias = "eth_pcap",
	.keys = pcap_keys,
	.shared_size = sizeof(struct pcap_shared),
	.detachable = true,
	.probe = pcap_probe,
	.attach_local = pcap_attach_local,
	.detach_local = pcap_detach_local,
	.start = pcap_start,
};

HP_PORT_DRIVER_REGISTER(pcap_driver)
