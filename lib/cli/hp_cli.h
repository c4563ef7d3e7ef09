/* SPDX-License-Identifier: BSD-3-Clause */
/* The command language both apps speak (testpmd-compatible where testpmd
 * has the command), run one line at a time, from a stream, or at an
 * interactive prompt with line editing. */
#ifndef HP_CLI_H
#define HP_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "hp_common.h"

/* hp_cli_exec's answer to "quit". */
#define HP_CLI_QUIT 1

/* Size of the longest command line with its NUL: a line holds at most
 * HP_CLI_LINE_MAX - 1 bytes, without its newline. */
#define HP_CLI_LINE_MAX 4096

/* Largest port id a command accepts (HP_PORT_INVALID is one more). */
#define HP_CLI_PORT_ID_MAX 65534

/* What a parsed command line asks for. */
enum hp_cli_op {
	HP_CLI_OP_NONE = 0,		/* blank line or '#' comment */
	HP_CLI_OP_PORT_ATTACH,		/* port attach <devargs> */
	HP_CLI_OP_PORT_DETACH,		/* port detach <port> */
	HP_CLI_OP_PORT_START,		/* port start <port|all> */
	HP_CLI_OP_PORT_STOP,		/* port stop <port|all> */
	HP_CLI_OP_PORT_CLOSE,		/* port close <port|all> */
	HP_CLI_OP_SHOW_PORTS,		/* show ports */
	HP_CLI_OP_SHOW_PORT_INFO,	/* show port info <port|all> */
	HP_CLI_OP_SHOW_PORT_STATS,	/* show port stats <port|all> */
	HP_CLI_OP_CLEAR_PORT_STATS,	/* clear port stats <port|all> */
	HP_CLI_OP_SHOW_PROCS,		/* show procs */
	HP_CLI_OP_SET_LOG_LEVEL,	/* set log-level <spec> */
	HP_CLI_OP_HELP,			/* help */
	HP_CLI_OP_QUIT,			/* quit */
	HP_CLI_OP_SET_FWD,		/* set fwd <mode> */
	HP_CLI_OP_SET_BURST,		/* set burst <n> */
	HP_CLI_OP_SET_PORTLIST,		/* set portlist <list|all> */
	HP_CLI_OP_SET_FWD_QUEUES,	/* set fwd-queues <list> */
	HP_CLI_OP_START,		/* start (forwarding) */
	HP_CLI_OP_STOP,			/* stop (forwarding) */
	HP_CLI_OP_SHOW_FWD,		/* show fwd */
	HP_CLI_OP_CONFIG_RXQ,		/* port config all rxq <n> */
	HP_CLI_OP_CONFIG_TXQ,		/* port config all txq <n> */
	HP_CLI_OP_CONFIG_RXD,		/* port config all rxd <n> */
	HP_CLI_OP_CONFIG_TXD,		/* port config all txd <n> */
	HP_CLI_OP_SET_TOPOLOGY,		/* set port-topology <topology> */
	HP_CLI_OP_SHOW_PCI,		/* show pci (scans again) */
};

/* One parsed command line, as hp_cli_parse writes it. */
struct hp_cli_cmd {
	enum hp_cli_op op;
	bool all;		/* "all" given where <port|all> or <list|all>
				 * is taken */
	uint16_t port_id;	/* the <port> argument; 0 when none or all */
	unsigned num;		/* set fwd: the enum hp_fwd_mode; set
				 * port-topology: the enum hp_fwd_topology;
				 * set burst, port config: the number; 0 for
				 * other commands */
	char arg[HP_CLI_LINE_MAX]; /* devargs (attach), spec (log-level), the
				    * word after set fwd|burst|portlist|
				    * fwd-queues|port-topology and port
				    * config; "" for other commands */
};

struct hp_cli;

/* Parses one command line (its trailing newline, if any, is ignored) into
 * ret_cmd, without running it and without touching any port: pure, any
 * thread. Blank lines and lines whose first word starts with '#' give
 * HP_CLI_OP_NONE. On failure writes one line (no newline, no "error: "
 * prefix) to err (errlen bytes; err may be NULL) saying what is wrong and
 * what is expected, and leaves ret_cmd untouched: -EINVAL bad syntax
 * (unknown command, missing or extra argument, bad port id, unknown
 * forwarding mode or topology, burst size out of 1..HP_FWD_BURST_MAX, bad
 * port or queue list, control character, line of HP_CLI_LINE_MAX bytes or more),
 * -ENAMETOOLONG devargs over HP_DEVARGS_MAX. */
HP_API int hp_cli_parse(const char *line, struct hp_cli_cmd *ret_cmd,
			char *err, size_t errlen);

/* Creates a command interpreter writing to out; pairs with
 * hp_cli_destroy. One thread at a time may use an interpreter.
 * -EINVAL out is NULL, -ENOMEM. */
HP_API int hp_cli_create(FILE *out, struct hp_cli **ret_cli);
/* Frees the interpreter. Accepts NULL. */
HP_API void hp_cli_destroy(struct hp_cli *cli);

/* Sends the "error: ..." lines to err (standard error for one-shot
 * commands) instead of out; NULL, the default, for out. Each error line
 * is written by one call, and flushed when err is not out. */
HP_API void hp_cli_set_err(struct hp_cli *cli, FILE *err);

/* Makes the run loops return -ECANCELED once fd is readable (they poll it
 * and never read it; hp_core_stop_fd() is the usual one); -1, the
 * default, for none. */
HP_API void hp_cli_set_stop_fd(struct hp_cli *cli, int fd);

/* Runs one command line: 0 done, HP_CLI_QUIT for quit, or a negative errno
 * after printing one "error: ..." line to out or the error stream (per
 * port, for "all"). Blank
 * lines and '#' comments are 0. Port commands call hp_port_* (and need an
 * initialised process), forwarding commands hp_fwd_*; output is flushed
 * before returning. */
HP_API int hp_cli_exec(struct hp_cli *cli, const char *line);

/* Runs every line of in as it arrives, until end of file, quit, or the
 * stop fd; returns 0 if every command succeeded, else the first failure's
 * negative errno (it goes on after failures), or -ECANCELED; -EINVAL,
 * -ENOMEM, or the errno of a failed read also end it. Reads the
 * file descriptor of in directly, never more than is there, so a script
 * may feed commands over time; do not mix with stdio reads of in. A
 * stream without a descriptor (fmemopen) is read with stdio. */
HP_API int hp_cli_run_stream(struct hp_cli *cli, FILE *in);

/* Runs an interactive prompt on standard input with line editing, history
 * and tab completion of command words (libedit) until end of input, quit,
 * or the stop fd; returns 0 or -ECANCELED, -ENOMEM if libedit cannot
 * start, or -ELIBACC (libedit.so.2 not found or not loadable) or -ELIBBAD
 * (a function missing from it) with an error line on out: libedit is
 * loaded by the first call in a process. */
HP_API int hp_cli_run_interactive(struct hp_cli *cli, const char *prompt);

#endif
