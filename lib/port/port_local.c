/* SPDX-License-Identifier: BSD-3-Clause */
/* This process's side of hotplug: publishing a port in the fast path,
 * rebuilding its entry after a configuration change, and taking it out.
 *
 * Publish: build the driver's local state, then store the entry with
 * release order, so a reader that sees the pointer sees a complete entry.
 * Unpublish: store NULL, wait for every reader thread of this process to
 * pass a quiescent state (hp_rcu_synchronize), and only then let the driver
 * free its local state. Refresh: build a new entry from the slot as it is
 * now, publish it in place of the old one, wait for the readers, then let
 * the driver free the old one; if the build fails the old entry stays. All
 * run under local_lock and check the slot's generation and state, so a
 * late or repeated message is harmless.
 *
 * On demand: a port whose driver says so (on_demand, no fds) reaches a
 * secondary's fast path when a thread there first asks for it
 * (hp_port_fp_get, the bursts). The secondary sets its bit in the slot's
 * holders, then reads the slot's state again: the primary, which marks the
 * slot DETACHING (or changes its configuration) before it reads the
 * holders, either sees the bit and asks this process to unpublish (or
 * rebuild), or this process sees the new state and backs off. Both sides
 * access the holders word with a sequentially consistent read-modify-write
 * (the primary's ORs in 0), so one of the two always happens: whichever
 * comes second on that word reads from the first. Only holders are asked
 * anything: an attach, detach or reconfiguration never waits for a
 * secondary that did not use the port.
 *
 * Events (NEW, CONFIG, DESTROY) follow from the table: port_event.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_log.h"
#include "hp_rcu.h"
#include "port_private.h"

struct hp_port_fp *hp_port_fp_table[HP_MAX_PORTS];

void port_local_fill_dev(struct port_local *pl, uint16_t port_id,
			 struct port_slot *slot)
{
	pl->conf = slot->conf;
	pl->dev.port_id = port_id;
	pl->dev.name = slot->name;
	pl->dev.args = &pl->args;
	pl->dev.shared = slot->drv_shared;
	pl->dev.info = &pl->info;
	pl->dev.shm = port_ctx.shm;
	pl->dev.pool = port_ctx.pool;
	pl->dev.rx_stats = slot->rx_stats;
	pl->dev.tx_stats = slot->tx_stats;
	pl->dev.rxq_conf = pl->conf.rxq;
	pl->dev.txq_conf = pl->conf.txq;
	pl->dev.peer = PORT_LD(slot->peer);
	pl->dev.fds = &port_ctx.fds[port_id];
	pl->fp.admin = &slot->admin;
	pl->fp.nb_rxq = pl->conf.nb_rxq;
	pl->fp.nb_txq = pl->conf.nb_txq;
}

/* A new entry of the port built from its slot as it is now, or NULL with a
 * reason in err. */
static struct port_local *port_local_new(uint16_t port_id,
					 struct port_slot *slot, uint32_t gen,
					 char *err, size_t errlen, int *ret_r)
{
	struct port_local *pl = calloc(1, sizeof(*pl));
	int r;

	if (!pl) {
		*ret_r = hp_err_set(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	pl->generation = gen;
	r = hp_devargs_parse(slot->devargs, &pl->args, err, errlen);
	if (r < 0)
		goto err_free;
	/* a PCI address as the primary named the port, whatever was typed */
	if (pl->args.is_pci)
		snprintf(pl->args.name, sizeof(pl->args.name), "%s", slot->name);
	pl->drv = port_driver_get(slot->driver);
	if (!pl->drv) {
		r = hp_err_set(err, errlen, -ENODEV,
			       "driver %s is not built into this process",
			       slot->driver);
		goto err_free;
	}
	port_local_fill_dev(pl, port_id, slot);
	pl->dev.err = err;
	pl->dev.errlen = errlen;
	r = pl->drv->attach_local(&pl->dev, &pl->fp);
	pl->dev.err = NULL;
	pl->dev.errlen = 0;
	if (r < 0)
		goto err_free;
	return pl;

err_free:
	if (!err[0])
		hp_err_set(err, errlen, r, "driver %s: %s", slot->driver,
			   strerror(-r));
	free(pl);
	*ret_r = r;
	return NULL;
}

/* Lets the driver free pl's local state once no reader of this process can
 * still see pl's entry, which the caller has replaced or unpublished. */
static void port_local_retire(struct port_local *pl)
{
	/* Every reader that could have loaded the old entry is done after this. */
	hp_rcu_synchronize();
	if (pl->drv->detach_local)
		pl->drv->detach_local(&pl->dev, &pl->fp);
	else
		free(pl->fp.priv);
}

/* The slot of port_id if this process has joined and the message about
 * generation gen is not stale, else NULL (the caller has nothing to do). */
static struct port_slot *port_local_slot(uint16_t port_id, uint32_t gen)
{
	struct port_slot *slot;
	uint32_t state;

	/* Not joined yet: the join scan will pick the port up. */
	if (!port_ctx.joined)
		return NULL;
	slot = port_slot_get(port_id);
	if (!slot)
		return NULL;
	state = port_slot_state(slot);
	if (slot->generation != gen || state == HP_PORT_FREE)
		return NULL; /* a stale message: that port is gone */
	return slot;
}

/* A secondary takes fds (the primary's copies, as they came) as the port's:
 * 0, or -EBADMSG when they are not the ones its slot announces. */
static int port_local_take_fds(uint16_t port_id, struct port_slot *slot,
			       struct hp_port_fds *fds, char *err,
			       size_t errlen)
{
	if (port_ctx.primary)
		return 0; /* probe put them in place */
	if (!fds || fds->nb != slot->nb_fds)
		return hp_err_set(err, errlen, -EBADMSG,
				  "port %u shares %u fds, %u came with it",
				  port_id, slot->nb_fds, fds ? fds->nb : 0);
	port_ctx.fds[port_id] = *fds;
	fds->nb = 0;
	return 0;
}

int port_local_attach(uint16_t port_id, uint32_t gen, struct hp_port_fds *fds,
		      char *err, size_t errlen)
{
	struct port_slot *slot;
	struct port_local *pl;
	int r = 0;

	err[0] = '\0';
	if (port_id >= HP_MAX_PORTS) {
		r = hp_err_set(err, errlen, -EINVAL, "port %u out of range",
			       port_id);
		goto out_close;
	}
	pthread_mutex_lock(&port_ctx.local_lock);
	slot = port_local_slot(port_id, gen);
	if (!slot || port_slot_state(slot) == HP_PORT_DETACHING ||
	    port_ctx.locals[port_id])
		goto out_unlock; /* stale, or already here */
	r = port_local_take_fds(port_id, slot, fds, err, errlen);
	if (r < 0)
		goto out_unlock;
	pl = port_local_new(port_id, slot, gen, err, errlen, &r);
	if (!pl) {
		if (!port_ctx.primary)
			port_fds_close(&port_ctx.fds[port_id]);
		goto out_unlock;
	}
	port_ctx.locals[port_id] = pl;
	__atomic_store_n(&hp_port_fp_table[port_id], &pl->fp, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&port_ctx.local_lock);
	HP_DEBUG(PORT_LOG, "port %u (%s): in this process's fast path", port_id,
		 slot->name);
	port_sync(port_id);
	return 0;

out_unlock:
	pthread_mutex_unlock(&port_ctx.local_lock);
out_close:
	/* Stale, already here, or failed: fds that came are not needed. */
	if (fds && !port_ctx.primary)
		port_fds_close(fds);
	return r;
}

int port_local_refresh(uint16_t port_id, uint32_t gen, char *err,
		       size_t errlen)
{
	struct port_local *old = NULL, *pl;
	struct port_slot *slot;
	bool rebuilt = false;
	int r = 0;

	err[0] = '\0';
	if (port_id >= HP_MAX_PORTS)
		return 0;
	pthread_mutex_lock(&port_ctx.local_lock);
	slot = port_local_slot(port_id, gen);
	old = slot ? port_ctx.locals[port_id] : NULL;
	if (!old || old->generation != gen) {
		old = NULL; /* not here: nothing to rebuild */
		goto out_unlock;
	}
	pl = port_local_new(port_id, slot, gen, err, errlen, &r);
	if (!pl) {
		old = NULL; /* keeps serving */
		goto out_unlock;
	}
	port_ctx.locals[port_id] = pl;
	__atomic_store_n(&hp_port_fp_table[port_id], &pl->fp, __ATOMIC_RELEASE);
	port_local_retire(old);
	HP_DEBUG(PORT_LOG, "port %u (%s): fast path rebuilt, %u rx and %u tx queues",
		 port_id, slot->name, pl->fp.nb_rxq, pl->fp.nb_txq);
	rebuilt = true;
out_unlock:
	pthread_mutex_unlock(&port_ctx.local_lock);
	free(old);
	/* Users of the queue counts (forwarding streams) follow the change. */
	if (rebuilt)
		port_sync(port_id);
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
	port_local_retire(pl);
	port_ctx.locals[port_id] = NULL;
	if (!port_ctx.primary)
		port_fds_close(&port_ctx.fds[port_id]);
	pthread_mutex_unlock(&port_ctx.local_lock);
	HP_DEBUG(PORT_LOG, "port %u: out of this process's fast path", port_id);
	port_sync(port_id);
	free(pl);
}

bool port_on_demand(const struct port_slot *s)
{
	/* One byte, read whole even while the primary rewrites a slot that
	 * was freed meanwhile: callers check the generation afterwards. */
	return PORT_LD(s->on_demand) != 0;
}

/* Sets or clears this process's bit in the slot's holders. */
static void port_holder_mark(struct port_slot *slot, bool on)
{
	unsigned i = (unsigned)port_ctx.proc_index;
	uint64_t bit = 1ull << (i % 64);

	if (on)
		__atomic_fetch_or(&slot->holders[i / 64], bit, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_and(&slot->holders[i / 64], ~bit,
				   __ATOMIC_SEQ_CST);
}

struct hp_port_fp *hp_port_fp_demand(uint16_t port_id)
{
	struct port_slot *slot = port_slot_get(port_id);
	struct hp_port_fp *fp = NULL;
	struct port_local *pl;
	char err[PORT_ERR_MAX];
	uint32_t gen;
	int r;

	/* Cheap refusals first, without the lock: polling a port that is not
	 * there (or not here) comes here on every burst. */
	if (!slot || port_ctx.primary || port_ctx.proc_index < 0 ||
	    port_slot_state(slot) != HP_PORT_ATTACHED ||
	    !port_on_demand(slot))
		return NULL;
	gen = PORT_LD(slot->generation);
	uint32_t refused = __atomic_load_n(&port_ctx.refused[port_id],
					   __ATOMIC_RELAXED);
	if (refused && refused == gen + 1)
		return NULL; /* its build failed here, said once */
	/* An online reader must not wait for the lock: its holder may be
	 * waiting for this very thread's quiescent state. */
	if (!hp_rcu_is_online())
		pthread_mutex_lock(&port_ctx.local_lock);
	else if (pthread_mutex_trylock(&port_ctx.local_lock) != 0)
		return NULL;
	if (!port_ctx.joined)
		goto out;
	if (port_ctx.locals[port_id]) {
		fp = &port_ctx.locals[port_id]->fp;
		goto out;
	}
	gen = PORT_LD(slot->generation);
	port_holder_mark(slot, true);
	if (port_slot_state(slot) != HP_PORT_ATTACHED ||
	    PORT_LD(slot->generation) != gen) {
		port_holder_mark(slot, false); /* going: the primary unpublishes */
		goto out;
	}
	pl = port_local_new(port_id, slot, gen, err, sizeof(err), &r);
	if (!pl) {
		port_holder_mark(slot, false);
		/* Not again for this generation of the port. */
		__atomic_store_n(&port_ctx.refused[port_id], gen + 1,
				 __ATOMIC_RELAXED);
		HP_WARN(PORT_LOG, "port %u (%s): not usable here: %s", port_id,
			slot->name, err);
		goto out;
	}
	port_ctx.locals[port_id] = pl;
	fp = &pl->fp;
	__atomic_store_n(&hp_port_fp_table[port_id], fp, __ATOMIC_RELEASE);
	HP_DEBUG(PORT_LOG, "port %u (%s): in this process's fast path, on first use",
		 port_id, slot->name);
out:
	pthread_mutex_unlock(&port_ctx.local_lock);
	return fp;
}
