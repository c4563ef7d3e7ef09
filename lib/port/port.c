/* SPDX-License-Identifier: BSD-3-Clause */
/* The port table: set-up, queries, drivers and event callbacks. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp_log.h"
#include "hp_shm.h"
#include "port_private.h"

struct hp_port_fp *hp_port_fp_table[HP_MAX_PORTS];

struct port_ctx port_ctx = {
	.hotplug_lock = PTHREAD_MUTEX_INITIALIZER,
	.local_lock = PTHREAD_MUTEX_INITIALIZER,
	.procs_lock = PTHREAD_MUTEX_INITIALIZER,
	.proc_index = -1,
};

static const struct hp_port_driver *port_drivers[PORT_DRIVERS_MAX];
static unsigned port_nb_drivers;

struct port_cb {
	hp_port_event_fn fn;
	void *arg;
	struct port_cb *next;
};
static pthread_mutex_t port_cb_lock = PTHREAD_MUTEX_INITIALIZER;
static struct port_cb *port_cbs;

static bool port_has_callbacks(void)
{
	bool any;

	pthread_mutex_lock(&port_cb_lock);
	any = port_cbs != NULL;
	pthread_mutex_unlock(&port_cb_lock);
	return any;
}

void port_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void port_fds_close(struct hp_port_fds *f)
{
	for (unsigned i = 0; i < f->nb; i++)
		close(f->fd[i]);
	f->nb = 0;
}

int hp_port_fd_add(struct hp_port_dev *dev, int fd)
{
	if (fd < 0) {
		HP_ERR(PORT_LOG, "%s: cannot share fd %d", dev->name, fd);
		return -EBADF;
	}
	if (!dev->fds || dev->fds->nb >= HP_PORT_MAX_FDS) {
		HP_ERR(PORT_LOG, "%s: a port shares at most %d fds",
		       dev->name, HP_PORT_MAX_FDS);
		close(fd);
		return -ENOSPC;
	}
	dev->fds->fd[dev->fds->nb++] = fd;
	return 0;
}

int hp_port_driver_register(const struct hp_port_driver *drv)
{
	if (!drv || !drv->name || !drv->attach_local ||
	    (drv->pci_ids && !drv->pci_ids[0].vendor))
		return -EINVAL;
	if (port_driver_get(drv->name))
		return -EEXIST;
	if (port_nb_drivers == PORT_DRIVERS_MAX)
		return -ENOSPC;
	port_drivers[port_nb_drivers++] = drv;
	return 0;
}

static bool port_name_has_prefix(const char *name, const char *prefix)
{
	size_t n = prefix ? strlen(prefix) : 0;

	return n && !strncmp(name, prefix, n);
}

/* The virtual device driver whose name (or alias) starts the device name;
 * the longest match wins so that "net_af_packet0" is not taken by a
 * "net_af" driver. */
const struct hp_port_driver *port_driver_find(const char *name)
{
	const struct hp_port_driver *best = NULL;
	size_t best_len = 0;

	for (unsigned i = 0; i < port_nb_drivers; i++) {
		const struct hp_port_driver *d = port_drivers[i];
		const char *names[] = { d->name, d->alias };

		if (d->pci_ids)
			continue;
		for (unsigned j = 0; j < 2; j++) {
			if (port_name_has_prefix(name, names[j]) &&
			    strlen(names[j]) > best_len) {
				best = d;
				best_len = strlen(names[j]);
			}
		}
	}
	return best;
}

const struct hp_port_driver *port_driver_get(const char *name)
{
	for (unsigned i = 0; i < port_nb_drivers; i++)
		if (!strcmp(port_drivers[i]->name, name))
			return port_drivers[i];
	return NULL;
}

const struct hp_port_driver *port_driver_pci(uint16_t vendor, uint16_t device)
{
	for (unsigned i = 0; i < port_nb_drivers; i++)
		if (hp_pci_id_match(port_drivers[i]->pci_ids, vendor, device))
			return port_drivers[i];
	return NULL;
}

/* Under hotplug_lock in the primary: -ESHUTDOWN once hp_port_fini ran. */
int port_gone(char *err, size_t errlen)
{
	if (port_ctx.table)
		return 0;
	port_err(err, errlen, "the primary is shutting down");
	return -ESHUTDOWN;
}

struct port_slot *port_slot_get(uint16_t port_id)
{
	if (!port_ctx.table || port_id >= HP_MAX_PORTS)
		return NULL;
	return &port_ctx.table->slots[port_id];
}

static uint32_t port_state_load(const struct port_slot *s)
{
	return __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
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

int hp_port_join(struct hp_shm *shm, struct hp_mempool *pool)
{
	struct port_table *t;
	void *addr;
	size_t len;
	int r;

	if (!shm)
		return -EINVAL;
	r = hp_shm_zone_lookup(shm, PORT_TABLE_ZONE, &addr, &len);
	if (r < 0) {
		HP_ERR(PORT_LOG, "the primary has no port table: %s",
		       strerror(-r));
		return r;
	}
	t = addr;
	if (t->magic != PORT_TABLE_MAGIC || t->nb_slots != HP_MAX_PORTS ||
	    t->slot_size != sizeof(struct port_slot)) {
		HP_ERR(PORT_LOG,
		       "port table of the primary has %u slots of %u bytes, this process was built for %u of %zu: rebuild both alike",
		       t->nb_slots, t->slot_size, HP_MAX_PORTS,
		       sizeof(struct port_slot));
		return -EPROTO;
	}
	pthread_mutex_lock(&port_ctx.local_lock);
	port_ctx.table = t;
	port_ctx.shm = shm;
	port_ctx.pool = pool;
	port_ctx.joined = true;
	pthread_mutex_unlock(&port_ctx.local_lock);
	r = port_join_barrier();
	if (r < 0) {
		HP_ERR(PORT_LOG, "the primary did not let this process join: %s",
		       strerror(-r));
		return r;
	}

	PORT_FOREACH_USED(t, id) {
		struct port_slot *s = &t->slots[id];
		struct hp_port_fds fds = { 0 };
		uint32_t gen = PORT_LD(s->generation);
		char err[PORT_ERR_MAX];
		if (port_state_load(s) != HP_PORT_ATTACHED)
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
		r = port_local_attach((uint16_t)id, gen, &fds, err,
				      sizeof(err));
		if (r < 0)
			HP_WARN(PORT_LOG, "port %u (%s): not usable here: %s",
				id, s->name, err);
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

const char *hp_port_state_name(enum hp_port_state state)
{
	switch (state) {
	case HP_PORT_FREE: return "free";
	case HP_PORT_ATTACHING: return "attaching";
	case HP_PORT_ATTACHED: return "attached";
	case HP_PORT_DETACHING: return "detaching";
	}
	return "?";
}

const char *hp_port_admin_name(enum hp_port_admin admin)
{
	switch (admin) {
	case HP_PORT_STOPPED: return "stopped";
	case HP_PORT_STARTED: return "started";
	case HP_PORT_CLOSED: return "closed";
	}
	return "?";
}

int hp_port_info_get(uint16_t port_id, struct hp_port_info *ret_info)
{
	struct port_slot *s = port_slot_get(port_id);
	struct hp_port_info info;

	if (!ret_info)
		return -EINVAL;
	if (!s || port_state_load(s) == HP_PORT_FREE)
		return -ENODEV;
	memset(&info, 0, sizeof(info));
	info.port_id = port_id;
	info.generation = PORT_LD(s->generation);
	info.state = port_state_load(s);
	info.admin = __atomic_load_n(&s->admin, __ATOMIC_RELAXED);
	memcpy(info.name, s->name, sizeof(info.name));
	memcpy(info.driver, s->driver, sizeof(info.driver));
	memcpy(info.devargs, s->devargs, sizeof(info.devargs));
	info.name[sizeof(info.name) - 1] = '\0';
	info.driver[sizeof(info.driver) - 1] = '\0';
	info.devargs[sizeof(info.devargs) - 1] = '\0';
	info.requester = s->requester;
	memcpy(info.mac, s->mac, sizeof(info.mac));
	info.link_up = PORT_LD(s->link_up);
	info.link_speed = s->link_speed;
	info.ifindex = PORT_LD(s->ifindex);
	info.nb_rx_queues = PORT_LD(s->conf.nb_rxq);
	info.nb_tx_queues = PORT_LD(s->conf.nb_txq);
	info.max_rx_queues = s->max_rxq;
	info.max_tx_queues = s->max_txq;
	info.peer = PORT_LD(s->peer);
	info.socket_id = s->socket_id;
	/* The slot may have been freed while we copied: say so. */
	if (port_state_load(s) == HP_PORT_FREE)
		return -ENODEV;
	*ret_info = info;
	return 0;
}

static uint64_t port_ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

int hp_port_stats_get(uint16_t port_id, struct hp_port_stats *ret_stats)
{
	struct port_slot *s = port_slot_get(port_id);
	struct hp_port_stats st;

	if (!ret_stats)
		return -EINVAL;
	if (!s || port_state_load(s) == HP_PORT_FREE)
		return -ENODEV;
	memset(&st, 0, sizeof(st));
	for (unsigned q = 0; q < HP_PORT_MAX_QUEUES; q++) {
		st.q_ipackets[q] = port_ld(&s->rx_stats[q].packets);
		st.q_ibytes[q] = port_ld(&s->rx_stats[q].bytes);
		st.q_opackets[q] = port_ld(&s->tx_stats[q].packets);
		st.q_obytes[q] = port_ld(&s->tx_stats[q].bytes);
		st.ipackets += st.q_ipackets[q];
		st.ibytes += st.q_ibytes[q];
		st.ierrors += port_ld(&s->rx_stats[q].errors);
		st.imissed += port_ld(&s->rx_stats[q].drops);
		st.opackets += st.q_opackets[q];
		st.obytes += st.q_obytes[q];
		st.oerrors += port_ld(&s->tx_stats[q].errors);
		st.odropped += port_ld(&s->tx_stats[q].drops);
	}
	*ret_stats = st;
	return 0;
}

static void port_qstat_zero(struct hp_port_qstats *q)
{
	PORT_ST(q->packets, 0);
	PORT_ST(q->bytes, 0);
	PORT_ST(q->errors, 0);
	PORT_ST(q->drops, 0);
}

/* Counters are read by any process at any time: zero them word by word. */
void port_qstats_zero(struct port_slot *s)
{
	for (unsigned q = 0; q < HP_PORT_MAX_QUEUES; q++) {
		port_qstat_zero(&s->rx_stats[q]);
		port_qstat_zero(&s->tx_stats[q]);
	}
}

int hp_port_stats_reset(uint16_t port_id)
{
	struct port_slot *s = port_slot_get(port_id);

	if (!s || port_state_load(s) == HP_PORT_FREE)
		return -ENODEV;
	port_qstats_zero(s);
	return 0;
}

void *hp_port_driver_shared(uint16_t port_id, const struct hp_port_driver *drv)
{
	struct port_slot *s = port_slot_get(port_id);

	if (!s || !drv || port_state_load(s) == HP_PORT_FREE ||
	    strncmp(s->driver, drv->name, sizeof(s->driver)))
		return NULL;
	return s->drv_shared;
}

uint32_t port_used_scan(const struct port_table *t, uint32_t from, bool want)
{
	for (uint32_t w = from / 64; w < PORT_USED_WORDS; w++) {
		uint64_t bits = __atomic_load_n(&t->used[w], __ATOMIC_RELAXED);
		if (!want)
			bits = ~bits;
		if (w == from / 64)
			bits &= ~0ull << (from % 64);
		if (bits) {
			uint32_t id = w * 64 + (uint32_t)__builtin_ctzll(bits);
			return id < HP_MAX_PORTS ? id : HP_MAX_PORTS;
		}
	}
	return HP_MAX_PORTS;
}

uint16_t hp_port_next(uint16_t from)
{
	for (uint32_t id = port_ctx.table ? port_used_scan(port_ctx.table, from, true) :
					    HP_MAX_PORTS;
	     id < HP_MAX_PORTS; id = port_used_scan(port_ctx.table, id + 1, true))
		if (port_state_load(&port_ctx.table->slots[id]) != HP_PORT_FREE)
			return (uint16_t)id;
	return HP_PORT_INVALID;
}

unsigned hp_port_count(void)
{
	unsigned n = 0;

	for (unsigned w = 0; port_ctx.table && w < PORT_USED_WORDS; w++)
		n += (unsigned)__builtin_popcountll(
			__atomic_load_n(&port_ctx.table->used[w], __ATOMIC_RELAXED));
	return n;
}

bool hp_port_is_valid(uint16_t port_id)
{
	struct port_slot *s = port_slot_get(port_id);

	return s && port_state_load(s) == HP_PORT_ATTACHED;
}

int hp_port_find(const char *name, uint16_t *ret_port_id)
{
	if (!name || !ret_port_id)
		return -EINVAL;
	if (!port_ctx.table)
		return -ENODEV;
	PORT_FOREACH_USED(port_ctx.table, id) {
		struct port_slot *s = &port_ctx.table->slots[id];
		if (port_state_load(s) == HP_PORT_ATTACHED &&
		    !strncmp(s->name, name, sizeof(s->name))) {
			*ret_port_id = (uint16_t)id;
			return 0;
		}
	}
	return -ENODEV;
}

int hp_port_event_register(hp_port_event_fn fn, void *arg)
{
	struct port_cb *cb;
	bool first;

	if (!fn)
		return -EINVAL;
	cb = calloc(1, sizeof(*cb));
	if (!cb)
		return -ENOMEM;
	cb->fn = fn;
	cb->arg = arg;
	pthread_mutex_lock(&port_cb_lock);
	first = !port_cbs;
	cb->next = port_cbs;
	port_cbs = cb;
	pthread_mutex_unlock(&port_cb_lock);
	/* A process with no callbacks is never woken for events. */
	if (first)
		port_listen(true);
	return 0;
}

int hp_port_event_unregister(hp_port_event_fn fn, void *arg)
{
	int r = -ENOENT;

	pthread_mutex_lock(&port_cb_lock);
	for (struct port_cb **p = &port_cbs; *p; p = &(*p)->next) {
		if ((*p)->fn == fn && (*p)->arg == arg) {
			struct port_cb *dead = *p;
			*p = dead->next;
			free(dead);
			r = 0;
			break;
		}
	}
	bool none = r == 0 && !port_cbs;
	pthread_mutex_unlock(&port_cb_lock);
	if (none)
		port_listen(false);
	return r;
}

void port_event_fire(uint16_t port_id, enum hp_port_event ev)
{
	pthread_mutex_lock(&port_cb_lock);
	for (struct port_cb *cb = port_cbs; cb; cb = cb->next)
		cb->fn(port_id, ev, cb->arg);
	pthread_mutex_unlock(&port_cb_lock);
}
