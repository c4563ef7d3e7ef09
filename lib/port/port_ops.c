/* SPDX-License-Identifier: BSD-3-Clause */
/* Operations on an attached port, carried out by the primary for any
 * process: start, stop, close, and the queue configuration.
 *
 * Start, stop and close change the slot's admin state, which every burst
 * reads. A configuration change (primary, under hotplug_lock, port not
 * started) writes the slot's configuration, then refreshes the port in
 * every process (port_refresh_all): each one rebuilds its fast-path entry
 * from the slot. If a process fails, the old configuration goes back into
 * the slot and is refreshed everywhere again, so that the processes that
 * took the new one drop it; the first failure, naming its pid, is logged
 * and its errno returned. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hp_log.h"
#include "hp_shm.h"
#include "port_msg.h"

static int port_op_start(uint16_t port_id, struct port_slot *s, char *err,
			 size_t errlen)
{
	struct port_local *pl = port_ctx.locals[port_id];
	int r = 0;

	if (__atomic_load_n(&s->admin, __ATOMIC_RELAXED) == HP_PORT_STARTED)
		return 0;
	if (pl && pl->drv->start)
		r = pl->drv->start(&pl->dev);
	if (r < 0)
		return hp_err_set(err, errlen, r,
				  "port %u: driver failed to start: %s", port_id,
				  strerror(-r));
	__atomic_store_n(&s->admin, HP_PORT_STARTED, __ATOMIC_RELEASE);
	return 0;
}

static void port_op_stop(uint16_t port_id, struct port_slot *s)
{
	struct port_local *pl = port_ctx.locals[port_id];

	if (__atomic_load_n(&s->admin, __ATOMIC_RELAXED) != HP_PORT_STARTED)
		return;
	__atomic_store_n(&s->admin, HP_PORT_STOPPED, __ATOMIC_RELEASE);
	if (pl && pl->drv->stop)
		pl->drv->stop(&pl->dev);
}

/* Checks the arguments of a configuration change against the slot. */
static int port_conf_check(uint16_t port_id, const struct port_slot *s,
			   const struct port_op_args *a, char *err,
			   size_t errlen)
{
	const struct port_conf *c = &s->conf;
	uint16_t nb_q = a->op == PORT_OP_RXQ_SETUP ? c->nb_rxq : c->nb_txq;

	if (a->op == PORT_OP_CONFIGURE) {
		if (a->nb_rxq < 1 || a->nb_rxq > s->max_rxq || a->nb_txq < 1 ||
		    a->nb_txq > s->max_txq) {
			return hp_err_set(err, errlen, -EINVAL,
					  "port %u: %u rx and %u tx queues asked for; %s takes 1 to %u rx and 1 to %u tx queues",
					  port_id, a->nb_rxq, a->nb_txq,
					  s->driver, s->max_rxq, s->max_txq);
		}
		return 0;
	}
	if (a->queue_id >= nb_q)
		return hp_err_set(err, errlen, -EINVAL,
				  "port %u: no %s queue %u (%u configured)",
				  port_id,
				  a->op == PORT_OP_RXQ_SETUP ? "rx" : "tx",
				  a->queue_id, nb_q);
	if (a->nb_desc > HP_PORT_MAX_DESC)
		return hp_err_set(err, errlen, -EINVAL,
				  "port %u: %u descriptors, at most %d", port_id,
				  a->nb_desc, HP_PORT_MAX_DESC);
	if (a->pool && !hp_shm_contains(port_ctx.shm,
					(const void *)(uintptr_t)a->pool)) {
		return hp_err_set(err, errlen, -EINVAL,
				  "port %u: the pool is not in shared memory",
				  port_id);
	}
	return 0;
}

/* Writes a configuration change into the slot and refreshes the port in
 * every process; all or nothing, as the top of this file says. */
static int port_op_conf(uint16_t port_id, struct port_slot *s,
			const struct port_op_args *a, char *err, size_t errlen)
{
	struct port_conf old = s->conf;
	struct port_conf *c = &s->conf;
	char err2[PORT_ERR_MAX];
	int r;

	r = port_check_stopped(port_id, s, err, errlen);
	if (r < 0)
		return r;
	r = port_conf_check(port_id, s, a, err, errlen);
	if (r < 0)
		return r;
	switch (a->op) {
	case PORT_OP_CONFIGURE:
		PORT_ST(c->nb_rxq, a->nb_rxq);
		PORT_ST(c->nb_txq, a->nb_txq);
		break;
	case PORT_OP_RXQ_SETUP:
		c->rxq[a->queue_id].nb_desc = a->nb_desc;
		c->rxq[a->queue_id].pool = a->pool ?
			(struct hp_mempool *)(uintptr_t)a->pool : port_ctx.pool;
		break;
	default:
		c->txq[a->queue_id].nb_desc = a->nb_desc;
		break;
	}
	r = port_refresh_all(port_id, err, errlen);
	if (r == 0)
		return 0;
	/* A process failed, not the caller: say which, once, here. */
	HP_ERR(PORT_LOG, "port %u: configuration not applied: %s", port_id, err);
	PORT_ST(c->nb_rxq, old.nb_rxq);
	PORT_ST(c->nb_txq, old.nb_txq);
	memcpy(c->rxq, old.rxq, sizeof(c->rxq));
	memcpy(c->txq, old.txq, sizeof(c->txq));
	if (port_refresh_all(port_id, err2, sizeof(err2)) < 0)
		HP_WARN(PORT_LOG,
			"port %u: the old configuration is not back everywhere: %s",
			port_id, err2);
	return r;
}

bool port_op_changes_conf(const struct port_op_args *a)
{
	return a->op == PORT_OP_CONFIGURE || a->op == PORT_OP_RXQ_SETUP ||
	       a->op == PORT_OP_TXQ_SETUP;
}

int port_op_locked(uint16_t port_id, const struct port_op_args *a, char *err,
		   size_t errlen)
{
	struct port_slot *s;
	int r;

	r = port_check_table(err, errlen);
	if (r < 0)
		goto out;
	s = port_slot_get(port_id);
	if (!s || port_slot_state(s) != HP_PORT_ATTACHED) {
		r = hp_err_set(err, errlen, -ENODEV, "port %u is not attached",
			       port_id);
		goto out;
	}
	switch (a->op) {
	case PORT_OP_START:
		r = port_op_start(port_id, s, err, errlen);
		break;
	case PORT_OP_STOP:
		port_op_stop(port_id, s);
		break;
	case PORT_OP_CLOSE:
		r = port_check_stopped(port_id, s, err, errlen);
		if (r == 0)
			__atomic_store_n(&s->admin, HP_PORT_CLOSED,
					 __ATOMIC_RELEASE);
		break;
	case PORT_OP_CONFIGURE:
	case PORT_OP_RXQ_SETUP:
	case PORT_OP_TXQ_SETUP:
		r = port_op_conf(port_id, s, a, err, errlen);
		break;
	default:
		r = hp_err_set(err, errlen, -EINVAL, "unknown operation %d",
			       a->op);
	}
out:
	return r;
}

int port_op_primary(uint16_t port_id, const struct port_op_args *a, char *err,
		    size_t errlen)
{
	int r;

	pthread_mutex_lock(&port_ctx.hotplug_lock);
	r = port_op_locked(port_id, a, err, errlen);
	pthread_mutex_unlock(&port_ctx.hotplug_lock);
	if (r == 0 && port_op_changes_conf(a))
		port_notify();
	return r;
}
