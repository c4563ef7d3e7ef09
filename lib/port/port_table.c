/* SPDX-License-Identifier: BSD-3-Clause */
/* The shared port table: slots, their state and used map, and the
 * queries any process makes of it (info, stats, lookup). */
#include <errno.h>
#include <string.h>

#include "port_private.h"

struct port_slot *port_slot_get(uint16_t port_id)
{
	if (!port_ctx.table || port_id >= HP_MAX_PORTS)
		return NULL;
	return &port_ctx.table->slots[port_id];
}

void port_slot_set_state(struct port_slot *s, enum hp_port_state st)
{
	struct port_table *t = port_ctx.table;

	/* Mark used before the slot shows, and clear it after it is gone,
	 * so the map never hides a slot whose state is not FREE. */
	size_t id = (size_t)(s - t->slots);
	uint64_t bit = 1ull << (id % 64);

	if (st != HP_PORT_FREE)
		__atomic_fetch_or(&t->used[id / 64], bit, __ATOMIC_RELAXED);
	__atomic_store_n(&s->state, (uint32_t)st, __ATOMIC_RELEASE);
	if (st == HP_PORT_FREE)
		__atomic_fetch_and(&t->used[id / 64], ~bit, __ATOMIC_RELAXED);
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

int port_slot_find_free(const char *name, uint16_t *ret_id, char *err,
			size_t errlen)
{
	const struct port_table *t = port_ctx.table;
	uint32_t free_id;

	/* Only the primary changes slots, under hotplug_lock: the map is
	 * exact here. */
	PORT_FOREACH_USED(t, id) {
		if (!strncmp(t->slots[id].name, name, sizeof(t->slots[id].name)))
			return hp_err_set(err, errlen, -EEXIST,
					  "device %s is already port %u", name,
					  id);
	}
	free_id = port_used_scan(t, 0, false);
	if (free_id >= HP_MAX_PORTS)
		return hp_err_set(err, errlen, -ENOSPC,
				  "all %d port slots are in use", HP_MAX_PORTS);
	*ret_id = (uint16_t)free_id;
	return 0;
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

/* Copies what the probe found (port_slot.probed is set) into info. */
static void port_info_probed(const struct port_slot *s,
			     struct hp_port_info *info)
{
	memcpy(info->mac, s->mac, sizeof(info->mac));
	info->link_up = PORT_LD(s->link_up);
	info->link_speed = s->link_speed;
	info->ifindex = PORT_LD(s->ifindex);
	info->nb_rx_queues = PORT_LD(s->conf.nb_rxq);
	info->nb_tx_queues = PORT_LD(s->conf.nb_txq);
	info->max_rx_queues = s->max_rxq;
	info->max_tx_queues = s->max_txq;
	info->peer = PORT_LD(s->peer);
	info->socket_id = s->socket_id;
}

int hp_port_info_get(uint16_t port_id, struct hp_port_info *ret_info)
{
	struct port_slot *s = port_slot_get(port_id);
	struct hp_port_info info;

	if (!ret_info)
		return -EINVAL;
	if (!s || port_slot_state(s) == HP_PORT_FREE)
		return -ENODEV;
	memset(&info, 0, sizeof(info));
	info.port_id = port_id;
	info.state = port_slot_state(s);
	info.generation = PORT_LD(s->generation);
	info.admin = __atomic_load_n(&s->admin, __ATOMIC_RELAXED);
	memcpy(info.name, s->name, sizeof(info.name));
	memcpy(info.driver, s->driver, sizeof(info.driver));
	memcpy(info.devargs, s->devargs, sizeof(info.devargs));
	info.name[sizeof(info.name) - 1] = '\0';
	info.driver[sizeof(info.driver) - 1] = '\0';
	info.devargs[sizeof(info.devargs) - 1] = '\0';
	info.requester = s->requester;
	/* While the probe runs (ATTACHING), only what came before it. */
	info.peer = HP_PORT_INVALID;
	info.socket_id = -1;
	if (__atomic_load_n(&s->probed, __ATOMIC_ACQUIRE))
		port_info_probed(s, &info);
	/* The slot may have been freed (and taken again) while we copied:
	 * say so. */
	if (port_slot_state(s) == HP_PORT_FREE ||
	    PORT_LD(s->generation) != info.generation)
		return -ENODEV;
	*ret_info = info;
	return 0;
}

int hp_port_stats_get(uint16_t port_id, struct hp_port_stats *ret_stats)
{
	struct port_slot *s = port_slot_get(port_id);
	struct hp_port_stats st;

	if (!ret_stats)
		return -EINVAL;
	if (!s || port_slot_state(s) == HP_PORT_FREE)
		return -ENODEV;
	memset(&st, 0, sizeof(st));
	for (unsigned q = 0; q < HP_PORT_MAX_QUEUES; q++) {
		st.q_ipackets[q] = PORT_LD(s->rx_stats[q].packets);
		st.q_ibytes[q] = PORT_LD(s->rx_stats[q].bytes);
		st.q_opackets[q] = PORT_LD(s->tx_stats[q].packets);
		st.q_obytes[q] = PORT_LD(s->tx_stats[q].bytes);
		st.ipackets += st.q_ipackets[q];
		st.ibytes += st.q_ibytes[q];
		st.ierrors += PORT_LD(s->rx_stats[q].errors);
		st.imissed += PORT_LD(s->rx_stats[q].drops);
		st.opackets += st.q_opackets[q];
		st.obytes += st.q_obytes[q];
		st.oerrors += PORT_LD(s->tx_stats[q].errors);
		st.odropped += PORT_LD(s->tx_stats[q].drops);
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

int port_check_stopped(uint16_t port_id, const struct port_slot *s,
		       char *err, size_t errlen)
{
	if (__atomic_load_n(&s->admin, __ATOMIC_RELAXED) != HP_PORT_STARTED)
		return 0;
	return hp_err_set(err, errlen, -EBUSY,
			  "port %u is started: stop it first", port_id);
}

int hp_port_stats_reset(uint16_t port_id)
{
	struct port_slot *s = port_slot_get(port_id);

	if (!s || port_slot_state(s) == HP_PORT_FREE)
		return -ENODEV;
	port_qstats_zero(s);
	return 0;
}

uint16_t hp_port_next(uint16_t from)
{
	for (uint32_t id = port_ctx.table ? port_used_scan(port_ctx.table, from, true) :
					    HP_MAX_PORTS;
	     id < HP_MAX_PORTS; id = port_used_scan(port_ctx.table, id + 1, true))
		if (port_slot_state(&port_ctx.table->slots[id]) != HP_PORT_FREE)
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

	return s && port_slot_state(s) == HP_PORT_ATTACHED;
}

int hp_port_find(const char *name, uint16_t *ret_port_id)
{
	if (!name || !ret_port_id)
		return -EINVAL;
	if (!port_ctx.table)
		return -ENODEV;
	PORT_FOREACH_USED(port_ctx.table, id) {
		struct port_slot *s = &port_ctx.table->slots[id];
		if (port_slot_state(s) == HP_PORT_ATTACHED &&
		    !strncmp(s->name, name, sizeof(s->name))) {
			*ret_port_id = (uint16_t)id;
			return 0;
		}
	}
	return -ENODEV;
}
