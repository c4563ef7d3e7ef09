/* SPDX-License-Identifier: BSD-3-Clause */
/* lib/bus PCI internals, shared by pci.c, pci_lib.c and pci_list.c only. */
#ifndef PCI_PRIVATE_H
#define PCI_PRIVATE_H

#include <stdbool.h>

/* Types and prototypes only: libpci is loaded at run time (pci_lib.c). */
#include <pci/pci.h>

#include "hp_log.h"
#include "hp_pci.h"

#define PCI_LOG "pci"

/* Whether two addresses name the same device. */
bool pci_addr_eq(const struct hp_pci_addr *a, const struct hp_pci_addr *b);

/* pci_lib.c: the libpci functions the scan calls, pci_lib.X for pci_X.
 * Filled by pci_lib_load; read-only after. */
struct pci_lib {
	__typeof__(pci_alloc) *alloc;
	__typeof__(pci_init) *init;
	__typeof__(pci_cleanup) *cleanup;
	__typeof__(pci_scan_bus) *scan_bus;
	__typeof__(pci_fill_info) *fill_info;
	__typeof__(pci_lookup_name) *lookup_name;
	__typeof__(pci_set_param) *set_param;
	__typeof__(pci_get_string_property) *get_string_property;
};

extern struct pci_lib pci_lib;

/* Loads libpci into this process, once (thread-safe); a scan calls it
 * before anything else touches pci_lib. 0, or -ELIBACC (not there) or
 * -ELIBBAD (a function missing) with one line in why (whylen bytes; may
 * be NULL) naming the library and its package. */
int pci_lib_load(char *why, size_t whylen);

#endif
