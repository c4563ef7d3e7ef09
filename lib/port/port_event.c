/* SPDX-License-Identifier: BSD-3-Clause */
/* Port events: the callbacks a process registers, and when it fires them.
 *
 * Each process fires NEW once per generation of a port, CONFIG per change
 * it notices, then DESTROY once. port_sync compares the slot with what
 * this process last announced, after each local attach, detach or rebuild,
 * and for every port when the primary rings the doorbell (port_rescan):
 * events follow the table whatever order messages come in, and a doorbell
 * rung while one is unread costs nothing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "port_private.h"

struct port_cb {
	hp_port_event_fn fn;
	void *arg;
	struct port_cb *next;
};
static pthread_mutex_t port_cb_lock = PTHREAD_MUTEX_INITIALIZER;
static struct port_cb *port_cbs;

bool port_has_callbacks(void)
{
	bool any;

	pthread_mutex_lock(&port_cb_lock);
	any = port_cbs != NULL;
	pthread_mutex_unlock(&port_cb_lock);
	return any;
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

/* Under local_lock: brings port_id's announcement in line with the slot
 * and writes the events to fire (at most 2) to ev; returns their count. A
 * port is there for this process while it has an entry of the slot's
 * generation and the slot is ATTACHING or ATTACHED, and, in a secondary,
 * while an on-demand port is ATTACHED (its entry comes at first use). */
static unsigned port_sync_locked(uint16_t port_id, enum hp_port_event *ev)
{
	struct port_slot *slot = port_ctx.joined ? port_slot_get(port_id) : NULL;
	typeof(&port_ctx.announced[0]) a = &port_ctx.announced[port_id];
	uint64_t bit = 1ull << (port_id % 64);
	uint32_t st = slot ? __atomic_load_n(&slot->state, __ATOMIC_ACQUIRE) :
			     HP_PORT_FREE;
	uint32_t gen = slot ? PORT_LD(slot->generation) : 0;
	uint32_t conf_gen = slot ? PORT_LD(slot->conf_gen) : 0;
	uint32_t link_gen = slot ? PORT_LD(slot->link_gen) : 0;
	const struct port_local *pl = port_ctx.locals[port_id];
	bool there, mine = pl && pl->generation == gen;
	unsigned n = 0;

	if (mine)
		there = st == HP_PORT_ATTACHING || st == HP_PORT_ATTACHED;
	else
		there = st == HP_PORT_ATTACHED && !port_ctx.primary &&
			port_on_demand(slot);

	if (a->on && (!there || a->gen != gen)) {
		a->on = false;
		port_ctx.announced_map[port_id / 64] &= ~bit;
		ev[n++] = HP_PORT_EVENT_DESTROY;
	}
	if (there && !a->on) {
		a->on = true;
		a->gen = gen;
		a->conf_gen = conf_gen;
		a->link_gen = link_gen;
		port_ctx.announced_map[port_id / 64] |= bit;
		ev[n++] = HP_PORT_EVENT_NEW;
		return n;
	}
	if (there && a->conf_gen != conf_gen) {
		a->conf_gen = conf_gen;
		ev[n++] = HP_PORT_EVENT_CONFIG;
	}
	if (there && a->link_gen != link_gen) {
		a->link_gen = link_gen;
		ev[n++] = HP_PORT_EVENT_LINK;
	}
	return n;
}

void port_sync(uint16_t port_id)
{
	enum hp_port_event ev[2];
	unsigned n;

	if (port_id >= HP_MAX_PORTS)
		return;
	pthread_mutex_lock(&port_ctx.local_lock);
	n = port_sync_locked(port_id, ev);
	pthread_mutex_unlock(&port_ctx.local_lock);
	for (unsigned i = 0; i < n; i++)
		port_event_fire(port_id, ev[i]);
}

void port_rescan(void)
{
	uint64_t look[PORT_USED_WORDS];

	pthread_mutex_lock(&port_ctx.local_lock);
	/* IDLE again before the look: a change after it rings again. */
	if (port_ctx.joined && port_ctx.proc_index >= 0)
		__atomic_compare_exchange_n(
			&port_ctx.table->doorbell[port_ctx.proc_index],
			&(uint32_t){ PORT_BELL_RUNG }, PORT_BELL_IDLE, false,
			__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	for (unsigned w = 0; w < PORT_USED_WORDS; w++)
		look[w] = port_ctx.announced_map[w] |
			  (port_ctx.joined ?
				   __atomic_load_n(&port_ctx.table->used[w],
						   __ATOMIC_ACQUIRE) :
				   0);
	pthread_mutex_unlock(&port_ctx.local_lock);
	for (unsigned w = 0; w < PORT_USED_WORDS; w++)
		for (uint64_t bits = look[w]; bits; bits &= bits - 1)
			port_sync((uint16_t)(w * 64 + (unsigned)__builtin_ctzll(bits)));
}

void port_listen(bool on)
{
	bool look = false;

	pthread_mutex_lock(&port_ctx.local_lock);
	if (port_ctx.joined && !port_ctx.primary && port_ctx.proc_index >= 0) {
		__atomic_store_n(&port_ctx.table->doorbell[port_ctx.proc_index],
				 on ? PORT_BELL_IDLE : PORT_BELL_DEAF,
				 __ATOMIC_SEQ_CST);
		look = on;
	}
	pthread_mutex_unlock(&port_ctx.local_lock);
	/* What changed while deaf is told now. */
	if (look)
		port_rescan();
}

void port_forget_all(void)
{
	uint64_t told[PORT_USED_WORDS];

	pthread_mutex_lock(&port_ctx.local_lock);
	memcpy(told, port_ctx.announced_map, sizeof(told));
	memset(port_ctx.announced_map, 0, sizeof(port_ctx.announced_map));
	for (unsigned w = 0; w < PORT_USED_WORDS; w++)
		for (uint64_t bits = told[w]; bits; bits &= bits - 1)
			port_ctx.announced[w * 64 + (unsigned)__builtin_ctzll(bits)].on =
				false;
	pthread_mutex_unlock(&port_ctx.local_lock);
	for (unsigned w = 0; w < PORT_USED_WORDS; w++)
		for (uint64_t bits = told[w]; bits; bits &= bits - 1)
			port_event_fire((uint16_t)(w * 64 +
						   (unsigned)__builtin_ctzll(bits)),
					HP_PORT_EVENT_DESTROY);
}
