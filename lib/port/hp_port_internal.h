/* SPDX-License-Identifier: BSD-3-Clause */
/* The port layer's wiring into a process's start, join, exit and peer
 * deaths, for lib/core only (and the inline events, for lib/fwd). Internal: not installed, not exported from
 * libhotport.so. */
#ifndef HP_PORT_INTERNAL_H
#define HP_PORT_INTERNAL_H

#include <stdbool.h>

#include "hp_port.h"

struct hp_shm;
struct hp_ipc;

/* For lib/core: sets up the port layer of this process and registers the
 * port messages on ipc. The primary reserves the table in shm; a secondary
 * passes NULL and finds the table in hp_port_join. -ENOMEM, -EEXIST. */
int hp_port_init(bool primary, struct hp_shm *shm, struct hp_ipc *ipc,
		 struct hp_mempool *pool, int timeout_ms);

/* For lib/core, secondary: finds the table once the memory is mapped and
 * makes every attached port usable in this process (its NEW event fires;
 * a port built on demand gets its entry at first use). On failure writes
 * a one-line reason to err (errlen bytes; may be NULL). -EPROTO when the
 * table was built with another HP_MAX_PORTS or layout. */
int hp_port_join(struct hp_shm *shm, struct hp_mempool *pool, char *err,
		 size_t errlen);

/* For lib/core: detaches every port from this process (secondary), or
 * stops and detaches every port (primary). */
void hp_port_fini(void);

/* For lib/fwd: like hp_port_event_register, but fn runs on the thread that
 * fires the event (often the IPC I/O thread), right after the change and
 * before the call that made it returns, not on the delivery thread: for
 * the library's own listeners, which take short locks only and never
 * block. Removed with hp_port_event_unregister. -EINVAL, -ENOMEM. */
int hp_port_event_register_inline(hp_port_event_fn fn, void *arg);

/* For lib/core, primary: ipc peer `peer` (a secondary) is gone; frees its
 * process index and forgets its fast-path entries. */
void hp_port_peer_gone(uint32_t peer);

#endif
