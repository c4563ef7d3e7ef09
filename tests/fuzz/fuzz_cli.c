/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the command-language parser (the line and the raw
 * buffer forms) and tab completion, fed any line a user or a script could
 * type. An accepted line names a known command whose arguments are in
 * range; a refused one leaves the command untouched and says why in one
 * printable line. */
#include <errno.h>

#include "cli_private.h"
#include "fuzz_common.h"
#include "hp_devargs.h"
#include "hp_fwd.h"
#include "hp_port.h"


static bool fuzz_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The first non-blank character of line. */
static const char *fuzz_skip_blanks(const char *line)
{
	while (fuzz_blank(*line))
		line++;
	return line;
}

/* No argument at all. */
static void fuzz_no_arg(const struct hp_cli_cmd *cmd)
{
	FUZZ_CHECK(!cmd->all && cmd->port_id == 0 && cmd->num == 0 &&
		   cmd->arg[0] == '\0');
}

/* <port> or <port|all>. */
static void fuzz_port_arg(const struct hp_cli_cmd *cmd, bool all_ok)
{
	FUZZ_CHECK(cmd->num == 0 && cmd->arg[0] == '\0');
	FUZZ_CHECK(cmd->port_id <= HP_CLI_PORT_ID_MAX);
	FUZZ_CHECK(!cmd->all || (all_ok && cmd->port_id == 0));
}

/* One word in arg, no blanks around it, and a number in [min, max]. */
static void fuzz_word_arg(const struct hp_cli_cmd *cmd, unsigned min,
			  unsigned max)
{
	size_t n = strlen(cmd->arg);

	FUZZ_CHECK(n > 0 && strcspn(cmd->arg, " \t") == n);
	FUZZ_CHECK(cmd->port_id == 0);
	FUZZ_CHECK(cmd->num >= min && cmd->num <= max);
}

static void fuzz_cli_accepted(const char *line, const struct hp_cli_cmd *cmd)
{
	uint64_t bits[HP_FWD_BITS_WORDS(HP_MAX_PORTS)];
	const char *first = fuzz_skip_blanks(line);
	size_t n = strlen(cmd->arg);

	FUZZ_CHECK(n < HP_CLI_LINE_MAX);
	switch (cmd->op) {
	case HP_CLI_OP_NONE:
		FUZZ_CHECK(*first == '\0' || *first == '#' || *first == '\r' ||
			   *first == '\n');
		fuzz_no_arg(cmd);
		return;
	case HP_CLI_OP_PORT_ATTACH:
		FUZZ_CHECK(n > 0 && n <= HP_DEVARGS_MAX);
		FUZZ_CHECK(!fuzz_blank(cmd->arg[0]) && !fuzz_blank(cmd->arg[n - 1]));
		FUZZ_CHECK(!cmd->all && cmd->port_id == 0 && cmd->num == 0);
		break;
	case HP_CLI_OP_PORT_DETACH:
		fuzz_port_arg(cmd, false);
		break;
	case HP_CLI_OP_PORT_START:
	case HP_CLI_OP_PORT_STOP:
	case HP_CLI_OP_PORT_CLOSE:
	case HP_CLI_OP_SHOW_PORT_INFO:
	case HP_CLI_OP_SHOW_PORT_STATS:
	case HP_CLI_OP_CLEAR_PORT_STATS:
		fuzz_port_arg(cmd, true);
		break;
	case HP_CLI_OP_SHOW_PORTS:
	case HP_CLI_OP_SHOW_PROCS:
	case HP_CLI_OP_HELP:
	case HP_CLI_OP_QUIT:
	case HP_CLI_OP_START:
	case HP_CLI_OP_STOP:
	case HP_CLI_OP_SHOW_FWD:
	case HP_CLI_OP_SHOW_PCI:
		fuzz_no_arg(cmd);
		break;
	case HP_CLI_OP_SET_LOG_LEVEL:
		fuzz_word_arg(cmd, 0, 0);
		break;
	case HP_CLI_OP_SET_FWD:
		fuzz_word_arg(cmd, 0, HP_FWD_TXONLY);
		FUZZ_CHECK(hp_fwd_mode_parse(cmd->arg) == (int)cmd->num);
		break;
	case HP_CLI_OP_SET_TOPOLOGY:
		fuzz_word_arg(cmd, 0, HP_FWD_TOPO_ONEWAY);
		FUZZ_CHECK(hp_fwd_topology_parse(cmd->arg) == (int)cmd->num);
		break;
	case HP_CLI_OP_SET_BURST:
		fuzz_word_arg(cmd, 1, HP_FWD_BURST_MAX);
		break;
	case HP_CLI_OP_SET_PORTLIST:
		fuzz_word_arg(cmd, 0, 0);
		FUZZ_CHECK(cmd->all == !strcmp(cmd->arg, "all"));
		FUZZ_CHECK(cmd->all ||
			   hp_fwd_list_parse(cmd->arg, HP_MAX_PORTS, bits) == 0);
		break;
	case HP_CLI_OP_SET_FWD_QUEUES:
		fuzz_word_arg(cmd, 0, 0);
		FUZZ_CHECK(hp_fwd_list_parse(cmd->arg, HP_PORT_MAX_QUEUES,
					     bits) == 0);
		break;
	case HP_CLI_OP_CONFIG_RXQ:
	case HP_CLI_OP_CONFIG_TXQ:
		fuzz_word_arg(cmd, 1, HP_PORT_MAX_QUEUES);
		break;
	case HP_CLI_OP_CONFIG_RXD:
	case HP_CLI_OP_CONFIG_TXD:
		fuzz_word_arg(cmd, 1, HP_PORT_MAX_DESC);
		break;
	default:
		/* a new command needs its case here */
		FUZZ_CHECK(!"a known op");
	}
	/* A command line holds no control character but blanks and its
	 * trailing CR/LF. */
	size_t len = cli_line_len(line, strlen(line));
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK(((unsigned char)line[i] >= 0x20 &&
			    (unsigned char)line[i] != 0x7f) ||
			   fuzz_blank(line[i]));
}

/* Completion of the line as typed so far. */
static void fuzz_cli_complete(const char *line)
{
	struct cli_word words[16];
	size_t len = strlen(line), stem = 12345;
	size_t n = cli_complete(line, len, words, HP_ARRAY_SIZE(words), &stem);

	FUZZ_CHECK(n <= HP_ARRAY_SIZE(words) && stem <= len);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(words[i].len > 0 && words[i].len >= stem);
		FUZZ_CHECK(memcmp(words[i].s, line + len - stem, stem) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hp_cli_cmd cmd, cmd2, untouched;
	char *line = fuzz_str(data, size);
	char err[512] = "", err2[512] = "";
	int r, r2;

	memset(&untouched, 0x5a, sizeof(untouched));
	cmd = untouched;
	r = hp_cli_parse(line, &cmd, err, sizeof(err));
	if (r == 0) {
		fuzz_cli_accepted(line, &cmd);
	} else {
		FUZZ_CHECK(r == -EINVAL || r == -ENAMETOOLONG);
		FUZZ_CHECK(fuzz_one_line(err));
		FUZZ_CHECK(memcmp(&cmd, &untouched, sizeof(cmd)) == 0);
	}
	/* The raw form on the bytes themselves (NULs and all) agrees with
	 * the line form when there is no NUL to cut the line. */
	cmd2 = untouched;
	r2 = cli_parse_buf((const char *)data, cli_line_len((const char *)data, size),
			   &cmd2, err2, sizeof(err2));
	FUZZ_CHECK(r2 == 0 || fuzz_one_line(err2));
	if (!memchr(data, '\0', size)) {
		FUZZ_CHECK(r2 == r && strcmp(err2, err) == 0);
		FUZZ_CHECK(r != 0 || (cmd2.op == cmd.op && cmd2.num == cmd.num &&
				      cmd2.all == cmd.all &&
				      cmd2.port_id == cmd.port_id &&
				      !strcmp(cmd2.arg, cmd.arg)));
	}
	FUZZ_CHECK(hp_cli_parse(line, &cmd2, NULL, 0) == r);
	fuzz_cli_complete(line);
	FUZZ_CHECK(fuzz_logged() == 0);
	free(line);
	return 0;
}
