/* SPDX-License-Identifier: BSD-3-Clause */
/* The driver registry (which driver takes a device), and the calls a
 * driver makes of the port layer (fds to share, queues, shared state). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp_log.h"
#include "port_private.h"

static const struct hp_port_driver *port_drivers[PORT_DRIVERS_MAX];
static unsigned port_nb_drivers;

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

void port_fds_close(struct hp_port_fds *f)
{
	for (unsigned i = 0; i < f->nb; i++)
		close(f->fd[i]);
	f->nb = 0;
}

int hp_port_queues_alloc(struct hp_port_dev *dev, struct hp_port_fp *fp,
			 size_t size)
{
	unsigned nq = fp->nb_rxq + fp->nb_txq;
	char *block;

	if (size < sizeof(struct hp_port_queue))
		return -EINVAL;
	block = calloc(nq, size);
	if (!block)
		return -ENOMEM;
	for (unsigned i = 0; i < nq; i++) {
		struct hp_port_queue *q = (void *)(block + i * size);

		q->rx = i < fp->nb_rxq;
		q->queue_id = (uint16_t)(q->rx ? i : i - fp->nb_rxq);
		q->port_id = dev->port_id;
		q->stats = q->rx ? &dev->rx_stats[q->queue_id] :
				   &dev->tx_stats[q->queue_id];
		if (q->rx)
			fp->rxq[q->queue_id] = q;
		else
			fp->txq[q->queue_id] = q;
	}
	fp->priv = block;
	return 0;
}

void *hp_port_driver_shared(uint16_t port_id, const struct hp_port_driver *drv)
{
	struct port_slot *s = port_slot_get(port_id);

	if (!s || !drv || port_slot_state(s) == HP_PORT_FREE ||
	    strncmp(s->driver, drv->name, sizeof(s->driver)))
		return NULL;
	return PORT_LD(s->drv_shared);
}
