/* SPDX-License-Identifier: BSD-3-Clause */
/* The command language both apps speak (testpmd-compatible where testpmd
 * has the command), run one line at a time, from a stream, or at an
 * interactive prompt with line editing. */
#ifndef HP_CLI_H
#define HP_CLI_H

#include <stdio.h>

#include "hp_common.h"

/* hp_cli_exec's answer to "quit". */
#define HP_CLI_QUIT 1

struct hp_cli;

/* Creates a command interpreter writing to out; pairs with
 * hp_cli_destroy. -ENOMEM. */
HP_API int hp_cli_create(FILE *out, struct hp_cli **ret_cli);
/* Frees the interpreter. Accepts NULL. */
HP_API void hp_cli_destroy(struct hp_cli *cli);

/* Makes the run loops return -ECANCELED once fd is readable. */
HP_API void hp_cli_set_stop_fd(struct hp_cli *cli, int fd);

/* Runs one command line: 0 done, HP_CLI_QUIT for quit, or a negative errno
 * after printing one "error: ..." line to out. Blank lines and '#'
 * comments are 0. */
HP_API int hp_cli_exec(struct hp_cli *cli, const char *line);

/* Runs every line of in as it arrives, until end of file, quit, or the
 * stop fd; returns 0 if every command succeeded, else the first failure's
 * negative errno (it goes on after failures), or -ECANCELED. */
HP_API int hp_cli_run_stream(struct hp_cli *cli, FILE *in);

/* Runs an interactive prompt with line editing and history (libedit)
 * until end of input, quit, or the stop fd; returns 0 or -ECANCELED. */
HP_API int hp_cli_run_interactive(struct hp_cli *cli, const char *prompt);

#endif
