/* SPDX-License-Identifier: BSD-3-Clause */
/* A primary that embeds the installed library instead of running
 * hotport-primary: creates the instance, attaches a net_null port, serves
 * the secondaries that join it (their attach and detach requests are
 * answered by the library's own threads) until SIGINT or SIGTERM, then
 * says what is attached and leaves. Build: see Makefile.
 *
 *   ./primary_embed --file-prefix NAME [--no-huge] [hotport-primary options]
 *
 * Exit status: 0, 1 a call failed, 2 bad options. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <hp_core.h>
#include <hp_port.h>

static void list_ports(void)
{
	struct hp_port_info info;

	for (uint16_t id = hp_port_next(0); id < HP_MAX_PORTS;
	     id = hp_port_next(id + 1))
		if (hp_port_info_get(id, &info) == 0)
			printf("port %u: %s (%s)\n", id, info.name, info.driver);
}

int main(int argc, char **argv)
{
	struct pollfd stop = { .events = POLLIN };
	struct hp_core_opts opts;
	char err[256];
	uint16_t port_id;
	int r;

	r = hp_core_opts_parse(HP_ROLE_PRIMARY, argc, argv, &opts, err,
			       sizeof(err));
	if (r < 0 || opts.help) {
		if (r < 0)
			fprintf(stderr, "error: %s\n", err);
		fprintf(r < 0 ? stderr : stdout,
			"usage: %s --file-prefix NAME [hotport-primary options]\n",
			argv[0]);
		return r < 0 ? 2 : 0;
	}
	r = hp_core_init(&opts, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "error: %s\n", err);
		return 1;
	}
	r = hp_core_catch_signals();
	if (r < 0) {
		fprintf(stderr, "error: signals: %s\n", strerror(-r));
		goto err_fini;
	}
	r = hp_port_attach_msg("net_null_embed0", &port_id, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "error: attach net_null_embed0: %s\n", err);
		goto err_fini;
	}
	printf("primary_embed ready: pid %d, prefix %s, port %u attached\n",
	       (int)getpid(), hp_core_prefix(), port_id);
	fflush(stdout);

	/* Secondaries are served by the library's threads meanwhile. */
	stop.fd = hp_core_stop_fd();
	while (poll(&stop, 1, -1) < 0 && errno == EINTR)
		;
	printf("stopping; ports attached now:\n");
	list_ports();
	hp_core_fini();
	return 0;

err_fini:
	hp_core_fini();
	return 1;
}
