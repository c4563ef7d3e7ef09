/* SPDX-License-Identifier: BSD-3-Clause */
/* show pci: a fresh scan of the PCI bus, one line per device. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_private.h"
#include "hp_pci.h"

static const char *cli_pci_policy(enum hp_pci_policy p)
{
	switch (p) {
	case HP_PCI_BLOCKED:
		return "blocked (-b)";
	case HP_PCI_NOT_ALLOWED:
		return "not in -a";
	default:
		return "yes";
	}
}

int cli_show_pci(struct hp_cli *cli)
{
	struct hp_pci_dev *devs;
	char err[256], numa[12];
	int n;

	n = hp_pci_scan(true, err, sizeof(err));
	if (n < 0)
		return cli_fail(cli, n, "cannot scan PCI devices: %s", err);
	devs = calloc(HP_PCI_MAX_DEVS, sizeof(*devs));
	if (!devs)
		return cli_fail(cli, -ENOMEM, "cannot list PCI devices: %s",
				strerror(ENOMEM));
	/* what the scan found, or a newer scan by another thread */
	n = hp_pci_list(devs, HP_PCI_MAX_DEVS);
	if (n > HP_PCI_MAX_DEVS)
		n = HP_PCI_MAX_DEVS;
	if (n == 0)
		fputs("No PCI devices found\n", cli->out);
	else
		fprintf(cli->out, "%-12s  %-9s  %-5s  %-4s  %-16s  %-12s  %s\n",
			"address", "id", "class", "numa", "kernel driver",
			"usable", "name");
	for (int i = 0; i < n; i++) {
		const struct hp_pci_dev *d = &devs[i];

		if (d->numa_node < 0)
			snprintf(numa, sizeof(numa), "-");
		else
			snprintf(numa, sizeof(numa), "%d", d->numa_node);
		fprintf(cli->out, "%-12s  %04x:%04x  %04x   %-4s  %-16s  %-*s%s%s\n",
			d->name, d->vendor_id, d->device_id, d->class_id, numa,
			d->driver[0] ? d->driver : "-", d->desc[0] ? 12 : 0,
			cli_pci_policy(d->policy), d->desc[0] ? "  " : "",
			d->desc);
	}
	free(devs);
	return 0;
}
