/* SPDX-License-Identifier: BSD-3-Clause */
/* Internals of the command language, shared by the files of lib/cli only. */
#ifndef CLI_PRIVATE_H
#define CLI_PRIVATE_H

#include <stdbool.h>
#include <stdio.h>

#include "hp_cli.h"

struct hp_cli {
	FILE *out;		/* where commands print */
	FILE *err;		/* where error lines go; NULL: out */
	int stop_fd;		/* polled by the run loops; -1 for none */
	bool cancelled;		/* the stop fd fired inside libedit */
	const char *prompt;	/* during hp_cli_run_interactive */
};

/* A command word: not NUL-terminated. */
struct cli_word {
	const char *s;
	size_t len;
};

/* cli_parse.c */

/* hp_cli_parse on the first len bytes of buf, a line without its trailing
 * CR/LF (see cli_line_len), which may hold NUL bytes (rejected) and need
 * not be NUL-terminated. A len of HP_CLI_LINE_MAX or
 * more is rejected before buf is read, so a reader that dropped an
 * overlong line may pass its length alone. */
int cli_parse_buf(const char *buf, size_t len, struct hp_cli_cmd *ret_cmd,
		  char *err, size_t errlen);

/* Length of buf[0..len) without its trailing CRs and LFs. */
size_t cli_line_len(const char *buf, size_t len);

/* Prints one line per command: usage and what it does. */
void cli_help_print(FILE *out);

/* Lists in ret_words (at most max) the command words that may follow the
 * whole words of line[0..len) and start with its last, partial word; writes
 * that partial word's length to ret_stem_len. Returns how many. */
size_t cli_complete(const char *line, size_t len, struct cli_word *ret_words,
		    size_t max, size_t *ret_stem_len);

/* cli.c */

/* Prints "error: <fmt>" as one line, written by one call, to cli->err
 * (or cli->out); returns res. */
int cli_fail(struct hp_cli *cli, int res, const char *fmt, ...)
	HP_PRINTF(3, 4);

/* Waits until fd is readable (or hung up): 0, -ECANCELED once the stop fd
 * is readable, or a negative errno from poll. */
int cli_wait(const struct hp_cli *cli, int fd);

/* cli_port.c */

/* Runs a port command (attach, detach, start, stop, close, show ports,
 * show port info|stats, clear port stats). */
int cli_port_exec(struct hp_cli *cli, const struct hp_cli_cmd *cmd);

/* cli_pci.c */

/* show pci: scans the bus again and prints one line per device. */
int cli_show_pci(struct hp_cli *cli);

/* cli_fwd.c */

/* Runs a forwarding command (set fwd|burst|portlist|fwd-queues|
 * port-topology, start, stop, show fwd). */
int cli_fwd_exec(struct hp_cli *cli, const struct hp_cli_cmd *cmd);

#endif
