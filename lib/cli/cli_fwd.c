/* SPDX-License-Identifier: BSD-3-Clause */
/* The forwarding commands: set fwd|burst|portlist|fwd-queues|
 * port-topology, start, stop (with testpmd's forward statistics) and
 * show fwd. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cli_private.h"
#include "hp_fwd.h"
#include "hp_port.h"

/* Why a forwarding call failed with res, in words. */
static const char *cli_fwd_reason(int res)
{
	switch (res) {
	case -EBUSY:
		return "forwarding runs: 'stop' it first";
	case -ENOENT:
		return "no packet pool to allocate from";
	case -ERANGE:
		return "out of range";
	default:
		return strerror(-res);
	}
}

static int cli_fwd_set(struct hp_cli *cli, const struct hp_cli_cmd *cmd)
{
	const char *what = "";
	int r = -EINVAL;

	switch (cmd->op) {
	case HP_CLI_OP_SET_FWD:
		what = "set the forwarding mode";
		r = hp_fwd_set_mode((enum hp_fwd_mode)cmd->num);
		if (r == 0)
			fprintf(cli->out, "Set %s packet forwarding mode\n",
				hp_fwd_mode_name((enum hp_fwd_mode)cmd->num));
		break;
	case HP_CLI_OP_SET_BURST:
		what = "set the burst size";
		r = hp_fwd_set_burst(cmd->num);
		if (r == 0)
			fprintf(cli->out, "Burst size: %u\n", cmd->num);
		break;
	case HP_CLI_OP_SET_PORTLIST:
		what = "choose the ports";
		r = hp_fwd_set_ports(cmd->all ? NULL : cmd->arg);
		if (r == 0)
			fprintf(cli->out, "Forwarding ports: %s\n", cmd->arg);
		break;
	case HP_CLI_OP_SET_FWD_QUEUES:
		what = "choose the queues";
		r = hp_fwd_set_queues(cmd->arg);
		if (r == 0)
			fprintf(cli->out, "Forwarding queues: %s\n", cmd->arg);
		break;
	case HP_CLI_OP_SET_TOPOLOGY:
		what = "set the port topology";
		r = hp_fwd_set_topology((enum hp_fwd_topology)cmd->num);
		if (r == 0)
			fprintf(cli->out, "Port topology: %s\n", cmd->arg);
		break;
	default:
		break;
	}
	if (r < 0)
		return cli_fail(cli, r, "failed to %s: %s", what,
				cli_fwd_reason(r));
	return 0;
}

/* Ports named in the refusal of start; more are counted. */
#define CLI_FWD_STOPPED_MAX 8

/* testpmd's "Not all ports were started", saying which and what to type:
 * forwarding on a stopped port moves nothing, silently. */
static int cli_fwd_stopped(struct hp_cli *cli)
{
	uint16_t ids[CLI_FWD_STOPPED_MAX];
	char list[CLI_FWD_STOPPED_MAX * (HP_NAME_MAX + 16) + 32];
	size_t len = 0;
	int n = hp_fwd_ports_stopped(ids, CLI_FWD_STOPPED_MAX);

	if (n <= 0)
		return 0;
	for (int i = 0; i < n && i < CLI_FWD_STOPPED_MAX; i++) {
		struct hp_port_info info = { 0 };

		hp_port_info_get(ids[i], &info);
		len += (size_t)snprintf(list + len, sizeof(list) - len,
					"%s%u (%s)", i ? ", " : "", ids[i],
					info.name);
	}
	if (n > CLI_FWD_STOPPED_MAX)
		snprintf(list + len, sizeof(list) - len, " and %d more",
			 n - CLI_FWD_STOPPED_MAX);
	if (n == 1)
		return cli_fail(cli, -ENETDOWN,
				"port %s is stopped: forwarding would move nothing on it; type 'port start %u' first, or leave it out with 'set portlist'",
				list, ids[0]);
	return cli_fail(cli, -ENETDOWN,
			"ports %s are stopped: forwarding would move nothing on them; type 'port start all' first, or leave them out with 'set portlist'",
			list);
}

static int cli_fwd_start(struct hp_cli *cli)
{
	struct hp_fwd_info info;
	int r = hp_fwd_running() ? 0 : cli_fwd_stopped(cli);

	if (r < 0)
		return r;
	r = hp_fwd_start();

	if (r == -EALREADY)
		return cli_fail(cli, r, "packet forwarding already started");
	if (r < 0)
		return cli_fail(cli, r, "failed to start forwarding: %s",
				cli_fwd_reason(r));
	hp_fwd_info_get(&info);
	fprintf(cli->out,
		"%s packet forwarding - ports=%s - queues=%s - threads=%u%s%s"
		" - streams=%u - burst=%u - topology=%s\n",
		hp_fwd_mode_name(info.mode), info.active[0] ? info.active : "none",
		info.queues, info.nb_threads, info.lcores[0] ? " on lcores " : "",
		info.lcores, info.nb_streams, info.burst,
		hp_fwd_topology_name(info.topology));
	return 0;
}

static void cli_fwd_stats_print(FILE *out, const struct hp_fwd_port_stats *st)
{
	fprintf(out,
		"  RX-packets: %-14" PRIu64 " TX-packets: %-14" PRIu64
		" TX-dropped: %" PRIu64 "\n",
		st->rx_packets, st->tx_packets, st->tx_dropped);
}

/* testpmd's stop: per-port forward statistics, then the sum. */
static int cli_fwd_stop(struct hp_cli *cli)
{
	struct hp_fwd_port_stats ps;
	struct hp_fwd_stats st;
	int r;

	r = hp_fwd_stop(&st);
	if (r == -EALREADY)
		return cli_fail(cli, r, "packet forwarding not started");
	if (r < 0)
		return cli_fail(cli, r, "failed to stop forwarding: %s",
				cli_fwd_reason(r));
	fputs("Telling cores to stop...\nWaiting for lcores to finish...\n",
	      cli->out);
	for (uint32_t id = 0; id < HP_MAX_PORTS; id++) {
		if (hp_fwd_port_stats_get((uint16_t)id, &ps) < 0)
			continue;
		fprintf(cli->out,
			"\n  ---------------------- Forward statistics for port "
			"%-2u ----------------------\n", id);
		cli_fwd_stats_print(cli->out, &ps);
		fputs("  ------------------------------------------------------"
		      "----------------------\n", cli->out);
	}
	fputs("\n  +++++++++++++++ Accumulated forward statistics for all "
	      "ports+++++++++++++++\n", cli->out);
	cli_fwd_stats_print(cli->out, &st.total);
	fputs("  ++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++"
	      "++++++++++++++++\n\nDone.\n", cli->out);
	return 0;
}

static int cli_fwd_show(struct hp_cli *cli)
{
	struct hp_fwd_info info;

	hp_fwd_info_get(&info);
	fprintf(cli->out, "Forwarding mode: %s\nBurst size: %u\n",
		hp_fwd_mode_name(info.mode), info.burst);
	fprintf(cli->out, "Ports: %s (attached here: %s)\nQueues: %s\n"
		"Port topology: %s\n",
		info.ports, info.active[0] ? info.active : "none",
		info.queues, hp_fwd_topology_name(info.topology));
	if (info.lcores[0])
		fprintf(cli->out, "Threads: %u, on lcores %s\n",
			info.nb_threads, info.lcores);
	else
		fprintf(cli->out, "Threads: %u, not pinned\n", info.nb_threads);
	if (info.running)
		fprintf(cli->out, "Forwarding: running, %u streams\n",
			info.nb_streams);
	else
		fputs("Forwarding: stopped\n", cli->out);
	return 0;
}

int cli_fwd_exec(struct hp_cli *cli, const struct hp_cli_cmd *cmd)
{
	switch (cmd->op) {
	case HP_CLI_OP_START:
		return cli_fwd_start(cli);
	case HP_CLI_OP_STOP:
		return cli_fwd_stop(cli);
	case HP_CLI_OP_SHOW_FWD:
		return cli_fwd_show(cli);
	default:
		return cli_fwd_set(cli, cmd);
	}
}
