/* SPDX-License-Identifier: BSD-3-Clause */
/* net_ring: ports whose queues are rings of packet buffers in shared
 * memory, usable from every process; the base of multi-process pipelines.
 *
 * devargs: net_ring<N>[,peer=NAME][,size=SLOTS][,queues=N]
 *
 * A port owns one rx ring per queue, named "<port name>:rx<queue>",
 * created at probe and freed (with the buffers still in it) at remove.
 * Receiving on queue q dequeues from the port's rx ring q. Transmitting on
 * queue q enqueues into the peer's rx ring q when the port is joined to a
 * peer, else into its own rx ring q (loopback). peer=NAME names an attached
 * net_ring port with the same number of queues and no peer yet; the port
 * layer joins the two (see hp_port_driver.h), so A's tx is B's rx and B's
 * tx is A's rx. Detaching either one unjoins them: the other one loops
 * back again.
 *
 * Rings are multi-producer and multi-consumer, so a peer's refresh never
 * leaves two writers racing on a ring; the counters follow the fast-path
 * contract (one thread polls a queue at a time). A tx burst takes as many buffers as fit in the ring
 * and leaves the rest to the caller, counted as drops (odropped). The
 * ring size is fixed at probe: nb_desc and the pool of a queue set-up are
 * not used (buffers arrive from the sender's pool), and a configuration
 * may use at most queues= queues. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hp_mbuf.h"
#include "hp_port_driver.h"
#include "hp_ring.h"

#define RING_DEFAULT_SIZE 1024
#define RING_SIZE_MIN 2
#define RING_SIZE_MAX 65536
/* The name of rx ring q of a port: "<port name>:rx<q>". */
#define RING_NAME_FMT "%s:rx%u"
_Static_assert(HP_PORT_MAX_QUEUES <= 100, "ring names have room for 2 queue digits");
/* The longest port name whose ring names fit in HP_RING_NAME_MAX. */
#define RING_PORT_NAME_MAX (HP_RING_NAME_MAX - (int)sizeof(":rx15"))

/* Shared state of one port; written by the primary at probe. */
struct ring_shared {
	uint32_t size;			/* slots per ring */
	uint16_t nb_queues;		/* rings, and the most queues */
	struct hp_ring *rx[HP_PORT_MAX_QUEUES]; /* rx ring of each queue */
};

/* One queue in one process. */
struct ring_queue {
	struct hp_port_queue q;
	struct hp_ring *ring;	/* rx: own ring; tx: the peer's, or own */
};

static const char *const ring_keys[] = { "peer", "size", "queues", NULL };

static const struct hp_port_driver ring_driver;

static void ring_count(struct hp_port_qstats *st, unsigned n, uint64_t bytes,
		       unsigned dropped)
{
	if (n) {
		hp_port_qstats_add(&st->packets, n);
		hp_port_qstats_add(&st->bytes, bytes);
	}
	if (dropped)
		hp_port_qstats_add(&st->drops, dropped);
}

static uint16_t ring_rx(void *q, struct hp_mbuf **pkts, uint16_t n)
{
	struct ring_queue *rq = q;
	uint64_t bytes = 0;
	unsigned got;

	got = hp_ring_dequeue_burst(rq->ring, (void **)pkts, n);
	for (unsigned i = 0; i < got; i++) {
		pkts[i]->port = rq->q.port_id;
		pkts[i]->queue = rq->q.queue_id;
		bytes += pkts[i]->pkt_len;
	}
	ring_count(rq->q.stats, got, bytes, 0);
	return (uint16_t)got;
}

static uint16_t ring_tx(void *q, struct hp_mbuf **pkts, uint16_t n)
{
	struct ring_queue *tq = q;
	uint64_t bytes = 0;
	unsigned sent;

	sent = hp_ring_enqueue_burst(tq->ring, (void *const *)pkts, n);
	for (unsigned i = 0; i < sent; i++)
		bytes += pkts[i]->pkt_len;
	ring_count(tq->q.stats, sent, bytes, n - sent);
	return (uint16_t)sent;
}

/* Frees the rings of sh (and the buffers left in them). */
static void ring_free_all(struct hp_shm *shm, struct ring_shared *sh)
{
	struct hp_mbuf *pkts[32];
	unsigned n;

	for (unsigned q = 0; q < HP_PORT_MAX_QUEUES; q++) {
		if (!sh->rx[q])
			continue;
		while ((n = hp_ring_dequeue_burst(sh->rx[q], (void **)pkts,
						  HP_ARRAY_SIZE(pkts))))
			hp_mbuf_free_bulk(pkts, n);
		hp_ring_free(shm, sh->rx[q]);
		sh->rx[q] = NULL;
	}
}

static int ring_create_all(struct hp_port_dev *dev, struct ring_shared *sh)
{
	char name[HP_RING_NAME_MAX];
	int r;

	if (strlen(dev->name) > RING_PORT_NAME_MAX) {
		snprintf(dev->err, dev->errlen,
			 "device name '%s' is too long for net_ring: at most %d characters (its rings are named '<name>:rx<queue>')",
			 dev->name, RING_PORT_NAME_MAX);
		return -ENAMETOOLONG;
	}
	for (unsigned q = 0; q < sh->nb_queues; q++) {
		snprintf(name, sizeof(name), RING_NAME_FMT, dev->name, q);
		r = hp_ring_create(dev->shm, name, sh->size, 0, &sh->rx[q]);
		if (r < 0) {
			snprintf(dev->err, dev->errlen,
				 "cannot create ring '%s' of %u slots: %s",
				 name, sh->size, strerror(-r));
			ring_free_all(dev->shm, sh);
			return r;
		}
	}
	return 0;
}

/* Finds the port peer=NAME names, if any: an attached net_ring port with
 * as many queues as this one and no peer yet. */
static int ring_find_peer(struct hp_port_dev *dev, const struct ring_shared *sh,
			  uint16_t *ret_peer)
{
	const char *name = hp_devargs_get(dev->args, "peer");
	const struct ring_shared *psh;
	struct hp_port_info info;
	uint16_t id;

	*ret_peer = HP_PORT_INVALID;
	if (!name)
		return 0;
	if (hp_port_find(name, &id) < 0 || hp_port_info_get(id, &info) < 0) {
		snprintf(dev->err, dev->errlen,
			 "peer=%.40s: no attached port of that name", name);
		return -EINVAL;
	}
	psh = hp_port_driver_shared(id, &ring_driver);
	if (!psh) {
		snprintf(dev->err, dev->errlen,
			 "peer=%.40s: port %u is a %s port, not a net_ring one",
			 name, id, info.driver);
		return -EINVAL;
	}
	if (psh->nb_queues != sh->nb_queues) {
		snprintf(dev->err, dev->errlen,
			 "peer=%.40s: it has %u queues, this port %u: give both the same queues=",
			 name, psh->nb_queues, sh->nb_queues);
		return -EINVAL;
	}
	if (info.peer != HP_PORT_INVALID) {
		snprintf(dev->err, dev->errlen,
			 "peer=%.40s: it is already joined to port %u",
			 name, info.peer);
		return -EBUSY;
	}
	*ret_peer = id;
	return 0;
}

static int ring_probe(struct hp_port_dev *dev)
{
	struct ring_shared *sh = dev->shared;
	unsigned long size, queues;
	uint16_t peer;
	int r;

	r = hp_devargs_get_uint(dev->args, "size", RING_SIZE_MIN, RING_SIZE_MAX,
				RING_DEFAULT_SIZE, &size, dev->err, dev->errlen);
	if (r < 0)
		return r;
	if (size & (size - 1)) {
		snprintf(dev->err, dev->errlen,
			 "size=%lu: the ring size must be a power of two", size);
		return -EINVAL;
	}
	r = hp_devargs_get_uint(dev->args, "queues", 1, HP_PORT_MAX_QUEUES, 1,
				&queues, dev->err, dev->errlen);
	if (r < 0)
		return r;
	sh->size = (uint32_t)size;
	sh->nb_queues = (uint16_t)queues;
	r = ring_find_peer(dev, sh, &peer);
	if (r < 0)
		return r;
	r = ring_create_all(dev, sh);
	if (r < 0)
		return r;
	dev->info->nb_rx_queues = dev->info->max_rx_queues = sh->nb_queues;
	dev->info->nb_tx_queues = dev->info->max_tx_queues = sh->nb_queues;
	dev->info->peer = peer;
	dev->info->link_up = 1;
	dev->info->link_speed = 10000;
	/* A locally administered MAC derived from the port id. */
	memcpy(dev->info->mac, (uint8_t[6]){ 0x02, 0x72, 0x6e, 0, 0, 0 }, 6);
	dev->info->mac[4] = (uint8_t)(dev->port_id >> 8);
	dev->info->mac[5] = (uint8_t)dev->port_id;
	return 0;
}

static void ring_remove(struct hp_port_dev *dev)
{
	ring_free_all(dev->shm, dev->shared);
}

static int ring_attach_local(struct hp_port_dev *dev, struct hp_port_fp *fp)
{
	const struct ring_shared *sh = dev->shared;
	const struct ring_shared *dst = sh;
	struct ring_queue *qs;
	int r;

	if (dev->peer != HP_PORT_INVALID)
		dst = hp_port_driver_shared(dev->peer, &ring_driver);
	if (!dst || fp->nb_rxq > sh->nb_queues || fp->nb_txq > dst->nb_queues) {
		snprintf(dev->err, dev->errlen,
			 "%u rx and %u tx queues, but %u rings here and %u at the peer",
			 fp->nb_rxq, fp->nb_txq, sh->nb_queues,
			 dst ? dst->nb_queues : 0);
		return -EINVAL;
	}
	r = hp_port_queues_alloc(dev, fp, sizeof(*qs));
	if (r < 0)
		return r;
	qs = fp->priv;
	for (unsigned i = 0; i < (unsigned)fp->nb_rxq + fp->nb_txq; i++)
		qs[i].ring = (qs[i].q.rx ? sh : dst)->rx[qs[i].q.queue_id];
	fp->rx_burst = ring_rx;
	fp->tx_burst = ring_tx;
	return 0;
}

static const struct hp_port_driver ring_driver = {
	.name = "net_ring",
	.alias = "eth_ring",
	.keys = ring_keys,
	.shared_size = sizeof(struct ring_shared),
	.detachable = true,
	.on_demand = true,
	.probe = ring_probe,
	.remove = ring_remove,
	.attach_local = ring_attach_local,
};

HP_PORT_DRIVER_REGISTER(ring_driver)
