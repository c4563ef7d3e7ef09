/* SPDX-License-Identifier: BSD-3-Clause */
/* The port layer's life in a process: hp_port_init (both roles),
 * hp_port_join (a secondary maps the table and takes in the ports already
 * there), hp_port_fini, and hp_port_peer_gone (the primary forgets a
 * secondary that left). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hp_log.h"
#include "hp_shm.h"
#include "port_msg.h"

struct port_ctx port_ctx = {
	.hotplug_lock = PTHREAD_MUTEX_INITIALIZER,
	.local_lock = PTHREAD_MUTEX_INITIALIZER,
	.procs_lock = PTHREAD_MUTEX_INITIALIZER,
	.proc_index = -1,
};

/* Under hotplug_lock in the primary: -ESHUTDOWN once hp_port_fini ran. */
int port_check_table(char *err, size_t errlen)
{
	if (port_ctx.table)
		return 0;
	return hp_err_set(err, errlen, -ESHUTDOWN,
			  "the primary is shutting down");
}

int hp_port_init(bool primary, struct hp_shm *shm, struct hp_ipc *ipc,
		 struct hp_mempool *pool, int timeout_ms)
{
	int r;

	if ((primary && !shm) || !ipc)
		return -EINVAL;
	port_ctx.primary = primary;
	port_ctx.pid = getpid();
	port_ctx.shm = shm;
	port_ctx.ipc = ipc;
	port_ctx.pool = pool;
	port_ctx.timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	if (primary) {
		void *addr;
		r = hp_shm_zone_reserve(shm, PORT_TABLE_ZONE,
					sizeof(struct port_table), 0, &addr);
		if (r < 0) {
			HP_DEBUG(PORT_LOG, "cannot reserve the port table: %s",
				 strerror(-r));
			return r;
		}
		port_ctx.table = addr;
		/* Slots stay as the zone came, zeros: an attach sets every
		 * field it needs before the slot leaves FREE, so a start-up
		 * touches none of the table's pages but the first. */
		port_ctx.table->nb_slots = HP_MAX_PORTS;
		port_ctx.table->slot_size = sizeof(struct port_slot);
		__atomic_store_n(&port_ctx.table->magic, PORT_TABLE_MAGIC,
				 __ATOMIC_RELEASE);
		port_ctx.joined = true;
	}
	port_handlers_register(ipc);
	return 0;
}

int hp_port_join(struct hp_shm *shm, struct hp_mempool *pool, char *err,
		 size_t errlen)
{
	struct port_table *t;
	void *addr;
	size_t len;
	int r;

	if (!shm)
		return hp_err_set(err, errlen, -EINVAL, "no shared memory");
	r = hp_shm_zone_lookup(shm, PORT_TABLE_ZONE, &addr, &len);
	if (r < 0)
		return hp_err_set(err, errlen, r,
				  "the primary has no port table: %s",
				  strerror(-r));
	t = addr;
	if (t->magic != PORT_TABLE_MAGIC || t->nb_slots != HP_MAX_PORTS ||
	    t->slot_size != sizeof(struct port_slot))
		return hp_err_set(err, errlen, -EPROTO,
				  "port table of the primary has %u slots of %u bytes, this process was built for %u of %zu: rebuild both alike",
				  t->nb_slots, t->slot_size, HP_MAX_PORTS,
				  sizeof(struct port_slot));
	pthread_mutex_lock(&port_ctx.local_lock);
	port_ctx.table = t;
	port_ctx.shm = shm;
	port_ctx.pool = pool;
	port_ctx.joined = true;
	pthread_mutex_unlock(&port_ctx.local_lock);
	r = port_join_barrier();
	if (r < 0)
		return hp_err_set(err, errlen, r,
				  "the primary did not let this process join: %s",
				  strerror(-r));

	PORT_FOREACH_USED(t, id) {
		struct port_slot *s = &t->slots[id];
		struct hp_port_fds fds = { 0 };
		uint32_t gen = PORT_LD(s->generation);
		char why[PORT_ERR_MAX];
		if (port_slot_state(s) != HP_PORT_ATTACHED)
			continue;
		if (port_on_demand(s))
			continue; /* built at first use */
		if (s->nb_fds) {
			r = port_fds_fetch((uint16_t)id, gen, &fds);
			if (r == -ESTALE)
				continue; /* detached meanwhile */
			if (r < 0) {
				HP_WARN(PORT_LOG,
					"port %u (%s): not usable here: its fds did not come: %s",
					id, s->name, strerror(-r));
				continue;
			}
		}
		r = port_local_attach((uint16_t)id, gen, &fds, why,
				      sizeof(why));
		if (r < 0)
			HP_WARN(PORT_LOG, "port %u (%s): not usable here: %s",
				id, s->name, why);
	}
	port_listen(port_has_callbacks()); /* NEW for each port usable here */
	return 0;
}

void hp_port_fini(void)
{
	if (!port_ctx.table)
		return;
	if (port_ctx.primary) {
		port_link_unwatch();
		PORT_FOREACH_USED(port_ctx.table, id) {
			char err[PORT_ERR_MAX];
			port_op_primary((uint16_t)id,
					&(struct port_op_args){ .op = PORT_OP_STOP },
					err, sizeof(err));
			if (port_detach_primary((uint16_t)id, true, NULL, 0,
						err, sizeof(err)) < 0)
				HP_WARN(PORT_LOG, "port %u: %s", id, err);
		}
	} else {
		for (uint16_t id = 0; id < HP_MAX_PORTS; id++) {
			uint32_t gen = 0;
			bool here;
			pthread_mutex_lock(&port_ctx.local_lock);
			here = port_ctx.locals[id] != NULL;
			if (here)
				gen = port_ctx.locals[id]->generation;
			pthread_mutex_unlock(&port_ctx.local_lock);
			if (here)
				port_local_detach(id, gen);
		}
		port_forget_all();
	}
	/* the callbacks still read the table */
	port_events_stop();
	/* The ipc worker may still serve a request until lib/core stops it:
	 * under hotplug_lock, it then finds no table and refuses. */
	pthread_mutex_lock(&port_ctx.hotplug_lock);
	pthread_mutex_lock(&port_ctx.local_lock);
	port_ctx.joined = false;
	port_ctx.table = NULL;
	port_ctx.proc_index = -1;
	pthread_mutex_lock(&port_ctx.procs_lock);
	memset(port_ctx.proc_peer, 0, sizeof(port_ctx.proc_peer));
	pthread_mutex_unlock(&port_ctx.procs_lock);
	pthread_mutex_unlock(&port_ctx.local_lock);
	pthread_mutex_unlock(&port_ctx.hotplug_lock);
}

void hp_port_peer_gone(uint32_t peer)
{
	if (!port_ctx.primary)
		return;
	pthread_mutex_lock(&port_ctx.hotplug_lock);
	pthread_mutex_lock(&port_ctx.procs_lock);
	for (unsigned i = 0; i < HP_MAX_PROCS; i++) {
		if (port_ctx.proc_peer[i] != peer)
			continue;
		/* Its entries died with it: no detach waits for it, and the
		 * index is clean for the next secondary. */
		if (port_ctx.table)
			PORT_FOREACH_USED(port_ctx.table, id)
				__atomic_fetch_and(&port_ctx.table->slots[id].holders[i / 64],
						   ~(1ull << (i % 64)),
						   __ATOMIC_RELAXED);
		port_ctx.proc_peer[i] = 0;
	}
	pthread_mutex_unlock(&port_ctx.procs_lock);
	pthread_mutex_unlock(&port_ctx.hotplug_lock);
}
