/* SPDX-License-Identifier: BSD-3-Clause */
/* What a poll-mode driver implements and registers. Drivers see plain ops:
 * the port layer runs the multi-process protocol and calls each op in the
 * right process. Internal: drivers are built into libhotport
 * (drivers/net/), so this header is not installed and nothing in it is
 * exported; the ops may change between releases. */
#ifndef HP_PORT_DRIVER_H
#define HP_PORT_DRIVER_H

#include "hp_devargs.h"
#include "hp_pci.h"
#include "hp_port.h"

struct hp_shm;
struct hp_mempool;

/* Peers. A probe may set info->peer to an attached port of the same
 * driver that has no peer yet. The port layer then joins the two: once the
 * new port is attached in every process, each slot names the other and the
 * older port's fast path is rebuilt everywhere (its attach_local now sees
 * dev->peer). Detaching either port unjoins them: the other one's fast
 * path is rebuilt in every process, with dev->peer HP_PORT_INVALID, before
 * the detached port leaves the fast paths and its remove runs; so remove
 * may free anything the peer's fast path used. */

/* Most file descriptors one port shares between processes (one IPC
 * message carries them). */
#define HP_PORT_MAX_FDS 8

/* The file descriptors of a port (sockets, TAP queues) as one process
 * holds them. The primary's probe opens them and adds them with
 * hp_port_fd_add; the port layer hands a copy of each to every process
 * over IPC (fd passing), so every process's attach_local sees the same
 * open files, at its own numbers. The port layer closes them: in the
 * primary after remove, elsewhere after detach_local. */
struct hp_port_fds {
	unsigned nb;
	int fd[HP_PORT_MAX_FDS];
};

/* One queue's set-up (hp_port_rx_queue_setup/hp_port_tx_queue_setup). */
struct hp_port_queue_conf {
	uint16_t nb_desc;		/* descriptors; 0: the driver's default */
	struct hp_mempool *pool;	/* rx: buffers come from here (shared
					 * memory); NULL only without a default
					 * pool; tx: NULL */
};

/* Who asked for an attach, as the primary's probe sees it: for a
 * secondary, what the kernel said of its connection (SO_PEERCRED,
 * SO_PEERGROUPS); the primary's own identity when it attaches for itself
 * (--vdev, its command line). */
struct hp_port_requester {
	pid_t pid;		/* as the primary sees it */
	uid_t uid;		/* effective uid */
	gid_t gid;		/* effective gid */
	unsigned nb_groups;	/* entries in groups */
	const gid_t *groups;	/* supplementary groups */
};

/* What a driver op sees of a port. */
struct hp_port_dev {
	uint16_t port_id;
	const char *name;		/* device name */
	const struct hp_devargs *args;	/* parsed devargs */
	void *shared;		/* drv->shared_size bytes in shared memory,
				 * zeroed before probe; same address everywhere */
	struct hp_port_info *info;	/* probe may set mac, link, queue counts
					 * (nb_ and max_), and peer: a port of the
					 * same driver whose fast path this one
					 * joins (see hp_port_driver_shared);
					 * probe reads requester: the pid that
					 * asked for the attach (relative paths
					 * in devargs are the requester's) */
	struct hp_shm *shm;
	struct hp_mempool *pool;	/* default packet pool */
	struct hp_port_qstats *rx_stats; /* HP_PORT_MAX_QUEUES entries, shared */
	struct hp_port_qstats *tx_stats;
	/* attach_local: the queue set-up in force, fp->nb_rxq/nb_txq entries
	 * used (a copy of the slot's: stays as it was for detach_local) */
	const struct hp_port_queue_conf *rxq_conf;
	const struct hp_port_queue_conf *txq_conf;
	struct hp_port_fds *fds;	/* this process's copies of the port's fds */
	uint16_t peer;		/* attach_local: the joined port once both are
				 * attached, else HP_PORT_INVALID */
	const struct hp_pci_dev *pci;	/* probe of a PCI driver: the device as
					 * scanned (ids, NUMA node, kernel
					 * driver); else NULL */
	const struct hp_port_requester *requester; /* probe: who asked for
					 * the attach (open its files with
					 * hp_port_open); NULL in other ops */
	char *err;			/* one-line reason on failure */
	size_t errlen;
};

/* Per-queue counters in shared memory; one writer (the polling thread). */
struct hp_port_qstats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t errors;
	uint64_t drops;
} HP_CACHE_ALIGNED;

/* The start of a driver's queue struct, as hp_port_queues_alloc fills it. */
struct hp_port_queue {
	struct hp_port_qstats *stats;	/* this queue's counters, shared */
	uint16_t port_id;
	uint16_t queue_id;
	bool rx;			/* an rx queue, else a tx queue */
};

/* Adds n to a per-queue counter. One thread polls a queue at a time (the
 * fast-path contract), so a relaxed load and store suffice: no locked
 * instruction, and readers in other processes see whole values. */
static inline void hp_port_qstats_add(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

/* Counts one burst of a queue: n packets of bytes in all, and dropped
 * packets (the same one-writer rule as hp_port_qstats_add). */
static inline void hp_port_qstats_burst(struct hp_port_qstats *st, uint64_t n,
					uint64_t bytes, uint64_t dropped)
{
	if (n) {
		hp_port_qstats_add(&st->packets, n);
		hp_port_qstats_add(&st->bytes, bytes);
	}
	if (HP_UNLIKELY(dropped))
		hp_port_qstats_add(&st->drops, dropped);
}

/* A driver: names, allowed keys and ops. A virtual device driver takes
 * the devargs whose name starts with its name or alias. A PCI driver has
 * an id table instead: it takes a PCI address whose device the last scan
 * found with a matching vendor:device, usable under -a/-b and bound to a
 * kernel driver that hands it to user space (vfio-pci, uio_pci_generic,
 * igb_uio). The port layer never binds or unbinds a device. */
struct hp_port_driver {
	const char *name;		/* "net_null"; devargs names start with it
					 * (virtual devices) */
	const char *alias;		/* another accepted prefix, or NULL */
	const char *const *keys;	/* allowed devargs keys, NULL-terminated */
	const struct hp_pci_id *pci_ids; /* PCI driver: the devices it takes,
					  * ended by vendor 0; NULL for a
					  * virtual device driver */
	size_t shared_size;		/* bytes of shared state per port */
	bool detachable;		/* whether hotplug may detach its ports
					 * (the seed's RTE_PCI_DRV_DETACHABLE):
					 * if not, hp_port_detach refuses with
					 * -ENOTSUP and the port stays until
					 * the primary exits */
	bool on_demand;			/* attach_local needs nothing but the
					 * port's shared state (no fds) and can
					 * fail only for memory: a secondary
					 * builds its entry when it first uses
					 * the port, and an attach, detach or
					 * reconfiguration waits only for the
					 * secondaries that did (see
					 * doc/design.md, "On-demand entries") */
	/* Primary, once per attach: checks devargs, fills shared state. */
	int (*probe)(struct hp_port_dev *dev);
	/* Primary, once per detach or failed attach: undoes probe. */
	void (*remove)(struct hp_port_dev *dev);
	/* Every process: fills fp (bursts, queues, priv) from shared state
	 * and dev's queue set-up; called again, for a new fp, whenever the
	 * configuration or the peer changes. */
	int (*attach_local)(struct hp_port_dev *dev, struct hp_port_fp *fp);
	/* Every process, once no reader can see fp: frees what attach_local
	 * made. Optional: without it the port layer frees fp->priv. */
	void (*detach_local)(struct hp_port_dev *dev, struct hp_port_fp *fp);
	/* Primary: start and stop the device (optional). */
	int (*start)(struct hp_port_dev *dev);
	void (*stop)(struct hp_port_dev *dev);
};

/* Adds a driver to this process's registry (from a constructor, before
 * hp_port_init; not thread safe). Every process. -EEXIST a driver of that
 * name, -EINVAL no name, no attach_local, or an empty id table, -ENOSPC
 * the registry is full. */
int hp_port_driver_register(const struct hp_port_driver *drv);

/* For attach_local (any process): allocates fp->nb_rxq + fp->nb_txq zeroed queue structs
 * of size bytes each, rx queues first, in one block that becomes fp->priv
 * (freed by the port layer when the driver has no detach_local); each
 * starts with a struct hp_port_queue, filled in; points fp->rxq[] and
 * fp->txq[] at them. -ENOMEM, -EINVAL for a size below the header. */
int hp_port_queues_alloc(struct hp_port_dev *dev, struct hp_port_fp *fp,
			 size_t size);

/* For probe (primary): hands fd to the port layer, which shares it with
 * every process and closes it when the port goes (also when the probe
 * fails). The port's fds keep the order they were added in. -ENOSPC past
 * HP_PORT_MAX_FDS (fd closed), -EBADF for a negative fd. */
int hp_port_fd_add(struct hp_port_dev *dev, int fd);

/* For probe (primary): opens path, the value of devargs key, as the
 * process that asked for the attach could (dev->requester): a relative
 * path from its working directory; with its user and groups when it is
 * neither root nor the primary's user (this thread only, for the one
 * open; the kernel's own checks apply), refused when the primary cannot
 * take them (it is not root). O_CLOEXEC is added. Returns the fd, or a
 * negative errno with the reason, naming key=path, in dev->err: the
 * open's errno (-EACCES, -ENOENT, ...), -EPERM when refused. The caller
 * owns the fd (hp_port_fd_add shares it). Calls on one thread at a time
 * per probe; other threads keep their credentials throughout. */
int hp_port_open(struct hp_port_dev *dev, const char *key,
		 const char *path, int flags, mode_t mode);

/* For probe (primary): 0 if the requester may have a port on kernel
 * interface ifname (devargs key): root or the primary's user, since
 * using one directly needs capabilities (CAP_NET_RAW, CAP_NET_ADMIN)
 * that the primary has and the requester may not. Else -EPERM with the
 * reason in dev->err ("requester uid 1001 may not capture on interface
 * eth0: ..."); what says what the port would do: "capture on", "send on",
 * "create or take". */
int hp_port_iface_allowed(struct hp_port_dev *dev, const char *key,
			  const char *what, const char *ifname);

/* For drivers: the shared state of port port_id if it is a port of drv
 * (attaching, attached or detaching), else NULL; how a driver reaches its
 * peer. Any process, from a driver op. */
void *hp_port_driver_shared(uint16_t port_id,
			    const struct hp_port_driver *drv);

/* Registers drv when the program loads. */
#define HP_PORT_DRIVER_REGISTER(drv)                                          \
	__attribute__((constructor)) static void hp_drv_init_##drv(void)      \
	{                                                                     \
		hp_port_driver_register(&drv);                                \
	}

#endif
