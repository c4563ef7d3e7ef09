/* SPDX-License-Identifier: BSD-3-Clause */
/* The port commands: attach, detach, start, stop, close, show and clear,
 * each failure printed as one line with the reason the errno gives. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cli_private.h"
#include "hp_port.h"

/* Every used port id, lowest first (ids stay below HP_PORT_INVALID). */
#define CLI_FOREACH_PORT(id)                                                \
	for ((id) = hp_port_next(0); (id) != HP_PORT_INVALID;               \
	     (id) = hp_port_next((uint16_t)((id) + 1)))

/* What a command's errno means when strerror() would say less; entries
 * for one command come before those for any (HP_CLI_OP_NONE). */
static const struct cli_reason {
	enum hp_cli_op op;
	int err;
	const char *text;
} cli_reasons[] = {
	{ HP_CLI_OP_PORT_ATTACH, EINVAL,
	  "bad devargs (expected a PCI address like 0000:01:00.0 or a "
	  "virtual device like net_null0,size=64)" },
	{ HP_CLI_OP_PORT_ATTACH, ENAMETOOLONG, "devargs too long" },
	{ HP_CLI_OP_PORT_ATTACH, ENODEV, "no driver for this device" },
	{ HP_CLI_OP_PORT_ATTACH, EEXIST,
	  "a port with this name is already attached (see 'show ports')" },
	{ HP_CLI_OP_PORT_ATTACH, ENOSPC, "no free port slot" },
	{ HP_CLI_OP_PORT_ATTACH, ETIMEDOUT,
	  "a process did not answer in time; the attach was undone" },
	{ HP_CLI_OP_PORT_DETACH, ETIMEDOUT,
	  "a process did not answer in time; nothing was freed" },
	{ HP_CLI_OP_PORT_DETACH, ENOTSUP,
	  "its driver cannot be detached; the port stays until the primary exits" },
	{ HP_CLI_OP_CONFIG_RXQ, EINVAL, "more queues than the driver has" },
	{ HP_CLI_OP_CONFIG_TXQ, EINVAL, "more queues than the driver has" },
	{ HP_CLI_OP_NONE, EBUSY,
	  "the port is being attached or detached; try again" },
	{ HP_CLI_OP_NONE, ENODEV, "no such port (see 'show ports')" },
	{ HP_CLI_OP_NONE, ETIMEDOUT, "a process did not answer in time" },
};

/* The commands that act on one port at a time (or all of them). */
static const struct cli_action {
	enum hp_cli_op op;
	const char *verb;		/* "failed to <verb>" */
	int (*fn)(uint16_t port_id);	/* NULL for the show commands */
	const char *done;		/* "Port 0 <done>" */
} cli_actions[] = {
	{ HP_CLI_OP_PORT_START, "start", hp_port_start, "started" },
	{ HP_CLI_OP_PORT_STOP, "stop", hp_port_stop, "stopped" },
	{ HP_CLI_OP_PORT_CLOSE, "close", hp_port_close, "closed" },
	{ HP_CLI_OP_CLEAR_PORT_STATS, "clear stats", hp_port_stats_reset,
	  "stats cleared" },
	{ HP_CLI_OP_SHOW_PORT_INFO, "get info", NULL, NULL },
	{ HP_CLI_OP_SHOW_PORT_STATS, "get stats", NULL, NULL },
};

/* Why op failed on port_id with res, in words (in buf or static). */
static const char *cli_port_reason(enum hp_cli_op op, uint16_t port_id,
				   int res, char *buf, size_t len)
{
	struct hp_port_info info;

	if (port_id == HP_PORT_INVALID || hp_port_info_get(port_id, &info) < 0)
		info.state = HP_PORT_FREE;
	if (res == -EBUSY && info.state != HP_PORT_FREE &&
	    info.admin == HP_PORT_STARTED) {
		snprintf(buf, len,
			 "port %u is started: stop it first ('port stop %u')",
			 port_id, port_id);
		return buf;
	}
	/* Regression: a port a timed-out detach left DETACHING was "no such
	 * port"; the slot is still there, and 'port detach' finishes it. */
	if ((res == -ENODEV || res == -EBUSY) &&
	    info.state == HP_PORT_DETACHING) {
		snprintf(buf, len,
			 "port %u (%s) is detaching (a detach is under way, or one timed out and left it so): 'port detach %u' finishes it",
			 port_id, info.name, port_id);
		return buf;
	}
	if ((res == -ENODEV || res == -EBUSY) &&
	    info.state == HP_PORT_ATTACHING) {
		snprintf(buf, len, "port %u (%s) is being attached; try again",
			 port_id, info.name);
		return buf;
	}
	for (size_t i = 0; i < HP_ARRAY_SIZE(cli_reasons); i++)
		if (cli_reasons[i].err == -res &&
		    (cli_reasons[i].op == op ||
		     cli_reasons[i].op == HP_CLI_OP_NONE))
			return cli_reasons[i].text;
	return strerror(-res);
}

static int cli_port_fail(struct hp_cli *cli, enum hp_cli_op op,
			 const char *verb, uint16_t port_id, int res)
{
	char buf[HP_NAME_MAX + 160];

	return cli_fail(cli, res, "port %u: failed to %s: %s", port_id, verb,
			cli_port_reason(op, port_id, res, buf, sizeof(buf)));
}

static int cli_port_attach(struct hp_cli *cli, const char *devargs)
{
	struct hp_port_info info;
	char buf[128], err[256] = "";
	uint16_t id;
	int r = hp_port_attach_msg(devargs, &id, err, sizeof(err));

	if (r < 0)
		return cli_fail(cli, r, "failed to attach '%s': %s", devargs,
				err[0] ? err :
				cli_port_reason(HP_CLI_OP_PORT_ATTACH,
						HP_PORT_INVALID, r, buf,
						sizeof(buf)));
	/* the device name is the devargs' first item, should the port
	 * already be gone again */
	if (hp_port_info_get(id, &info) == 0)
		fprintf(cli->out, "Port %u attached: %s\n", id, info.name);
	else
		fprintf(cli->out, "Port %u attached: %.*s\n", id,
			(int)strcspn(devargs, ","), devargs);
	return 0;
}

static int cli_port_detach(struct hp_cli *cli, uint16_t port_id)
{
	char name[HP_NAME_MAX] = "", err[256] = "";
	int r = hp_port_detach_msg(port_id, name, sizeof(name), err,
				   sizeof(err));

	if (r < 0 && err[0])
		return cli_fail(cli, r, "port %u: failed to detach: %s",
				port_id, err);
	if (r < 0)
		return cli_port_fail(cli, HP_CLI_OP_PORT_DETACH, "detach",
				     port_id, r);
	fprintf(cli->out, "Port %u detached: %s\n", port_id, name);
	return 0;
}

static int cli_show_ports(struct hp_cli *cli)
{
	struct hp_port_info info;
	unsigned n = 0;
	uint16_t id;

	CLI_FOREACH_PORT(id) {
		/* a port detached since hp_port_next is simply not listed */
		if (hp_port_info_get(id, &info) < 0)
			continue;
		fprintf(cli->out, "%3u  %-12s  %-12s  %-9s  %s\n", id,
			info.name, info.driver, hp_port_state_name(info.state),
			hp_port_admin_name(info.admin));
		n++;
	}
	if (n == 0)
		fputs("No ports attached\n", cli->out);
	return 0;
}

static int cli_show_info(struct hp_cli *cli, uint16_t port_id)
{
	struct hp_port_info info;
	const uint8_t *m = info.mac;
	int r = hp_port_info_get(port_id, &info);

	if (r < 0)
		return r;
	fprintf(cli->out,
		"\n********************* Infos for port %-2u "
		"*********************\n"
		"Device name: %s\nDriver name: %s\nDevargs: %s\n"
		"State: %s\nAdmin state: %s\n"
		"MAC address: %02X:%02X:%02X:%02X:%02X:%02X\n"
		"Link status: %s\nLink speed: %" PRIu32 " Mbps\n"
		"Queues: %u rx, %u tx\n",
		port_id, info.name, info.driver, info.devargs,
		hp_port_state_name(info.state), hp_port_admin_name(info.admin),
		m[0], m[1], m[2], m[3], m[4], m[5],
		info.link_up ? "up" : "down", info.link_speed,
		info.nb_rx_queues, info.nb_tx_queues);
	if (info.socket_id < 0)
		fputs("NUMA socket: unknown\n", cli->out);
	else
		fprintf(cli->out, "NUMA socket: %d\n", info.socket_id);
	fprintf(cli->out, "Generation: %" PRIu32 "\nRequested by: pid %d\n",
		info.generation, (int)info.requester);
	return 0;
}

static int cli_show_stats(struct hp_cli *cli, uint16_t port_id)
{
	struct hp_port_stats st;
	int r = hp_port_stats_get(port_id, &st);

	if (r < 0)
		return r;
	fprintf(cli->out,
		"\n  ######################## NIC statistics for port %-2u "
		"########################\n"
		"  RX-packets: %-10" PRIu64 " RX-missed: %-10" PRIu64
		" RX-bytes:  %" PRIu64 "\n"
		"  RX-errors: %" PRIu64 "\n"
		"  TX-packets: %-10" PRIu64 " TX-dropped: %-9" PRIu64
		" TX-bytes:  %" PRIu64 "\n"
		"  TX-errors: %" PRIu64 "\n",
		port_id, st.ipackets, st.imissed, st.ibytes, st.ierrors,
		st.opackets, st.odropped, st.obytes, st.oerrors);
	/* Per queue, when there is more than one: processes may split them. */
	struct hp_port_info info;
	if (hp_port_info_get(port_id, &info) == 0 &&
	    (info.nb_rx_queues > 1 || info.nb_tx_queues > 1)) {
		unsigned nq = info.nb_rx_queues > info.nb_tx_queues ?
				      info.nb_rx_queues : info.nb_tx_queues;
		for (unsigned q = 0; q < nq && q < HP_PORT_MAX_QUEUES; q++)
			fprintf(cli->out,
				"  Queue %-2u RX-packets: %-10" PRIu64
				" TX-packets: %" PRIu64 "\n",
				q, st.q_ipackets[q], st.q_opackets[q]);
	}
	fputs("  ##############################################"
	      "##############################\n", cli->out);
	return 0;
}

static int cli_port_one(struct hp_cli *cli, const struct cli_action *a,
			uint16_t port_id)
{
	int r;

	if (a->op == HP_CLI_OP_SHOW_PORT_INFO)
		r = cli_show_info(cli, port_id);
	else if (a->op == HP_CLI_OP_SHOW_PORT_STATS)
		r = cli_show_stats(cli, port_id);
	else
		r = a->fn(port_id);
	if (r < 0)
		return cli_port_fail(cli, a->op, a->verb, port_id, r);
	if (a->done)
		fprintf(cli->out, "Port %u %s\n", port_id, a->done);
	return 0;
}

/* Runs a on the port of cmd, or on every port; the first failure's errno
 * after trying each. */
static int cli_port_each(struct hp_cli *cli, const struct cli_action *a,
			 const struct hp_cli_cmd *cmd)
{
	unsigned n = 0;
	int r, res = 0;
	uint16_t id;

	if (!cmd->all)
		return cli_port_one(cli, a, cmd->port_id);
	CLI_FOREACH_PORT(id) {
		r = cli_port_one(cli, a, id);
		if (r < 0 && res == 0)
			res = r;
		n++;
	}
	if (n == 0)
		fputs("No ports attached\n", cli->out);
	return res;
}

/* Applies one "port config all" setting to port_id. */
static int cli_port_config_one(uint16_t port_id, enum hp_cli_op op, unsigned n)
{
	struct hp_port_info info;
	int r = hp_port_info_get(port_id, &info);

	if (r < 0)
		return r;
	switch (op) {
	case HP_CLI_OP_CONFIG_RXQ:
		return hp_port_configure(port_id, (uint16_t)n, info.nb_tx_queues);
	case HP_CLI_OP_CONFIG_TXQ:
		return hp_port_configure(port_id, info.nb_rx_queues, (uint16_t)n);
	case HP_CLI_OP_CONFIG_RXD:
		for (uint16_t q = 0; q < info.nb_rx_queues && r == 0; q++)
			r = hp_port_rx_queue_setup(port_id, q, (uint16_t)n, NULL);
		return r;
	default:
		for (uint16_t q = 0; q < info.nb_tx_queues && r == 0; q++)
			r = hp_port_tx_queue_setup(port_id, q, (uint16_t)n);
		return r;
	}
}

/* port config all rxq|txq|rxd|txd <n>: every port, as testpmd does. */
static int cli_port_config(struct hp_cli *cli, const struct hp_cli_cmd *cmd)
{
	static const char *const what[] = {
		[HP_CLI_OP_CONFIG_RXQ] = "rx queues",
		[HP_CLI_OP_CONFIG_TXQ] = "tx queues",
		[HP_CLI_OP_CONFIG_RXD] = "rx descriptors",
		[HP_CLI_OP_CONFIG_TXD] = "tx descriptors",
	};
	int first = 0;
	uint16_t id;

	CLI_FOREACH_PORT(id) {
		char buf[HP_NAME_MAX + 160];
		int r = cli_port_config_one(id, cmd->op, cmd->num);
		if (r == 0) {
			fprintf(cli->out, "Port %u: %s set to %u\n", id,
				what[cmd->op], cmd->num);
			continue;
		}
		cli_fail(cli, r, "port %u: failed to set %s to %u: %s", id,
			 what[cmd->op], cmd->num,
			 cli_port_reason(cmd->op, id, r, buf, sizeof(buf)));
		if (!first)
			first = r;
	}
	return first;
}

int cli_port_exec(struct hp_cli *cli, const struct hp_cli_cmd *cmd)
{
	switch (cmd->op) {
	case HP_CLI_OP_CONFIG_RXQ:
	case HP_CLI_OP_CONFIG_TXQ:
	case HP_CLI_OP_CONFIG_RXD:
	case HP_CLI_OP_CONFIG_TXD:
		return cli_port_config(cli, cmd);
	case HP_CLI_OP_PORT_ATTACH:
		return cli_port_attach(cli, cmd->arg);
	case HP_CLI_OP_PORT_DETACH:
		return cli_port_detach(cli, cmd->port_id);
	case HP_CLI_OP_SHOW_PORTS:
		return cli_show_ports(cli);
	default:
		break;
	}
	for (size_t i = 0; i < HP_ARRAY_SIZE(cli_actions); i++)
		if (cli_actions[i].op == cmd->op)
			return cli_port_each(cli, &cli_actions[i], cmd);
	return -EINVAL;
}
