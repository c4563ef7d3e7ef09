/* SPDX-License-Identifier: BSD-3-Clause */
/* The EAL-style options both apps take, and their --help. */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_core.h"
#include "hp_log.h"
#include "hp_pci.h"
#include "hp_shm.h"

enum {
	OPT_FILE_PREFIX = 256,
	OPT_MEM,
	OPT_BASE_VIRTADDR,
	OPT_NO_HUGE,
	OPT_HUGE_1G,
	OPT_SOCKET_MEM,
	OPT_IPC_GROUP,
	OPT_TIMEOUT,
	OPT_LOG_LEVEL,
	OPT_VDEV,
	OPT_CMD,
	OPT_WAIT_PRIMARY,
};

static const struct option core_long_opts[] = {
	{ "file-prefix", required_argument, NULL, OPT_FILE_PREFIX },
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "base-virtaddr", required_argument, NULL, OPT_BASE_VIRTADDR },
	{ "no-huge", no_argument, NULL, OPT_NO_HUGE },
	{ "huge-1g", no_argument, NULL, OPT_HUGE_1G },
	{ "socket-mem", required_argument, NULL, OPT_SOCKET_MEM },
	{ "ipc-group", required_argument, NULL, OPT_IPC_GROUP },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "vdev", required_argument, NULL, OPT_VDEV },
	{ "allow", required_argument, NULL, 'a' },
	{ "block", required_argument, NULL, 'b' },
	{ "interactive", no_argument, NULL, 'i' },
	{ "cmd", required_argument, NULL, OPT_CMD },
	{ "wait-primary", no_argument, NULL, OPT_WAIT_PRIMARY },
	{ "command", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void hp_core_usage(enum hp_proc_role role, const char *prog, FILE *out)
{
	bool primary = role == HP_ROLE_PRIMARY;

	fprintf(out,
		"Usage: %s [OPTIONS]\n"
		"%s\n\n"
		"Instance:\n"
		"  --file-prefix NAME   instance name (default: hotport); processes with\n"
		"                       the same prefix share memory and ports\n"
		"  --timeout MS         deadline of one hotplug step (default: 5000)\n"
		"  --log-level SPEC     LEVEL or TOPIC:LEVEL[,...]; levels: error, warning,\n"
		"                       notice, info, debug; topics: shm, ipc, port, core, ...\n"
		"  -l LIST              cores for forwarding threads (e.g. 0-1 or 0,2)\n",
		prog,
		primary ? "Owns the shared memory and the port table of a hotport instance,\n"
			  "carries out every port attach and detach, and runs commands." :
			  "A worker of a running hotport primary: maps its memory, sees its\n"
			  "ports, asks it to attach or detach ports, and runs commands.");
	if (!primary)
		fprintf(out,
			"  --wait-primary       when the primary exits, wait for a new one with\n"
			"                       the same prefix and go on (commands from\n"
			"                       standard input, --cmd or -i); default: exit 4\n");
	if (primary)
		fprintf(out,
			"\nMemory (primary):\n"
			"  --mem MB             shared memory size (default: %llu)\n"
			"  --no-huge            ordinary pages, even if hugepages are free\n"
			"  --huge-1g            1 GiB hugepages instead of 2 MiB\n"
			"  --socket-mem MB,...  memory per NUMA node\n"
			"  --base-virtaddr ADDR where the memory is mapped in every process\n"
			"  --ipc-group GROUP    also let this group's users in\n"
			"\nDevices (primary):\n"
			"  --vdev DEVARGS       attach a virtual device at start (repeatable)\n"
			"  -a, --allow PCI      only use these PCI devices (repeatable)\n"
			"  -b, --block PCI      never use these PCI devices (repeatable;\n"
			"                       not with -a)\n"
			"  (the PCI scan reads /sys/bus/pci, or where %s says:\n"
			"   sysfs:DIR or dump:FILE)\n",
			HP_SHM_DEFAULT_SIZE >> 20, HP_PCI_ACCESS_ENV);
	fprintf(out,
		"\nCommands:\n"
		"  -c, --command CMD    run CMD (repeatable), then exit: status 0 if all\n"
		"                       succeeded\n"
		"  --cmd FILE           run the commands in FILE ('-': standard input),\n"
		"                       line by line as they arrive\n"
		"  -i, --interactive    a prompt with line editing\n"
		"  -h, --help           this text\n"
		"%s",
		primary ? "\nWithout -c, --cmd or -i the primary runs until SIGINT or SIGTERM.\n" :
			  "\nWithout -c, --cmd or -i the secondary reads commands from standard input.\n");
}

static int opts_err(char *err, size_t errlen, const char *fmt, ...)
	HP_PRINTF(3, 4);

static int opts_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int opts_ulong(const char *s, unsigned long long min,
		      unsigned long long max, unsigned long long *ret)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int opts_add(const char **list, unsigned *nb, const char *v,
		    const char *what, char *err, size_t errlen)
{
	if (*nb == HP_CORE_MAX_DEVS)
		return opts_err(err, errlen, "more than %d %s options",
				HP_CORE_MAX_DEVS, what);
	if (!*v)
		return opts_err(err, errlen, "%s needs a value", what);
	list[(*nb)++] = v;
	return 0;
}

/* -a and -b take PCI addresses only. */
static int opts_add_pci(const char **list, unsigned *nb, const char *v,
			const char *what, char *err, size_t errlen)
{
	struct hp_pci_addr addr;

	if (*v && hp_pci_addr_parse(v, &addr) < 0)
		return opts_err(err, errlen,
				"%s %.40s: not a PCI address (expected DDDD:BB:DD.F or BB:DD.F, such as 0000:01:00.0)",
				what, v);
	return opts_add(list, nb, v, what, err, errlen);
}

static bool opts_lcores_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || *s == ',' || *s == '-'))
			return false;
	return true;
}

static const char *opts_name(int c)
{
	for (const struct option *o = core_long_opts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

static int opts_one(int c, struct hp_core_opts *o, char *err, size_t errlen)
{
	unsigned long long v;
	bool primary = o->role == HP_ROLE_PRIMARY;

	switch (c) {
	case OPT_FILE_PREFIX:
		o->prefix = optarg;
		return 0;
	case OPT_TIMEOUT:
		if (opts_ulong(optarg, 1, 600000, &v) < 0)
			return opts_err(err, errlen,
					"--timeout %s: expected milliseconds from 1 to 600000",
					optarg);
		o->timeout_ms = (int)v;
		return 0;
	case OPT_LOG_LEVEL:
		if (hp_log_set_levels(optarg) < 0)
			return opts_err(err, errlen,
					"--log-level %s: expected LEVEL or TOPIC:LEVEL (error, warning, notice, info, debug)",
					optarg);
		o->log_levels = optarg;
		return 0;
	case 'l':
		if (!opts_lcores_ok(optarg))
			return opts_err(err, errlen,
					"-l %s: expected a core list such as 0-1 or 0,2",
					optarg);
		o->lcores = optarg;
		return 0;
	case 'i':
		o->interactive = true;
		return 0;
	case OPT_CMD:
		o->cmd_file = optarg;
		return 0;
	case 'c':
		return opts_add(o->cmds, &o->nb_cmds, optarg, "-c", err, errlen);
	case 'h':
		o->help = true;
		return 0;
	case OPT_WAIT_PRIMARY:
		if (primary)
			return opts_err(err, errlen,
					"--wait-primary is a secondary's option: the primary is the one waited for");
		o->wait_primary = true;
		return 0;
	}
	if (!primary)
		return opts_err(err, errlen,
				"option '--%s' is for the primary only (a secondary uses the primary's memory and devices)",
				opts_name(c));
	switch (c) {
	case OPT_MEM:
		if (opts_ulong(optarg, 4, 1 << 20, &v) < 0)
			return opts_err(err, errlen,
					"--mem %s: expected megabytes from 4 to 1048576",
					optarg);
		o->mem_size = (size_t)v << 20;
		return 0;
	case OPT_BASE_VIRTADDR:
		if (opts_ulong(optarg, 1, UINTPTR_MAX, &v) < 0 || (v & 0xfff))
			return opts_err(err, errlen,
					"--base-virtaddr %s: expected a page-aligned address such as 0x100000000000",
					optarg);
		o->base_virtaddr = (uintptr_t)v;
		return 0;
	case OPT_NO_HUGE:
		o->no_huge = true;
		return 0;
	case OPT_HUGE_1G:
		o->huge_1g = true;
		return 0;
	case OPT_SOCKET_MEM:
		o->socket_mem = optarg;
		return 0;
	case OPT_IPC_GROUP:
		o->ipc_group = optarg;
		return 0;

	case OPT_VDEV:
		return opts_add(o->vdevs, &o->nb_vdevs, optarg, "--vdev", err,
				errlen);
	case 'a':
		return opts_add_pci(o->allow, &o->nb_allow, optarg, "-a", err,
				    errlen);
	case 'b':
		return opts_add_pci(o->block, &o->nb_block, optarg, "-b", err,
				    errlen);
	}
	return opts_err(err, errlen, "unknown option");
}

int hp_core_opts_parse(enum hp_proc_role role, int argc, char **argv,
		       struct hp_core_opts *opts, char *err, size_t errlen)
{
	int c, r;

	memset(opts, 0, sizeof(*opts));
	opts->role = role;
	opts->prefix = "hotport";
	opts->timeout_ms = 5000;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:a:b:ic:h", core_long_opts,
				NULL)) != -1) {
		if (c == '?')
			return opts_err(err, errlen,
					"unknown option '%s' (see --help)",
					argv[optind - 1]);
		if (c == ':')
			return opts_err(err, errlen, "option '%s' needs a value",
					argv[optind - 1]);
		r = opts_one(c, opts, err, errlen);
		if (r < 0)
			return r;
	}
	if (optind < argc)
		return opts_err(err, errlen,
				"unexpected argument '%s' (see --help)",
				argv[optind]);
	if (opts->no_huge && opts->huge_1g)
		return opts_err(err, errlen,
				"--no-huge and --huge-1g exclude each other");
	if (opts->nb_allow && opts->nb_block)
		return opts_err(err, errlen,
				"-a and -b exclude each other: give the PCI devices to use (-a) or those to leave alone (-b)");
	return 0;
}
