/* SPDX-License-Identifier: BSD-3-Clause */
/* The command table, and the pure parser, help and completion that read it.
 *
 * A line is words separated by blanks (spaces and tabs); its trailing CR
 * and LF are not part of it, and elsewhere they are control characters. Each table
 * entry is the command's words and the kind of argument that follows:
 * none, a port id, a port id or "all", one word (a level spec, a
 * forwarding mode, a burst size, a list of ports or queues), or the rest
 * of the line (devargs, which may hold commas, '=', '/' and even blanks).
 * Words with a value (port ids, modes, sizes, lists) are checked here, so
 * the commands that run them fail only for what the state says. The parser
 * takes the entry whose words the line starts with; when none fits, the
 * entries sharing the longest run of leading words name what may come
 * next, and that goes into the one-line error. */
#include <errno.h>
#include <string.h>

#include "cli_private.h"
#include "hp_log.h"
#include "hp_fwd.h"
#include "hp_port.h"

/* Longest command (4 words), its argument, one word too many. */
#define CLI_TOKS_MAX 6
/* Most distinct words that may follow a prefix (after "port": 5). */
#define CLI_NEXT_MAX 16
/* Longest user word quoted whole in a message. */
#define CLI_QUOTE_MAX 40
/* A number macro as a string. */
#define CLI_STR_(x) #x
#define CLI_STR(x) CLI_STR_(x)

/* Quotes a struct cli_word in a message, cut at CLI_QUOTE_MAX bytes. */
#define CLI_Q "'%.*s%s'"
#define CLI_QA(w)                                                           \
	(int)((w).len > CLI_QUOTE_MAX ? CLI_QUOTE_MAX : (w).len), (w).s,    \
		(w).len > CLI_QUOTE_MAX ? "..." : ""

enum cli_arg {
	CLI_ARG_NONE,
	CLI_ARG_PORT,		/* a port id */
	CLI_ARG_PORTS,		/* a port id or "all" */
	CLI_ARG_DEVARGS,	/* the rest of the line */
	CLI_ARG_SPEC,		/* one word: log levels */
	CLI_ARG_MODE,		/* a forwarding mode */
	CLI_ARG_BURST,		/* a burst size */
	CLI_ARG_PORTLIST,	/* a list of port ids, or "all" */
	CLI_ARG_QUEUES,		/* a list of queue ids */
	CLI_ARG_NBQ,		/* a number of queues */
	CLI_ARG_NBDESC,		/* a number of descriptors */
	CLI_ARG_TOPOLOGY,	/* a port topology */
};

/* The mode names, for help and messages. */
#define CLI_MODES "io, mac, rxonly or txonly"
/* The topology names, for help and messages. */
#define CLI_TOPOLOGIES "paired, chained, loop or oneway"

static const struct cli_arg_kind {
	const char *usage;	/* in help and messages */
	const char *needs;	/* what a missing argument should be */
	const char *what;	/* names a bad value: "bad <what> 'x'" */
	const char *expect;	/* what a value should look like */
} cli_args[] = {
	[CLI_ARG_NONE] = { "", "", "", "" },
	[CLI_ARG_PORT] = { "<port>", "a port id (see 'show ports')",
			   "port id", "a number from 0 to 65534" },
	[CLI_ARG_PORTS] = { "<port|all>",
			    "a port id or 'all' (see 'show ports')",
			    "port id", "a number from 0 to 65534, or 'all'" },
	[CLI_ARG_DEVARGS] = { "<devargs>",
			      "devargs: a virtual device like "
			      "'net_null0,size=64' or a PCI address like "
			      "'0000:01:00.0'", "", "" },
	[CLI_ARG_SPEC] = { "<spec>",
			   "a level spec: LEVEL or TOPIC:LEVEL[,...] with "
			   "LEVEL one of err, warning, notice, info, debug",
			   "", "" },
	[CLI_ARG_MODE] = { "<mode>", "a forwarding mode: " CLI_MODES,
			   "forwarding mode", CLI_MODES },
	[CLI_ARG_BURST] = { "<n>", "a burst size (packets)", "burst size",
			    "a number from 1 to " CLI_STR(HP_FWD_BURST_MAX) },
	[CLI_ARG_PORTLIST] = { "<list|all>",
			       "port ids like 0,2-3, or 'all'", "port list",
			       "port ids like 0,2-3 below " CLI_STR(HP_MAX_PORTS)
			       ", or 'all'" },
	[CLI_ARG_QUEUES] = { "<list>", "queue ids like 0 or 0-1",
			     "queue list",
			     "queue ids like 0 or 0-1 below "
			     CLI_STR(HP_PORT_MAX_QUEUES) },
	[CLI_ARG_NBQ] = { "<n>", "a number of queues", "number of queues",
			  "a number from 1 to " CLI_STR(HP_PORT_MAX_QUEUES) },
	[CLI_ARG_NBDESC] = { "<n>", "a number of descriptors",
			     "number of descriptors",
			     "a number from 1 to " CLI_STR(HP_PORT_MAX_DESC) },
	[CLI_ARG_TOPOLOGY] = { "<topology>", "a topology: " CLI_TOPOLOGIES,
			       "topology", CLI_TOPOLOGIES },
};

static const struct cli_def {
	const char *words;	/* single spaces between words */
	enum hp_cli_op op;
	enum cli_arg arg;
	const char *help;
} cli_defs[] = {
	{ "port attach", HP_CLI_OP_PORT_ATTACH, CLI_ARG_DEVARGS,
	  "attach a device: PCI address or virtual device (net_null0,size=64)" },
	{ "port detach", HP_CLI_OP_PORT_DETACH, CLI_ARG_PORT,
	  "detach a stopped port" },
	{ "port start", HP_CLI_OP_PORT_START, CLI_ARG_PORTS,
	  "start a port, or every port" },
	{ "port stop", HP_CLI_OP_PORT_STOP, CLI_ARG_PORTS,
	  "stop a port, or every port" },
	{ "port close", HP_CLI_OP_PORT_CLOSE, CLI_ARG_PORTS,
	  "close a stopped port, or every port" },
	{ "port config all rxq", HP_CLI_OP_CONFIG_RXQ, CLI_ARG_NBQ,
	  "set the number of rx queues of every stopped port" },
	{ "port config all txq", HP_CLI_OP_CONFIG_TXQ, CLI_ARG_NBQ,
	  "set the number of tx queues of every stopped port" },
	{ "port config all rxd", HP_CLI_OP_CONFIG_RXD, CLI_ARG_NBDESC,
	  "set the ring size of every rx queue of every stopped port" },
	{ "port config all txd", HP_CLI_OP_CONFIG_TXD, CLI_ARG_NBDESC,
	  "set the ring size of every tx queue of every stopped port" },
	{ "show ports", HP_CLI_OP_SHOW_PORTS, CLI_ARG_NONE,
	  "list ports: id, name, driver, state, admin state" },
	{ "show port info", HP_CLI_OP_SHOW_PORT_INFO, CLI_ARG_PORTS,
	  "show a port's device, state, MAC, link, queues and owner" },
	{ "show port stats", HP_CLI_OP_SHOW_PORT_STATS, CLI_ARG_PORTS,
	  "show a port's packet, byte and error counters" },
	{ "clear port stats", HP_CLI_OP_CLEAR_PORT_STATS, CLI_ARG_PORTS,
	  "zero a port's counters" },
	{ "show procs", HP_CLI_OP_SHOW_PROCS, CLI_ARG_NONE,
	  "list the primary and every secondary, with pids" },
	{ "show pci", HP_CLI_OP_SHOW_PCI, CLI_ARG_NONE,
	  "scan the PCI bus and list its devices, and which -a/-b let in" },
	{ "set log-level", HP_CLI_OP_SET_LOG_LEVEL, CLI_ARG_SPEC,
	  "set log levels: LEVEL or TOPIC:LEVEL[,...] (port:debug)" },
	{ "set fwd", HP_CLI_OP_SET_FWD, CLI_ARG_MODE,
	  "set the forwarding mode: " CLI_MODES },
	{ "set burst", HP_CLI_OP_SET_BURST, CLI_ARG_BURST,
	  "set the packets per burst (1 to " CLI_STR(HP_FWD_BURST_MAX) ")" },
	{ "set portlist", HP_CLI_OP_SET_PORTLIST, CLI_ARG_PORTLIST,
	  "choose the ports to forward; 'all' follows hotplug" },
	{ "set fwd-queues", HP_CLI_OP_SET_FWD_QUEUES, CLI_ARG_QUEUES,
	  "choose the queues this process forwards on each port" },
	{ "set port-topology", HP_CLI_OP_SET_TOPOLOGY, CLI_ARG_TOPOLOGY,
	  "choose which port forwards to which: " CLI_TOPOLOGIES },
	{ "start", HP_CLI_OP_START, CLI_ARG_NONE,
	  "start packet forwarding" },
	{ "stop", HP_CLI_OP_STOP, CLI_ARG_NONE,
	  "stop packet forwarding and show its statistics" },
	{ "show fwd", HP_CLI_OP_SHOW_FWD, CLI_ARG_NONE,
	  "show the forwarding set-up and whether it runs" },
	{ "help", HP_CLI_OP_HELP, CLI_ARG_NONE, "list the commands" },
	{ "quit", HP_CLI_OP_QUIT, CLI_ARG_NONE, "leave" },
};

static bool cli_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool cli_word_eq(struct cli_word a, struct cli_word b)
{
	return a.len == b.len && !memcmp(a.s, b.s, a.len);
}

/* Splits buf[0..len) into at most max words; returns how many it kept. */
static size_t cli_split(const char *buf, size_t len, struct cli_word *toks,
			size_t max)
{
	size_t n = 0, i = 0;

	while (n < max) {
		while (i < len && cli_is_blank(buf[i]))
			i++;
		if (i == len)
			break;
		toks[n].s = buf + i;
		while (i < len && !cli_is_blank(buf[i]))
			i++;
		toks[n].len = (size_t)(buf + i - toks[n].s);
		n++;
	}
	return n;
}

/* Word k of a table entry; len 0 past its last word. */
static struct cli_word cli_def_word(const struct cli_def *def, size_t k)
{
	const char *p = def->words;

	for (; k > 0 && *p; k--) {
		p += strcspn(p, " ");
		p += *p == ' ';
	}
	return (struct cli_word){ p, strcspn(p, " ") };
}

/* How many leading words of def equal toks; whether that is all of them. */
static size_t cli_def_match(const struct cli_def *def,
			    const struct cli_word *toks, size_t ntok,
			    bool *ret_full)
{
	struct cli_word w;
	size_t k;

	for (k = 0; (w = cli_def_word(def, k)).len > 0; k++) {
		if (k == ntok || !cli_word_eq(w, toks[k])) {
			*ret_full = false;
			return k;
		}
	}
	*ret_full = true;
	return k;
}

/* The distinct words that follow toks[0..ntok) in some entry and start
 * with stem; returns how many it wrote (at most max). */
static size_t cli_next_words(const struct cli_word *toks, size_t ntok,
			     struct cli_word stem, struct cli_word *ret_words,
			     size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < HP_ARRAY_SIZE(cli_defs); i++) {
		struct cli_word w = cli_def_word(&cli_defs[i], ntok);
		bool full, seen = false;

		if (cli_def_match(&cli_defs[i], toks, ntok, &full) != ntok ||
		    full || w.len < stem.len || memcmp(w.s, stem.s, stem.len))
			continue;
		for (size_t j = 0; j < n; j++)
			seen |= cli_word_eq(ret_words[j], w);
		if (!seen && n < max)
			ret_words[n++] = w;
	}
	return n;
}

/* Explains why toks fit no entry although their first k words (k > 0)
 * start near's; returns -EINVAL. */
static int cli_explain(const struct cli_def *near, const struct cli_word *toks,
		       size_t ntok, size_t k, char *err, size_t errlen)
{
	struct cli_word next[CLI_NEXT_MAX];
	struct cli_word last = cli_def_word(near, k - 1);
	/* near's first k words, single-spaced, unlike the user's perhaps */
	int plen = (int)(last.s + last.len - near->words);
	size_t n = cli_next_words(toks, k, (struct cli_word){ "", 0 }, next,
				  HP_ARRAY_SIZE(next));
	char list[256] = "";
	size_t off = 0;

	for (size_t i = 0; i < n && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off,
					"%s%.*s", i ? ", " : "",
					(int)next[i].len, next[i].s);
	if (k == ntok)
		return hp_err_set(err, errlen, -EINVAL, "'%.*s' needs one of: %s",
				  plen, near->words, list);
	return hp_err_set(err, errlen, -EINVAL,
			  "unknown word " CLI_Q " after '%.*s' (expected one of: %s)",
			  CLI_QA(toks[k]), plen, near->words, list);
}

/* The entry the words in toks name, and how many words that took. */
static const struct cli_def *cli_lookup(const struct cli_word *toks,
					size_t ntok, size_t *ret_nwords,
					char *err, size_t errlen)
{
	const struct cli_def *near = NULL;
	size_t best = 0;

	for (size_t i = 0; i < HP_ARRAY_SIZE(cli_defs); i++) {
		bool full;
		size_t k = cli_def_match(&cli_defs[i], toks, ntok, &full);

		if (full) {
			*ret_nwords = k;
			return &cli_defs[i];
		}
		if (k > best) {
			best = k;
			near = &cli_defs[i];
		}
	}
	if (!near)
		hp_err_set(err, errlen, -EINVAL,
			   "unknown command " CLI_Q " (type 'help' for the list)",
			   CLI_QA(toks[0]));
	else
		cli_explain(near, toks, ntok, best, err, errlen);
	return NULL;
}

/* Decimal, no sign, from min to max. */
static bool cli_number(struct cli_word w, unsigned min, unsigned max,
		       unsigned *ret_n)
{
	unsigned long v = 0;

	if (w.len == 0)
		return false;
	for (size_t i = 0; i < w.len; i++) {
		if (w.s[i] < '0' || w.s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(w.s[i] - '0');
		if (v > max)
			return false;
	}
	if (v < min)
		return false;
	*ret_n = (unsigned)v;
	return true;
}

/* Checks the word w of an argument of kind (in cmd->arg already, but for
 * port ids); sets cmd->port_id, cmd->num or cmd->all from it. */
static bool cli_value(enum cli_arg kind, struct cli_word w,
		      struct hp_cli_cmd *cmd)
{
	uint64_t bits[HP_FWD_BITS_WORDS(HP_MAX_PORTS)];
	unsigned n;
	int r;

	switch (kind) {
	case CLI_ARG_PORT:
	case CLI_ARG_PORTS:
		if (!cli_number(w, 0, HP_CLI_PORT_ID_MAX, &n))
			return false;
		cmd->port_id = (uint16_t)n;
		return true;
	case CLI_ARG_MODE:
		r = hp_fwd_mode_parse(cmd->arg);
		cmd->num = r < 0 ? 0 : (unsigned)r;
		return r >= 0;
	case CLI_ARG_TOPOLOGY:
		r = hp_fwd_topology_parse(cmd->arg);
		cmd->num = r < 0 ? 0 : (unsigned)r;
		return r >= 0;
	case CLI_ARG_BURST:
		return cli_number(w, 1, HP_FWD_BURST_MAX, &cmd->num);
	case CLI_ARG_PORTLIST:
		cmd->all = !strcmp(cmd->arg, "all");
		return cmd->all ||
		       hp_fwd_list_parse(cmd->arg, HP_MAX_PORTS, bits) == 0;
	case CLI_ARG_QUEUES:
		return hp_fwd_list_parse(cmd->arg, HP_PORT_MAX_QUEUES, bits) == 0;
	case CLI_ARG_NBQ:
		return cli_number(w, 1, HP_PORT_MAX_QUEUES, &cmd->num);
	case CLI_ARG_NBDESC:
		return cli_number(w, 1, HP_PORT_MAX_DESC, &cmd->num);
	default:
		return true;
	}
}

static int cli_check_chars(const char *buf, size_t len, char *err,
			   size_t errlen)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if ((c < 0x20 && !cli_is_blank((char)c)) || c == 0x7f)
			return hp_err_set(err, errlen, -EINVAL,
					  "control character 0x%02x at column %zu "
					  "(commands are plain text)",
					  c, i + 1);
	}
	return 0;
}

/* The argument of def in args[0..nargs), which start at args[0].s in
 * buf[0..len); writes the parts of the command the argument sets. */
static int cli_parse_arg(const struct cli_def *def, const char *buf,
			 size_t len, const struct cli_word *args, size_t nargs,
			 struct hp_cli_cmd *cmd, char *err, size_t errlen)
{
	const struct cli_arg_kind *kind = &cli_args[def->arg];
	struct cli_word arg;

	if (def->arg == CLI_ARG_NONE && nargs > 0)
		return hp_err_set(err, errlen, -EINVAL,
				  "'%s' takes no arguments (unexpected " CLI_Q ")",
				  def->words, CLI_QA(args[0]));
	if (def->arg == CLI_ARG_NONE)
		return 0;
	if (nargs == 0)
		return hp_err_set(err, errlen, -EINVAL, "'%s' needs %s",
				  def->words, kind->needs);
	arg = args[0];
	if (def->arg == CLI_ARG_DEVARGS) {
		arg.len = (size_t)(buf + len - arg.s);
		while (cli_is_blank(arg.s[arg.len - 1]))
			arg.len--;
		if (arg.len > HP_DEVARGS_MAX)
			return hp_err_set(err, errlen, -ENAMETOOLONG,
					  "'%s': devargs too long (%zu characters; "
					  "at most %d)",
					  def->words, arg.len, HP_DEVARGS_MAX);
	} else if (nargs > 1) {
		return hp_err_set(err, errlen, -EINVAL,
				  "'%s' takes one argument, %s (unexpected " CLI_Q
				  ")",
				  def->words, kind->usage, CLI_QA(args[1]));
	}
	if (def->arg == CLI_ARG_PORTS && cli_word_eq(arg, (struct cli_word){
							      "all", 3 })) {
		cmd->all = true;
		return 0;
	}
	if (def->arg != CLI_ARG_PORT && def->arg != CLI_ARG_PORTS) {
		memcpy(cmd->arg, arg.s, arg.len);
		cmd->arg[arg.len] = '\0';
	}
	if (!cli_value(def->arg, arg, cmd))
		return hp_err_set(err, errlen, -EINVAL,
				  "'%s': bad %s " CLI_Q " (expected %s)",
				  def->words, kind->what, CLI_QA(arg),
				  kind->expect);
	return 0;
}

int cli_parse_buf(const char *buf, size_t len, struct hp_cli_cmd *ret_cmd,
		  char *err, size_t errlen)
{
	/* ret_cmd is written only on success: parse into cmd first */
	struct hp_cli_cmd cmd = { .op = HP_CLI_OP_NONE };
	struct cli_word toks[CLI_TOKS_MAX];
	const struct cli_def *def;
	size_t ntok, nwords;
	int r;

	if (len >= HP_CLI_LINE_MAX)
		return hp_err_set(err, errlen, -EINVAL,
				  "line too long (%zu bytes; at most %d)", len,
				  HP_CLI_LINE_MAX - 1);
	ntok = cli_split(buf, len, toks, HP_ARRAY_SIZE(toks));
	if (ntok > 0 && toks[0].s[0] != '#') {
		r = cli_check_chars(buf, len, err, errlen);
		if (r < 0)
			return r;
		def = cli_lookup(toks, ntok, &nwords, err, errlen);
		if (!def)
			return -EINVAL;
		cmd.op = def->op;
		r = cli_parse_arg(def, buf, len, toks + nwords, ntok - nwords,
				  &cmd, err, errlen);
		if (r < 0)
			return r;
	}
	ret_cmd->op = cmd.op;
	ret_cmd->all = cmd.all;
	ret_cmd->port_id = cmd.port_id;
	ret_cmd->num = cmd.num;
	strcpy(ret_cmd->arg, cmd.arg);
	return 0;
}

int hp_cli_parse(const char *line, struct hp_cli_cmd *ret_cmd, char *err,
		 size_t errlen)
{
	if (!line || !ret_cmd)
		return hp_err_set(err, errlen, -EINVAL, "no command line");
	return cli_parse_buf(line, cli_line_len(line, strlen(line)), ret_cmd,
			     err, errlen);
}

size_t cli_line_len(const char *buf, size_t len)
{
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	return len;
}

void cli_help_print(FILE *out)
{
	for (size_t i = 0; i < HP_ARRAY_SIZE(cli_defs); i++) {
		const struct cli_def *def = &cli_defs[i];
		const char *usage = cli_args[def->arg].usage;
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "%s%s%s", def->words,
			 *usage ? " " : "", usage);
		fprintf(out, "  %-28s %s\n", cmd, def->help);
	}
}

size_t cli_complete(const char *line, size_t len, struct cli_word *ret_words,
		    size_t max, size_t *ret_stem_len)
{
	struct cli_word toks[CLI_TOKS_MAX];
	struct cli_word stem = { line + len, 0 };
	size_t ntok = cli_split(line, len, toks, HP_ARRAY_SIZE(toks));

	*ret_stem_len = 0;
	if (ntok == HP_ARRAY_SIZE(toks))
		return 0;
	if (ntok > 0 && !cli_is_blank(line[len - 1]))
		stem = toks[--ntok];
	*ret_stem_len = stem.len;
	return cli_next_words(toks, ntok, stem, ret_words, max);
}
