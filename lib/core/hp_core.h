/* SPDX-License-Identifier: BSD-3-Clause */
/* Process start-up: EAL-style options, and init/fini of a primary or a
 * secondary (shared memory, request channel, port table). */
#ifndef HP_CORE_H
#define HP_CORE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "hp_common.h"

/* Most --vdev, -a and -b options on one command line. */
#define HP_CORE_MAX_DEVS 64
/* Name of the default packet pool the primary creates (hp_mempool_lookup). */
#define HP_CORE_POOL_NAME "hp_pool_default"

/* The two kinds of process. */
enum hp_proc_role {
	HP_ROLE_PRIMARY = 0,
	HP_ROLE_SECONDARY = 1,
};

/* Options both apps take; hp_core_opts_parse fills them. */
struct hp_core_opts {
	enum hp_proc_role role;
	const char *prefix;		/* --file-prefix; default "hotport" */
	size_t mem_size;		/* --mem MB; 0: default */
	uintptr_t base_virtaddr;	/* --base-virtaddr; 0: default */
	bool no_huge;			/* --no-huge */
	bool huge_1g;			/* --huge-1g */
	const char *socket_mem;		/* --socket-mem */
	const char *ipc_group;		/* --ipc-group NAME */
	int timeout_ms;			/* --timeout MS: hotplug deadline */
	bool wait_primary;		/* --wait-primary (secondary) */
	const char *lcores;		/* -l LIST */
	const char *log_levels;		/* --log-level SPEC */
	unsigned nb_vdevs;
	const char *vdevs[HP_CORE_MAX_DEVS];	/* --vdev DEVARGS */
	unsigned nb_allow;
	const char *allow[HP_CORE_MAX_DEVS];	/* -a PCI address */
	unsigned nb_block;
	const char *block[HP_CORE_MAX_DEVS];	/* -b PCI address (not with -a) */
	bool interactive;		/* -i */
	const char *cmd_file;		/* --cmd FILE ("-": stdin) */
	unsigned nb_cmds;
	const char *cmds[HP_CORE_MAX_DEVS];	/* -c "COMMAND" (repeatable) */
	bool help;			/* -h, --help */
	bool verbose;			/* --verbose: events and ready lines
					 * with -c or --cmd too */
};

/* One process of the instance, as show procs lists it. */
struct hp_proc_info {
	enum hp_proc_role role;
	pid_t pid;		/* as the primary sees it */
	uint32_t peer_id;	/* 0 for the primary */
};

/* Parses argv for role into opts (pointers into argv), checking each
 * value (prefix, numbers, log level spec, --vdev syntax, PCI addresses,
 * --socket-mem) but applying nothing. On error writes a one-line reason to
 * err (user text quoted with hp_log_quote) and returns -EINVAL, leaving
 * opts and argv untouched; unknown options, stray arguments and -a with -b
 * are errors. Uses getopt: one thread at a time. */
HP_API int hp_core_opts_parse(enum hp_proc_role role, int argc, char **argv,
			      struct hp_core_opts *opts, char *err,
			      size_t errlen);

/* Prints the options of role, for --help. */
HP_API void hp_core_usage(enum hp_proc_role role, const char *prog, FILE *out);

/* Starts this process as opts->role: the primary creates shared memory,
 * the request channel and the port table, applies -a/-b, scans the PCI
 * bus (a failed scan is a warning) and attaches --vdev ports; a
 * secondary connects, maps the memory and joins every attached port. Once
 * per process; pairs with hp_core_fini. On failure writes a one-line
 * reason to err (errlen bytes; err may be NULL), undoes what it did and
 * logs nothing above debug level: the caller says it, once.
 * -EINVAL bad prefix, log level spec or --ipc-group, -EEXIST another
 * primary holds the prefix, -ENOENT no primary running (secondary),
 * -EPROTO version mismatch, -EADDRINUSE the address range is taken,
 * -ENOMEM, -EALREADY started already, other negative errnos from the
 * kernel (the reason names the path). */
HP_API int hp_core_init(const struct hp_core_opts *opts, char *err,
			size_t errlen);

/* Leaves the instance: a secondary detaches locally and disconnects, the
 * primary closes every port and removes the runtime dir. */
HP_API void hp_core_fini(void);

/* This process's role. */
HP_API enum hp_proc_role hp_core_role(void);
/* This instance's prefix. */
HP_API const char *hp_core_prefix(void);
/* The shared memory of this instance. */
HP_API struct hp_shm *hp_core_shm(void);
/* The request channel of this process. */
HP_API struct hp_ipc *hp_core_ipc(void);
/* The hotplug deadline in ms. */
HP_API int hp_core_timeout_ms(void);

/* Lists the primary and every secondary (a secondary asks the primary);
 * returns how many were written, or a negative errno. */
HP_API int hp_core_procs(struct hp_proc_info *procs, unsigned max);

/* An fd that becomes readable when this process must stop: the primary
 * died (secondary) or SIGINT/SIGTERM arrived (after
 * hp_core_catch_signals). Poll it; do not read it. */
HP_API int hp_core_stop_fd(void);
/* Why the process was told to stop: 0 signal or not stopped, -ECONNRESET
 * the primary died. */
HP_API int hp_core_stop_reason(void);
/* Routes SIGINT and SIGTERM to hp_core_stop_fd, and ignores SIGPIPE: a
 * write to a closed pipe or socket (a standard output nobody reads) fails
 * with EPIPE instead of killing the process. 0 or sigaction's -errno. */
HP_API int hp_core_catch_signals(void);

/* Blocks, without polling, until a primary with this prefix listens (its
 * socket appears in the runtime dir), or SIGINT/SIGTERM (with
 * hp_core_catch_signals) arrives: 0, -EINTR, or a negative errno from
 * inotify. For a secondary after hp_core_fini, before hp_core_init again. */
HP_API int hp_core_wait_primary(const char *prefix);

#endif
