/* SPDX-License-Identifier: BSD-3-Clause */
/* The start-up both apps share: parse options, join or create the
 * instance, run -c commands, a --cmd file, a prompt or standard input,
 * then leave the instance cleanly (forwarding stopped first).
 *
 * Exit status: 0 done, 1 a command failed, 2 bad options, 3 start-up
 * failed, 4 the primary went away (secondary). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "app_out.h"
#include "hp_cli.h"
#include "hp_fwd.h"
#include "hp_log.h"
#include "hp_port.h"

enum {
	APP_OK = 0,
	APP_CMD_FAILED = 1,
	APP_BAD_OPTIONS = 2,
	APP_INIT_FAILED = 3,
	APP_PRIMARY_GONE = 4,
};

/* Blocks until SIGINT/SIGTERM, or the primary's death. */
static void app_wait_stop(void)
{
	struct pollfd p = { .fd = hp_core_stop_fd(), .events = POLLIN };

	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
}

static int app_run_file(struct hp_cli *cli, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	int r;

	if (!f) {
		r = -errno;
		fprintf(stderr, "error: --cmd %s: %s\n", path, strerror(-r));
		return r;
	}
	r = hp_cli_run_stream(cli, f);
	if (f != stdin)
		fclose(f);
	return r;
}

static int app_commands(const struct hp_core_opts *o, struct hp_cli *cli)
{
	bool primary = o->role == HP_ROLE_PRIMARY;
	int first = 0, r;

	for (unsigned i = 0; i < o->nb_cmds; i++) {
		r = hp_cli_exec(cli, o->cmds[i]);
		if (r == HP_CLI_QUIT)
			return first;	/* as from a file: a failure counts */
		if (r < 0 && !first)
			first = r;
	}
	if (o->cmd_file) {
		r = app_run_file(cli, o->cmd_file);
		if (r < 0 && !first)
			first = r;
	}
	if (o->interactive) {
		char prompt[32];
		snprintf(prompt, sizeof(prompt), "hotport-%s> ",
			 primary ? "primary" : "secondary");
		r = hp_cli_run_interactive(cli, prompt);
		if (r < 0 && !first)
			first = r;
	} else if (!o->nb_cmds && !o->cmd_file) {
		if (primary)
			app_wait_stop();
		else
			first = hp_cli_run_stream(cli, stdin);
	}
	return first;
}

/* Why hp_fwd_set_lcores refused -l. */
static const char *app_lcores_reason(int res)
{
	switch (res) {
	case -ERANGE:
		return "a core this process may not run on (see taskset -p)";
	case -E2BIG:
		return "more cores than forwarding threads allowed";
	default:
		return "expected a core list such as 1, 0-1 or 0,2";
	}
}

/* Names of the ports announced here: a DESTROY event may come when the
 * port's slot is free already. Event callbacks run one at a time, on the
 * port layer's event thread, a little after the change. */
static char *app_port_names[HP_MAX_PORTS];

/* Tells the user when a port enters or leaves this process. Only queues
 * its line (app_out_event): it never waits for standard output. */
static void app_on_port_event(uint16_t port_id, enum hp_port_event ev,
			      void *arg)
{
	struct hp_port_info info = { 0 };
	bool there = hp_port_info_get(port_id, &info) == 0;
	const char *name = there ? info.name : "";
	char **known = &app_port_names[port_id];

	(void)arg;
	/* A port that came and went before its event got here is not told
	 * (nor its DESTROY), as a secondary that was not listening. */
	if (!there && (ev != HP_PORT_EVENT_DESTROY || !*known)) {
		free(*known);
		*known = NULL;
		return;
	}
	switch (ev) {
	case HP_PORT_EVENT_NEW:
		free(*known);
		*known = strdup(name);
		app_out_event("Port %u: %s is now usable in this process",
			      port_id, name);
		break;
	case HP_PORT_EVENT_DESTROY:
		app_out_event("Port %u: %s left this process", port_id,
			      *known ? *known : name);
		free(*known);
		*known = NULL;
		break;
	case HP_PORT_EVENT_CONFIG:
		app_out_event("Port %u: %s reconfigured: %u rx, %u tx queues",
			      port_id, name, info.nb_rx_queues,
			      info.nb_tx_queues);
		break;
	case HP_PORT_EVENT_LINK:
		app_out_event("Port %u: %s link %s", port_id, name,
			      info.link_up ? "up" : "down");
		break;
	case HP_PORT_EVENT_REMOVED:
		app_out_event("Port %u: %s: the device went away", port_id,
			      name);
		break;
	}
}

/* One-shot commands (-c, --cmd FILE) print what the commands print,
 * their errors on standard error; events and ready lines come with -i,
 * standard input (also --cmd -) or --verbose. */
static bool app_one_shot(const struct hp_core_opts *o)
{
	return !o->interactive &&
	       (o->nb_cmds || (o->cmd_file && strcmp(o->cmd_file, "-")));
}

/* The interpreter, writing whole lines through app_out. */
static int app_cli_create(const struct hp_core_opts *o, FILE *out,
			  struct hp_cli **ret_cli)
{
	struct hp_cli *cli;
	int r = hp_cli_create(out ? out : stdout, &cli);

	if (r < 0)
		return r;
	hp_cli_set_stop_fd(cli, hp_core_stop_fd());
	if (app_one_shot(o))
		hp_cli_set_err(cli, stderr);
	*ret_cli = cli;
	return 0;
}

/* Opens /dev/null on a closed standard fd: else the first fd the library
 * opens (an eventfd) would take its number, and commands would be read
 * from it (a secondary run with stdin closed hung) or lines written to
 * it. */
static void app_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* the lowest free number: fd itself */
		int n = open("/dev/null", fd ? O_WRONLY : O_RDONLY);

		if (n >= 0 && n != fd)
			close(n);
	}
}

int app_main(enum hp_proc_role role, int argc, char **argv)
{
	const char *prog = basename(argv[0]);
	struct hp_core_opts opts;
	struct hp_cli *cli = NULL;
	FILE *out;
	char err[256];
	int r, status;

	app_std_fds();
	r = hp_core_opts_parse(role, argc, argv, &opts, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "%s: error: %s\nTry '%s --help'.\n", prog, err,
			prog);
		return APP_BAD_OPTIONS;
	}
	if (opts.help) {
		hp_core_usage(role, prog, stdout);
		return APP_OK;
	}
	r = hp_fwd_set_lcores(opts.lcores);
	if (r < 0) {
		fprintf(stderr, "%s: error: -l %s: %s\nTry '%s --help'.\n", prog,
			opts.lcores, app_lcores_reason(r), prog);
		return APP_BAD_OPTIONS;
	}
	/* also ignores SIGPIPE: a closed standard output or error loses
	 * lines, nothing more */
	hp_core_catch_signals();
	bool chatty = !app_one_shot(&opts) || opts.verbose;
	/* nor the "ready" notice on standard error */
	if (!chatty && !opts.log_levels)
		opts.log_levels = "warning";
	if (role == HP_ROLE_SECONDARY && chatty)
		hp_port_event_register(app_on_port_event, NULL);
	out = app_out_stream();
	/* --wait-primary: after the primary's death, go round again once a
	 * new one listens; commands from standard input or the prompt carry
	 * on (a --cmd FILE or -c list is not run twice: those exit 4). */
	bool again = opts.wait_primary && !opts.nb_cmds &&
		     (!opts.cmd_file || !strcmp(opts.cmd_file, "-"));
	bool waited = false;
	for (;;) {
		r = hp_core_init(&opts, err, sizeof(err));
		/* After a wait: the primary found may have been the dead one,
		 * its socket still taking connections as it went (it hangs up
		 * without a word), or gone again: wait for the next. */
		if (r < 0 && waited &&
		    (r == -ECONNRESET || r == -ENOENT || r == -ECONNREFUSED) &&
		    hp_core_wait_primary(opts.prefix) == 0)
			continue;
		if (r < 0) {
			fprintf(stderr, "%s: error: %s\n", prog, err);
			status = APP_INIT_FAILED;
			break;
		}
		if (chatty)
			app_out_line("%s ready: pid %d, prefix %s", prog,
				     (int)getpid(), hp_core_prefix());
		r = app_cli_create(&opts, out, &cli);
		if (r < 0) {
			HP_ERR("app", "cannot create the command interpreter: %s",
			       strerror(-r));
			hp_core_fini();
			status = APP_INIT_FAILED;
			break;
		}
		r = app_commands(&opts, cli);
		status = r < 0 ? APP_CMD_FAILED : APP_OK;
		bool gone = hp_core_stop_reason() == -ECONNRESET;
		/* the threads poll ports that hp_core_fini takes away */
		if (hp_fwd_running())
			hp_fwd_stop(NULL);
		hp_cli_destroy(cli);
		hp_core_fini();
		if (!gone)
			break;
		status = APP_PRIMARY_GONE;
		if (!again) {
			fprintf(stderr, "%s: the primary exited; stopping\n", prog);
			break;
		}
		fprintf(stderr, "%s: the primary exited; waiting for a new one (--wait-primary)\n",
			prog);
		if (hp_core_wait_primary(opts.prefix) < 0)
			break;
		waited = true;
	}
	if (out)
		fclose(out);
	return status;
}
