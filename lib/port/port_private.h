/* SPDX-License-Identifier: BSD-3-Clause */
/* Port layer internals shared by the files of lib/port: this process's
 * context and entries, and the calls one file makes into another, by file
 * (the table's layout is in port_table.h, the messages in port_msg.h). */
#ifndef PORT_PRIVATE_H
#define PORT_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>

#include "hp_devargs.h"
#include "hp_ipc.h"
#include "hp_log.h"
#include "hp_port.h"
#include "hp_port_driver.h"
#include "hp_port_internal.h"
#include "port_table.h"

#define PORT_LOG "port"
#define PORT_DRIVERS_MAX 32
#define PORT_ERR_MAX 256

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

/* port_init.c: init, join and fini */
/* Under hotplug_lock in the primary: 0, or -ESHUTDOWN once hp_port_fini
 * ran. */
int port_check_table(char *err, size_t errlen);

/* port_driver.c: the driver registry */
/* The virtual device driver a device name starts with, or NULL. */
const struct hp_port_driver *port_driver_find(const char *name);
/* The driver named name exactly (as a slot records it), or NULL. */
const struct hp_port_driver *port_driver_get(const char *name);
/* The first PCI driver whose id table takes vendor:device, or NULL. */
const struct hp_port_driver *port_driver_pci(uint16_t vendor, uint16_t device);
/* Closes the fds of f and empties it. */
void port_fds_close(struct hp_port_fds *f);

/* port_event.c: event callbacks, and the events each process fires */
/* Delivers the queued events, then stops the delivery thread (the next
 * event starts it again). Not from a callback. */
void port_events_stop(void);
/* Whether this process has event callbacks. */
bool port_has_callbacks(void);
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

/* port_local.c: this process's side of attach, detach and refresh */
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

/* port_cred.c: who asked for an attach. The requester, and the storage of
 * its groups. */
struct port_requester {
	struct hp_port_requester rq;
	struct hp_ipc_cred cred;	/* a secondary's, as hp_ipc_peer_cred */
	gid_t *more;			/* all its groups when cred lists only
					 * the first ones */
};
/* This process (the primary attaching for itself). */
void port_requester_self(struct port_requester *ret);
/* Connected secondary peer: its credentials as at connect; -ENOTCONN,
 * -ENOMEM. port_requester_fini frees it (also after a failure). */
int port_requester_peer(struct hp_ipc *ipc, uint32_t peer,
			struct port_requester *ret);
void port_requester_fini(struct port_requester *r);
/* Opens path as rq could (hp_port_open without the message); *ret_switched
 * tells whether this thread took rq's credentials for it. */
int port_open_as(const struct hp_port_requester *rq, const char *path,
		 int flags, mode_t mode, bool *ret_switched);

/* port_pci.c: the PCI side of attach */
int port_pci_match(struct hp_devargs *args, struct hp_pci_dev *ret_dev,
		   const struct hp_port_driver **ret_drv, char *err,
		   size_t errlen);

/* port_hotplug.c: the primary's side; a detach at shutdown also removes
 * the ports of drivers that are not detachable. Both take hotplug_lock
 * and, on success, tell every secondary (port_notify). */
int port_attach_primary(const char *devargs,
			const struct hp_port_requester *rq,
			uint16_t *ret_port_id, char *err, size_t errlen);
int port_detach_primary(uint16_t port_id, bool shutdown, char *name,
			size_t len, char *err, size_t errlen);
/* port_attach_primary and port_detach_primary with hotplug_lock held by
 * the caller; they tell the secondaries nothing (port_notify does). */
int port_attach_locked(const char *devargs,
		       const struct hp_port_requester *rq,
		       uint16_t *ret_port_id, char *err, size_t errlen);
int port_detach_locked(uint16_t port_id, bool shutdown, char *name,
		       size_t len, char *err, size_t errlen);
/* Rebuilds port_id in every process after a change of its slot. */
int port_refresh_all(uint16_t port_id, char *err, size_t errlen);

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

#endif
