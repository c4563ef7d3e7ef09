/* SPDX-License-Identifier: BSD-3-Clause */
/* A bounded queue of whole lines and the thread that writes them, so that
 * a thread which must not block (the IPC I/O thread) hands a line over
 * without waiting for a slow sink. Used by the log and by the apps'
 * standard output; not installed. */
#ifndef LOG_WRITER_H
#define LOG_WRITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hp_common.h"

/* Writes one line (no newline) somewhere; runs on the writer thread and
 * may block. topic is "" when the line has none. */
typedef void (*log_writer_fn)(int level, const char *topic, const char *line,
			      void *arg);
/* Says that n lines were dropped since the last call; writer thread. */
typedef void (*log_writer_dropped_fn)(uint64_t n, void *arg);

/* Longest topic kept with a line, with its NUL. */
#define LOG_WRITER_TOPIC 24

struct log_wline {
	int level;
	char topic[LOG_WRITER_TOPIC];
	char *line;		/* malloc'd, freed once written */
};

/* One writer; define it static with LOG_WRITER_INIT. Fields are the
 * writer's own. */
struct log_writer {
	pthread_mutex_t lock;
	pthread_cond_t wake;	/* to the thread: lines queued, or stop */
	pthread_cond_t done;	/* from the thread: a line written */
	log_writer_fn fn;
	log_writer_dropped_fn dropped_fn;
	void *arg;
	unsigned cap;		/* queue length, in lines */
	struct log_wline *ring;	/* cap lines, allocated at the first put */
	unsigned head;
	unsigned count;
	uint64_t queued;	/* lines taken in since start (or fork) */
	uint64_t written;	/* of those, lines handed to fn */
	uint64_t dropped;	/* lines refused since the last note */
	pthread_t thread;
	bool running;		/* thread started and not joined */
	bool sync;		/* no thread (exiting, or it cannot start):
				 * put calls fn itself */
	bool stop;
	bool busy;		/* the thread is telling dropped_fn */
	bool listed;		/* in the fork and exit list */
	struct log_writer *next;
};

#define LOG_WRITER_INIT(f, df, a, n)                                         \
	{                                                                    \
		.lock = PTHREAD_MUTEX_INITIALIZER,                           \
		.wake = PTHREAD_COND_INITIALIZER,                            \
		.done = PTHREAD_COND_INITIALIZER, .fn = (f),                 \
		.dropped_fn = (df), .arg = (a), .cap = (n),                  \
	}

/* Queues a copy of line for w's thread, started at the first call (its
 * signals blocked). Never blocks unless wait is set: when the queue is
 * full, the line is dropped and counted (-ENOBUFS), and dropped_fn hears
 * the count once the queue has drained; with wait, waits for room instead
 * (but drops when called from the writer thread itself). Without a thread
 * (it cannot start, or the process is exiting) calls fn in the caller.
 * 0, -ENOBUFS, -ENOMEM. Any thread. */
int log_writer_put(struct log_writer *w, int level, const char *topic,
		   const char *line, bool wait);

/* Waits until every line queued before the call has been handed to fn
 * and fn has returned; with stall_ms >= 0, gives up once no line was
 * written for stall_ms ms (a sink that blocks for good). Returns true if
 * all were written. From the writer thread itself: returns at once. */
bool log_writer_flush(struct log_writer *w, int stall_ms);

/* Whether the caller is w's writer thread (a sink asking). */
bool log_writer_is_self(struct log_writer *w);

#endif
