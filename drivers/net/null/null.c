/* SPDX-License-Identifier: BSD-3-Clause */
/* net_null: receive makes packets of a fixed size, transmit frees them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_mbuf.h"
#include "hp_port_driver.h"

#define NULL_DEFAULT_SIZE 64

/* Shared state of one port; written by the primary at probe. */
struct null_shared {
	uint32_t size;		/* bytes per received packet */
};

/* One queue in one process. */
struct null_queue {
	struct hp_port_queue q;
	struct hp_mempool *pool;	/* rx: the queue's pool */
	uint32_t size;
};

static const char *const null_keys[] = { "size", "queues", NULL };

static uint16_t null_rx(void *q, struct hp_mbuf **pkts, uint16_t n)
{
	struct null_queue *nq = q;

	if (HP_UNLIKELY(!nq->pool || hp_mbuf_alloc_bulk(nq->pool, pkts, n) < 0)) {
		hp_port_qstats_add(&nq->q.stats->drops, n);
		return 0;
	}
	for (uint16_t i = 0; i < n; i++) {
		pkts[i]->data_len = (uint16_t)nq->size;
		pkts[i]->pkt_len = nq->size;
		pkts[i]->port = nq->q.port_id;
		pkts[i]->queue = nq->q.queue_id;
	}
	hp_port_qstats_add(&nq->q.stats->packets, n);
	hp_port_qstats_add(&nq->q.stats->bytes, (uint64_t)n * nq->size);
	return n;
}

static uint16_t null_tx(void *q, struct hp_mbuf **pkts, uint16_t n)
{
	struct null_queue *nq = q;
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n; i++)
		bytes += pkts[i]->pkt_len;
	hp_mbuf_free_bulk(pkts, n);
	hp_port_qstats_add(&nq->q.stats->packets, n);
	hp_port_qstats_add(&nq->q.stats->bytes, bytes);
	return n;
}

static int null_probe(struct hp_port_dev *dev)
{
	struct null_shared *sh = dev->shared;
	unsigned long size, queues;
	int r;

	r = hp_devargs_get_uint(dev->args, "size", 14, HP_MBUF_DEFAULT_DATAROOM - HP_MBUF_HEADROOM,
				NULL_DEFAULT_SIZE, &size, dev->err, dev->errlen);
	if (r < 0)
		return r;
	r = hp_devargs_get_uint(dev->args, "queues", 1, HP_PORT_MAX_QUEUES, 1,
				&queues, dev->err, dev->errlen);
	if (r < 0)
		return r;
	sh->size = (uint32_t)size;
	dev->info->nb_rx_queues = (uint16_t)queues;
	dev->info->nb_tx_queues = (uint16_t)queues;
	dev->info->link_up = 1;
	dev->info->link_speed = 10000;
	/* A locally administered MAC derived from the port id. */
	memcpy(dev->info->mac, (uint8_t[6]){ 0x02, 0x68, 0x70, 0, 0, 0 }, 6);
	dev->info->mac[4] = (uint8_t)(dev->port_id >> 8);
	dev->info->mac[5] = (uint8_t)dev->port_id;
	return 0;
}

static int null_attach_local(struct hp_port_dev *dev, struct hp_port_fp *fp)
{
	const struct null_shared *sh = dev->shared;
	struct null_queue *qs;
	int r;

	r = hp_port_queues_alloc(dev, fp, sizeof(*qs));
	if (r < 0)
		return r;
	qs = fp->priv;
	for (unsigned i = 0; i < (unsigned)fp->nb_rxq + fp->nb_txq; i++) {
		qs[i].pool = qs[i].q.rx ? dev->rxq_conf[qs[i].q.queue_id].pool :
					  NULL;
		qs[i].size = sh->size;
		/* A queue may be given any pool: its buffers must hold size. */
		if (qs[i].pool && hp_mempool_data_room(qs[i].pool) <
					  HP_MBUF_HEADROOM + sh->size) {
			snprintf(dev->err, dev->errlen,
				 "rx queue %u: the pool's buffers are smaller than size=%u",
				 qs[i].q.queue_id, sh->size);
			free(fp->priv);
			fp->priv = NULL;
			return -EINVAL;
		}
	}
	fp->rx_burst = null_rx;
	fp->tx_burst = null_tx;
	return 0;
}

static const struct hp_port_driver null_driver = {
	.name = "net_null",
	.alias = "eth_null",
	.keys = null_keys,
	.shared_size = sizeof(struct null_shared),
	.detachable = true,
	.on_demand = true,
	.probe = null_probe,
	.attach_local = null_attach_local,
};

HP_PORT_DRIVER_REGISTER(null_driver)
