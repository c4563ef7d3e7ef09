/* SPDX-License-Identifier: BSD-3-Clause */
/* Port events: the callbacks a process registers, and when it fires them.
 *
 * Each process fires NEW once per generation of a port, CONFIG per change
 * it notices, then DESTROY once. port_sync compares the slot with what
 * this process last announced, after each local attach, detach or rebuild,
 * and for every port when the primary rings the doorbell (port_rescan):
 * events follow the table whatever order messages come in, and a doorbell
 * rung while one is unread costs nothing.
 *
 * The users' callbacks never run on the thread that fires: that is
 * usually the IPC I/O thread, which must answer the primary whatever a
 * callback does. An event is queued (under local_lock, so each port's
 * events keep their order) and one delivery thread per process, started
 * with the first event, runs the callbacks one event at a time under
 * port_cbs.lock; so hp_port_event_unregister, which takes that lock,
 * returns once its callback is not running and will not run again. The
 * library's own listeners (lib/fwd, which must drop a port from its
 * streams before the detach returns) run inline instead, right after the
 * change, under a lock of their own: they take short locks only. A callback that stalls
 * costs only this process: past PORT_EVQ_LEN queued events the next are
 * dropped, counted, and a warning says how many once the queue drains.
 * hp_port_fini delivers what is queued and joins the thread. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "hp_log.h"
#include "port_private.h"

/* Events queued for the callbacks before the next are dropped. */
#define PORT_EVQ_LEN 4096

struct port_cb {
	hp_port_event_fn fn;
	void *arg;
	struct port_cb *next;
};

struct port_cb_list {
	pthread_mutex_t lock;	/* held while its callbacks run */
	struct port_cb *head;
	unsigned nb;		/* callbacks listed; read without the lock */
};
/* The users' callbacks: run by the delivery thread. */
static struct port_cb_list port_cbs = { PTHREAD_MUTEX_INITIALIZER, NULL, 0 };
/* The library's own listeners (lib/fwd): run by the thread that fires. */
static struct port_cb_list port_inline_cbs = { PTHREAD_MUTEX_INITIALIZER, NULL,
					       0 };
/* Callbacks in both lists: read without their locks, which a running
 * callback holds. */
static unsigned port_nb_cbs;

/* The events on their way to the callbacks. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;	/* to the thread: queued, or stop */
	struct {
		uint16_t port_id;
		uint8_t ev;
	} q[PORT_EVQ_LEN];
	unsigned head;
	unsigned count;
	uint64_t dropped;	/* since the last warning */
	bool running;
	bool stop;
	pthread_t thread;
} port_evq = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

bool port_has_callbacks(void)
{
	return __atomic_load_n(&port_nb_cbs, __ATOMIC_ACQUIRE) > 0;
}

static int port_cb_add(struct port_cb_list *l, hp_port_event_fn fn, void *arg)
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
	pthread_mutex_lock(&l->lock);
	cb->next = l->head;
	l->head = cb;
	__atomic_add_fetch(&l->nb, 1, __ATOMIC_RELEASE);
	first = __atomic_fetch_add(&port_nb_cbs, 1, __ATOMIC_ACQ_REL) == 0;
	pthread_mutex_unlock(&l->lock);
	/* A process with no callbacks is never woken for events. */
	if (first)
		port_listen(true);
	return 0;
}

static int port_cb_del(struct port_cb_list *l, hp_port_event_fn fn, void *arg)
{
	bool none = false;
	int r = -ENOENT;

	pthread_mutex_lock(&l->lock);
	for (struct port_cb **p = &l->head; *p; p = &(*p)->next) {
		if ((*p)->fn == fn && (*p)->arg == arg) {
			struct port_cb *dead = *p;
			*p = dead->next;
			free(dead);
			__atomic_sub_fetch(&l->nb, 1, __ATOMIC_RELEASE);
			none = __atomic_sub_fetch(&port_nb_cbs, 1,
						  __ATOMIC_ACQ_REL) == 0;
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&l->lock);
	if (none)
		port_listen(false);
	return r;
}

static void port_cb_run(struct port_cb_list *l, uint16_t port_id,
			enum hp_port_event ev)
{
	/* no lock taken on the hotplug path of a process without listeners */
	if (!__atomic_load_n(&l->nb, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&l->lock);
	for (struct port_cb *cb = l->head; cb; cb = cb->next)
		cb->fn(port_id, ev, cb->arg);
	pthread_mutex_unlock(&l->lock);
}

int hp_port_event_register(hp_port_event_fn fn, void *arg)
{
	return port_cb_add(&port_cbs, fn, arg);
}

int hp_port_event_register_inline(hp_port_event_fn fn, void *arg)
{
	return port_cb_add(&port_inline_cbs, fn, arg);
}

int hp_port_event_unregister(hp_port_event_fn fn, void *arg)
{
	int r = port_cb_del(&port_cbs, fn, arg);

	return r == -ENOENT ? port_cb_del(&port_inline_cbs, fn, arg) : r;
}

static void *port_evq_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&port_evq.lock);
	for (;;) {
		while (!port_evq.count && !port_evq.stop)
			pthread_cond_wait(&port_evq.wake, &port_evq.lock);
		if (!port_evq.count)
			break;
		uint16_t port_id = port_evq.q[port_evq.head].port_id;
		enum hp_port_event ev = port_evq.q[port_evq.head].ev;
		port_evq.head = (port_evq.head + 1) % PORT_EVQ_LEN;
		port_evq.count--;
		pthread_mutex_unlock(&port_evq.lock);
		port_cb_run(&port_cbs, port_id, ev);
		pthread_mutex_lock(&port_evq.lock);
		if (!port_evq.count && port_evq.dropped) {
			uint64_t n = port_evq.dropped;

			port_evq.dropped = 0;
			pthread_mutex_unlock(&port_evq.lock);
			HP_WARN(PORT_LOG, "%" PRIu64 " port events dropped: an event callback was too slow",
				n);
			pthread_mutex_lock(&port_evq.lock);
		}
	}
	pthread_mutex_unlock(&port_evq.lock);
	return NULL;
}

/* Under port_evq.lock: starts the delivery thread, its signals blocked
 * (they are for the process's own threads). */
static bool port_evq_start(void)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	port_evq.stop = false;
	port_evq.running =
		pthread_create(&port_evq.thread, NULL, port_evq_thread, NULL) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!port_evq.running)
		HP_WARN(PORT_LOG, "cannot start the port event thread: events are dropped");
	return port_evq.running;
}

/* Queues an event for the users' callbacks; never waits for them. Callers
 * hold local_lock, which keeps each port's events in order. */
static void port_event_queue(uint16_t port_id, enum hp_port_event ev)
{
	if (!__atomic_load_n(&port_cbs.nb, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&port_evq.lock);
	if ((!port_evq.running && !port_evq_start()) ||
	    port_evq.count == PORT_EVQ_LEN) {
		port_evq.dropped++;
	} else {
		unsigned tail = (port_evq.head + port_evq.count) % PORT_EVQ_LEN;

		port_evq.q[tail].port_id = port_id;
		port_evq.q[tail].ev = (uint8_t)ev;
		port_evq.count++;
		pthread_cond_signal(&port_evq.wake);
	}
	pthread_mutex_unlock(&port_evq.lock);
}

void port_events_stop(void)
{
	pthread_mutex_lock(&port_evq.lock);
	bool join = port_evq.running;
	port_evq.stop = true;
	pthread_cond_signal(&port_evq.wake);
	pthread_mutex_unlock(&port_evq.lock);
	/* the thread delivers what is queued first */
	if (join && !pthread_equal(pthread_self(), port_evq.thread))
		pthread_join(port_evq.thread, NULL);
	pthread_mutex_lock(&port_evq.lock);
	port_evq.running = false;
	port_evq.stop = false;
	pthread_mutex_unlock(&port_evq.lock);
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
	uint32_t st = slot ? port_slot_state(slot) : HP_PORT_FREE;
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
	for (unsigned i = 0; i < n; i++)
		port_event_queue(port_id, ev[i]);
	pthread_mutex_unlock(&port_ctx.local_lock);
	for (unsigned i = 0; i < n; i++)
		port_cb_run(&port_inline_cbs, port_id, ev[i]);
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
	for (unsigned w = 0; w < PORT_USED_WORDS; w++) {
		for (uint64_t bits = told[w]; bits; bits &= bits - 1) {
			uint16_t id = (uint16_t)(w * 64 +
						 (unsigned)__builtin_ctzll(bits));

			port_ctx.announced[id].on = false;
			port_event_queue(id, HP_PORT_EVENT_DESTROY);
		}
	}
	pthread_mutex_unlock(&port_ctx.local_lock);
	for (unsigned w = 0; w < PORT_USED_WORDS; w++)
		for (uint64_t bits = told[w]; bits; bits &= bits - 1)
			port_cb_run(&port_inline_cbs,
				    (uint16_t)(w * 64 +
					       (unsigned)__builtin_ctzll(bits)),
				    HP_PORT_EVENT_DESTROY);
}
