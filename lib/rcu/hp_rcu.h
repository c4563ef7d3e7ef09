/* SPDX-License-Identifier: BSD-3-Clause */
/* Fast-path protection: liburcu (QSBR flavour) in each process. Readers
 * are registered threads that report quiescent states; the writer side
 * (hotplug) waits for them. Across processes, the port layer gathers one
 * grace period from each process. */
#ifndef HP_RCU_H
#define HP_RCU_H

#include <stdbool.h>

#include "hp_common.h"

/* Registers the calling thread as a fast-path reader (online); pairs with
 * hp_rcu_thread_unregister. Call once per thread before any burst. */
HP_API void hp_rcu_thread_register(void);
/* Unregisters the calling reader thread; it must hold no reference. */
HP_API void hp_rcu_thread_unregister(void);
/* Reports that the calling reader holds no fast-path reference now. */
HP_API void hp_rcu_quiescent(void);
/* Marks the calling reader as blocked (not reading) until online again. */
HP_API void hp_rcu_thread_offline(void);
/* Marks the calling reader as reading again after hp_rcu_thread_offline. */
HP_API void hp_rcu_thread_online(void);
/* Whether this thread is a registered reader and online now (it must not
 * wait for anything a grace period waits for). */
HP_API bool hp_rcu_is_online(void);
/* Waits until every reader thread of this process has passed a quiescent
 * state or is offline. Never from a registered online reader thread. */
HP_API void hp_rcu_synchronize(void);

#endif
