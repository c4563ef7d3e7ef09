/* SPDX-License-Identifier: BSD-3-Clause */
/* The scan's calls into libpci, loaded with dlopen by a process's first
 * scan: a process that never scans (a secondary that runs no show pci and
 * attaches no PCI address) never maps libpci nor what it pulls in (libz,
 * libudev), which would cost every hotport process most of a millisecond
 * of start-up.
 *
 * The table is filled once per process (hp_dl_load) and never
 * unloaded; every call through it comes after pci_lib_load returned 0. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "hp_dl.h"
#include "pci_private.h"

#define PCI_LIB_SONAME "libpci.so.3"
/* The Debian package that holds it, for the error message. */
#define PCI_LIB_PACKAGE "libpci3"

struct pci_lib pci_lib;

/* Symbol name and slot in pci_lib, for each function. dlsym takes each
 * symbol's default version (pci_fill_info has several): the newest,
 * which takes the flags of every older one. */
#define PCI_LIB_SYM(f) { "pci_" #f, (void **)&pci_lib.f }

static const struct hp_dl_sym pci_lib_syms[] = {
	PCI_LIB_SYM(alloc),
	PCI_LIB_SYM(init),
	PCI_LIB_SYM(cleanup),
	PCI_LIB_SYM(scan_bus),
	PCI_LIB_SYM(fill_info),
	PCI_LIB_SYM(lookup_name),
	PCI_LIB_SYM(set_param),
	PCI_LIB_SYM(get_string_property),
};

static struct hp_dl_lib pci_lib_dl =
	HP_DL_LIB("libpci", PCI_LIB_SONAME, PCI_LIB_PACKAGE, pci_lib_syms);

int pci_lib_load(char *why, size_t whylen)
{
	int r = hp_dl_load(&pci_lib_dl);

	if (r < 0)
		return hp_err_set(why, whylen, r, "%s", pci_lib_dl.why);
	return 0;
}
