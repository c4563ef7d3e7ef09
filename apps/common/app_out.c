/* SPDX-License-Identifier: BSD-3-Clause */
/* The apps' standard output goes through one queue of whole lines and
 * one writer thread (lib/log's log_writer): the port-event callback only
 * queues its line, so a stdout that nobody reads costs dropped event
 * lines (counted, and told once the output drains), never a blocked
 * thread that answers the primary; the command interpreter writes through
 * a stream that cuts its output into lines on the same queue and waits
 * for them (the user's thread may block), so command output, events and
 * ready lines never cut into each other. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app_out.h"
#include "log_writer.h"

/* Lines queued for standard output before event lines are dropped. */
#define APP_OUT_LINES 256
/* Longest line kept whole; a longer one is cut in pieces. */
#define APP_OUT_LINE_MAX 4096

/* One write per line, so a line is never cut by another writer. */
static void out_fd_line(int fd, const char *line)
{
	size_t len = strlen(line);
	char *buf = malloc(len + 1);
	size_t off = 0;

	if (!buf)
		return;
	memcpy(buf, line, len);
	buf[len] = '\n';
	while (off < len + 1) {
		ssize_t n = write(fd, buf + off, len + 1 - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* EPIPE: a closed output loses the line */
		off += (size_t)n;
	}
	free(buf);
}

static void out_write(int level, const char *topic, const char *line,
		      void *arg)
{
	(void)level;
	(void)topic;
	(void)arg;
	out_fd_line(STDOUT_FILENO, line);
}

static void out_dropped(uint64_t n, void *arg)
{
	char line[128];

	(void)arg;
	snprintf(line, sizeof(line),
		 "output: %" PRIu64 " lines dropped: standard output was not read in time",
		 n);
	out_fd_line(STDOUT_FILENO, line);
}

static struct log_writer app_out =
	LOG_WRITER_INIT(out_write, out_dropped, NULL, APP_OUT_LINES);

static void out_vput(bool wait, const char *fmt, va_list ap)
{
	char line[APP_OUT_LINE_MAX];

	vsnprintf(line, sizeof(line), fmt, ap);
	log_writer_put(&app_out, 0, NULL, line, wait);
	if (wait)
		log_writer_flush(&app_out, -1);
}

void app_out_event(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	out_vput(false, fmt, ap);
	va_end(ap);
}

void app_out_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	out_vput(true, fmt, ap);
	va_end(ap);
}

/* The part of a line written so far to the stream. */
struct out_cookie {
	size_t len;
	char buf[APP_OUT_LINE_MAX];
};

static void out_cookie_put(struct out_cookie *c)
{
	c->buf[c->len] = '\0';
	log_writer_put(&app_out, 0, NULL, c->buf, true);
	c->len = 0;
}

static ssize_t out_cookie_write(void *arg, const char *data, size_t size)
{
	struct out_cookie *c = arg;

	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n') {
			out_cookie_put(c);
			continue;
		}
		if (c->len == sizeof(c->buf) - 1)
			out_cookie_put(c);
		c->buf[c->len++] = data[i];
	}
	/* stdio writes when flushed (the interpreter flushes after each
	 * command): its lines are out before it prints a prompt */
	log_writer_flush(&app_out, -1);
	return (ssize_t)size;
}

static int out_cookie_close(void *arg)
{
	struct out_cookie *c = arg;

	if (c->len)
		out_cookie_put(c);
	/* at exit: a stdout that nobody reads does not keep us here */
	log_writer_flush(&app_out, 1000);
	free(c);
	return 0;
}

FILE *app_out_stream(void)
{
	cookie_io_functions_t io = {
		.write = out_cookie_write,
		.close = out_cookie_close,
	};
	struct out_cookie *c = calloc(1, sizeof(*c));
	FILE *f;

	if (!c)
		return NULL;
	f = fopencookie(c, "w", io);
	if (!f)
		free(c);
	return f;
}
