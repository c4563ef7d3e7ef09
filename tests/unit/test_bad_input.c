/* SPDX-License-Identifier: BSD-3-Clause */
/* Bad input, as one table: devargs (port attach in a real primary), command
 * lines (run as a user types them) and option values. Each one must fail
 * with a negative errno and exactly one non-empty line saying why, and
 * change nothing: ports, used slots, shared heap, fds, log levels,
 * forwarding set-up, the caller's options and argv. Also: a peer that
 * sends garbage to the real primary is hung up on, and the primary serves
 * the next request at once. */
#include <dirent.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "hp_test_child.h"
#include "hp_cli.h"
#include "hp_fwd.h"
#include "hp_log.h"
#include "hp_shm.h"
#include "ipc_private.h"

/* What an entry of the table is fed to. */
enum bad_kind {
	BAD_DEVARGS,	 /* hp_port_attach_msg in the primary */
	BAD_CMD,	 /* hp_cli_exec (which parses with hp_cli_parse) */
	BAD_OPT,	 /* hp_core_opts_parse as the primary */
	BAD_OPT_SEC,	 /* hp_core_opts_parse as a secondary */
};

struct bad_input {
	enum bad_kind kind;
	const char *in;	  /* devargs, a command line, or arguments split by '|' */
	int err;	  /* the negative errno expected */
	const char *says; /* a part of the error line */
};

/* Built at run time (too long to write out); see long_inputs_make. */
static char long_name[HP_NAME_MAX + 1];	    /* 64 characters */
static char long_devargs[HP_DEVARGS_MAX + 2]; /* 1025 */
static char many_keys[HP_DEVARGS_MAX];	    /* 33 keys */
static char long_ring[80];		    /* a net_ring name too long */
static char long_line[HP_CLI_LINE_MAX + 1];   /* 4096 bytes */
static char long_attach[HP_DEVARGS_MAX + 32]; /* devargs of 1025 */
static char long_prefix[HP_SHM_PREFIX_MAX + 32];
static char far_node[2100];		    /* memory for node 1000 */

/* The primary has port 0 (net_null0, started) and port 1 (net_ring0). */
static const struct bad_input bad_inputs[] = {
	/* devargs: syntax */
	{ BAD_DEVARGS, "", -EINVAL, "empty devargs" },
	{ BAD_DEVARGS, ",", -EINVAL, "devargs end with ','" },
	{ BAD_DEVARGS, ",size=64", -EINVAL, "no device name before the first ','" },
	{ BAD_DEVARGS, "net_null1,", -EINVAL, "devargs end with ','" },
	{ BAD_DEVARGS, "net_null1,,size=64", -EINVAL, "empty key=value pair" },
	{ BAD_DEVARGS, "net_null1,size", -EINVAL, "'size' is not key=value" },
	{ BAD_DEVARGS, "net_null1,=64", -EINVAL, "'=64' has no key" },
	{ BAD_DEVARGS, "net_null1,si ze=64", -EINVAL, "bad key 'si ze'" },
	{ BAD_DEVARGS, "net_null1,size=64,size=128", -EINVAL, "key 'size' given twice" },
	{ BAD_DEVARGS, "net null1", -EINVAL, "'net null1' has a character that is not" },
	{ BAD_DEVARGS, "net_null1\n", -EINVAL, "device name 'net_null1\\x0a'" },
	{ BAD_DEVARGS, "net_null1,size=6\t4", -EINVAL, "value of 'size' has a control character" },
	{ BAD_DEVARGS, "net_null1,a\nb=1", -EINVAL, "bad key 'a\\x0ab'" },
	{ BAD_DEVARGS, long_name, -ENAMETOOLONG, "device name longer than 63 characters" },
	{ BAD_DEVARGS, long_devargs, -ENAMETOOLONG, "devargs longer than 1024 characters" },
	{ BAD_DEVARGS, many_keys, -E2BIG, "more than 32 key=value pairs" },
	/* devargs: drivers and their keys */
	{ BAD_DEVARGS, "nosuchdrv0", -ENODEV, "no driver for device 'nosuchdrv0'" },
	{ BAD_DEVARGS, "net_null1,bogus=1", -EINVAL, "unknown key 'bogus' (known: size, queues)" },
	{ BAD_DEVARGS, "net_null1,size=abc", -EINVAL, "size=abc: expected a number from 14 to" },
	{ BAD_DEVARGS, "net_null1,size=1", -EINVAL, "size=1: expected a number" },
	{ BAD_DEVARGS, "net_null1,size=-64", -EINVAL, "size=-64: expected a number" },
	{ BAD_DEVARGS, "net_null1,size=99999999999999999999999", -EINVAL, "expected a number" },
	{ BAD_DEVARGS, "net_null1,size=", -EINVAL, "size=: expected a number" },
	{ BAD_DEVARGS, "net_null1,queues=17", -EINVAL, "queues=17: expected a number from 1 to 16" },
	{ BAD_DEVARGS, "0000:01:00.0", -ENODEV, "0000:01:00.0: no such PCI device (see 'show pci')" },
	{ BAD_DEVARGS, "01:00.0", -ENODEV, "no such PCI device" },
	{ BAD_DEVARGS, "net_null0", -EEXIST, "device net_null0 is already port 0" },
	{ BAD_DEVARGS, "net_ring1,peer=nosuch", -EINVAL, "peer=nosuch: no attached port of that name" },
	{ BAD_DEVARGS, "net_ring1,peer=net_null0", -EINVAL, "is a net_null port, not a net_ring one" },
	{ BAD_DEVARGS, "net_ring1,peer=net_ring0,queues=2", -EINVAL, "give both the same queues=" },
	{ BAD_DEVARGS, "net_ring1,size=1000", -EINVAL, "size=1000: the ring size must be a power of two" },
	{ BAD_DEVARGS, long_ring, -ENAMETOOLONG, "too long for net_ring" },
	/* command lines: syntax */
	{ BAD_CMD, "bogus", -EINVAL, "unknown command 'bogus' (type 'help' for the list)" },
	{ BAD_CMD, "port", -EINVAL, "'port' needs one of: attach, detach, start, stop, close, config" },
	{ BAD_CMD, "port frobnicate 0", -EINVAL, "unknown word 'frobnicate' after 'port'" },
	{ BAD_CMD, "port attach", -EINVAL, "'port attach' needs devargs" },
	{ BAD_CMD, "port detach", -EINVAL, "'port detach' needs a port id" },
	{ BAD_CMD, "port detach x", -EINVAL, "bad port id 'x'" },
	{ BAD_CMD, "port detach 65535", -EINVAL, "bad port id '65535' (expected a number from 0 to 65534)" },
	{ BAD_CMD, "port detach -1", -EINVAL, "bad port id '-1'" },
	{ BAD_CMD, "port detach 0 1", -EINVAL, "takes one argument" },
	{ BAD_CMD, "port start 0x1", -EINVAL, "bad port id '0x1'" },
	{ BAD_CMD, "show ports now", -EINVAL, "'show ports' takes no arguments" },
	{ BAD_CMD, "set fwd", -EINVAL, "'set fwd' needs a forwarding mode" },
	{ BAD_CMD, "set fwd bogus", -EINVAL, "bad forwarding mode 'bogus' (expected io, mac, rxonly or txonly)" },
	{ BAD_CMD, "set burst 0", -EINVAL, "bad burst size '0'" },
	{ BAD_CMD, "set burst 513", -EINVAL, "a number from 1 to 512" },
	{ BAD_CMD, "set portlist 3-1", -EINVAL, "bad port list '3-1'" },
	{ BAD_CMD, "set portlist 0,,1", -EINVAL, "bad port list '0,,1'" },
	{ BAD_CMD, "set fwd-queues 16", -EINVAL, "bad queue list '16'" },
	{ BAD_CMD, "set port-topology ring", -EINVAL, "bad topology 'ring'" },
	{ BAD_CMD, "port config all rxq 0", -EINVAL, "bad number of queues '0'" },
	{ BAD_CMD, "port config all rxq 17", -EINVAL, "a number from 1 to 16" },
	{ BAD_CMD, "port config all rxd 32769", -EINVAL, "a number from 1 to 32768" },
	{ BAD_CMD, "port config all mtu 1500", -EINVAL, "unknown word 'mtu'" },
	{ BAD_CMD, "show port stats 0\x01", -EINVAL, "control character 0x01 at column 18" },
	{ BAD_CMD, long_line, -EINVAL, "line too long" },
	{ BAD_CMD, long_attach, -ENAMETOOLONG, "devargs too long" },
	{ BAD_CMD, "set log-level bogus", -EINVAL, "bad log level spec 'bogus'" },
	{ BAD_CMD, "set log-level port:debug,,ipc:info", -EINVAL, "bad log level spec" },
	/* command lines: what the state refuses */
	{ BAD_CMD, "port attach net_null1,bogus=1", -EINVAL, "failed to attach 'net_null1,bogus=1': unknown key 'bogus'" },
	{ BAD_CMD, "port attach net_null0", -EEXIST, "already port 0" },
	{ BAD_CMD, "port detach 0", -EBUSY, "port 0 is started: stop it first" },
	{ BAD_CMD, "port detach 7", -ENODEV, "port 7" },
	{ BAD_CMD, "port close 0", -EBUSY, "port 0 is started: stop it first" },
	{ BAD_CMD, "show port info 9", -ENODEV, "no such port" },
	{ BAD_CMD, "stop", -EALREADY, "packet forwarding not started" },
	/* options */
	{ BAD_OPT, "--mem|5x", -EINVAL, "--mem '5x': expected megabytes from " },
	/* Regression: 4 to 23 passed here and failed at start-up. */
	{ BAD_OPT, "--mem|4", -EINVAL, "(the default packet pool and the port table need " },
	{ BAD_OPT, "--mem|20", -EINVAL, "--mem '20': expected megabytes from " },
	{ BAD_OPT, "--socket-mem|8", -EINVAL, "--socket-mem '8': 8 MB in all, less than the " },
	{ BAD_OPT, "--mem|2", -EINVAL, "--mem '2': expected megabytes" },
	{ BAD_OPT, "--mem| 64", -EINVAL, "--mem ' 64': expected megabytes" },
	{ BAD_OPT, "--timeout|0", -EINVAL, "--timeout '0': expected milliseconds from 1 to 600000" },
	{ BAD_OPT, "--timeout|1\n2", -EINVAL, "--timeout '1\\x0a2'" },
	{ BAD_OPT, "--log-level|verbose", -EINVAL, "--log-level 'verbose': expected LEVEL or TOPIC:LEVEL" },
	{ BAD_OPT, "--log-level|port:debug,,ipc:info", -EINVAL, "--log-level 'port:debug,,ipc:info'" },
	{ BAD_OPT, "--log-level|port:debug|--mem|0", -EINVAL, "--mem '0'" },
	{ BAD_OPT, "--file-prefix|a/b", -EINVAL, "--file-prefix 'a/b': expected 1 to 64 printable characters" },
	{ BAD_OPT, "--file-prefix|..", -EINVAL, "--file-prefix '..'" },
	{ BAD_OPT, "--file-prefix|", -EINVAL, "--file-prefix ''" },
	{ BAD_OPT, long_prefix, -EINVAL, "expected 1 to 64 printable characters" },
	{ BAD_OPT, "--base-virtaddr|0x1001", -EINVAL, "--base-virtaddr '0x1001': expected a page-aligned address" },
	{ BAD_OPT, "--socket-mem|abc", -EINVAL, "--socket-mem 'abc': expected megabytes per NUMA node" },
	{ BAD_OPT, far_node, -EINVAL, "gives memory to a NUMA node this machine does not have" },
	{ BAD_OPT, "--mem|64|--socket-mem|64", -EINVAL, "--mem and --socket-mem exclude each other" },
	{ BAD_OPT, "--no-huge|--huge-1g", -EINVAL, "--no-huge and --huge-1g exclude each other" },
	{ BAD_OPT, "--vdev|net_null0,,x", -EINVAL, "--vdev 'net_null0,,x': empty key=value pair" },
	{ BAD_OPT, "--vdev|", -EINVAL, "--vdev needs a value" },
	{ BAD_OPT, "-a|zz", -EINVAL, "-a 'zz': not a PCI address (expected DDDD:BB:DD.F or BB:DD.F, such as 0000:01:00.0)" },
	{ BAD_OPT, "-b|0000:01:00.9", -EINVAL, "-b '0000:01:00.9': not a PCI address" },
	{ BAD_OPT, "-l|0--1", -EINVAL, "-l '0--1': expected a core list" },
	{ BAD_OPT, "-l|3-1", -EINVAL, "-l '3-1': expected a core list" },
	{ BAD_OPT, "-xi", -EINVAL, "unknown option '-x'" },
	{ BAD_OPT, "--no-huge=1", -EINVAL, "option '--no-huge' takes no value" },
	{ BAD_OPT, "--no-such-option", -EINVAL, "unknown option '--no-such-option'" },
	{ BAD_OPT, "--h", -EINVAL, "option '--h' is ambiguous: --huge-1g, --help" },
	{ BAD_OPT, "--mem", -EINVAL, "option '--mem' needs a value" },
	{ BAD_OPT, "-i|-l", -EINVAL, "option '-l' needs a value" },
	{ BAD_OPT, "stray|--mem|64", -EINVAL, "unexpected argument 'stray'" },
	{ BAD_OPT, "--cmd|", -EINVAL, "--cmd needs a file name" },
	{ BAD_OPT, "-c|", -EINVAL, "-c needs a value" },
	{ BAD_OPT, "--ipc-group|", -EINVAL, "--ipc-group needs a group name" },
	{ BAD_OPT_SEC, "--mem|64", -EINVAL, "option '--mem' is for the primary only" },
	{ BAD_OPT_SEC, "--vdev|net_null0", -EINVAL, "option '--vdev' is for the primary only" },
};

static void long_inputs_make(void)
{
	memset(long_name, 'n', HP_NAME_MAX);
	memcpy(long_name, "net_null", 8);
	memset(long_devargs, 'y', HP_DEVARGS_MAX + 1);
	memcpy(long_devargs, "net_null1,x=", 12);
	strcpy(many_keys, "net_null1");
	for (int i = 0; i <= HP_DEVARGS_MAX_KV; i++)
		snprintf(many_keys + strlen(many_keys),
			 sizeof(many_keys) - strlen(many_keys), ",k%d=1", i);
	snprintf(long_ring, sizeof(long_ring), "net_ring_%040d", 1);
	memset(long_line, 'a', HP_CLI_LINE_MAX);
	snprintf(long_attach, sizeof(long_attach), "port attach net_null1,x=");
	memset(long_attach + strlen(long_attach), 'y',
	       HP_DEVARGS_MAX + 1 - strlen("net_null1,x="));
	snprintf(long_prefix, sizeof(long_prefix), "--file-prefix|");
	memset(long_prefix + strlen(long_prefix), 'p', HP_SHM_PREFIX_MAX + 1);
	strcpy(far_node, "--socket-mem|");
	for (int i = 0; i < 1000; i++)
		strcat(far_node, "0,");
	strcat(far_node, "64");
}

/* ---- what must not change ---- */

/* The log levels of a few topics, one bit per (topic, level). */
static uint64_t log_levels_bits(void)
{
	static const char *const topics[] = { "core", "port", "ipc", "shm",
					      "cli", "fwd" };
	uint64_t bits = 0;
	unsigned b = 0;

	for (size_t t = 0; t < HP_ARRAY_SIZE(topics); t++)
		for (int l = HP_LOG_ERR; l <= HP_LOG_DEBUG; l++, b++)
			if (hp_log_enabled(topics[t], l))
				bits |= 1ull << b;
	return bits;
}

struct snapshot {
	unsigned ports;
	uint16_t used[8];	/* the first used port ids */
	size_t heap_free, heap_used;
	unsigned fds;
	uint64_t log;
	struct hp_fwd_info fwd;
};

static void snapshot_take(struct snapshot *s)
{
	uint16_t id = 0;

	memset(s, 0, sizeof(*s));
	s->ports = hp_port_count();
	for (unsigned i = 0; i < HP_ARRAY_SIZE(s->used); i++) {
		id = hp_port_next(id);
		s->used[i] = id;
		if (id != HP_PORT_INVALID)
			id++;
	}
	hp_shm_heap_stats(hp_core_shm(), &s->heap_free, &s->heap_used);
	s->fds = count_fds();
	s->log = log_levels_bits();
	assert_int_equal(hp_fwd_info_get(&s->fwd), 0);
}

static void snapshot_check(const struct snapshot *a, const struct bad_input *b)
{
	struct snapshot now;

	snapshot_take(&now);
	if (now.ports != a->ports || memcmp(now.used, a->used, sizeof(a->used)) ||
	    now.heap_free != a->heap_free || now.heap_used != a->heap_used ||
	    now.fds != a->fds || now.log != a->log)
		fail_msg("'%.60s' changed the state: ports %u -> %u, heap free %zu -> %zu, used %zu -> %zu, fds %u -> %u, log levels %#" PRIx64 " -> %#" PRIx64,
			 b->in, a->ports, now.ports, a->heap_free, now.heap_free,
			 a->heap_used, now.heap_used, a->fds, now.fds, a->log,
			 now.log);
	assert_int_equal(now.fwd.mode, a->fwd.mode);
	assert_int_equal(now.fwd.burst, a->fwd.burst);
	assert_int_equal(now.fwd.running, a->fwd.running);
	assert_int_equal(now.fwd.topology, a->fwd.topology);
	assert_string_equal(now.fwd.ports, a->fwd.ports);
	assert_string_equal(now.fwd.queues, a->fwd.queues);
}

/* ---- one line ---- */

/* Log lines at notice or worse while an entry runs: the error is returned
 * to the caller, who says it once, so there must be none. */
static atomic_int log_lines;

static void log_count_sink(int level, const char *topic, const char *line,
			   void *arg)
{
	(void)topic;
	(void)arg;
	if (level <= HP_LOG_NOTICE) {
		atomic_fetch_add(&log_lines, 1);
		fprintf(stderr, "unexpected log line: %s\n", line);
	}
}

/* err is one line, not empty, of plain text, and says what it should. */
static void one_line_check(const struct bad_input *b, int r, const char *err)
{
	if (r != b->err || !strstr(err, b->says))
		fail_msg("'%.60s': got %d '%s', expected %d '%s'", b->in, r, err,
			 b->err, b->says);
	assert_true(err[0] != '\0');
	if (getenv("HOTPORT_TEST_VERBOSE"))
		printf("%-40.40s %4d %s\n", b->in, r, err);
	for (const char *c = err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			fail_msg("'%.60s': control character 0x%02x in '%s'",
				 b->in, (unsigned char)*c, err);
}

static void bad_devargs_run(const struct bad_input *b)
{
	char err[512] = "";
	uint16_t id = 77;
	int r = hp_port_attach_msg(b->in, &id, err, sizeof(err));

	one_line_check(b, r, err);
	assert_int_equal(id, 77);
}

/* The command as typed: exactly one line of output, "error: <why>". */
static void bad_cmd_run(const struct bad_input *b)
{
	struct hp_cli_cmd *cmd = malloc(sizeof(*cmd)), *untouched;
	char *out = NULL, err[512] = "";
	struct hp_cli *cli;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int r, rp;

	assert_non_null(f);
	assert_int_equal(hp_cli_create(f, &cli), 0);
	r = hp_cli_exec(cli, b->in);
	hp_cli_destroy(cli);
	fclose(f);
	if (strncmp(out, "error: ", 7) || strchr(out, '\n') != out + len - 1)
		fail_msg("'%.60s': output is not one error line: '%s'", b->in, out);
	out[len - 1] = '\0';
	one_line_check(b, r, out + 7);
	/* What failed in the parser fails there with the same line, and
	 * leaves the command alone. */
	untouched = malloc(sizeof(*untouched));
	memset(untouched, 0x5a, sizeof(*untouched));
	memcpy(cmd, untouched, sizeof(*cmd));
	rp = hp_cli_parse(b->in, cmd, err, sizeof(err));
	if (rp < 0) {
		assert_int_equal(rp, r);
		assert_string_equal(err, out + 7);
		assert_memory_equal(cmd, untouched, sizeof(*cmd));
	}
	free(untouched);
	free(cmd);
	free(out);
}

/* Splits "a|b|c" into argv[1..]; argv[0] is the program. */
static int argv_split(char *s, char **argv, int max)
{
	int argc = 1;

	argv[0] = "hotport-primary";
	for (char *p = s;; p++) {
		if (argc == max)
			fail_msg("too many arguments");
		argv[argc++] = p;
		p = strchr(p, '|');
		if (!p)
			return argc;
		*p = '\0';
	}
}

static void bad_opt_run(const struct bad_input *b)
{
	enum hp_proc_role role = b->kind == BAD_OPT ? HP_ROLE_PRIMARY :
						      HP_ROLE_SECONDARY;
	struct hp_core_opts opts, untouched;
	char *copy = strdup(b->in), *argv[16], *argv0[16], err[512] = "";
	char *good[] = { "hotport-primary", "--mem", "64", NULL };
	int argc = argv_split(copy, argv, 15), r;

	argv[argc] = NULL;
	memcpy(argv0, argv, sizeof(argv));
	memset(&untouched, 0x5a, sizeof(untouched));
	opts = untouched;
	r = hp_core_opts_parse(role, argc, argv, &opts, err, sizeof(err));
	one_line_check(b, r, err);
	assert_memory_equal(&opts, &untouched, sizeof(opts));
	assert_memory_equal(argv, argv0, sizeof(argv)); /* not reordered */
	/* The next parse starts afresh: nothing of this one is left in
	 * getopt (regression: after "-xi" the next parse saw "-i"). */
	assert_int_equal(hp_core_opts_parse(HP_ROLE_PRIMARY, 3, good, &opts,
					    err, sizeof(err)), 0);
	assert_false(opts.interactive);
	assert_int_equal(opts.mem_size, 64u << 20);
	assert_string_equal(opts.prefix, "hotport");
	free(copy);
}

static int setup(void **state)
{
	uint16_t id;

	(void)state;
	hp_log_set_sink(NULL, NULL); /* a failed test may have left its own */
	long_inputs_make();
	if (primary_setup("badin") < 0)
		return -1;
	if (hp_port_attach("net_null0", &id) < 0 || id != 0 ||
	    hp_port_attach("net_ring0", &id) < 0 || id != 1 ||
	    hp_port_start(0) < 0)
		return -1;
	return 0;
}

static void test_bad_input_table(void **state)
{
	struct snapshot before;
	unsigned counts[4] = { 0 };

	(void)state;
	hp_log_set_sink(log_count_sink, NULL);
	snapshot_take(&before);
	for (size_t i = 0; i < HP_ARRAY_SIZE(bad_inputs); i++) {
		const struct bad_input *b = &bad_inputs[i];

		switch (b->kind) {
		case BAD_DEVARGS:
			bad_devargs_run(b);
			break;
		case BAD_CMD:
			bad_cmd_run(b);
			break;
		default:
			bad_opt_run(b);
			break;
		}
		counts[b->kind]++;
		snapshot_check(&before, b);
		hp_log_flush(-1); /* the sink runs on the log's writer thread */
		if (atomic_load(&log_lines))
			fail_msg("'%.60s': logged as well", b->in);
	}
	hp_log_set_sink(NULL, NULL);
	printf("bad inputs: %u devargs, %u commands, %u options, all refused with one line\n",
	       counts[BAD_DEVARGS], counts[BAD_CMD],
	       counts[BAD_OPT] + counts[BAD_OPT_SEC]);
	assert_true(HP_ARRAY_SIZE(bad_inputs) >= 50);
}

/* ---- a peer that sends garbage ---- */

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Garbage number i into buf: random bytes, or a header broken one way at
 * a time (never another protocol version: that is hung up on at once, a
 * path of its own); returns its size (never 0: that reads as a hang-up). */
static size_t garbage_make(uint8_t *buf, unsigned i, uint64_t *rnd)
{
	size_t n = 1 + xorshift(rnd) % 64;
	struct ipc_hdr h;

	for (size_t k = 0; k < IPC_RX_SIZE + 64; k++)
		buf[k] = (uint8_t)xorshift(rnd);
	ipc_hdr_make(buf, IPC_KIND_REQUEST, 100, 1 + i, 0, 0);
	ipc_hdr_decode(buf, IPC_HDR_SIZE, &h);
	switch (i % 9) {
	case 0: /* noise */
		buf[0] = 'J';
		return n;
	case 1: /* length field and size disagree */
		h.len = 5;
		n = IPC_HDR_SIZE + 3;
		break;
	case 2: /* length over the limit */
		h.len = HP_IPC_MAX_PAYLOAD + 1 + (uint32_t)n;
		n = IPC_HDR_SIZE;
		break;
	case 3: /* no such kind */
		h.kind = (uint16_t)(i % 2 ? 0 : 9);
		n = IPC_HDR_SIZE;
		break;
	case 4: /* type 0 */
		h.type = 0;
		n = IPC_HDR_SIZE;
		break;
	case 5: /* header cut short */
		n = 8 + n % (IPC_HDR_SIZE - 8);
		return n;
	case 6: /* a reply nobody asked for */
		h.kind = IPC_KIND_REPLY;
		h.id = 1000000 + i;
		n = IPC_HDR_SIZE;
		break;
	case 7: /* a request without an id */
		h.id = 0;
		n = IPC_HDR_SIZE;
		break;
	default: /* larger than any datagram */
		return IPC_RX_SIZE + 64;
	}
	ipc_hdr_encode(buf, &h);
	return n;
}

/* Sends one datagram, with fd riding along when fd >= 0; -errno. */
static int garbage_send(int sock, const uint8_t *buf, size_t n, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static char garbage_log[16384];
static pthread_mutex_t garbage_lock = PTHREAD_MUTEX_INITIALIZER;

static void garbage_sink(int level, const char *topic, const char *line,
			 void *arg)
{
	(void)level;
	(void)topic;
	(void)arg;
	pthread_mutex_lock(&garbage_lock);
	size_t used = strlen(garbage_log);
	snprintf(garbage_log + used, sizeof(garbage_log) - used, "%s\n", line);
	pthread_mutex_unlock(&garbage_lock);
}

static unsigned garbage_log_count(const char *what)
{
	unsigned n = 0;

	hp_log_flush(-1);
	pthread_mutex_lock(&garbage_lock);
	for (const char *p = garbage_log; (p = strstr(p, what)); p++)
		n++;
	pthread_mutex_unlock(&garbage_lock);
	return n;
}

/* Sends garbage until the primary hangs up; returns how many went out. */
static unsigned garbage_until_hung_up(int sock, int fd)
{
	uint8_t *buf = malloc(IPC_RX_SIZE + 64);
	uint64_t rnd = 0x9e3779b97f4a7c15ull;
	unsigned i;
	char b;

	assert_non_null(buf);
	for (i = 0; i < 8 * HP_IPC_MAX_MALFORMED; i++) {
		size_t n = garbage_make(buf, i, &rnd);
		if (garbage_send(sock, buf, n, i % 3 ? -1 : fd) < 0)
			break;
	}
	free(buf);
	/* Hung up on: the welcome and the refusal, then the end of the
	 * stream, or a reset when the primary closed with garbage still
	 * unread. */
	struct pollfd p = { .fd = sock, .events = POLLIN };
	ssize_t r;
	for (int nb = 0; nb < 3; nb++) {
		assert_int_equal(poll(&p, 1, 5000), 1);
		r = recv(sock, &b, 1, MSG_DONTWAIT);
		if (r <= 0)
			break;
	}
	if (r != 0 && !(r < 0 && errno == ECONNRESET))
		fail_msg("not hung up on: recv gave %zd (%s)", r, strerror(errno));
	return i;
}

/* A peer sending garbage to the real primary is hung up on at the first
 * malformed message (HP_IPC_MAX_MALFORMED), the fds it sent are closed, and the
 * primary at once serves a secondary connected all along and a new one. */
static void test_bad_input_garbage_peer(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct child a = { 0 }, b = { 0 };
	struct snapshot before;
	char buf[256], want[96];
	int sock, p[2];
	unsigned sent;
	int64_t t0;

	(void)state;
	child_start_env(&a, NULL, NULL);
	snapshot_take(&before);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	garbage_log[0] = '\0';
	hp_log_set_sink(garbage_sink, NULL);
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(sock >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/mp.sock",
		 hp_shm_dir(hp_core_shm()));
	assert_int_equal(connect(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	sent = garbage_until_hung_up(sock, p[1]);
	close(sock);
	assert_true(sent >= HP_IPC_MAX_MALFORMED);
	assert_int_equal(garbage_log_count("message dropped"),
			 HP_IPC_MAX_MALFORMED - 1);
	snprintf(want, sizeof(want), ": disconnecting");
	assert_int_equal(garbage_log_count(want), 1);

	/* The next requests are served at once. Regression: the worker
	 * waited a second for the garbage sender to exit, as for a dead
	 * secondary, though it never joined (and lives on). */
	t0 = now_ms();
	assert_string_equal(child_cmd(&a, buf, sizeof(buf), "attach net_null5"), "ok 2");
	child_start_env(&b, NULL, NULL);
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "has 2"), "ok 1");
	assert_string_equal(child_cmd(&b, buf, sizeof(buf), "detach 2"), "ok net_null5");
	if (now_ms() - t0 > 500 * hp_test_slowdown())
		fail_msg("served after %" PRId64 " ms", now_ms() - t0);
	child_stop(&b);
	child_stop(&a);
	hp_log_set_sink(NULL, NULL);
	close(p[0]);
	close(p[1]);
	/* garbage left nothing behind: the fds it sent are closed too */
	child_start_env(&a, NULL, NULL); /* a fresh one, as in the snapshot */
	fds_back_to(before.fds);
	snapshot_check(&before, &(struct bad_input){ .in = "garbage" });
	child_stop(&a);
}

static void test_bad_input_quote(void **state)
{
	char q[HP_LOG_QUOTE_SIZE(8)];

	(void)state;
	assert_string_equal(hp_log_quote(q, sizeof(q), "net_null0", 40), "net_null0");
	assert_string_equal(hp_log_quote(q, sizeof(q), "a\nb\x7f\xff", 40), "a\\x0ab\\x7f\\xff");
	assert_string_equal(hp_log_quote(q, sizeof(q), "abcdefghijk", 8), "abcdefgh...");
	assert_string_equal(hp_log_quote(q, sizeof(q), NULL, 8), "(null)");
	assert_string_equal(hp_log_quote(q, 8, "\n\n", 8), "\\x0a...");
	assert_string_equal(hp_log_quote(q, 6, "\n\n", 8), "...");
	assert_string_equal(hp_log_quote(q, 1, "abc", 8), "");
	assert_int_equal(hp_log_check_levels("port:debug,ipc:info"), 0);
	assert_int_equal(hp_log_check_levels("port:debug,,ipc:info"), -EINVAL);
	assert_int_equal(hp_log_check_levels(","), -EINVAL);
	assert_int_equal(hp_log_check_levels("port:"), -EINVAL);
	assert_int_equal(hp_log_check_levels(":debug"), -EINVAL);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--child"))
		return child_main(argv[2], atoi(argv[3]), NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_input_quote),
		cmocka_unit_test_setup_teardown(test_bad_input_table, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_garbage_peer, setup, primary_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
