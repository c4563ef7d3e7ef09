/* SPDX-License-Identifier: BSD-3-Clause */
/* Port layer internals: the shared table, per-process entries, messages. */
#ifndef PORT_PRIVATE_H
#define PORT_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>

#include "hp_devargs.h"
#include "hp_port.h"
#include "hp_port_driver.h"
#include "hp_port_internal.h"

#define PORT_LOG "port"
#define PORT_TABLE_ZONE "hp_port_table"
#define PORT_TABLE_MAGIC 0x50545442u
#define PORT_DRIVERS_MAX 32
#define PORT_ERR_MAX 256

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

/* This process's private state of one attached port. */
struct port_local {
	struct hp_port_fp fp;	/* what hp_port_fp_table points to */
	uint32_t generation;	/* of the slot when attached here */
	const struct hp_port_driver *drv;
	struct hp_devargs args;
	struct hp_port_dev dev;
	struct hp_port_info info; /* scratch given to probe */
	struct port_conf conf;	/* the slot's, when fp was built */
};

/* Message types of the port layer (lib/core uses 16..31). */
enum port_msg_type {
	PORT_MSG_ATTACH_REQ = 32,  /* secondary -> primary: attach devargs */
	PORT_MSG_DETACH_REQ = 33,  /* secondary -> primary: detach port */
	PORT_MSG_OP_REQ = 34,	   /* secondary -> primary: start/stop/close */
	PORT_MSG_ATTACH_LOCAL = 35, /* primary -> all: publish the port */
	PORT_MSG_DETACH_LOCAL = 36, /* primary -> all: unpublish the port */
	PORT_MSG_JOIN = 37,	   /* secondary -> primary: wait for hotplug */
	PORT_MSG_REFRESH_LOCAL = 38, /* primary -> all: rebuild the entry */
	PORT_MSG_FDS_REQ = 39,	   /* secondary -> primary: a port's fds */
	PORT_MSG_EVENT = 40,	   /* primary -> all: ports came, went or
				    * changed: look (doorbell, no reply) */
};

enum port_op {
	PORT_OP_START = 1,
	PORT_OP_STOP = 2,
	PORT_OP_CLOSE = 3,
	PORT_OP_CONFIGURE = 4,
	PORT_OP_RXQ_SETUP = 5,
	PORT_OP_TXQ_SETUP = 6,
};

/* An operation on an attached port and its arguments. */
struct port_op_args {
	uint16_t op;		/* enum port_op */
	uint16_t queue_id;	/* queue set-up */
	uint16_t nb_rxq;	/* configure */
	uint16_t nb_txq;	/* configure */
	uint16_t nb_desc;	/* queue set-up */
	uint64_t pool;		/* rx queue set-up: struct hp_mempool *, 0 */
};

struct port_msg_req {
	uint16_t port_id;	/* detach and ops */
	struct port_op_args op;	/* PORT_MSG_OP_REQ */
	char devargs[HP_DEVARGS_MAX + 1]; /* attach */
};

struct port_msg_rep {
	uint16_t port_id;
	char name[HP_NAME_MAX];
	char err[PORT_ERR_MAX];
};

struct port_msg_local {
	uint16_t port_id;
	uint16_t pad;		/* 0: no uninitialised bytes go out */
	uint32_t generation;
};

/* The primary's answer to PORT_MSG_JOIN. */
struct port_msg_join_rep {
	uint32_t index;		/* the secondary's process index */
};

/* Process-wide state of the port layer. */
struct port_ctx {
	bool primary;
	bool joined;		  /* secondary: memory mapped, table known */
	pid_t pid;		  /* this process, as hotplug requests name it */
	struct hp_shm *shm;
	struct hp_ipc *ipc;
	struct port_table *table;
	struct hp_mempool *pool;  /* default packet pool, may be NULL */
	int timeout_ms;
	pthread_mutex_t hotplug_lock; /* primary: one attach/detach at a time */
	pthread_mutex_t local_lock;   /* this process's fast-path entries */
	struct port_local *locals[HP_MAX_PORTS];
	/* Under local_lock: each port whose NEW event this process fired
	 * and whose DESTROY it has not, with the generation it was for and
	 * the configuration it last told of; their ids in announced_map. */
	struct {
		bool on;
		uint32_t gen;
		uint32_t conf_gen;
		uint32_t link_gen;
	} announced[HP_MAX_PORTS];
	uint64_t announced_map[PORT_USED_WORDS];
	/* Generation + 1 of each on-demand port whose entry failed to build
	 * here (written under local_lock, read without): not tried again
	 * until the slot's generation changes. */
	uint32_t refused[HP_MAX_PORTS];
	int proc_index;		  /* secondary: its bit in holders, -1 */
	/* Primary: the ipc peer id of each secondary process index (0:
	 * free); written under hotplug_lock and procs_lock, read under
	 * either (port_notify takes only procs_lock: it runs on the ipc I/O
	 * thread, which must never wait for hotplug_lock). */
	pthread_mutex_t procs_lock;
	uint32_t proc_peer[HP_MAX_PROCS];
	/* Each port's fds as this process holds them: the primary's from
	 * probe to remove (under hotplug_lock), a secondary's while the port
	 * is in its fast path (under local_lock). */
	struct hp_port_fds fds[HP_MAX_PORTS];
};

extern struct port_ctx port_ctx;

/* Slot words that change while other processes may read the slot (peer,
 * queue counts, generation): relaxed atomic loads and stores, so a
 * reader never sees half a value. Everything else in a slot is written
 * only while the slot is FREE, before its state is published. */
#define PORT_LD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)
#define PORT_ST(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)

/* port.c */
/* The virtual device driver a device name starts with, or NULL. */
const struct hp_port_driver *port_driver_find(const char *name);
/* The driver named name exactly (as a slot records it), or NULL. */
const struct hp_port_driver *port_driver_get(const char *name);
/* The first PCI driver whose id table takes vendor:device, or NULL. */
const struct hp_port_driver *port_driver_pci(uint16_t vendor, uint16_t device);
struct port_slot *port_slot_get(uint16_t port_id);
int port_gone(char *err, size_t errlen);
void port_qstats_zero(struct port_slot *s);
void port_event_fire(uint16_t port_id, enum hp_port_event ev);
void port_err(char *err, size_t errlen, const char *fmt, ...) HP_PRINTF(3, 4);
void port_fds_close(struct hp_port_fds *f);

/* port_local.c: this process's side of attach, detach and refresh */
/* Fires the events that bring port_id's announcement in this process in
 * line with its slot (NEW, CONFIG, DESTROY). */
void port_sync(uint16_t port_id);
/* The doorbell: port_sync for every used or announced port. */
void port_rescan(void);
/* Fires DESTROY for every announced port (this process is leaving). */
void port_forget_all(void);
/* Secondary: makes its doorbell IDLE (and looks at the table) when this
 * process has event callbacks, DEAF when it has none. */
void port_listen(bool on);
bool port_on_demand(const struct port_slot *s);
int port_local_attach(uint16_t port_id, uint32_t gen, struct hp_port_fds *fds,
		      char *err, size_t errlen);
void port_local_detach(uint16_t port_id, uint32_t gen);
int port_local_refresh(uint16_t port_id, uint32_t gen, char *err,
		       size_t errlen);
void port_local_fill_dev(struct port_local *pl, uint16_t port_id,
			 struct port_slot *slot);

/* port_link.c (primary): follows the kernel interfaces of ports with an
 * ifindex (rtnetlink, on the ipc I/O thread) */
int port_link_watch(void);
void port_link_unwatch(void);
/* Unwatches when no port follows an interface any more (hotplug_lock). */
void port_link_unwatch_unused(void);

/* port_pci.c: the PCI side of attach */
int port_pci_match(struct hp_devargs *args, struct hp_pci_dev *ret_dev,
		   const struct hp_port_driver **ret_drv, char *err,
		   size_t errlen);

/* port_hotplug.c: the primary's side; a detach at shutdown also removes
 * the ports of drivers that are not detachable. Both take hotplug_lock
 * and, on success, tell every secondary (port_notify). */
int port_attach_primary(const char *devargs, pid_t requester,
			uint16_t *ret_port_id, char *err, size_t errlen);
int port_detach_primary(uint16_t port_id, bool shutdown, char *name,
			size_t len, char *err, size_t errlen);
int port_broadcast(uint16_t type, uint16_t port_id, uint32_t gen, char *err,
		   size_t errlen);
int port_refresh_all(uint16_t port_id, char *err, size_t errlen);
/* Rings every secondary's doorbell: ports came, went or changed. No
 * reply is awaited, and none is sent where one is still unread. */
void port_notify(void);
/* The ipc peer ids of the secondaries in port_id's holders (at most
 * HP_MAX_PROCS), each word read with a read-modify-write. Under
 * hotplug_lock. */
int port_holders_peers(uint16_t port_id, uint32_t *peers);
/* port_attach_primary and port_detach_primary with hotplug_lock held by
 * the caller; they tell the secondaries nothing (port_notify does). */
int port_attach_locked(const char *devargs, pid_t requester,
		       uint16_t *ret_port_id, char *err, size_t errlen);
int port_detach_locked(uint16_t port_id, bool shutdown, char *name,
		       size_t len, char *err, size_t errlen);

/* port_ops.c: the primary's side of start/stop/close and configuration */
int port_op_primary(uint16_t port_id, const struct port_op_args *a, char *err,
		    size_t errlen);
/* Whether the operation changes the port's configuration (a CONFIG
 * event everywhere). */
bool port_op_changes_conf(const struct port_op_args *a);
/* port_op_primary with hotplug_lock held by the caller; it tells the
 * secondaries nothing (port_notify does). */
int port_op_locked(uint16_t port_id, const struct port_op_args *a, char *err,
		   size_t errlen);

/* port_api.c */
void port_handlers_register(struct hp_ipc *ipc);
int port_join_barrier(void);
int port_fds_fetch(uint16_t port_id, uint32_t gen, struct hp_port_fds *fds);

#endif
