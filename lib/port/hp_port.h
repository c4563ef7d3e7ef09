/* SPDX-License-Identifier: BSD-3-Clause */
/* Ports: the shared port table, hotplug (attach/detach from any process),
 * start/stop/close, information, events, and the fast-path bursts. */
#ifndef HP_PORT_H
#define HP_PORT_H

#include <stdbool.h>
#include <sys/types.h>

#include "hp_common.h"

/* No port (an invalid port id). */
#define HP_PORT_INVALID UINT16_MAX
/* Most rx or tx queues of one port. */
#define HP_PORT_MAX_QUEUES 16
/* Most descriptors of one queue (nb_desc of a queue set-up). */
#define HP_PORT_MAX_DESC 32768

/* Life of a slot in the shared port table. */
enum hp_port_state {
	HP_PORT_FREE = 0,	/* unused */
	HP_PORT_ATTACHING = 1,	/* primary probing, then publishing: listed,
				 * not usable yet */
	HP_PORT_ATTACHED = 2,	/* in every process's fast path */
	HP_PORT_DETACHING = 3,	/* leaving every fast path */
};

/* Administrative state of an attached port. */
enum hp_port_admin {
	HP_PORT_STOPPED = 0,	/* attached, not passing packets */
	HP_PORT_STARTED = 1,	/* passing packets */
	HP_PORT_CLOSED = 2,	/* resources released; may be detached */
};

/* Events delivered to callbacks in every process: per attach of a port,
 * NEW once, CONFIG per change, DESTROY once. A secondary hears of a
 * port's attach or detach just after the requester has its answer. */
enum hp_port_event {
	HP_PORT_EVENT_NEW = 1,	   /* attached and usable in this process */
	HP_PORT_EVENT_DESTROY = 2, /* detached from this process; the port may
				    * be gone from the table already (keep
				    * what you need of it from NEW) */
	HP_PORT_EVENT_REMOVED = 3, /* the backing device went away */
	HP_PORT_EVENT_CONFIG = 4,  /* its queues changed in this process */
	HP_PORT_EVENT_LINK = 5,	   /* its link went up or down (link_up) */
};

/* A copy of a port's shared state, as show port info prints it. */
struct hp_port_info {
	uint16_t port_id;
	uint32_t generation;	/* bumped on every detach of the slot */
	enum hp_port_state state;
	enum hp_port_admin admin;
	char name[HP_NAME_MAX];	/* device name: "net_null0", "0000:01:00.0" */
	char driver[32];	/* driver name: "net_null" */
	char devargs[HP_DEVARGS_MAX + 1];
	pid_t requester;	/* pid of the process that asked for the attach */
	uint8_t mac[6];
	bool link_up;		/* kept up to date from the kernel for ports
				 * with an ifindex (af_packet) */
	uint32_t link_speed;	/* Mbit/s */
	int32_t ifindex;	/* the kernel interface the port follows, 0 */
	uint16_t nb_rx_queues;	/* configured (hp_port_configure) */
	uint16_t nb_tx_queues;
	uint16_t max_rx_queues;	/* the most the driver supports */
	uint16_t max_tx_queues;
	uint16_t peer;		/* port joined to this one (net_ring peer=),
				 * or HP_PORT_INVALID */
	int socket_id;		/* NUMA node of the device, -1 if unknown */
};

/* Per-port counters, summed over queues; the same in every process. */
struct hp_port_stats {
	uint64_t ipackets;
	uint64_t opackets;
	uint64_t ibytes;
	uint64_t obytes;
	uint64_t ierrors;
	uint64_t oerrors;
	uint64_t imissed;	/* dropped on receive (no buffer, ring full) */
	uint64_t odropped;	/* dropped on transmit (or not taken: ring full) */
	uint64_t q_ipackets[HP_PORT_MAX_QUEUES]; /* per rx queue */
	uint64_t q_ibytes[HP_PORT_MAX_QUEUES];
	uint64_t q_opackets[HP_PORT_MAX_QUEUES]; /* per tx queue */
	uint64_t q_obytes[HP_PORT_MAX_QUEUES];
};

struct hp_mempool;

/* Called on a port event in this process, on the process's event thread
 * (never on the thread that answers the primary): callbacks run one at a
 * time, each port's events in order, a little after the change (NEW may
 * come when the port has gone again: hp_port_info_get then fails). It may
 * block, but only this process's callbacks wait for it: once 4096 events
 * wait, the next are dropped and a warning counts them. Must not call
 * hotplug functions, nor register or unregister callbacks. */
typedef void (*hp_port_event_fn)(uint16_t port_id, enum hp_port_event event,
				 void *arg);

/* Attaches the device named by devargs ("0000:01:00.0", or a virtual
 * device "net_null0,size=64" as --vdev takes it) and writes its port id;
 * pairs with hp_port_detach. Primary or any secondary (a secondary's call
 * goes to the primary); returns once every process has the port in its
 * fast path; if any process fails, the attach is undone everywhere.
 * Thread safe. -EINVAL bad devargs, -ENAMETOOLONG devargs over
 * HP_DEVARGS_MAX, -ENODEV unknown driver (or no such PCI device, or no
 * driver for it), -EPERM a PCI device blocked by -b or not in -a, -EBUSY a
 * PCI device bound to a kernel driver (never unbound), -ENXIO one bound to
 * none, -EEXIST name in use, -ENOSPC no free slot, -ETIMEDOUT a process
 * did not answer, the driver's errno. */
HP_API int hp_port_attach(const char *devargs, uint16_t *ret_port_id);

/* hp_port_attach that also writes a one-line reason to err (errlen bytes)
 * on failure, naming the process that failed when it was not this one. */
HP_API int hp_port_attach_msg(const char *devargs, uint16_t *ret_port_id,
			      char *err, size_t errlen);

/* Detaches a stopped port and writes its device name to name (len bytes,
 * may be NULL); returns once no process can reach the port any more.
 * Primary or any secondary. Thread safe. -ENODEV no such port, -ENOTSUP
 * its driver is not detachable (the port stays until the primary exits),
 * -EBUSY started (stop it first) or being attached/detached, -ETIMEDOUT a
 * live process did not answer in time (nothing freed). */
HP_API int hp_port_detach(uint16_t port_id, char *name, size_t len);

/* hp_port_detach that also writes a one-line reason to err on failure. */
HP_API int hp_port_detach_msg(uint16_t port_id, char *name, size_t len,
			      char *err, size_t errlen);

/* Starts a port; pairs with hp_port_stop. Primary or any secondary (a
 * secondary's call goes to the primary); thread safe. -ENODEV not
 * attached (or being attached or detached), -ETIMEDOUT no answer from the
 * primary, the driver's errno. */
HP_API int hp_port_start(uint16_t port_id);
/* Stops a port; stopping a stopped port is a no-op. Processes and
 * threads as hp_port_start. -ENODEV not attached, -ETIMEDOUT. */
HP_API int hp_port_stop(uint16_t port_id);
/* Closes a stopped port (it may then be detached). Processes and threads
 * as hp_port_start. -ENODEV not attached, -EBUSY started, -ETIMEDOUT. */
HP_API int hp_port_close(uint16_t port_id);

/* Sets the number of rx and tx queues of a stopped port (each 1..the
 * driver's max_rx_queues/max_tx_queues, at most HP_PORT_MAX_QUEUES); a
 * queue keeps its set-up (at attach: the driver's default nb_desc and the
 * default pool). Primary or any secondary; returns once every process
 * polls the new queues, else puts the old ones back everywhere it can and
 * logs the pid that failed. Thread safe; not from an online
 * RCU reader thread. -ENODEV not attached (or being attached or detached),
 * -EBUSY started, -EINVAL bad counts, -ETIMEDOUT a process did not answer,
 * the driver's errno. */
HP_API int hp_port_configure(uint16_t port_id, uint16_t nb_rxq,
			     uint16_t nb_txq);

/* Sets up rx queue queue_id (below the configured count) of a stopped
 * port: nb_desc descriptors (0: the driver's default, at most
 * HP_PORT_MAX_DESC), buffers from pool (in shared memory; NULL: the default
 * pool). Processes, threads and errors as hp_port_configure. */
HP_API int hp_port_rx_queue_setup(uint16_t port_id, uint16_t queue_id,
				  uint16_t nb_desc, struct hp_mempool *pool);

/* Sets up tx queue queue_id of a stopped port with nb_desc descriptors, as
 * hp_port_rx_queue_setup. */
HP_API int hp_port_tx_queue_setup(uint16_t port_id, uint16_t queue_id,
				  uint16_t nb_desc);

/* Copies a port's shared state; while it is ATTACHING, what the probe
 * finds (MAC, link, queues, peer) is not there yet (zero, peer
 * HP_PORT_INVALID, socket_id -1). Any process, any thread, no lock.
 * -EINVAL ret_info NULL, -ENODEV the slot is free (or was freed while
 * copied). */
HP_API int hp_port_info_get(uint16_t port_id, struct hp_port_info *ret_info);
/* Sums a port's counters (any state but FREE). Any process, any thread.
 * -EINVAL ret_stats NULL, -ENODEV the slot is free. */
HP_API int hp_port_stats_get(uint16_t port_id, struct hp_port_stats *ret_stats);
/* Zeroes a port's counters. Any process, any thread. -ENODEV free. */
HP_API int hp_port_stats_reset(uint16_t port_id);

/* Next used port id at or after from, or HP_PORT_INVALID. Any process. */
HP_API uint16_t hp_port_next(uint16_t from);
/* Number of used port slots (any state but FREE). Any process. */
HP_API unsigned hp_port_count(void);
/* Finds an ATTACHED port by device name. Any process. -EINVAL name or
 * ret_port_id NULL, -ENODEV none (or not attached yet). */
HP_API int hp_port_find(const char *name, uint16_t *ret_port_id);
/* Whether port_id names an ATTACHED port (not one attaching or
 * detaching). Any process, any thread. */
HP_API bool hp_port_is_valid(uint16_t port_id);

/* Adds an event callback in this process (see hp_port_event_fn); pairs
 * with hp_port_event_unregister. The first one makes this process listen
 * and tells it each port usable here (NEW). Any thread but a callback.
 * -ENOMEM, -EINVAL. */
HP_API int hp_port_event_register(hp_port_event_fn fn, void *arg);
/* Removes a callback added with the same fn and arg; once it returns, the
 * callback is not running and will not run again (it waits for a call
 * under way). Any thread but a callback. -ENOENT no such callback. */
HP_API int hp_port_event_unregister(hp_port_event_fn fn, void *arg);

/* Name of a state or admin state, for messages ("?" if unknown). Any
 * process. */
HP_API const char *hp_port_state_name(enum hp_port_state state);
HP_API const char *hp_port_admin_name(enum hp_port_admin admin);

#include "hp_port_core.h"

#endif
