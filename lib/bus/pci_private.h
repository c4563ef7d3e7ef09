/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/bus PCI internals, shared by pci.c and pci_list.c only. */
#ifndef PCI_PRIVATE_H
#define PCI_PRIVATE_H

#include <stdbool.h>

#include "hp_pci.h"

#define PCI_LOG "pci"

/* Writes one line to err (errlen bytes; err may be NULL); returns res. */
int pci_err(char *err, size_t errlen, int res, const char *fmt, ...)
	HP_PRINTF(4, 5);

/* Whether two addresses name the same device. */
bool pci_addr_eq(const struct hp_pci_addr *a, const struct hp_pci_addr *b);

#endif
