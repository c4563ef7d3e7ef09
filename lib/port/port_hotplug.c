/* SPDX-License-Identifier: BSD-3-Clause */
/* Attach and detach, carried out by the primary for any process.
 *
 * Where each step is done: in which process (P: the primary, S: each
 * secondary, R: the process that asked, *: every process), by which
 * function, in which file (port_<file>.c):
 *
 * port attach DEVARGS
 *  1 R  check devargs; primary: go to 3    hp_port_attach_msg      api
 *  2 S  send ATTACH_REQ, wait for answer   port_attach_request     msg
 *    P  take hotplug_lock (I/O thread, or  port_handle_request,    msg
 *       the worker if it is taken)         port_lock_or_defer
 *  3 P  take hotplug_lock (own call)       port_attach_primary     hotplug
 *  4 P  parse devargs, pick the driver     port_parse              hotplug
 *       (by name; a PCI address: scan,     port_driver_find        driver
 *       -a/-b, id tables, kernel binding)  port_pci_match          pci
 *  5 P  refuse a name in use, take a FREE  port_slot_find_free     table
 *       slot, fill its name and devargs    port_attach_locked      hotplug
 *  6 P  mark the slot ATTACHING (listed,   port_slot_set_state     table
 *       not usable, not yet probed)
 *  7 P  driver's shared state, probe,      port_probe              hotplug
 *       queues and peer from the probe;
 *       files opened with the requester's  hp_port_open            cred
 *       rights (from its peer credentials  port_requester_peer     cred
 *       at step 2); then set probed
 *       (failed: the slot is FREE again)   port_slot_release       hotplug
 *  8 P  publish the port here              port_local_attach       local
 *  9 P  ATTACH_LOCAL to every secondary    port_broadcast          msg
 *       (not for on-demand ports), gather
 *    S  build the entry, publish it        port_handle_local,      msg
 *                                          port_local_attach       local
 * 10 P  mark the slot ATTACHED, join the   port_slot_set_state,    table
 *       peer named by the probe            port_peer_link          hotplug
 * 11 P  answer the requester, drop the     port_handle_request or  msg
 *       lock, ring the doorbells           port_attach_primary,
 *                                          port_notify             msg
 * 12 *  NEW, in each process that has the  port_sync (after 8 and  event
 *       port (at its doorbell), queued to  9), port_rescan,
 *       the callbacks' delivery thread     port_event_queue
 *  on failure after 7: undo everywhere     port_unpublish_all,     hotplug
 *       (DETACH_LOCAL), remove, free slot  port_unprobe
 *
 * port detach ID
 *  1 R  primary: go to 3                   hp_port_detach_msg      api
 *  2 S  send DETACH_REQ, wait for answer   port_detach_request     msg
 *    P  take hotplug_lock                  port_handle_request     msg
 *  3 P  take hotplug_lock (own call)       port_detach_primary     hotplug
 *  4 P  check: attached, detachable, not   port_detach_locked      hotplug
 *       started; the driver from the slot  port_driver_get         driver
 *  5 P  mark the slot DETACHING            port_unpublish_all,     hotplug
 *                                          port_slot_set_state     table
 *  6 P  unjoin the peer, refresh it        port_peer_unlink,       hotplug
 *       everywhere                         port_refresh_all
 *  7 P  unpublish here                     port_local_detach       local
 *  8 P  DETACH_LOCAL to every secondary    port_broadcast          msg
 *       (on-demand: to holders only)       port_holders_peers      msg
 *    S  unpublish, wait for its readers,   port_handle_local,      msg
 *       free the entry                     port_local_detach       local
 *  9 P  remove the device, close its fds,  port_unprobe,           hotplug
 *       free the slot, bump generation     port_slot_release       hotplug
 * 10 P  answer, drop the lock, ring        port_handle_request or  msg
 *       the doorbells                      port_detach_primary,
 *                                          port_notify             msg
 * 11 *  DESTROY, queued as NEW is          port_sync, port_rescan  event
 *  on failure in 6-8: answer -ETIMEDOUT or the secondary's error; the slot
 *       stays DETACHING and nothing shared is freed (retry 'port detach').
 *
 * Attach (primary, under hotplug_lock): parse devargs, pick the driver (a
 * PCI address: scan, check -a/-b, the id tables and the kernel binding;
 * see port_pci.c), take a FREE slot and mark it ATTACHING, let the driver
 * probe, publish the port here, then broadcast ATTACH_LOCAL to every
 * secondary and gather. If any live process fails or does not answer,
 * broadcast DETACH_LOCAL, unpublish here, remove, and free the slot: all
 * or nothing. Else mark it ATTACHED.
 *
 * Detach (primary, under hotplug_lock): refuse a port whose driver is not
 * detachable (unless the primary is shutting down), refuse a started port,
 * mark the slot DETACHING, unpublish here, broadcast DETACH_LOCAL and
 * gather; each process unpublishes and waits for its own readers before it
 * answers. A process that hung up counts as done. If a live process does
 * not answer in time, the detach fails with -ETIMEDOUT, the slot stays
 * DETACHING and nothing shared is freed; a later detach retries. Only when
 * everyone is done does the primary remove the device, bump the generation
 * and free the slot.
 *
 * Refresh (primary, under hotplug_lock, after it changed a slot's
 * configuration or peer): rebuild the entry here, then broadcast
 * REFRESH_LOCAL and gather; each process builds a new entry from the slot,
 * publishes it, waits for its readers and frees the old one.
 *
 * Peers: a probe may name a peer (see hp_port_driver.h). The new port's
 * slot names it from the probe on; once the port is attached everywhere
 * the peer's slot names the new port too and the peer is refreshed. A
 * detach (or the undoing of an attach) first unjoins: the peer's slot
 * forgets the port and the peer is refreshed everywhere, so no fast path
 * reaches the port's queues through the peer any more. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hp_log.h"
#include "hp_shm.h"
#include "port_msg.h"

/* Copies src into dst of size bytes, cut to fit, always terminated
 * (snprintf's result without its formatting cost on the hotplug path). */
static void port_strcpy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void port_slot_release(struct port_slot *s)
{
	uint16_t id = (uint16_t)(s - port_ctx.table->slots);

	PORT_FOREACH_USED(port_ctx.table, i)
		if (PORT_LD(port_ctx.table->slots[i].peer) == id)
			PORT_ST(port_ctx.table->slots[i].peer, HP_PORT_INVALID);
	PORT_ST(s->peer, HP_PORT_INVALID);
	hp_shm_free(port_ctx.shm, s->drv_shared);
	PORT_ST(s->drv_shared, NULL);
	if (PORT_LD(s->ifindex) > 0) {
		PORT_ST(s->ifindex, 0);
		port_link_unwatch_unused();
	}
	port_qstats_zero(s);
	for (unsigned w = 0; w < PORT_HOLDER_WORDS; w++)
		PORT_ST(s->holders[w], 0);
	PORT_ST(s->generation, s->generation + 1);
	port_slot_set_state(s, HP_PORT_FREE);
}

/* Fills the parts of pl a probe or remove sees (dev and info; dev->args
 * is the caller's args), without clearing all of pl: the hotplug path
 * stays short. */
static void port_dev_prepare(struct port_local *pl, uint16_t port_id,
			     const struct hp_devargs *args)
{
	memset(&pl->dev, 0, sizeof(pl->dev));
	memset(&pl->info, 0, sizeof(pl->info));
	port_local_fill_dev(pl, port_id, port_slot_get(port_id));
	pl->dev.args = args;
}

/* The driver's remove, on the primary. */
static void port_remove(uint16_t port_id, const struct hp_port_driver *drv,
			struct hp_devargs *args)
{
	struct port_local pl;

	if (!drv->remove)
		return;
	port_dev_prepare(&pl, port_id, args);
	drv->remove(&pl.dev);
}

/* Undoes a probe on the primary: the driver's remove, then the slot. */
static void port_unprobe(uint16_t port_id, const struct hp_port_driver *drv,
			 struct hp_devargs *args)
{
	port_remove(port_id, drv, args);
	port_fds_close(&port_ctx.fds[port_id]);
	port_slot_get(port_id)->nb_fds = 0;
	port_slot_release(port_slot_get(port_id));
}

int port_refresh_all(uint16_t port_id, char *err, size_t errlen)
{
	struct port_slot *s = port_slot_get(port_id);
	int r;

	PORT_ST(s->conf_gen, s->conf_gen + 1);
	r = port_local_refresh(port_id, s->generation, err, errlen);
	if (r < 0)
		return r;
	return port_broadcast(PORT_MSG_REFRESH_LOCAL, port_id, s->generation,
			      err, errlen);
}

/* Joins port_id, now attached everywhere, and the peer its probe named:
 * the peer's fast path starts using port_id's in every process. */
static int port_peer_link(uint16_t port_id, char *err, size_t errlen)
{
	struct port_slot *s = port_slot_get(port_id);

	if (s->peer == HP_PORT_INVALID)
		return 0;
	PORT_ST(port_slot_get(s->peer)->peer, port_id);
	return port_refresh_all(s->peer, err, errlen);
}

/* Unjoins port_id (detaching) from its peer: once this returns 0, no fast
 * path of any process reaches port_id's queues through the peer. Repeating
 * it (a retried detach) refreshes the peer again. */
static int port_peer_unlink(uint16_t port_id, char *err, size_t errlen)
{
	struct port_slot *s = port_slot_get(port_id);
	struct port_slot *p;

	if (s->peer == HP_PORT_INVALID)
		return 0;
	p = port_slot_get(s->peer);
	if (port_slot_state(p) == HP_PORT_FREE)
		return 0;
	if (p->peer == port_id)
		PORT_ST(p->peer, HP_PORT_INVALID);
	return port_refresh_all(s->peer, err, errlen);
}

/* Marks the slot DETACHING, unjoins its peer, and takes the port out of
 * every process's fast path; on failure some process may still have it. */
static int port_unpublish_all(uint16_t port_id, char *err, size_t errlen)
{
	struct port_slot *s = port_slot_get(port_id);
	int r;

	port_slot_set_state(s, HP_PORT_DETACHING);
	r = port_peer_unlink(port_id, err, errlen);
	if (r < 0)
		return r;
	port_local_detach(port_id, s->generation);
	return port_broadcast(PORT_MSG_DETACH_LOCAL, port_id, s->generation,
			      err, errlen);
}

/* Takes the queue counts a probe left in info as the port's limits and
 * first configuration: every queue with the driver's default nb_desc and
 * the default pool. */
static int port_probe_queues(struct port_slot *s,
			     const struct hp_port_info *info, char *err,
			     size_t errlen)
{
	struct port_conf *c = &s->conf;

	s->max_rxq = info->max_rx_queues;
	s->max_txq = info->max_tx_queues;
	c->nb_rxq = info->nb_rx_queues ? info->nb_rx_queues : 1;
	c->nb_txq = info->nb_tx_queues ? info->nb_tx_queues : 1;
	if (s->max_rxq > HP_PORT_MAX_QUEUES || s->max_txq > HP_PORT_MAX_QUEUES ||
	    c->nb_rxq > s->max_rxq || c->nb_txq > s->max_txq) {
		return hp_err_set(err, errlen, -EINVAL, "more than %d queues",
				  HP_PORT_MAX_QUEUES);
	}
	for (unsigned q = 0; q < HP_PORT_MAX_QUEUES; q++) {
		c->rxq[q] = (struct hp_port_queue_conf){ .pool = port_ctx.pool };
		c->txq[q] = (struct hp_port_queue_conf){ 0 };
	}
	return 0;
}

/* Checks the peer a probe of port_id named, if any: an attached port of
 * the same driver that has no peer yet. */
static int port_peer_check(uint16_t port_id, uint16_t peer, char *err,
			   size_t errlen)
{
	struct port_slot *s = port_slot_get(port_id);
	struct port_slot *p = port_slot_get(peer);

	if (peer == HP_PORT_INVALID)
		return 0;
	if (!p || peer == port_id ||
	    port_slot_state(p) != HP_PORT_ATTACHED ||
	    strcmp(p->driver, s->driver)) {
		return hp_err_set(err, errlen, -EINVAL,
				  "driver %s named port %u as peer: not an attached %s port",
				  s->driver, peer, s->driver);
	}
	if (p->peer != HP_PORT_INVALID)
		return hp_err_set(err, errlen, -EBUSY,
				  "port %u (%s) already has a peer: port %u",
				  peer, p->name, p->peer);
	return 0;
}

static int port_probe(uint16_t port_id, const struct hp_port_driver *drv,
		      struct hp_devargs *args, const struct hp_pci_dev *pci,
		      const struct hp_port_requester *rq, char *err,
		      size_t errlen)
{
	struct port_slot *s = port_slot_get(port_id);
	struct port_local pl;
	int r;

	if (drv->shared_size) {
		void *shared;

		r = hp_shm_alloc(port_ctx.shm, drv->shared_size, 0, &shared);
		if (r < 0)
			return hp_err_set(err, errlen, r,
					  "no shared memory for the driver state (%zu bytes)",
					  drv->shared_size);
		PORT_ST(s->drv_shared, shared);
	}
	port_dev_prepare(&pl, port_id, args);
	pl.info.nb_rx_queues = 1;
	pl.info.nb_tx_queues = 1;
	pl.info.max_rx_queues = HP_PORT_MAX_QUEUES;
	pl.info.max_tx_queues = HP_PORT_MAX_QUEUES;
	pl.info.peer = HP_PORT_INVALID;
	pl.info.socket_id = pci ? pci->numa_node : -1;
	pl.info.requester = s->requester;
	pl.dev.requester = rq;
	pl.dev.pci = pci;
	pl.dev.err = err;
	pl.dev.errlen = errlen;
	r = drv->probe ? drv->probe(&pl.dev) : 0;
	if (r < 0) {
		if (!err[0])
			hp_err_set(err, errlen, r, "driver %s: %s", drv->name,
				   strerror(-r));
		goto err_free;
	}
	s->nb_fds = (uint8_t)port_ctx.fds[port_id].nb;
	PORT_ST(s->on_demand, (uint8_t)(drv->on_demand && s->nb_fds == 0));
	memcpy(s->mac, pl.info.mac, sizeof(s->mac));
	PORT_ST(s->link_up, (uint8_t)pl.info.link_up);
	s->link_speed = pl.info.link_speed;
	PORT_ST(s->ifindex, pl.info.ifindex);
	if (pl.info.ifindex > 0)
		port_link_watch(); /* logs why if it cannot */
	s->socket_id = pl.info.socket_id;
	r = port_probe_queues(s, &pl.info, err, errlen);
	if (r == 0)
		r = port_peer_check(port_id, pl.info.peer, err, errlen);
	if (r < 0)
		goto err_remove;
	PORT_ST(s->peer, pl.info.peer);
	return 0;

err_remove:
	port_remove(port_id, drv, args);
err_free:
	port_fds_close(&port_ctx.fds[port_id]);
	s->nb_fds = 0;
	hp_shm_free(port_ctx.shm, s->drv_shared);
	PORT_ST(s->drv_shared, NULL);
	return r;
}

/* Parses devargs and finds the driver; for a PCI address, also the
 * scanned device (ret_pci, else untouched). */
static int port_parse(const char *devargs, struct hp_devargs *args,
		      const struct hp_port_driver **ret_drv,
		      struct hp_pci_dev *ret_pci, char *err, size_t errlen)
{
	const struct hp_port_driver *drv = NULL;
	int r;

	r = hp_devargs_parse(devargs, args, err, errlen);
	if (r < 0)
		return r;
	if (args->is_pci) {
		r = port_pci_match(args, ret_pci, &drv, err, errlen);
		if (r < 0)
			return r;
	} else {
		drv = port_driver_find(args->name);
	}
	if (!drv)
		return hp_err_set(err, errlen, -ENODEV,
				  "no driver for device '%s' (the name starts with the driver: net_null0, net_ring0, ...)",
				  args->name);
	r = hp_devargs_check_keys(args, drv->keys, err, errlen);
	if (r < 0)
		return r;
	*ret_drv = drv;
	return 0;
}

int port_attach_locked(const char *devargs,
		       const struct hp_port_requester *rq,
		       uint16_t *ret_port_id, char *err, size_t errlen)
{
	static struct hp_devargs args;	/* under hotplug_lock */
	static struct hp_pci_dev pci;	/* under hotplug_lock */
	const struct hp_port_driver *drv = NULL;
	struct port_slot *s;
	uint16_t id;
	int r;

	r = port_check_table(err, errlen);
	if (r == 0)
		r = port_parse(devargs, &args, &drv, &pci, err, errlen);
	if (r < 0)
		goto out;
	r = port_slot_find_free(args.name, &id, err, errlen);
	if (r < 0)
		goto out;
	s = port_slot_get(id);
	port_strcpy(s->name, sizeof(s->name), args.name);
	port_strcpy(s->driver, sizeof(s->driver), drv->name);
	port_strcpy(s->devargs, sizeof(s->devargs), devargs);
	s->requester = rq->pid;
	PORT_ST(s->peer, HP_PORT_INVALID);
	__atomic_store_n(&s->admin, HP_PORT_STOPPED, __ATOMIC_RELAXED);
	PORT_ST(s->probed, 0);
	/* The slot is held, and every process sees a port in the making:
	 * listed, not usable, its probe's findings not shown until probed. */
	port_slot_set_state(s, HP_PORT_ATTACHING);
	r = port_probe(id, drv, &args, args.is_pci ? &pci : NULL, rq, err,
		       errlen);
	if (r < 0) {
		port_slot_release(s);
		goto out;
	}
	__atomic_store_n(&s->probed, 1, __ATOMIC_RELEASE);
	r = port_local_attach(id, s->generation, NULL, err, errlen);
	if (r < 0)
		goto err_unprobe;
	/* Secondaries build an on-demand port's entry when they use it. */
	if (!port_on_demand(s)) {
		r = port_broadcast(PORT_MSG_ATTACH_LOCAL, id, s->generation,
				   err, errlen);
		if (r < 0)
			goto err_undo_all;
	}
	port_slot_set_state(s, HP_PORT_ATTACHED);
	r = port_peer_link(id, err, errlen);
	if (r < 0)
		goto err_undo_all;
	*ret_port_id = id;
	HP_INFO(PORT_LOG, "port %u: attached %s (requested by pid %d)", id,
		args.name, (int)rq->pid);
	goto out;

err_undo_all:
	{
		char err2[PORT_ERR_MAX];
		if (port_unpublish_all(id, err2, sizeof(err2)) < 0) {
			/* Someone may still have it: keep the slot, a later
			 * detach finishes the job. */
			HP_WARN(PORT_LOG,
				"port %u: attach undone partly (%s); 'port detach %u' finishes it",
				id, err2, id);
			goto out;
		}
	}
	port_unprobe(id, drv, &args);
	goto out;
err_unprobe:
	port_unprobe(id, drv, &args);
out:
	return r;
}

int port_attach_primary(const char *devargs,
			const struct hp_port_requester *rq,
			uint16_t *ret_port_id, char *err, size_t errlen)
{
	int r;

	pthread_mutex_lock(&port_ctx.hotplug_lock);
	r = port_attach_locked(devargs, rq, ret_port_id, err, errlen);
	pthread_mutex_unlock(&port_ctx.hotplug_lock);
	if (r == 0)
		port_notify();
	return r;
}

int port_detach_locked(uint16_t port_id, bool shutdown, char *name,
		       size_t len, char *err, size_t errlen)
{
	static struct hp_devargs args;	/* under hotplug_lock */
	const struct hp_port_driver *drv;
	struct port_slot *s;
	uint32_t st;
	int r;

	r = port_check_table(err, errlen);
	if (r < 0)
		goto out;
	s = port_slot_get(port_id);
	if (!s) {
		r = hp_err_set(err, errlen, -ENODEV,
			       "port %u does not exist (ports go from 0 to %d)",
			       port_id, HP_MAX_PORTS - 1);
		goto out;
	}
	st = port_slot_state(s);
	if (st == HP_PORT_FREE) {
		r = hp_err_set(err, errlen, -ENODEV, "port %u is not attached",
			       port_id);
		goto out;
	}
	/* The slot names its driver: a PCI device need not be there any
	 * more, nor the lists let it in, for its port to go. */
	drv = port_driver_get(s->driver);
	r = hp_devargs_parse(s->devargs, &args, err, errlen);
	if (r == 0 && args.is_pci)
		snprintf(args.name, sizeof(args.name), "%s", s->name);
	if (r == 0 && !drv) {
		r = hp_err_set(err, errlen, -ENODEV, "driver %s is not built in",
			       s->driver);
	}
	if (r < 0)
		goto out;
	/* A partly undone attach (DETACHING) may always be finished. */
	if (!drv->detachable && !shutdown && st == HP_PORT_ATTACHED) {
		r = hp_err_set(err, errlen, -ENOTSUP,
			       "port %u (%s): driver %s cannot be detached; the port stays until the primary exits",
			       port_id, s->name, drv->name);
		goto out;
	}
	r = port_check_stopped(port_id, s, err, errlen);
	if (r < 0)
		goto out;
	r = port_unpublish_all(port_id, err, errlen);
	if (r < 0) {
		char tmp[PORT_ERR_MAX];
		snprintf(tmp, sizeof(tmp), "%s", err);
		hp_err_set(err, errlen, r,
			   "%s; nothing freed, port %u stays detaching: retry 'port detach %u'",
			   tmp, port_id, port_id);
		goto out;
	}
	if (name && len)
		snprintf(name, len, "%s", s->name);
	HP_INFO(PORT_LOG, "port %u: detached %s", port_id, s->name);
	port_unprobe(port_id, drv, &args);
out:
	return r;
}

int port_detach_primary(uint16_t port_id, bool shutdown, char *name,
			size_t len, char *err, size_t errlen)
{
	int r;

	pthread_mutex_lock(&port_ctx.hotplug_lock);
	r = port_detach_locked(port_id, shutdown, name, len, err, errlen);
	pthread_mutex_unlock(&port_ctx.hotplug_lock);
	if (r == 0)
		port_notify();
	return r;
}
