/* SPDX-License-Identifier: BSD-3-Clause */
/* The interpreter: runs parsed commands, and reads them from a stream as
 * they arrive.
 *
 * The stream loop reads the descriptor itself into a one-line buffer and
 * polls it together with the stop fd, so it never blocks on input that a
 * script has not written yet while a stop is pending, and never reads past
 * what is there. A line that does not fit the buffer is drained up to its
 * newline and reported as one error. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_private.h"
#include "hp_core.h"
#include "hp_log.h"

/* A line, its newline, and a CR before it. */
#define CLI_READ_MAX (HP_CLI_LINE_MAX + 1)

/* Where hp_cli_run_stream takes its lines: fd into buf[start..end), or
 * with getline into heap when in has no fd (fmemopen never blocks). */
struct cli_reader {
	FILE *in;
	int fd;			/* in's, or -1 */
	char *heap;
	size_t cap;		/* of heap */
	size_t start;
	size_t end;
	size_t dropped;		/* bytes of an overlong line drained so far */
	bool eof;
	char buf[CLI_READ_MAX];
};

int hp_cli_create(FILE *out, struct hp_cli **ret_cli)
{
	struct hp_cli *cli;

	if (!out || !ret_cli)
		return -EINVAL;
	cli = calloc(1, sizeof(*cli));
	if (!cli)
		return -ENOMEM;
	cli->out = out;
	cli->stop_fd = -1;
	*ret_cli = cli;
	return 0;
}

void hp_cli_destroy(struct hp_cli *cli)
{
	free(cli);
}

void hp_cli_set_stop_fd(struct hp_cli *cli, int fd)
{
	if (cli)
		cli->stop_fd = fd;
}

void hp_cli_set_err(struct hp_cli *cli, FILE *err)
{
	if (cli)
		cli->err = err;
}

int cli_fail(struct hp_cli *cli, int res, const char *fmt, ...)
{
	FILE *f = cli->err ? cli->err : cli->out;
	char line[2048];
	va_list ap;
	int n;

	/* Built first and written by one call: a line written by another
	 * thread to the same stream never lands inside it. */
	n = snprintf(line, sizeof(line), "error: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	fputs(line, f);
	if (f != cli->out)
		fflush(f);
	return res;
}

int cli_wait(const struct hp_cli *cli, int fd)
{
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = POLLIN },
		{ .fd = cli->stop_fd, .events = POLLIN },
	};
	nfds_t n = cli->stop_fd >= 0 ? 2 : 1;

	for (;;) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* a stop wins over pending input */
		if (n == 2 && pfd[1].revents)
			return -ECANCELED;
		if (pfd[0].revents)
			return 0;
	}
}

/* Whether the stop fd is readable now. */
static bool cli_stopped(const struct hp_cli *cli)
{
	struct pollfd pfd = { .fd = cli->stop_fd, .events = POLLIN };

	return cli->stop_fd >= 0 && poll(&pfd, 1, 0) > 0;
}

static int cli_show_procs(struct hp_cli *cli)
{
	struct hp_proc_info procs[HP_MAX_PROCS];
	pid_t self = getpid();
	int n = hp_core_procs(procs, HP_ARRAY_SIZE(procs));

	if (n < 0)
		return cli_fail(cli, n, "failed to list processes: %s",
				strerror(-n));
	for (int i = 0; i < n; i++) {
		const struct hp_proc_info *p = &procs[i];

		const char *mark = p->pid == self ? "  (this process)" : "";

		if (p->role == HP_ROLE_PRIMARY)
			fprintf(cli->out, "  primary        pid %-8d%s\n",
				(int)p->pid, mark);
		else
			fprintf(cli->out, "  secondary %-4u pid %-8d%s\n",
				(unsigned)p->peer_id, (int)p->pid, mark);
	}
	return 0;
}

static int cli_set_log_level(struct hp_cli *cli, const char *spec)
{
	int r = hp_log_set_levels(spec);

	if (r < 0 && r != -EINVAL)
		return cli_fail(cli, r, "failed to set log levels '%s': %s",
				spec, strerror(-r));
	if (r < 0)
		return cli_fail(cli, r,
				"bad log level spec '%s' (expected LEVEL or "
				"TOPIC:LEVEL[,...] with LEVEL one of err, "
				"warning, notice, info, debug)",
				spec);
	fprintf(cli->out, "Log levels set: %s\n", spec);
	return 0;
}

static int cli_run(struct hp_cli *cli, const struct hp_cli_cmd *cmd)
{
	switch (cmd->op) {
	case HP_CLI_OP_NONE:
		return 0;
	case HP_CLI_OP_HELP:
		cli_help_print(cli->out);
		return 0;
	case HP_CLI_OP_QUIT:
		return HP_CLI_QUIT;
	case HP_CLI_OP_SHOW_PROCS:
		return cli_show_procs(cli);
	case HP_CLI_OP_SHOW_PCI:
		return cli_show_pci(cli);
	case HP_CLI_OP_SET_LOG_LEVEL:
		return cli_set_log_level(cli, cmd->arg);
	case HP_CLI_OP_SET_FWD:
	case HP_CLI_OP_SET_BURST:
	case HP_CLI_OP_SET_PORTLIST:
	case HP_CLI_OP_SET_FWD_QUEUES:
	case HP_CLI_OP_SET_TOPOLOGY:
	case HP_CLI_OP_START:
	case HP_CLI_OP_STOP:
	case HP_CLI_OP_SHOW_FWD:
		return cli_fwd_exec(cli, cmd);
	default:
		return cli_port_exec(cli, cmd);
	}
}

/* hp_cli_exec on buf[0..len), a line without its newline. */
static int cli_exec_buf(struct hp_cli *cli, const char *buf, size_t len)
{
	struct hp_cli_cmd cmd;
	char err[512];
	int r = cli_parse_buf(buf, len, &cmd, err, sizeof(err));

	if (r < 0)
		cli_fail(cli, r, "%s", err);
	else
		r = cli_run(cli, &cmd);
	fflush(cli->out);
	return r;
}

int hp_cli_exec(struct hp_cli *cli, const char *line)
{
	if (!cli || !line)
		return -EINVAL;
	return cli_exec_buf(cli, line, cli_line_len(line, strlen(line)));
}

/* Fills rd->buf from its fd once; 0, or -ECANCELED, or a negative errno. */
static int cli_reader_fill(struct hp_cli *cli, struct cli_reader *rd)
{
	ssize_t n;
	int r;

	memmove(rd->buf, rd->buf + rd->start, rd->end - rd->start);
	rd->end -= rd->start;
	rd->start = 0;
	r = cli_wait(cli, rd->fd);
	if (r < 0)
		return r;
	n = read(rd->fd, rd->buf + rd->end, sizeof(rd->buf) - rd->end);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	rd->eof = n == 0;
	rd->end += (size_t)n;
	return 0;
}

/* The next line of rd, without its newline, in *ret_line and *ret_len: 1,
 * 0 at end of input, or a negative errno. An overlong line comes back as
 * its length alone (its bytes are gone), which cli_parse_buf refuses
 * without reading them. */
static int cli_reader_line(struct hp_cli *cli, struct cli_reader *rd,
			   const char **ret_line, size_t *ret_len)
{
	ssize_t n;

	if (rd->fd < 0) {
		n = getline(&rd->heap, &rd->cap, rd->in);
		if (n < 0)
			return ferror(rd->in) ? -EIO : 0;
		*ret_line = rd->heap;
		*ret_len = cli_line_len(rd->heap, (size_t)n);
		return 1;
	}
	for (;;) {
		char *line = rd->buf + rd->start;
		size_t avail = rd->end - rd->start;
		char *nl = memchr(line, '\n', avail);
		int r;

		if (nl || (rd->eof && (avail > 0 || rd->dropped > 0))) {
			size_t len = nl ? (size_t)(nl - line) : avail;

			rd->start += len + (nl != NULL);
			*ret_line = line;
			*ret_len = rd->dropped ? rd->dropped + len :
						 cli_line_len(line, len);
			rd->dropped = 0;
			return 1;
		}
		if (rd->eof)
			return 0;
		if (avail == sizeof(rd->buf) || rd->dropped > 0) {
			/* overlong: keep only its length */
			rd->dropped += avail;
			rd->start = rd->end = 0;
		}
		r = cli_reader_fill(cli, rd);
		if (r < 0)
			return r;
	}
}

int hp_cli_run_stream(struct hp_cli *cli, FILE *in)
{
	struct cli_reader *rd;
	const char *line;
	size_t len;
	int r, res = 0;

	if (!cli || !in)
		return -EINVAL;
	rd = calloc(1, sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	rd->in = in;
	rd->fd = fileno(in);
	while ((r = cli_reader_line(cli, rd, &line, &len)) > 0) {
		if (cli_stopped(cli)) {
			r = -ECANCELED;
			break;
		}
		r = cli_exec_buf(cli, line, len);
		if (r == HP_CLI_QUIT)
			break;
		if (r < 0 && res == 0)
			res = r;
	}
	free(rd->heap);
	free(rd);
	/* a read error is said (--cmd naming a directory failed silently) */
	if (r < 0 && r != -ECANCELED)
		cli_fail(cli, r, "cannot read the commands: %s", strerror(-r));
	/* a stop, or a read error after commands that all went well */
	if (r == -ECANCELED || (r < 0 && res == 0))
		res = r;
	return res;
}
