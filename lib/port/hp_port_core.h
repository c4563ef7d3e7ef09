/* SPDX-License-Identifier: BSD-3-Clause */
/* Fast-path bursts, inline. Not for direct inclusion: include hp_port.h.
 *
 * Contract: a thread that calls hp_port_rx_burst/hp_port_tx_burst must be
 * registered with hp_rcu_thread_register() and must call hp_rcu_quiescent()
 * between bursts (forwarding loops do it once per iteration), or go offline
 * with hp_rcu_thread_offline() when it blocks. A detach returns only after
 * every such thread in every process has passed a quiescent state, so a
 * burst never runs on a port whose driver state was freed. */
#ifndef HP_PORT_CORE_H
#define HP_PORT_CORE_H

#ifndef HP_PORT_H
#error "include hp_port.h, not hp_port_core.h"
#endif

struct hp_mbuf;

/* A driver's receive or transmit function for one queue. */
typedef uint16_t (*hp_port_burst_fn)(void *queue, struct hp_mbuf **pkts,
				     uint16_t nb_pkts);

/* One process's fast-path entry of a port; published with RCU. */
struct hp_port_fp {
	hp_port_burst_fn rx_burst;
	hp_port_burst_fn tx_burst;
	const uint32_t *admin;	/* the slot's enum hp_port_admin */
	uint16_t nb_rxq;
	uint16_t nb_txq;
	void *rxq[HP_PORT_MAX_QUEUES];
	void *txq[HP_PORT_MAX_QUEUES];
	void *priv;			/* the driver's process-local data */
};

/* This process's fast-path entries, indexed by port id; RCU-protected. */
HP_API extern struct hp_port_fp *hp_port_fp_table[HP_MAX_PORTS];

/* The slow path of hp_port_fp_get: builds and publishes this process's
 * entry of an attached port whose driver builds entries on demand; NULL
 * for any other port, and for an online reader (hp_rcu_is_online) that
 * finds this process's port lock busy: it never waits there, its next
 * burst tries again. */
HP_API struct hp_port_fp *hp_port_fp_demand(uint16_t port_id);

/* This process's entry of port_id, built on first use; NULL if the port
 * is not usable here. Reader side of RCU: see the contract above. */
static inline struct hp_port_fp *hp_port_fp_get(uint16_t port_id)
{
	struct hp_port_fp *fp;

	if (HP_UNLIKELY(port_id >= HP_MAX_PORTS))
		return NULL;
	fp = __atomic_load_n(&hp_port_fp_table[port_id], __ATOMIC_CONSUME);
	if (HP_UNLIKELY(fp == NULL))
		fp = hp_port_fp_demand(port_id);
	return fp;
}

/* Receives up to nb_pkts packets from queue queue_id of port_id; returns
 * how many. 0 for a port that is not attached in this process or not
 * started. Reader side of RCU: see the contract above. */
static inline uint16_t hp_port_rx_burst(uint16_t port_id, uint16_t queue_id,
					struct hp_mbuf **pkts, uint16_t nb_pkts)
{
	struct hp_port_fp *fp = hp_port_fp_get(port_id);

	if (HP_UNLIKELY(fp == NULL || queue_id >= fp->nb_rxq ||
			__atomic_load_n(fp->admin, __ATOMIC_RELAXED) !=
				    HP_PORT_STARTED))
		return 0;
	return fp->rx_burst(fp->rxq[queue_id], pkts, nb_pkts);
}

/* Transmits up to nb_pkts packets on queue queue_id of port_id; returns how
 * many the driver took (the caller still owns the rest). 0 for a port that
 * is not attached in this process or not started. */
static inline uint16_t hp_port_tx_burst(uint16_t port_id, uint16_t queue_id,
					struct hp_mbuf **pkts, uint16_t nb_pkts)
{
	struct hp_port_fp *fp = hp_port_fp_get(port_id);

	if (HP_UNLIKELY(fp == NULL || queue_id >= fp->nb_txq ||
			__atomic_load_n(fp->admin, __ATOMIC_RELAXED) !=
				    HP_PORT_STARTED))
		return 0;
	return fp->tx_burst(fp->txq[queue_id], pkts, nb_pkts);
}

#endif
