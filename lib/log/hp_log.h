/* SPDX-License-Identifier: BSD-3-Clause */
/* Logging: one topic per component, levels settable at run time, every
 * line stamped with time, role and pid, written to a settable sink. */
#ifndef HP_LOG_H
#define HP_LOG_H

#include <stdbool.h>

#include "hp_common.h"

/* Levels, numbered like syslog's. */
enum hp_log_level {
	HP_LOG_ERR = 3,
	HP_LOG_WARNING = 4,
	HP_LOG_NOTICE = 5,
	HP_LOG_INFO = 6,
	HP_LOG_DEBUG = 7,
};

/* Receives each finished line (no trailing newline), one at a time, on
 * the log's own writer thread, never on the thread that logged: it may
 * block (lines queue up behind it, and are dropped and counted once 512
 * wait). It may log, but must not wait for hp_log_flush. */
typedef void (*hp_log_sink_fn)(int level, const char *topic, const char *line,
			       void *arg);

/* Writes one line for topic at level if that topic's level allows it:
 * formats it and queues it for the sink without waiting (a full queue
 * drops it, and "log: warning: N lines dropped" follows once the sink
 * drains). A disabled level costs one atomic load. Thread safe. */
HP_API void hp_log(const char *topic, int level, const char *fmt, ...)
	HP_PRINTF(3, 4);

/* Tells whether a line for topic at level would be written; thread safe. */
HP_API bool hp_log_enabled(const char *topic, int level);

/* Sets the role and pid shown on every line ("primary", "secondary"). */
HP_API void hp_log_set_role(const char *role);

/* Applies "LEVEL" or "TOPIC:LEVEL" (comma-separated list allowed);
 * -EINVAL for an unknown level name or an empty item. */
HP_API int hp_log_set_levels(const char *spec);

/* Checks spec as hp_log_set_levels takes it, without applying it: 0 or
 * -EINVAL. Pure; any thread. */
HP_API int hp_log_check_levels(const char *spec);

/* Parses a level name (err, warning, notice, info, debug) or digit;
 * -EINVAL if it is none of them. */
HP_API int hp_log_level_parse(const char *name);

/* Room hp_log_quote needs for max bytes of text: each byte may become
 * four ("\xNN"), then "..." and the NUL. */
#define HP_LOG_QUOTE_SIZE(max) ((max) * 4 + 4)

/* Copies s into buf (len bytes) as text fit for a one-line message: at most
 * max bytes of s, then "..." if s goes on; a byte that is not printable
 * ASCII becomes \xNN, so user input never breaks or hides a line. Writes
 * "(null)" for NULL. Returns buf. Pure; any thread. */
HP_API const char *hp_log_quote(char *buf, size_t len, const char *s,
				size_t max);

/* Writes the reason fmt formats into err (errlen bytes, cut to fit; nothing
 * when err is NULL or errlen 0) and returns res, so that a function with
 * err/errlen parameters fails with
 *	return hp_err_set(err, errlen, -EINVAL, "no such port %u", id);
 * The reason is one line without a trailing newline, user text quoted with
 * hp_log_quote; the caller that decides logs or prints it once. Pure; any
 * thread. */
HP_API int hp_err_set(char *err, size_t errlen, int res, const char *fmt, ...)
	HP_PRINTF(4, 5);

/* Replaces the sink; NULL restores the default (stderr, one write per
 * line). Lines logged before the call go to the old sink first (it waits
 * for them, see hp_log_flush, giving up on a sink that takes no line for a
 * second: those lines go to the new sink). Not from a sink. */
HP_API void hp_log_set_sink(hp_log_sink_fn fn, void *arg);

/* Waits until every line logged before the call has been handed to the
 * sink and the sink has returned. stall_ms < 0: as long as that takes;
 * else gives up once the sink has taken no line for stall_ms ms (a sink
 * blocked for good). 0, or -ETIMEDOUT. Any thread; from a sink, returns
 * 0 at once. Exit (atexit) and hp_core_fini flush with a one-second
 * stall limit, so a short-lived process loses no line. */
HP_API int hp_log_flush(int stall_ms);

#define HP_ERR(topic, ...) hp_log(topic, HP_LOG_ERR, __VA_ARGS__)
#define HP_WARN(topic, ...) hp_log(topic, HP_LOG_WARNING, __VA_ARGS__)
#define HP_NOTICE(topic, ...) hp_log(topic, HP_LOG_NOTICE, __VA_ARGS__)
#define HP_INFO(topic, ...) hp_log(topic, HP_LOG_INFO, __VA_ARGS__)
#define HP_DEBUG(topic, ...) hp_log(topic, HP_LOG_DEBUG, __VA_ARGS__)

#endif
