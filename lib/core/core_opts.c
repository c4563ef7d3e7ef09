/* SPDX-License-Identifier: BSD-3-Clause */
/* The EAL-style options both apps take, and their --help. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_core.h"
#include "hp_devargs.h"
#include "core_private.h"
#include "hp_log.h"
#include "hp_mbuf.h"
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
	OPT_VERBOSE,
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
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
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
			"                       standard input or -i); default: exit 4\n");
	if (primary)
		fprintf(out,
			"\nMemory (primary):\n"
			"  --mem MB             shared memory size (default: %llu, at least %u)\n"
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
			HP_SHM_DEFAULT_SIZE >> 20, core_mem_min_mb(),
			HP_PCI_ACCESS_ENV);
	fprintf(out,
		"\nCommands:\n"
		"  -c, --command CMD    run CMD (repeatable), then exit: status 0 if all\n"
		"                       succeeded\n"
		"  --cmd FILE           run the commands in FILE ('-': standard input),\n"
		"                       line by line as they arrive\n"
		"  -i, --interactive    a prompt with line editing\n"
		"  --verbose            with -c or --cmd FILE, print the ready lines%s\n"
		"  -h, --help           this text\n"
		"%s",
		primary ? " too\n                       (command errors go to standard error)" :
			  " and port\n                       events too (command errors go to standard error)",
		primary ? "\nWithout -c, --cmd or -i the primary runs until SIGINT or SIGTERM.\n" :
			  "\nWithout -c, --cmd or -i the secondary reads commands from standard input.\n");
}

/* Longest user text quoted whole in a message. */
#define OPTS_QUOTE_MAX 64
/* A quoting buffer for one value. */
#define OPTS_Q_SIZE HP_LOG_QUOTE_SIZE(OPTS_QUOTE_MAX)
/* The option letters; '+': stop at the first non-option, so that argv is
 * never reordered; ':': report a missing value apart. */
#define OPTS_SHORT "+:l:a:b:ic:h"

/* optarg quoted for a message, in q (OPTS_Q_SIZE bytes). */
static const char *opts_q(char *q, const char *s)
{
	return hp_log_quote(q, OPTS_Q_SIZE, s, OPTS_QUOTE_MAX);
}

static int opts_ulong(const char *s, unsigned long long min,
		      unsigned long long max, unsigned long long *ret)
{
	char *end;
	unsigned long long v;

	/* strtoull would take blanks, '+' and '-' first */
	if (!s || *s < '0' || *s > '9')
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
		return hp_err_set(err, errlen, -EINVAL, "more than %d %s options",
				  HP_CORE_MAX_DEVS, what);
	if (!*v)
		return hp_err_set(err, errlen, -EINVAL, "%s needs a value", what);
	list[(*nb)++] = v;
	return 0;
}

/* A core list: N or N-M items (N <= M) separated by single commas. */
static bool opts_lcores_ok(const char *s)
{
	unsigned long lo, hi;
	char *end;

	for (;;) {
		if (*s < '0' || *s > '9')
			return false;
		lo = hi = strtoul(s, &end, 10);
		if (*end == '-') {
			s = end + 1;
			if (*s < '0' || *s > '9')
				return false;
			hi = strtoul(s, &end, 10);
		}
		if (lo > hi || hi >= 1 << 16)
			return false;
		if (*end == '\0')
			return true;
		if (*end != ',')
			return false;
		s = end + 1;
	}
}

static const char *opts_name(int c)
{
	for (const struct option *o = core_long_opts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

/* Whether c is one of our options (a letter or a long option's value). */
static bool opts_known(int c)
{
	return c >= 256 || (c > 0 && c != '+' && c != ':' &&
			    strchr(OPTS_SHORT, c));
}

/* --vdev: a devargs string, checked as attach checks its syntax. */
static int opts_vdev(struct hp_core_opts *o, char *err, size_t errlen)
{
	struct hp_devargs da;
	char why[160], q[OPTS_Q_SIZE];

	if (*optarg && hp_devargs_parse(optarg, &da, why, sizeof(why)) < 0)
		return hp_err_set(err, errlen, -EINVAL, "--vdev '%s': %s", opts_q(q, optarg),
				  why);
	return opts_add(o->vdevs, &o->nb_vdevs, optarg, "--vdev", err, errlen);
}

/* -a, -b: a PCI address. */
static int opts_pci(int c, struct hp_core_opts *o, char *err, size_t errlen)
{
	struct hp_pci_addr addr;
	char q[OPTS_Q_SIZE];

	if (*optarg && hp_pci_addr_parse(optarg, &addr) < 0)
		return hp_err_set(err, errlen, -EINVAL,
				  "-%c '%s': not a PCI address (expected DDDD:BB:DD.F or BB:DD.F, such as 0000:01:00.0)",
				  c, opts_q(q, optarg));
	if (c == 'a')
		return opts_add(o->allow, &o->nb_allow, optarg, "-a", err,
				errlen);
	return opts_add(o->block, &o->nb_block, optarg, "-b", err, errlen);
}

unsigned core_mem_min_mb(void)
{
	ssize_t pool = hp_mempool_memsize(CORE_POOL_SIZE, CORE_POOL_CACHE,
					  HP_MEMPOOL_CACHES,
					  HP_MBUF_DEFAULT_DATAROOM);
	uint64_t len = (uint64_t)(pool > 0 ? pool : 0) +
		       (uint64_t)HP_MAX_PORTS * 4096 + (2u << 20);

	return (unsigned)((len + (1u << 20) - 1) >> 20);
}

/* The megabytes of a --socket-mem spec hp_shm_socket_mem_check passed. */
static unsigned long long opts_socket_mem_total(const char *spec)
{
	unsigned long long total = 0;

	for (const char *s = spec; *s; s++) {
		char *end;

		total += strtoull(s, &end, 10);
		s = end;
		if (!*s)
			break;
	}
	return total;
}

static int opts_socket_mem(struct hp_core_opts *o, char *err, size_t errlen)
{
	char q[OPTS_Q_SIZE];
	int r = hp_shm_socket_mem_check(optarg);

	if (r == -ENODEV)
		return hp_err_set(err, errlen, -EINVAL,
				  "--socket-mem '%s': gives memory to a NUMA node this machine does not have",
				  opts_q(q, optarg));
	if (r < 0)
		return hp_err_set(err, errlen, -EINVAL,
				  "--socket-mem '%s': expected megabytes per NUMA node from node 0, such as 1024 or 512,512",
				  opts_q(q, optarg));
	if (opts_socket_mem_total(optarg) < core_mem_min_mb())
		return hp_err_set(err, errlen, -EINVAL,
				  "--socket-mem '%s': %llu MB in all, less than the %u the default packet pool and the port table need",
				  opts_q(q, optarg),
				  opts_socket_mem_total(optarg),
				  core_mem_min_mb());
	o->socket_mem = optarg;
	return 0;
}

/* The options only the primary takes. */
static int opts_primary(int c, struct hp_core_opts *o, char *err,
			size_t errlen)
{
	unsigned long long v;
	char q[OPTS_Q_SIZE];

	switch (c) {
	case OPT_MEM:
		if (opts_ulong(optarg, core_mem_min_mb(), 1 << 20, &v) < 0)
			return hp_err_set(err, errlen, -EINVAL,
					  "--mem '%s': expected megabytes from %u to 1048576 (the default packet pool and the port table need %u)",
					  opts_q(q, optarg), core_mem_min_mb(),
					  core_mem_min_mb());
		o->mem_size = (size_t)v << 20;
		return 0;
	case OPT_BASE_VIRTADDR:
		if (opts_ulong(optarg, 1, UINTPTR_MAX, &v) < 0 || (v & 0xfff))
			return hp_err_set(err, errlen, -EINVAL,
					  "--base-virtaddr '%s': expected a page-aligned address such as 0x100000000000",
					  opts_q(q, optarg));
		o->base_virtaddr = (uintptr_t)v;
		return 0;
	case OPT_NO_HUGE:
		o->no_huge = true;
		return 0;
	case OPT_HUGE_1G:
		o->huge_1g = true;
		return 0;
	case OPT_SOCKET_MEM:
		return opts_socket_mem(o, err, errlen);
	case OPT_IPC_GROUP:
		if (!*optarg)
			return hp_err_set(err, errlen, -EINVAL, "--ipc-group needs a group name");
		o->ipc_group = optarg;
		return 0;

	case OPT_VDEV:
		return opts_vdev(o, err, errlen);
	case 'a':
	case 'b':
		return opts_pci(c, o, err, errlen);
	}
	return hp_err_set(err, errlen, -EINVAL, "unknown option");
}

static int opts_one(int c, struct hp_core_opts *o, char *err, size_t errlen)
{
	unsigned long long v;
	char q[OPTS_Q_SIZE];

	switch (c) {
	case OPT_FILE_PREFIX:
		if (hp_shm_prefix_check(optarg) < 0)
			return hp_err_set(err, errlen, -EINVAL,
					  "--file-prefix '%s': expected 1 to %d printable characters, no '/' or blank, not '.' or '..'",
					  opts_q(q, optarg), HP_SHM_PREFIX_MAX);
		o->prefix = optarg;
		return 0;
	case OPT_TIMEOUT:
		if (opts_ulong(optarg, 1, 600000, &v) < 0)
			return hp_err_set(err, errlen, -EINVAL,
					  "--timeout '%s': expected milliseconds from 1 to 600000",
					  opts_q(q, optarg));
		o->timeout_ms = (int)v;
		return 0;
	case OPT_LOG_LEVEL:
		/* Checked only: hp_core_init applies it. */
		if (hp_log_check_levels(optarg) < 0)
			return hp_err_set(err, errlen, -EINVAL,
					  "--log-level '%s': expected LEVEL or TOPIC:LEVEL[,...] with LEVEL one of error, warning, notice, info, debug",
					  opts_q(q, optarg));
		o->log_levels = optarg;
		return 0;
	case 'l':
		if (!opts_lcores_ok(optarg))
			return hp_err_set(err, errlen, -EINVAL,
					  "-l '%s': expected a core list such as 0-1 or 0,2",
					  opts_q(q, optarg));
		o->lcores = optarg;
		return 0;
	case 'i':
		o->interactive = true;
		return 0;
	case OPT_CMD:
		if (!*optarg)
			return hp_err_set(err, errlen, -EINVAL,
					  "--cmd needs a file name ('-' for standard input)");
		o->cmd_file = optarg;
		return 0;
	case 'c':
		return opts_add(o->cmds, &o->nb_cmds, optarg, "-c", err, errlen);
	case 'h':
		o->help = true;
		return 0;
	case OPT_VERBOSE:
		o->verbose = true;
		return 0;
	case OPT_WAIT_PRIMARY:
		if (o->role == HP_ROLE_PRIMARY)
			return hp_err_set(err, errlen, -EINVAL,
					  "--wait-primary is a secondary's option: the primary is the one waited for");
		o->wait_primary = true;
		return 0;
	}
	if (o->role != HP_ROLE_PRIMARY)
		return hp_err_set(err, errlen, -EINVAL,
				  "option '--%s' is for the primary only (a secondary uses the primary's memory and devices)",
				  opts_name(c));
	return opts_primary(c, o, err, errlen);
}

/* Whether arg ("--h") abbreviates more than one long option; if so,
 * lists them in list. */
static bool opts_ambiguous(const char *arg, char *list, size_t len)
{
	size_t n = strcspn(arg + 2, "="), off = 0;
	unsigned nb = 0;

	if (strncmp(arg, "--", 2) || n == 0)
		return false;
	for (const struct option *o = core_long_opts; o->name; o++) {
		if (strncmp(o->name, arg + 2, n) || off >= len)
			continue;
		off += (size_t)snprintf(list + off, len - off, "%s--%s",
					nb++ ? ", " : "", o->name);
	}
	return nb > 1;
}

/* Why getopt_long returned '?' or ':' for the option before optind. */
static int opts_bad(int c, char **argv, char *err, size_t errlen)
{
	char q[OPTS_Q_SIZE], list[160];

	if (c == ':' && optopt >= 256)
		return hp_err_set(err, errlen, -EINVAL, "option '--%s' needs a value",
				  opts_name(optopt));
	if (c == ':')
		return hp_err_set(err, errlen, -EINVAL, "option '-%c' needs a value",
				  optopt);
	/* A known option that takes no value was given one (--no-huge=1);
	 * a letter only gets here as the value of its long form. */
	if (opts_known(optopt))
		return hp_err_set(err, errlen, -EINVAL, "option '--%s' takes no value",
				  opts_name(optopt));
	if (optopt) {
		char letter[2] = { (char)optopt, '\0' };
		return hp_err_set(err, errlen, -EINVAL, "unknown option '-%s' (see --help)",
				  opts_q(q, letter));
	}
	/* A long option: getopt_long has moved past it. */
	if (opts_ambiguous(argv[optind - 1], list, sizeof(list)))
		return hp_err_set(err, errlen, -EINVAL, "option '%s' is ambiguous: %s",
				  opts_q(q, argv[optind - 1]), list);
	return hp_err_set(err, errlen, -EINVAL, "unknown option '%s' (see --help)",
			  opts_q(q, argv[optind - 1]));
}

int hp_core_opts_parse(enum hp_proc_role role, int argc, char **argv,
		       struct hp_core_opts *opts, char *err, size_t errlen)
{
	/* opts is written only on success: parse into o first */
	struct hp_core_opts o = {
		.role = role,
		.prefix = "hotport",
		.timeout_ms = 5000,
	};
	char q[OPTS_Q_SIZE];
	int c, r;

	if (!opts || argc < 1 || !argv)
		return hp_err_set(err, errlen, -EINVAL, "no arguments");
	/* 0, not 1: getopt starts afresh, forgetting a letter group that
	 * an earlier, failed parse left half read ("-xi"). */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, OPTS_SHORT, core_long_opts,
				NULL)) != -1) {
		if (c == '?' || c == ':')
			return opts_bad(c, argv, err, errlen);
		r = opts_one(c, &o, err, errlen);
		if (r < 0)
			return r;
	}
	if (optind < argc)
		return hp_err_set(err, errlen, -EINVAL,
				  "unexpected argument '%s' (see --help)",
				  opts_q(q, argv[optind]));
	if (o.no_huge && o.huge_1g)
		return hp_err_set(err, errlen, -EINVAL,
				  "--no-huge and --huge-1g exclude each other");
	if (o.mem_size && o.socket_mem)
		return hp_err_set(err, errlen, -EINVAL,
				  "--mem and --socket-mem exclude each other (--socket-mem gives the size per node)");
	if (o.nb_allow && o.nb_block)
		return hp_err_set(err, errlen, -EINVAL,
				  "-a and -b exclude each other: give the PCI devices to use (-a) or those to leave alone (-b)");
	*opts = o;
	return 0;
}
