/* SPDX-License-Identifier: BSD-3-Clause */
/* The shared port table: its layout in shared memory and the calls that
 * read or change a slot (port_table.c). Only lib/port includes it. */
#ifndef PORT_TABLE_H
#define PORT_TABLE_H

#include <stdbool.h>

#include "hp_port.h"
#include "hp_port_driver.h"

#define PORT_TABLE_ZONE "hp_port_table"
#define PORT_TABLE_MAGIC 0x50545442u

/* A port's queue configuration, in its slot; the primary writes it
 * before it asks every process to rebuild its fast-path entry. */
struct port_conf {
	uint16_t nb_rxq;	/* rx queues in use */
	uint16_t nb_txq;	/* tx queues in use */
	struct hp_port_queue_conf rxq[HP_PORT_MAX_QUEUES];
	struct hp_port_queue_conf txq[HP_PORT_MAX_QUEUES];
};

#define PORT_HOLDER_WORDS ((HP_MAX_PROCS + 63) / 64)

/* A secondary's doorbell (struct port_table). */
enum port_bell {
	PORT_BELL_IDLE = 0,	/* listening, nothing unread */
	PORT_BELL_RUNG = 1,	/* a PORT_MSG_EVENT is on its way or unread */
	PORT_BELL_DEAF = 2,	/* no event callbacks: never rung */
};

/* One slot of the shared port table. The primary writes every field but
 * the counters; fast-path threads of any process write the counters of
 * the queues they poll. */
struct port_slot {
	uint32_t state;		/* enum hp_port_state; primary; read with acquire */
	uint32_t admin;		/* enum hp_port_admin; primary; read by bursts */
	uint32_t generation;	/* attach/detach cycles of this slot; primary */
	uint32_t conf_gen;	/* changes of conf and peer; primary */
	uint32_t link_gen;	/* changes of link_up; primary */
	int32_t ifindex;	/* kernel interface followed, 0; set at probe */
	int32_t requester;	/* pid that asked for the attach; primary */
	char name[HP_NAME_MAX];	/* device name; primary */
	char driver[32];	/* driver name; primary */
	char devargs[HP_DEVARGS_MAX + 1]; /* as given; primary */
	void *drv_shared;	/* driver's shared state (in shm) or NULL */
	uint8_t mac[6];		/* set by probe */
	uint8_t link_up;	/* 0/1; set by probe or driver */
	uint8_t nb_fds;		/* fds the probe added (hp_port_fd_add) */
	uint8_t on_demand;	/* secondaries build the entry at first use
				 * (the driver's on_demand, and no fds) */
	uint8_t probed;		/* 0 from ATTACHING until the probe is done,
				 * then 1 (release): the fields the probe
				 * sets may be read; primary */
	uint32_t link_speed;	/* Mbit/s */
	uint16_t max_rxq;	/* driver's most rx queues; set at probe */
	uint16_t max_txq;	/* driver's most tx queues; set at probe */
	uint16_t peer;		/* joined port or HP_PORT_INVALID; primary */
	int32_t socket_id;	/* NUMA node, -1 unknown */
	struct port_conf conf;	/* probe's defaults, then hp_port_configure
				 * and queue set-up; primary */
	/* Bit i: the secondary with process index i may have the port in
	 * its fast path (on-demand drivers); it sets its own bit, the
	 * primary clears them when the slot or that secondary goes. */
	uint64_t holders[PORT_HOLDER_WORDS];
	struct hp_port_qstats rx_stats[HP_PORT_MAX_QUEUES]; /* pollers */
	struct hp_port_qstats tx_stats[HP_PORT_MAX_QUEUES]; /* pollers */
};

#define PORT_USED_WORDS ((HP_MAX_PORTS + 63) / 64)

/* The shared port table, a zone reserved by the primary. */
struct port_table {
	uint32_t magic;		/* PORT_TABLE_MAGIC */
	uint32_t nb_slots;	/* HP_MAX_PORTS of the primary's build */
	uint32_t slot_size;	/* sizeof(struct port_slot) of that build */
	/* Bit id set where slot id's state is not FREE; the primary sets and
	 * clears it with the state. Scans read these words, not 3 MB of
	 * sparse slots. */
	uint64_t used[PORT_USED_WORDS];
	/* Per secondary process index, enum port_bell: the primary sends a
	 * PORT_MSG_EVENT only when it turns IDLE into RUNG, the secondary
	 * turns RUNG back into IDLE before it looks at the table: at most one
	 * is ever queued, and none while one is. A secondary without event
	 * callbacks is DEAF: nothing to tell it, so it is never woken. */
	uint32_t doorbell[HP_MAX_PROCS];
	struct port_slot slots[HP_MAX_PORTS];
};

/* The first slot at or after from whose used bit equals want, or
 * HP_MAX_PORTS. */
uint32_t port_used_scan(const struct port_table *t, uint32_t from, bool want);

/* Every used slot id of table t, lowest first. */
#define PORT_FOREACH_USED(t, id)                                              \
	for (uint32_t id = port_used_scan(t, 0, true); id < HP_MAX_PORTS;     \
	     id = port_used_scan(t, id + 1, true))

/* Slot words that change while other processes may read the slot (peer,
 * queue counts, generation): relaxed atomic loads and stores, so a
 * reader never sees half a value. Everything else in a slot is written
 * only while the slot is FREE, before its state is published, or, for
 * what the probe finds, while it is ATTACHING and not yet probed. */
#define PORT_LD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)
#define PORT_ST(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)

/* port_id's slot, or NULL when there is no table or no such slot. */
struct port_slot *port_slot_get(uint16_t port_id);
/* The slot's state (enum hp_port_state), read with acquire: the fields
 * written before it was published are there. */
static inline uint32_t port_slot_state(const struct port_slot *s)
{
	return __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
}
/* Primary, under hotplug_lock: publishes the slot's state, keeping the
 * used map in step with it. */
void port_slot_set_state(struct port_slot *s, enum hp_port_state st);
/* Primary, under hotplug_lock: a FREE slot for device name; -EEXIST when
 * a slot has that name already, -ENOSPC when all are used. */
int port_slot_find_free(const char *name, uint16_t *ret_id, char *err,
			size_t errlen);
/* Primary, under hotplug_lock: 0, or -EBUSY with the reason when the
 * port is started. */
int port_check_stopped(uint16_t port_id, const struct port_slot *s,
		       char *err, size_t errlen);
/* Zeroes the slot's queue counters, word by word. */
void port_qstats_zero(struct port_slot *s);

#endif
