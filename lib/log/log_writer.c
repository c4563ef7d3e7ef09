/* SPDX-License-Identifier: BSD-3-Clause */
/* Whole lines queued by any thread, written by one thread that may block.
 *
 * A producer copies its line into the ring under the writer's lock and
 * signals; it waits only when it asked to (a user's thread). The writer
 * thread takes one line out, drops the lock, calls the sink, and counts it
 * written, so a sink that blocks holds up nobody but the lines behind it:
 * once the ring is full, lines are dropped and counted, and the count is
 * told (dropped_fn) when the ring has drained.
 *
 * Every writer joins one list at its first put. At exit the list is
 * flushed (giving up on a sink that makes no progress for a second) and
 * the idle threads joined. Before a fork an idle writer's thread ends
 * (the parent starts it again at its next line); a fork child starts with
 * empty queues and no threads (its parent writes what it had queued), and
 * starts its own thread at its first line. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log_writer.h"

/* How long the exit flush waits for a sink that writes nothing. */
#define LOG_WRITER_EXIT_STALL_MS 1000

static pthread_mutex_t lw_list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_writer *lw_list;
static pthread_once_t lw_once = PTHREAD_ONCE_INIT;

static void lw_free_queued(struct log_writer *w)
{
	for (unsigned i = 0; i < w->count; i++)
		free(w->ring[(w->head + i) % w->cap].line);
	w->head = 0;
	w->count = 0;
}

static void lw_stop(struct log_writer *w)
{
	pthread_mutex_lock(&w->lock);
	bool join = w->running;
	w->stop = true;
	w->sync = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	if (join)
		pthread_join(w->thread, NULL);
	pthread_mutex_lock(&w->lock);
	w->running = false;
	lw_free_queued(w);
	free(w->ring);
	w->ring = NULL;
	pthread_mutex_unlock(&w->lock);
}

static void lw_at_exit(void)
{
	pthread_mutex_lock(&lw_list_lock);
	struct log_writer *list = lw_list;
	pthread_mutex_unlock(&lw_list_lock);
	/* A writer whose sink is stuck keeps its thread: exit ends it. */
	for (struct log_writer *w = list; w; w = w->next)
		if (log_writer_flush(w, LOG_WRITER_EXIT_STALL_MS))
			lw_stop(w);
}

/* Ends an idle writer's thread (the next line starts it again), so that
 * a process that forks while its log is quiet forks with no thread of
 * ours: its child may then start threads of its own under TSan too. A
 * writer with lines queued, or one in its sink, keeps its thread: the
 * fork does not wait for a sink. */
static void lw_park_idle(struct log_writer *w)
{
	pthread_mutex_lock(&w->lock);
	/* idle: nothing queued, no line or note in the sink (which may
	 * block for good: a stdout nobody reads) */
	if (w->running && !w->count && w->written == w->queued && !w->busy &&
	    !pthread_equal(pthread_self(), w->thread)) {
		w->stop = true;
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
		pthread_mutex_lock(&w->lock);
		w->running = false;
		w->stop = false;
	}
	pthread_mutex_unlock(&w->lock);
}

static void lw_fork_prepare(void)
{
	pthread_mutex_lock(&lw_list_lock);
	for (struct log_writer *w = lw_list; w; w = w->next) {
		lw_park_idle(w);
		pthread_mutex_lock(&w->lock);
	}
}

static void lw_fork_parent(void)
{
	for (struct log_writer *w = lw_list; w; w = w->next)
		pthread_mutex_unlock(&w->lock);
	pthread_mutex_unlock(&lw_list_lock);
}

static void lw_fork_child(void)
{
	for (struct log_writer *w = lw_list; w; w = w->next) {
		lw_free_queued(w);
		w->running = false;
		w->busy = false;
		w->queued = w->written = w->dropped = 0;
		pthread_cond_init(&w->wake, NULL);
		pthread_cond_init(&w->done, NULL);
		pthread_mutex_init(&w->lock, NULL);
	}
	pthread_mutex_init(&lw_list_lock, NULL);
}

static void lw_once_init(void)
{
	pthread_atfork(lw_fork_prepare, lw_fork_parent, lw_fork_child);
	atexit(lw_at_exit);
}

/* Under w->lock: hands the dropped count to dropped_fn, lock dropped. */
static void lw_note_dropped(struct log_writer *w)
{
	uint64_t n = w->dropped;

	w->dropped = 0;
	w->busy = true;
	pthread_mutex_unlock(&w->lock);
	if (w->dropped_fn)
		w->dropped_fn(n, w->arg);
	pthread_mutex_lock(&w->lock);
	w->busy = false;
}

static void *lw_thread(void *arg)
{
	struct log_writer *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->count && !w->stop)
			pthread_cond_wait(&w->wake, &w->lock);
		if (!w->count)
			break;
		struct log_wline l = w->ring[w->head];
		w->head = (w->head + 1) % w->cap;
		w->count--;
		pthread_mutex_unlock(&w->lock);
		w->fn(l.level, l.topic, l.line, w->arg);
		free(l.line);
		pthread_mutex_lock(&w->lock);
		w->written++;
		pthread_cond_broadcast(&w->done);
		if (!w->count && w->dropped)
			lw_note_dropped(w);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Under w->lock: starts the thread (its signals blocked, so that they go
 * to the process's own threads); without one, the writer goes sync. */
static void lw_start(struct log_writer *w)
{
	sigset_t all, old;

	if (!w->ring)
		w->ring = calloc(w->cap, sizeof(*w->ring));
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	w->running = w->ring &&
		     pthread_create(&w->thread, NULL, lw_thread, w) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	w->sync = !w->running;
	w->stop = false;
}

/* Joins the list of writers flushed at exit and held across fork. Not
 * under w->lock: the fork handler takes the list lock, then each w->lock. */
static void lw_list_join(struct log_writer *w)
{
	pthread_once(&lw_once, lw_once_init);
	pthread_mutex_lock(&lw_list_lock);
	if (!__atomic_load_n(&w->listed, __ATOMIC_RELAXED)) {
		w->next = lw_list;
		lw_list = w;
		__atomic_store_n(&w->listed, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&lw_list_lock);
}

int log_writer_put(struct log_writer *w, int level, const char *topic,
		   const char *line, bool wait)
{
	if (!__atomic_load_n(&w->listed, __ATOMIC_ACQUIRE))
		lw_list_join(w);
	pthread_mutex_lock(&w->lock);
	if (!w->running && !w->sync)
		lw_start(w);
	if (w->sync) {
		pthread_mutex_unlock(&w->lock);
		w->fn(level, topic ? topic : "", line, w->arg);
		return 0;
	}
	while (wait && w->count == w->cap && !pthread_equal(pthread_self(), w->thread))
		pthread_cond_wait(&w->done, &w->lock);
	if (w->count == w->cap) {
		w->dropped++;
		pthread_mutex_unlock(&w->lock);
		return -ENOBUFS;
	}
	char *copy = strdup(line);
	if (!copy) {
		w->dropped++;
		pthread_mutex_unlock(&w->lock);
		return -ENOMEM;
	}
	struct log_wline *l = &w->ring[(w->head + w->count) % w->cap];
	l->level = level;
	snprintf(l->topic, sizeof(l->topic), "%s", topic ? topic : "");
	l->line = copy;
	w->count++;
	w->queued++;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

bool log_writer_is_self(struct log_writer *w)
{
	pthread_mutex_lock(&w->lock);
	bool self = w->running && pthread_equal(pthread_self(), w->thread);
	pthread_mutex_unlock(&w->lock);
	return self;
}

bool log_writer_flush(struct log_writer *w, int stall_ms)
{
	struct timespec until;
	bool all;

	if (log_writer_is_self(w))
		return true;
	pthread_mutex_lock(&w->lock);
	uint64_t target = w->queued, seen = w->written;
	clock_gettime(CLOCK_MONOTONIC, &until);
	while (w->running && w->written < target) {
		if (stall_ms < 0) {
			pthread_cond_wait(&w->done, &w->lock);
			continue;
		}
		if (w->written != seen) {
			seen = w->written;
			clock_gettime(CLOCK_MONOTONIC, &until);
		}
		struct timespec t = until;
		t.tv_sec += stall_ms / 1000;
		t.tv_nsec += (long)(stall_ms % 1000) * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_clockwait(&w->done, &w->lock, CLOCK_MONOTONIC,
					   &t) == ETIMEDOUT &&
		    w->written == seen)
			break;
	}
	all = !w->running || w->written >= target;
	pthread_mutex_unlock(&w->lock);
	return all;
}
