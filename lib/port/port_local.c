/* SPDX-License-Identifier: BSD-3-Clause */
/* This process's side of hotplug: publishing a port in the fast path and
 * taking it out again.
 *
 * Publish: build the driver's local state, then store the entry with
 * release order, so a reader that sees the pointer sees a complete entry.
 * Unpublish: store NULL, wait for every reader thread of this process to
 * pass a quiescent state (hp_rcu_synchronize), and only then let the driver
 * free its local state. Both run under local_lock and check the slot's
 * generation and state, so a late or repeated message is harmless. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hp_log.h"
#include "hp_rcu.h"
#include "port_private.h"

void port_local_fill_dev(struct port_local *pl, uint16_t port_id,
			 struct port_slot *slot)
{
	pl->dev.port_id = port_id;
	pl->dev.name = slot->name;
	pl->dev.args = &pl->args;
	pl->dev.shared = slot->drv_shared;
	pl->dev.info = &pl->info;
	pl->dev.shm = port_ctx.shm;
	pl->dev.pool = port_ctx.pool;
	pl->dev.rx_stats = slot->rx_stats;
	pl->dev.tx_stats = slot->tx_stats;
	pl->fp.admin = &slot->admin;
	pl->fp.nb_rxq = slot->nb_rxq;
	pl->fp.nb_txq = slot->nb_txq;
}

static int port_local_build(struct port_local *pl, uint16_t port_id,
			    struct port_slot *slot, char *err, size_t errlen)
{
	int r;

	r = hp_devargs_parse(slot->devargs, &pl->args, err, errlen);
	if (r < 0)
		return r;
	pl->drv = port_driver_find(pl->args.name);
	if (!pl->drv || strcmp(pl->drv->name, slot->driver)) {
		port_err(err, errlen, "driver %s is not built into this process",
			 slot->driver);
		return -ENODEV;
	}
	port_local_fill_dev(pl, port_id, slot);
	pl->dev.err = err;
	pl->dev.errlen = errlen;
	r = pl->drv->attach_local(&pl->dev, &pl->fp);
	pl->dev.err = NULL;
	pl->dev.errlen = 0;
	return r;
}

int port_local_attach(uint16_t port_id, uint32_t gen, char *err,
		      size_t errlen)
{
	struct port_slot *slot;
	struct port_local *pl;
	uint32_t state;
	int r = 0;

	err[0] = '\0';
	pthread_mutex_lock(&port_ctx.local_lock);
	/* Not joined yet: the join scan will pick the port up. */
	if (!port_ctx.joined)
		goto out_unlock;
	slot = port_slot_get(port_id);
	if (!slot) {
		port_err(err, errlen, "port %u out of range", port_id);
		r = -EINVAL;
		goto out_unlock;
	}
	state = __atomic_load_n(&slot->state, __ATOMIC_ACQUIRE);
	if (slot->generation != gen ||
	    (state != HP_PORT_ATTACHING && state != HP_PORT_ATTACHED))
		goto out_unlock; /* a stale message: that port is gone */
	if (port_ctx.locals[port_id])
		goto out_unlock; /* already here */

	pl = calloc(1, sizeof(*pl));
	if (!pl) {
		port_err(err, errlen, "out of memory");
		r = -ENOMEM;
		goto out_unlock;
	}
	pl->generation = gen;
	r = port_local_build(pl, port_id, slot, err, errlen);
	if (r < 0) {
		if (!err[0])
			port_err(err, errlen, "driver %s: %s", slot->driver,
				 strerror(-r));
		free(pl);
		goto out_unlock;
	}
	port_ctx.locals[port_id] = pl;
	__atomic_store_n(&hp_port_fp_table[port_id], &pl->fp, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&port_ctx.local_lock);
	HP_DEBUG(PORT_LOG, "port %u (%s): in this process's fast path", port_id,
		 slot->name);
	port_event_fire(port_id, HP_PORT_EVENT_NEW);
	return 0;

out_unlock:
	pthread_mutex_unlock(&port_ctx.local_lock);
	return r;
}

void port_local_detach(uint16_t port_id, uint32_t gen)
{
	struct port_local *pl;

	if (port_id >= HP_MAX_PORTS)
		return;
	pthread_mutex_lock(&port_ctx.local_lock);
	pl = port_ctx.locals[port_id];
	if (!pl || pl->generation != gen) {
		pthread_mutex_unlock(&port_ctx.local_lock);
		return;
	}
	__atomic_store_n(&hp_port_fp_table[port_id], NULL, __ATOMIC_RELEASE);
	/* Every reader that could have loaded the old entry is done after this. */
	hp_rcu_synchronize();
	if (pl->drv->detach_local)
		pl->drv->detach_local(&pl->dev, &pl->fp);
	port_ctx.locals[port_id] = NULL;
	pthread_mutex_unlock(&port_ctx.local_lock);
	HP_DEBUG(PORT_LOG, "port %u: out of this process's fast path", port_id);
	port_event_fire(port_id, HP_PORT_EVENT_DESTROY);
	free(pl);
}
