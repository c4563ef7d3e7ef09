/* SPDX-License-Identifier: BSD-3-Clause */
/* Thin wrappers over liburcu-qsbr, so that apps and tests need not know
 * which flavour the fast path uses. */
#include <urcu-qsbr.h>

#include "hp_rcu.h"

void hp_rcu_thread_register(void)
{
	rcu_register_thread();
}

void hp_rcu_thread_unregister(void)
{
	rcu_unregister_thread();
}

void hp_rcu_quiescent(void)
{
	rcu_quiescent_state();
}

void hp_rcu_thread_offline(void)
{
	rcu_thread_offline();
}

void hp_rcu_thread_online(void)
{
	rcu_thread_online();
}

void hp_rcu_synchronize(void)
{
	synchronize_rcu();
}
