/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the command language: the parser on good and bad lines,
 * completion, and the stream and interactive loops on pipes, with the stop
 * fd. No instance runs: port commands are left to the integration tests. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_private.h"
#include "hp_core.h"
#include "hp_fwd.h"
#include "hp_port.h"


/* Commands the table holds; help prints one line each. */
#define NB_COMMANDS 26

/* An interpreter writing to memory. */
struct mem_cli {
	struct hp_cli *cli;
	FILE *out;
	char *buf;
	size_t len;
};

static void mem_cli_open(struct mem_cli *m)
{
	m->buf = NULL;
	m->out = open_memstream(&m->buf, &m->len);
	assert_non_null(m->out);
	assert_int_equal(hp_cli_create(m->out, &m->cli), 0);
}

static void mem_cli_close(struct mem_cli *m)
{
	hp_cli_destroy(m->cli);
	fclose(m->out);
	free(m->buf);
}

static unsigned count_char(const char *s, char c)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

/* out holds exactly one line, "error: <something>\n". */
static void assert_one_error_line(const char *out)
{
	assert_non_null(out);
	assert_int_equal(strncmp(out, "error: ", 7), 0);
	assert_true(strlen(out) > 8);
	assert_int_equal(count_char(out, '\n'), 1);
	assert_int_equal(out[strlen(out) - 1], '\n');
}

static void test_cli_parse_commands(void **state)
{
	static const struct {
		const char *line;
		enum hp_cli_op op;
		bool all;
		uint16_t port;
		const char *arg;
	} good[] = {
		{ "port attach net_null0", HP_CLI_OP_PORT_ATTACH, false, 0,
		  "net_null0" },
		{ "port attach net_null0,size=64", HP_CLI_OP_PORT_ATTACH,
		  false, 0, "net_null0,size=64" },
		{ "  port\tattach   net_pcap0,rx_pcap=/tmp/a b.pcap,tx_pcap=/x  \r\n",
		  HP_CLI_OP_PORT_ATTACH, false, 0,
		  "net_pcap0,rx_pcap=/tmp/a b.pcap,tx_pcap=/x" },
		{ "port attach 0000:01:00.0", HP_CLI_OP_PORT_ATTACH, false, 0,
		  "0000:01:00.0" },
		{ "port attach #1", HP_CLI_OP_PORT_ATTACH, false, 0, "#1" },
		{ "port detach 0", HP_CLI_OP_PORT_DETACH, false, 0, "" },
		{ "port detach 65534", HP_CLI_OP_PORT_DETACH, false, 65534, "" },
		{ "port detach 007", HP_CLI_OP_PORT_DETACH, false, 7, "" },
		{ "port start 3", HP_CLI_OP_PORT_START, false, 3, "" },
		{ "port start all", HP_CLI_OP_PORT_START, true, 0, "" },
		{ "port stop 12", HP_CLI_OP_PORT_STOP, false, 12, "" },
		{ "port stop all\n", HP_CLI_OP_PORT_STOP, true, 0, "" },
		{ "port close 1", HP_CLI_OP_PORT_CLOSE, false, 1, "" },
		{ "port close all", HP_CLI_OP_PORT_CLOSE, true, 0, "" },
		{ "show ports", HP_CLI_OP_SHOW_PORTS, false, 0, "" },
		{ "show port info 2", HP_CLI_OP_SHOW_PORT_INFO, false, 2, "" },
		{ "show port info all", HP_CLI_OP_SHOW_PORT_INFO, true, 0, "" },
		{ "show port stats 9", HP_CLI_OP_SHOW_PORT_STATS, false, 9, "" },
		{ "show port stats all", HP_CLI_OP_SHOW_PORT_STATS, true, 0, "" },
		{ "clear port stats 4", HP_CLI_OP_CLEAR_PORT_STATS, false, 4,
		  "" },
		{ "clear port stats all", HP_CLI_OP_CLEAR_PORT_STATS, true, 0,
		  "" },
		{ "show procs", HP_CLI_OP_SHOW_PROCS, false, 0, "" },
		{ "show pci", HP_CLI_OP_SHOW_PCI, false, 0, "" },
		{ "set log-level debug", HP_CLI_OP_SET_LOG_LEVEL, false, 0,
		  "debug" },
		{ "set log-level port:debug,ipc:info", HP_CLI_OP_SET_LOG_LEVEL,
		  false, 0, "port:debug,ipc:info" },
		{ "help", HP_CLI_OP_HELP, false, 0, "" },
		{ "\thelp\t", HP_CLI_OP_HELP, false, 0, "" },
		{ "quit", HP_CLI_OP_QUIT, false, 0, "" },
		{ "quit\r\n", HP_CLI_OP_QUIT, false, 0, "" },
		{ "start", HP_CLI_OP_START, false, 0, "" },
		{ " stop ", HP_CLI_OP_STOP, false, 0, "" },
		{ "show fwd", HP_CLI_OP_SHOW_FWD, false, 0, "" },
		{ "set portlist all", HP_CLI_OP_SET_PORTLIST, true, 0, "all" },
		{ "set portlist 0,2-3", HP_CLI_OP_SET_PORTLIST, false, 0,
		  "0,2-3" },
		{ "set portlist 1023", HP_CLI_OP_SET_PORTLIST, false, 0,
		  "1023" },
		{ "set fwd-queues 0", HP_CLI_OP_SET_FWD_QUEUES, false, 0, "0" },
		{ "set fwd-queues 1-3,15", HP_CLI_OP_SET_FWD_QUEUES, false, 0,
		  "1-3,15" },
	};

	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(good); i++) {
		struct hp_cli_cmd cmd;
		char err[256] = "";

		memset(&cmd, 0xa5, sizeof(cmd));
		if (hp_cli_parse(good[i].line, &cmd, err, sizeof(err)) != 0)
			fail_msg("'%s': %s", good[i].line, err);
		assert_int_equal(cmd.op, good[i].op);
		assert_int_equal(cmd.all, good[i].all);
		assert_int_equal(cmd.port_id, good[i].port);
		assert_string_equal(cmd.arg, good[i].arg);
		assert_int_equal(cmd.num, 0);
		assert_string_equal(err, "");
	}
}

/* The commands with a number: set fwd (the mode), set port-topology,
 * set burst and port config. */
static void test_cli_parse_fwd_numbers(void **state)
{
	static const struct {
		const char *line;
		enum hp_cli_op op;
		unsigned num;
		const char *arg;
	} good[] = {
		{ "set fwd io", HP_CLI_OP_SET_FWD, HP_FWD_IO, "io" },
		{ "set fwd mac", HP_CLI_OP_SET_FWD, HP_FWD_MAC, "mac" },
		{ "set  fwd\trxonly ", HP_CLI_OP_SET_FWD, HP_FWD_RXONLY,
		  "rxonly" },
		{ "set fwd txonly\n", HP_CLI_OP_SET_FWD, HP_FWD_TXONLY,
		  "txonly" },
		{ "set port-topology paired", HP_CLI_OP_SET_TOPOLOGY,
		  HP_FWD_TOPO_PAIRED, "paired" },
		{ "set port-topology chained", HP_CLI_OP_SET_TOPOLOGY,
		  HP_FWD_TOPO_CHAINED, "chained" },
		{ " set\tport-topology  loop ", HP_CLI_OP_SET_TOPOLOGY,
		  HP_FWD_TOPO_LOOP, "loop" },
		{ "set port-topology oneway\n", HP_CLI_OP_SET_TOPOLOGY,
		  HP_FWD_TOPO_ONEWAY, "oneway" },
		{ "set burst 1", HP_CLI_OP_SET_BURST, 1, "1" },
		{ "set burst 32", HP_CLI_OP_SET_BURST, 32, "32" },
		{ "set burst 0512", HP_CLI_OP_SET_BURST, 512, "0512" },
		{ "port config all rxq 4", HP_CLI_OP_CONFIG_RXQ, 4, "4" },
		{ "port config all txq 16", HP_CLI_OP_CONFIG_TXQ, 16, "16" },
		{ "port config all rxd 1024", HP_CLI_OP_CONFIG_RXD, 1024, "1024" },
		{ "port config all txd 32768", HP_CLI_OP_CONFIG_TXD, 32768, "32768" },
	};

	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(good); i++) {
		struct hp_cli_cmd cmd;
		char err[256] = "";

		memset(&cmd, 0xa5, sizeof(cmd));
		if (hp_cli_parse(good[i].line, &cmd, err, sizeof(err)) != 0)
			fail_msg("'%s': %s", good[i].line, err);
		assert_int_equal(cmd.op, good[i].op);
		assert_int_equal(cmd.num, good[i].num);
		assert_string_equal(cmd.arg, good[i].arg);
		assert_false(cmd.all);
		assert_int_equal(cmd.port_id, 0);
	}
}

static void test_cli_parse_blank_and_comments(void **state)
{
	static const char *const nothing[] = {
		"", " ", "     ", "\t \t", "\n", "\r\n", "#", "# a comment",
		"   # indented comment", "#port detach 0", "# \x01 anything",
	};

	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(nothing); i++) {
		struct hp_cli_cmd cmd;

		memset(&cmd, 0xa5, sizeof(cmd));
		assert_int_equal(hp_cli_parse(nothing[i], &cmd, NULL, 0), 0);
		assert_int_equal(cmd.op, HP_CLI_OP_NONE);
		assert_false(cmd.all);
		assert_string_equal(cmd.arg, "");
	}
}

/* A line of len bytes: prefix, then c up to len. */
static char *make_line(const char *prefix, char c, size_t len)
{
	char *s = malloc(len + 1);

	assert_non_null(s);
	memset(s, c, len);
	memcpy(s, prefix, strlen(prefix));
	s[len] = '\0';
	return s;
}

static void test_cli_parse_bad_inputs(void **state)
{
	static const struct {
		const char *line;
		int res;
		const char *says;	/* part of the message */
	} bad[] = {
		{ "foo", -EINVAL, "unknown command 'foo'" },
		{ "ports", -EINVAL, "unknown command" },
		{ "begin", -EINVAL, "type 'help'" },
		{ "PORT START 0", -EINVAL, "unknown command 'PORT'" },
		{ "port", -EINVAL,
		  "'port' needs one of: attach, detach, start, stop, close" },
		{ "port foo", -EINVAL, "unknown word 'foo' after 'port'" },
		{ "  port   frobnicate 1", -EINVAL, "'frobnicate'" },
		{ "port attach", -EINVAL, "'port attach' needs devargs" },
		{ "port attach    ", -EINVAL, "needs devargs" },
		{ "port attach \t \t", -EINVAL, "needs devargs" },
		{ "port detach", -EINVAL,
		  "'port detach' needs a port id (see 'show ports')" },
		{ "port detach   ", -EINVAL, "needs a port id" },
		{ "port detach -1", -EINVAL, "bad port id '-1'" },
		{ "port detach 65535", -EINVAL, "0 to 65534" },
		{ "port detach 1x", -EINVAL, "bad port id '1x'" },
		{ "port detach 99999999999", -EINVAL, "bad port id" },
		{ "port detach 00000000000000000065535", -EINVAL, "bad port" },
		{ "port detach all", -EINVAL, "bad port id 'all'" },
		{ "port detach +1", -EINVAL, "bad port id" },
		{ "port detach 0x1", -EINVAL, "bad port id" },
		{ "port detach 1.0", -EINVAL, "bad port id" },
		{ "port detach 1 2", -EINVAL, "unexpected '2'" },
		{ "port start", -EINVAL, "a port id or 'all'" },
		{ "port start x", -EINVAL, "or 'all'" },
		{ "port start ALL", -EINVAL, "bad port id 'ALL'" },
		{ "port start all 1", -EINVAL, "takes one argument" },
		{ "port stop", -EINVAL, "'port stop' needs" },
		{ "port stop 65536", -EINVAL, "bad port id" },
		{ "port close -0", -EINVAL, "bad port id" },
		{ "port close", -EINVAL, "needs" },
		{ "show", -EINVAL,
		  "'show' needs one of: ports, port, procs, pci, fwd" },
		{ "show port", -EINVAL, "'show port' needs one of: info, stats" },
		{ "show  port   foo", -EINVAL,
		  "unknown word 'foo' after 'show port'" },
		{ "show port info", -EINVAL, "needs a port id or 'all'" },
		{ "show port stats", -EINVAL, "needs" },
		{ "show port info 1 2", -EINVAL, "unexpected '2'" },
		{ "show ports 0", -EINVAL, "'show ports' takes no arguments" },
		{ "show procs now", -EINVAL, "takes no arguments" },
		{ "show pci 0000:01:00.0", -EINVAL,
		  "'show pci' takes no arguments" },
		{ "clear", -EINVAL, "'clear' needs one of: port" },
		{ "clear port", -EINVAL, "needs one of: stats" },
		{ "clear port stats", -EINVAL, "needs" },
		{ "clear port stats abc", -EINVAL, "bad port id 'abc'" },
		{ "set", -EINVAL,
		  "'set' needs one of: log-level, fwd, burst, portlist, "
		  "fwd-queues, port-topology" },
		{ "set forward io", -EINVAL, "unknown word 'forward' after 'set'" },
		{ "set fwd", -EINVAL,
		  "'set fwd' needs a forwarding mode: io, mac, rxonly or txonly" },
		{ "set fwd macswap", -EINVAL,
		  "'set fwd': bad forwarding mode 'macswap' (expected io, mac, "
		  "rxonly or txonly)" },
		{ "set fwd IO", -EINVAL, "bad forwarding mode 'IO'" },
		{ "set fwd io mac", -EINVAL, "takes one argument, <mode>" },
		{ "set burst", -EINVAL, "'set burst' needs a burst size" },
		{ "set port-topology", -EINVAL,
		  "'set port-topology' needs a topology: paired, chained, "
		  "loop or oneway" },
		{ "set port-topology ring", -EINVAL,
		  "'set port-topology': bad topology 'ring' (expected paired, "
		  "chained, loop or oneway)" },
		{ "set port-topology Paired", -EINVAL, "bad topology 'Paired'" },
		{ "set port-topology loop x", -EINVAL,
		  "takes one argument, <topology>" },
		{ "port config all rxq 0", -EINVAL, "bad number of queues '0'" },
		{ "port config all txq 17", -EINVAL, "bad number of queues '17'" },
		{ "port config all rxd 32769", -EINVAL, "bad number of descriptors" },
		{ "port config all", -EINVAL, "needs one of: rxq, txq, rxd, txd" },
		{ "port config 0 rxq 4", -EINVAL, "" },
		{ "set burst 0", -EINVAL,
		  "'set burst': bad burst size '0' (expected a number from 1 "
		  "to 512)" },
		{ "set burst 513", -EINVAL, "bad burst size '513'" },
		{ "set burst -1", -EINVAL, "bad burst size" },
		{ "set burst 3x", -EINVAL, "bad burst size '3x'" },
		{ "set burst 99999999999999999999", -EINVAL, "bad burst size" },
		{ "set portlist", -EINVAL,
		  "'set portlist' needs port ids like 0,2-3, or 'all'" },
		{ "set portlist x", -EINVAL,
		  "'set portlist': bad port list 'x' (expected port ids like "
		  "0,2-3 below " },
		{ "set portlist 0,", -EINVAL, "bad port list '0,'" },
		{ "set portlist 3-1", -EINVAL, "bad port list '3-1'" },
		{ "set portlist 1024", -EINVAL, "bad port list '1024'" },
		{ "set portlist ALL", -EINVAL, "bad port list 'ALL'" },
		{ "set portlist all,1", -EINVAL, "bad port list" },
		{ "set portlist 0 1", -EINVAL, "unexpected '1'" },
		{ "set fwd-queues", -EINVAL, "'set fwd-queues' needs queue ids" },
		{ "set fwd-queues 16", -EINVAL,
		  "'set fwd-queues': bad queue list '16' (expected queue ids "
		  "like 0 or 0-1 below 16)" },
		{ "set fwd-queues all", -EINVAL, "bad queue list 'all'" },
		{ "set fwd-queues 0-", -EINVAL, "bad queue list" },
		{ "start now", -EINVAL, "'start' takes no arguments" },
		{ "stop 0", -EINVAL, "'stop' takes no arguments" },
		{ "show fwd all", -EINVAL, "'show fwd' takes no arguments" },
		{ "set log-level", -EINVAL, "needs a level spec" },
		{ "set log-level debug extra", -EINVAL, "unexpected 'extra'" },
		{ "help me", -EINVAL, "'help' takes no arguments" },
		{ "quit now", -EINVAL, "'quit' takes no arguments" },
		{ "port\x01 start 0", -EINVAL, "control character 0x01" },
		{ "help\x1b[A", -EINVAL, "control character 0x1b at column 5" },
		{ "port attach net_null0\x7f", -EINVAL, "0x7f" },
		{ "port attach net_null0,\x02x=1", -EINVAL, "0x02" },
		{ "\x01", -EINVAL, "control character" },
		{ "help\rquit", -EINVAL, "control character 0x0d" },
		{ "port detach 0\n1", -EINVAL, "control character 0x0a" },
		{ "port detach 0\f", -EINVAL, "0x0c" },
		{ "showxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		  -EINVAL, "...'" },
	};

	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		struct hp_cli_cmd cmd, before;
		struct mem_cli m;
		char err[512] = "";
		int r;

		memset(&cmd, 0xa5, sizeof(cmd));
		before = cmd;
		r = hp_cli_parse(bad[i].line, &cmd, err, sizeof(err));
		if (r != bad[i].res || !strstr(err, bad[i].says))
			fail_msg("'%s': %d '%s'", bad[i].line, r, err);
		assert_true(strlen(err) > 0);
		assert_null(strchr(err, '\n'));
		/* ret_cmd is written only on success */
		assert_memory_equal(&cmd, &before, sizeof(cmd));

		mem_cli_open(&m);
		assert_int_equal(hp_cli_exec(m.cli, bad[i].line), bad[i].res);
		assert_one_error_line(m.buf);
		assert_string_equal(m.buf + 7, strcat(err, "\n"));
		mem_cli_close(&m);
	}
}

/* Lines of HP_CLI_LINE_MAX bytes or more are refused whole; devargs over
 * HP_DEVARGS_MAX are too long. */
static void test_cli_parse_long_lines(void **state)
{
	static const struct {
		const char *prefix;
		size_t len;
		int res;
	} lines[] = {
		{ "help", HP_CLI_LINE_MAX - 1, 0 },
		{ "help", HP_CLI_LINE_MAX, -EINVAL },
		{ "help", 5 * 1024, -EINVAL },
		{ "", 5 * 1024, -EINVAL },
		{ "port attach x", 12 + HP_DEVARGS_MAX, 0 },
		{ "port attach x", 13 + HP_DEVARGS_MAX, -ENAMETOOLONG },
		{ "port attach x", HP_CLI_LINE_MAX - 1, -ENAMETOOLONG },
	};

	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(lines); i++) {
		char c = strncmp(lines[i].prefix, "port", 4) ? ' ' : 'x';
		char *line = make_line(lines[i].prefix, c, lines[i].len);
		struct hp_cli_cmd cmd;
		struct mem_cli m;
		char err[256] = "";

		if (!lines[i].prefix[0])
			memset(line, 'a', lines[i].len);
		assert_int_equal(hp_cli_parse(line, &cmd, err, sizeof(err)),
				 lines[i].res);
		if (lines[i].res == 0) {
			free(line);
			continue;
		}
		assert_null(strchr(err, '\n'));
		assert_true(strlen(err) < 100);
		mem_cli_open(&m);
		assert_int_equal(hp_cli_exec(m.cli, line), lines[i].res);
		assert_one_error_line(m.buf);
		mem_cli_close(&m);
		free(line);
	}
}

static void test_cli_parse_bad_arguments(void **state)
{
	struct hp_cli_cmd cmd;
	char err[8];

	(void)state;
	assert_int_equal(hp_cli_parse(NULL, &cmd, NULL, 0), -EINVAL);
	assert_int_equal(hp_cli_parse("help", NULL, err, sizeof(err)),
			 -EINVAL);
	/* a short error buffer is cut, still terminated */
	assert_int_equal(hp_cli_parse("port detach x", &cmd, err,
				      sizeof(err)),
			 -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	/* the internal form refuses NUL bytes */
	assert_int_equal(cli_parse_buf("help\0x", 6, &cmd, err, sizeof(err)),
			 -EINVAL);
}

static void assert_completes(const char *line, const char *want)
{
	struct cli_word words[16];
	size_t stem, n = cli_complete(line, strlen(line), words,
				      HP_ARRAY_SIZE(words), &stem);
	char got[256] = "";

	for (size_t i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got),
			 "%s%.*s", i ? " " : "", (int)words[i].len,
			 words[i].s);
	if (strcmp(got, want))
		fail_msg("'%s' completes to '%s', not '%s'", line, got, want);
}

static void test_cli_complete_words(void **state)
{
	(void)state;
	assert_completes("", "port show clear set start stop help quit");
	assert_completes("p", "port");
	assert_completes("port ", "attach detach start stop close config");
	assert_completes("port st", "start stop");
	assert_completes("  show  ", "ports port procs pci fwd");
	assert_completes("show port", "ports port");
	assert_completes("show port ", "info stats");
	assert_completes("set l", "log-level");
	assert_completes("set f", "fwd fwd-queues");
	assert_completes("set ", "log-level fwd burst portlist fwd-queues "
				 "port-topology");
	assert_completes("set port", "portlist port-topology");
	assert_completes("st", "start stop");
	assert_completes("port attach ", "");
	assert_completes("port detach 0 ", "");
	assert_completes("x", "");
	assert_completes("a b c d e f g", "");
}

static void test_cli_exec_help_and_quit(void **state)
{
	struct mem_cli m;

	(void)state;
	mem_cli_open(&m);
	assert_int_equal(hp_cli_exec(m.cli, "help"), 0);
	assert_int_equal(count_char(m.buf, '\n'), NB_COMMANDS);
	assert_non_null(strstr(m.buf, "  port attach <devargs> "));
	assert_non_null(strstr(m.buf, "  show port stats <port|all> "));
	assert_int_equal(hp_cli_exec(m.cli, "quit"), HP_CLI_QUIT);
	assert_int_equal(hp_cli_exec(m.cli, "# nothing"), 0);
	assert_int_equal(hp_cli_exec(m.cli, ""), 0);
	assert_int_equal(count_char(m.buf, '\n'), NB_COMMANDS);
	assert_int_equal(hp_cli_exec(NULL, "help"), -EINVAL);
	assert_int_equal(hp_cli_exec(m.cli, NULL), -EINVAL);
	mem_cli_close(&m);
	assert_int_equal(hp_cli_create(NULL, &m.cli), -EINVAL);
	hp_cli_destroy(NULL);
}

static void test_cli_exec_set_log_level(void **state)
{
	struct mem_cli m;

	(void)state;
	mem_cli_open(&m);
	assert_int_equal(hp_cli_exec(m.cli, "set log-level cli:debug"), 0);
	assert_string_equal(m.buf, "Log levels set: cli:debug\n");
	assert_int_equal(hp_cli_exec(m.cli, "set log-level notice"), 0);
	mem_cli_close(&m);
	mem_cli_open(&m);
	assert_int_equal(hp_cli_exec(m.cli, "set log-level loud"), -EINVAL);
	assert_one_error_line(m.buf);
	assert_non_null(strstr(m.buf, "'loud'"));
	mem_cli_close(&m);
}

/* Runs the stream loop on input written whole to a pipe. */
static int run_pipe(struct mem_cli *m, const char *input, size_t len)
{
	int fds[2];
	FILE *in;
	int r;

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], input, len), (ssize_t)len);
	close(fds[1]);
	in = fdopen(fds[0], "r");
	assert_non_null(in);
	r = hp_cli_run_stream(m->cli, in);
	fclose(in);
	return r;
}

static void test_cli_stream_comments_blank_quit(void **state)
{
	static const char input[] = "# a script\n"
				    "\n"
				    "   \n"
				    "help\n"
				    "\t# indented\r\n"
				    "quit\n"
				    "bogus after quit\n";
	struct mem_cli m;

	(void)state;
	mem_cli_open(&m);
	assert_int_equal(run_pipe(&m, input, sizeof(input) - 1), 0);
	assert_int_equal(count_char(m.buf, '\n'), NB_COMMANDS);
	assert_null(strstr(m.buf, "error: "));
	mem_cli_close(&m);
}

static void test_cli_stream_goes_on_after_failures(void **state)
{
	/* NUL bytes and an unterminated last line */
	static const char input[] = "bogus\n"
				    "help\n"
				    "port detach 1x\n"
				    "help\0\n"
				    "show port";
	struct mem_cli m;

	(void)state;
	mem_cli_open(&m);
	assert_int_equal(run_pipe(&m, input, sizeof(input) - 1), -EINVAL);
	assert_int_equal(count_char(m.buf, '\n'), NB_COMMANDS + 4);
	assert_non_null(strstr(m.buf, "error: unknown command 'bogus'"));
	assert_non_null(strstr(m.buf, "error: 'port detach': bad port id"));
	assert_non_null(strstr(m.buf, "error: control character 0x00"));
	assert_non_null(strstr(m.buf, "error: 'show port' needs one of"));
	mem_cli_close(&m);
}

/* Lines around the longest the reader's buffer holds, with and without a
 * CR: each longer one gives one error line, then reading goes on. */
static void test_cli_stream_long_lines(void **state)
{
	static const struct {
		size_t len;	/* without newline */
		bool crlf;
		int res;
	} lines[] = {
		{ HP_CLI_LINE_MAX - 2, false, 0 },
		{ HP_CLI_LINE_MAX - 1, false, 0 },
		{ HP_CLI_LINE_MAX - 1, true, 0 },
		{ HP_CLI_LINE_MAX, false, -EINVAL },
		{ HP_CLI_LINE_MAX, true, -EINVAL },
		{ HP_CLI_LINE_MAX + 1, false, -EINVAL },
		{ 2 * HP_CLI_LINE_MAX + 7, false, -EINVAL },
		{ 5 * 1024, true, -EINVAL },
	};

	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(lines); i++) {
		char *line = make_line("help", ' ', lines[i].len);
		char *input;
		struct mem_cli m;
		size_t n;

		assert_true(asprintf(&input, "%s%s\nhelp\n", line,
				     lines[i].crlf ? "\r" : "") > 0);
		n = strlen(input);
		mem_cli_open(&m);
		assert_int_equal(run_pipe(&m, input, n), lines[i].res);
		if (lines[i].res == 0) {
			assert_int_equal(count_char(m.buf, '\n'),
					 2 * NB_COMMANDS);
		} else {
			assert_true(strncmp(m.buf, "error: line too long", 20) ==
				    0);
			assert_int_equal(count_char(m.buf, '\n'),
					 1 + NB_COMMANDS);
		}
		mem_cli_close(&m);
		free(input);
		free(line);
	}
}

static void test_cli_stream_memory(void **state)
{
	static char input[] = "help\nbogus\n";
	struct mem_cli m;
	FILE *in = fmemopen(input, sizeof(input) - 1, "r");

	(void)state;
	assert_non_null(in);
	mem_cli_open(&m);
	assert_int_equal(hp_cli_run_stream(m.cli, in), -EINVAL);
	assert_int_equal(count_char(m.buf, '\n'), NB_COMMANDS + 1);
	assert_int_equal(hp_cli_run_stream(NULL, in), -EINVAL);
	assert_int_equal(hp_cli_run_stream(m.cli, NULL), -EINVAL);
	fclose(in);
	mem_cli_close(&m);
}

struct runner {
	struct hp_cli *cli;
	FILE *in;		/* NULL: interactive */
	int res;
};

static void *runner_main(void *arg)
{
	struct runner *rn = arg;

	rn->res = rn->in ? hp_cli_run_stream(rn->cli, rn->in) :
			   hp_cli_run_interactive(rn->cli, "test> ");
	return NULL;
}

/* Reads fd into buf until it holds want; fails after 10 s. */
static void read_until(int fd, char *buf, size_t size, const char *want)
{
	size_t len = strlen(buf);

	while (!strstr(buf, want)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		assert_int_equal(poll(&pfd, 1, 10000), 1);
		n = read(fd, buf + len, size - 1 - len);
		assert_true(n > 0);
		len += (size_t)n;
		buf[len] = '\0';
	}
}

/* A script feeding commands over time: each runs as soon as its line is
 * there, without waiting for more input. */
static void test_cli_stream_lines_as_they_arrive(void **state)
{
	struct runner rn = { 0 };
	int in[2], out[2];
	char buf[8192] = "";
	FILE *fout;
	pthread_t t;

	(void)state;
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	fout = fdopen(out[1], "w");
	rn.in = fdopen(in[0], "r");
	assert_non_null(fout);
	assert_non_null(rn.in);
	assert_int_equal(hp_cli_create(fout, &rn.cli), 0);
	assert_int_equal(pthread_create(&t, NULL, runner_main, &rn), 0);

	assert_int_equal(write(in[1], "help\nhe", 7), 7);
	read_until(out[0], buf, sizeof(buf), "leave\n");
	assert_int_equal(write(in[1], "lp\n", 3), 3);
	buf[0] = '\0';
	read_until(out[0], buf, sizeof(buf), "leave\n");
	assert_int_equal(write(in[1], "quit\n", 5), 5);

	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(rn.res, 0);
	hp_cli_destroy(rn.cli);
	fclose(fout);
	fclose(rn.in);
	close(in[1]);
	close(out[0]);
}

/* Whether fd has anything to read right now. */
static bool readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) > 0;
}

/* The stop fd ends a loop blocked on input that never comes, and a
 * half-typed line is not run; a stop already pending wins over input. */
static void run_until_stopped(bool interactive)
{
	struct runner rn = { 0 };
	int in[2], out[2], saved = -1, stop = eventfd(0, EFD_CLOEXEC);
	char buf[8192] = "";
	FILE *fout;
	pthread_t t;

	assert_true(stop >= 0);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	fout = fdopen(out[1], "w");
	assert_non_null(fout);
	assert_int_equal(hp_cli_create(fout, &rn.cli), 0);
	hp_cli_set_stop_fd(rn.cli, stop);
	if (interactive) {
		saved = dup(STDIN_FILENO);
		assert_int_equal(dup2(in[0], STDIN_FILENO), STDIN_FILENO);
	} else {
		rn.in = fdopen(in[0], "r");
		assert_non_null(rn.in);
	}
	assert_int_equal(write(in[1], "help\nport att", 13), 13);
	assert_int_equal(pthread_create(&t, NULL, runner_main, &rn), 0);
	read_until(out[0], buf, sizeof(buf), "leave\n");
	assert_int_equal(eventfd_write(stop, 1), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(rn.res, -ECANCELED);
	assert_false(readable(out[0]));

	assert_int_equal(write(in[1], "\nhelp\n", 6), 6);
	runner_main(&rn);
	assert_int_equal(rn.res, -ECANCELED);
	assert_false(readable(out[0]));

	if (interactive) {
		assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
		close(saved);
		close(in[0]);
	} else {
		fclose(rn.in);
	}
	hp_cli_destroy(rn.cli);
	fclose(fout);
	close(out[0]);
	close(in[1]);
	close(stop);
}

static void test_cli_stream_stop_fd(void **state)
{
	(void)state;
	run_until_stopped(false);
}

static void test_cli_interactive_stop_fd(void **state)
{
	(void)state;
	run_until_stopped(true);
}

/* Standard input that is not a terminal: commands run until quit or end
 * of input. */
static void test_cli_interactive_quit_and_eof(void **state)
{
	static const char *const inputs[] = {
		"help\n# c\n\nbogus\nquit\nhelp\n",
		"help\nbogus\n",
	};
	int saved = dup(STDIN_FILENO);

	(void)state;
	assert_true(saved >= 0);
	for (size_t i = 0; i < HP_ARRAY_SIZE(inputs); i++) {
		struct mem_cli m;
		int in[2];

		assert_int_equal(pipe(in), 0);
		assert_int_equal(write(in[1], inputs[i], strlen(inputs[i])),
				 (ssize_t)strlen(inputs[i]));
		close(in[1]);
		assert_int_equal(dup2(in[0], STDIN_FILENO), STDIN_FILENO);
		close(in[0]);
		mem_cli_open(&m);
		assert_int_equal(hp_cli_run_interactive(m.cli, "> "), 0);
		assert_int_equal(count_char(m.buf, '\n'), NB_COMMANDS + 1);
		assert_non_null(strstr(m.buf, "error: unknown command 'bogus'"));
		mem_cli_close(&m);
	}
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
}

/* Another thread writing whole lines to the interpreter's stream, as the
 * apps' port-event callback did. */
#define WHOLE_LINES 20000

static void *whole_events(void *arg)
{
	FILE *f = arg;

	for (int i = 0; i < WHOLE_LINES; i++) {
		fputs("Port 0: net_null4 left this process\n", f);
		if (i % 64 == 0)
			sched_yield();
	}
	return NULL;
}

/* Regression (issue 10, item 6): the "error: " prefix and its message were
 * two writes, and an event line printed from another thread landed
 * between them ("error: Port 0: net_null4 left this process"). */
static void test_cli_error_lines_whole(void **state)
{
	struct mem_cli m;
	pthread_t t;
	unsigned errors = 0, events = 0;

	(void)state;
	mem_cli_open(&m);
	assert_int_equal(pthread_create(&t, NULL, whole_events, m.out), 0);
	for (int i = 0; i < WHOLE_LINES; i++)
		assert_int_equal(hp_cli_exec(m.cli, "bogus"), -EINVAL);
	pthread_join(t, NULL);
	fflush(m.out);
	for (char *line = m.buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		if (!strcmp(line, "Port 0: net_null4 left this process"))
			events++;
		else if (!strcmp(line, "error: unknown command 'bogus' (type 'help' for the list)"))
			errors++;
		else
			fail_msg("a line cut by another: '%s'", line);
	}
	assert_int_equal(errors, WHOLE_LINES);
	assert_int_equal(events, WHOLE_LINES);
	mem_cli_close(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_parse_commands),
		cmocka_unit_test(test_cli_parse_blank_and_comments),
		cmocka_unit_test(test_cli_parse_bad_inputs),
		cmocka_unit_test(test_cli_parse_long_lines),
		cmocka_unit_test(test_cli_parse_bad_arguments),
		cmocka_unit_test(test_cli_parse_fwd_numbers),
		cmocka_unit_test(test_cli_complete_words),
		cmocka_unit_test(test_cli_exec_help_and_quit),
		cmocka_unit_test(test_cli_exec_set_log_level),
		cmocka_unit_test(test_cli_stream_comments_blank_quit),
		cmocka_unit_test(test_cli_stream_goes_on_after_failures),
		cmocka_unit_test(test_cli_stream_long_lines),
		cmocka_unit_test(test_cli_stream_memory),
		cmocka_unit_test(test_cli_stream_lines_as_they_arrive),
		cmocka_unit_test(test_cli_stream_stop_fd),
		cmocka_unit_test(test_cli_interactive_stop_fd),
		cmocka_unit_test(test_cli_interactive_quit_and_eof),
		cmocka_unit_test(test_cli_error_lines_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
