/* SPDX-License-Identifier: BSD-3-Clause */
/* Thin wrappers over liburcu-qsbr, so that apps and tests need not know
 * which flavour the fast path uses.
 *
 * Under ThreadSanitizer they also tell it what a grace period
 * guarantees, which it cannot see in liburcu (an uninstrumented library
 * that waits with futexes and memory barriers): whatever a reader did
 * before a quiescent state, going offline or unregistering happens before
 * the end of every hp_rcu_synchronize that waited for it. Without that,
 * each free after a grace period reads as a race with the readers that
 * used the memory earlier. */
#include <urcu-qsbr.h>

#include "hp_rcu.h"

#if defined(__SANITIZE_THREAD__)
#define RCU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RCU_TSAN 1
#endif
#endif

#ifdef RCU_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
/* Stands for "the readers' side of every grace period". */
static char rcu_tsan_gp;
#define RCU_READER_DONE() __tsan_release(&rcu_tsan_gp)
#define RCU_GRACE_PERIOD_DONE() __tsan_acquire(&rcu_tsan_gp)
#else
#define RCU_READER_DONE() ((void)0)
#define RCU_GRACE_PERIOD_DONE() ((void)0)
#endif

void hp_rcu_thread_register(void)
{
	rcu_register_thread();
}

void hp_rcu_thread_unregister(void)
{
	RCU_READER_DONE();
	rcu_unregister_thread();
}

void hp_rcu_quiescent(void)
{
	RCU_READER_DONE();
	rcu_quiescent_state();
}

void hp_rcu_thread_offline(void)
{
	RCU_READER_DONE();
	rcu_thread_offline();
}

void hp_rcu_thread_online(void)
{
	rcu_thread_online();
}

bool hp_rcu_is_online(void)
{
	return rcu_read_ongoing() != 0;
}

void hp_rcu_synchronize(void)
{
	synchronize_rcu();
	RCU_GRACE_PERIOD_DONE();
}
