/* SPDX-License-Identifier: BSD-3-Clause */
/* Log lines with time, role and pid; per-topic levels; a settable sink.
 *
 * The sink never runs on the thread that logs: hp_log formats the line
 * and queues it (lib/log/log_writer.c), and a writer thread hands it to
 * the sink, so the thread that answers the primary never waits for a
 * stderr that nobody reads. When the queue is full, lines are dropped and
 * a line "log: warning: N lines dropped" follows once the sink drains. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "hp_log.h"
#include "log_writer.h"

#define LOG_TOPICS_MAX 64
#define LOG_TOPIC_LEN LOG_WRITER_TOPIC
/* Lines queued for the sink before they are dropped. */
#define LOG_QUEUE_LINES 512

struct log_topic {
	char name[LOG_TOPIC_LEN];
	int level;
};

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_topic log_topics[LOG_TOPICS_MAX];
static int log_nb_topics;
static int log_default_level = HP_LOG_NOTICE;
/* The most verbose level of any topic: a message above it is dropped
 * without the lock (the hotplug path logs at debug level). */
static int log_max_level = HP_LOG_NOTICE;
static char log_role[16] = "hotport";
static hp_log_sink_fn log_sink;
static void *log_sink_arg;

static void log_emit(int level, const char *topic, const char *line,
		     void *arg);
static void log_dropped(uint64_t n, void *arg);
static struct log_writer log_w =
	LOG_WRITER_INIT(log_emit, log_dropped, NULL, LOG_QUEUE_LINES);

static const char *const log_level_names[] = {
	[HP_LOG_ERR] = "error",	  [HP_LOG_WARNING] = "warning",
	[HP_LOG_NOTICE] = "notice", [HP_LOG_INFO] = "info",
	[HP_LOG_DEBUG] = "debug",
};

int hp_log_level_parse(const char *name)
{
	static const struct {
		const char *name;
		int level;
	} names[] = {
		{ "err", HP_LOG_ERR },	      { "error", HP_LOG_ERR },
		{ "warning", HP_LOG_WARNING }, { "warn", HP_LOG_WARNING },
		{ "notice", HP_LOG_NOTICE },   { "info", HP_LOG_INFO },
		{ "debug", HP_LOG_DEBUG },
	};

	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < HP_ARRAY_SIZE(names); i++)
		if (!strcasecmp(name, names[i].name))
			return names[i].level;
	if (name[0] >= '3' && name[0] <= '7' && name[1] == '\0')
		return name[0] - '0';
	return -EINVAL;
}

/* Caller holds log_lock. */
static struct log_topic *log_topic_find(const char *topic, int create)
{
	for (int i = 0; i < log_nb_topics; i++)
		if (!strcmp(log_topics[i].name, topic))
			return &log_topics[i];
	if (!create || log_nb_topics == LOG_TOPICS_MAX)
		return NULL;
	struct log_topic *t = &log_topics[log_nb_topics++];
	snprintf(t->name, sizeof(t->name), "%s", topic);
	t->level = -1;
	return t;
}

bool hp_log_enabled(const char *topic, int level)
{
	int lim;

	if (level > __atomic_load_n(&log_max_level, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&log_lock);
	struct log_topic *t = log_topic_find(topic, 0);
	lim = (t && t->level >= 0) ? t->level : log_default_level;
	pthread_mutex_unlock(&log_lock);
	return level <= lim;
}

static void log_default_sink(int level, const char *topic, const char *line,
			     void *arg)
{
	(void)level;
	(void)topic;
	(void)arg;
	/* One write per line keeps lines from several processes whole. */
	size_t len = strlen(line);
	char buf[len + 1];
	memcpy(buf, line, len);
	buf[len] = '\n';
	ssize_t r = write(STDERR_FILENO, buf, len + 1);
	(void)r;
}

/* On the writer thread: the sink set now gets the line. */
static void log_emit(int level, const char *topic, const char *line,
		     void *arg)
{
	(void)arg;
	pthread_mutex_lock(&log_lock);
	hp_log_sink_fn sink = log_sink ? log_sink : log_default_sink;
	void *sink_arg = log_sink_arg;
	pthread_mutex_unlock(&log_lock);
	sink(level, topic, line, sink_arg);
}

static void log_dropped(uint64_t n, void *arg)
{
	(void)arg;
	hp_log("log", HP_LOG_WARNING,
	       "%" PRIu64 " lines dropped: the log sink was not keeping up", n);
}

void hp_log(const char *topic, int level, const char *fmt, ...)
{
	char msg[1024], line[1280];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (!hp_log_enabled(topic, level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	snprintf(line, sizeof(line), "%02d:%02d:%02d.%06ld %s[%d] %s: %s: %s",
		 tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000, log_role,
		 (int)getpid(), topic,
		 level >= HP_LOG_ERR && level <= HP_LOG_DEBUG ?
			 log_level_names[level] : "?",
		 msg);
	log_writer_put(&log_w, level, topic, line, false);
}

int hp_log_flush(int stall_ms)
{
	return log_writer_flush(&log_w, stall_ms) ? 0 : -ETIMEDOUT;
}

void hp_log_set_role(const char *role)
{
	pthread_mutex_lock(&log_lock);
	snprintf(log_role, sizeof(log_role), "%s", role ? role : "hotport");
	pthread_mutex_unlock(&log_lock);
}

static int log_apply_one(const char *item)
{
	const char *colon = strchr(item, ':');
	int level = hp_log_level_parse(colon ? colon + 1 : item);

	if (level < 0 || (colon && colon == item))
		return -EINVAL;
	if (!colon) {
		log_default_level = level;
		return 0;
	}
	char topic[LOG_TOPIC_LEN];
	size_t n = (size_t)(colon - item);
	if (n >= sizeof(topic))
		return -EINVAL;
	memcpy(topic, item, n);
	topic[n] = '\0';
	struct log_topic *t = log_topic_find(topic, 1);
	if (!t)
		return -ENOSPC;
	t->level = level;
	return 0;
}

/* Checks one item of a spec: LEVEL or TOPIC:LEVEL. */
static bool log_item_ok(const char *it, size_t n)
{
	char buf[LOG_TOPIC_LEN + 16];
	const char *colon = memchr(it, ':', n);
	size_t tlen = colon ? (size_t)(colon - it) : 0;

	if (n == 0 || n >= sizeof(buf) || (colon && (tlen == 0 ||
						      tlen >= LOG_TOPIC_LEN)))
		return false;
	memcpy(buf, it, n);
	buf[n] = '\0';
	return hp_log_level_parse(colon ? buf + tlen + 1 : buf) >= 0;
}

int hp_log_check_levels(const char *spec)
{
	if (!spec || !*spec || strlen(spec) >= 256)
		return -EINVAL;
	/* By hand, not strtok: an empty item ("a,,b", ",") is an error. */
	for (const char *it = spec;; it++) {
		size_t n = strcspn(it, ",");

		if (!log_item_ok(it, n))
			return -EINVAL;
		it += n;
		if (!*it)
			return 0;
	}
}

int hp_log_set_levels(const char *spec)
{
	char buf[256], *save = NULL;
	int r = 0;

	/* Check every item first, so a bad spec changes nothing. */
	if (hp_log_check_levels(spec) < 0)
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", spec);
	pthread_mutex_lock(&log_lock);
	for (char *it = strtok_r(buf, ",", &save); it && r == 0;
	     it = strtok_r(NULL, ",", &save))
		r = log_apply_one(it);
	int max = log_default_level;
	for (int i = 0; i < log_nb_topics; i++)
		if (log_topics[i].level > max)
			max = log_topics[i].level;
	__atomic_store_n(&log_max_level, max, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&log_lock);
	return r;
}

const char *hp_log_quote(char *buf, size_t len, const char *s, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (!buf || !len)
		return buf;
	if (!s)
		s = "(null)";
	for (i = 0; s[i] && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		bool plain = c >= 0x20 && c < 0x7f;
		/* room for "..." whenever something follows */
		size_t tail = s[i + 1] ? 3 : 0;

		if (o + (plain ? 1 : 4) + tail >= len)
			break;
		if (plain) {
			buf[o++] = (char)c;
			continue;
		}
		buf[o++] = '\\';
		buf[o++] = 'x';
		buf[o++] = hex[c >> 4];
		buf[o++] = hex[c & 15];
	}
	if (s[i] && o + 3 < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

void hp_log_set_sink(hp_log_sink_fn fn, void *arg)
{
	/* the lines logged so far go to the sink they were logged for; a
	 * sink stuck for good (the one being replaced, perhaps) gets a
	 * second, then the rest go to the new one */
	hp_log_flush(1000);
	pthread_mutex_lock(&log_lock);
	log_sink = fn;
	log_sink_arg = arg;
	pthread_mutex_unlock(&log_lock);
}
