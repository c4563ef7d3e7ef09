/* SPDX-License-Identifier: BSD-3-Clause */
/* The PCI bus: a scan of the PCI devices through libpci (address, ids,
 * class, NUMA node, kernel driver), the allow and block lists of -a and
 * -b, and the id tables PCI drivers match. Nothing here writes to sysfs,
 * binds or unbinds a device: it only reads. */
#ifndef HP_PCI_H
#define HP_PCI_H

#include <stdbool.h>

#include "hp_common.h"

/* Size of a PCI address string with its NUL: "0000:03:00.0". */
#define HP_PCI_ADDR_LEN 13
/* Most devices one scan keeps (the rest are left out, with a debug line). */
#define HP_PCI_MAX_DEVS 512
/* Most entries of the allow list, and of the block list. */
#define HP_PCI_MAX_LIST 64
/* The environment variable that chooses where a scan reads:
 * "sysfs:DIR" (a tree laid out as /sys/bus/pci, the default) or
 * "dump:FILE" (lspci -x output; no NUMA node, no kernel driver). */
#define HP_PCI_ACCESS_ENV "HOTPORT_PCI_ACCESS"
/* Where a scan reads without HP_PCI_ACCESS_ENV. */
#define HP_PCI_SYSFS_DEFAULT "/sys/bus/pci"
/* In an id table: any device id of the vendor. */
#define HP_PCI_ANY_ID 0xffff

/* A PCI address: domain, bus, device, function. */
struct hp_pci_addr {
	uint32_t domain;
	uint8_t bus;
	uint8_t dev;	/* 0..31 */
	uint8_t func;	/* 0..7 */
};

/* One entry of a driver's id table; the table ends with vendor 0. */
struct hp_pci_id {
	uint16_t vendor;
	uint16_t device;	/* or HP_PCI_ANY_ID */
};

/* Whether -a and -b let hotport use a device. */
enum hp_pci_policy {
	HP_PCI_USABLE = 0,	/* no list names it out */
	HP_PCI_BLOCKED = 1,	/* named by -b */
	HP_PCI_NOT_ALLOWED = 2,	/* -a given, and not naming it */
};

/* One device as the last scan found it. */
struct hp_pci_dev {
	struct hp_pci_addr addr;
	char name[HP_PCI_ADDR_LEN];	/* "0000:03:00.0" */
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t class_id;	/* base class << 8 | subclass: 0x0200 Ethernet */
	int numa_node;		/* -1 when unknown (or a dump file) */
	char driver[32];	/* kernel driver bound to it; "" for none */
	char desc[96];		/* vendor and device names from pci.ids; "" */
	enum hp_pci_policy policy;	/* under the lists in force */
};

/* Parses "DDDD:BB:DD.F" or "BB:DD.F" (hex) into ret_addr; -EINVAL if str
 * is anything else. Pure; any thread. */
HP_API int hp_pci_addr_parse(const char *str, struct hp_pci_addr *ret_addr);

/* Writes addr as "DDDD:BB:DD.F" to buf (len bytes, HP_PCI_ADDR_LEN is
 * enough for a 16-bit domain). Pure; any thread. */
HP_API void hp_pci_addr_format(const struct hp_pci_addr *addr, char *buf,
			       size_t len);

/* Replaces the allow list (-a) and the block list (-b), checked before
 * anything changes: -EINVAL both lists given, or an entry that is not a
 * PCI address; -E2BIG more than HP_PCI_MAX_LIST entries in one list. On
 * failure writes one line to err (errlen bytes; may be NULL) naming the
 * entry. Empty lists: every device is usable. Thread safe. */
HP_API int hp_pci_set_lists(const char *const *allow, unsigned nb_allow,
			    const char *const *block, unsigned nb_block,
			    char *err, size_t errlen);

/* The policy of the lists in force for addr. Thread safe. */
HP_API enum hp_pci_policy hp_pci_policy_of(const struct hp_pci_addr *addr);

/* Scans the bus again, where HP_PCI_ACCESS_ENV says (read at each scan),
 * and keeps the devices in address order; returns how many it found.
 * With names, also looks the vendor and device names up in pci.ids (tens
 * of milliseconds: show pci does, start-up and attach do not). The first
 * scan of a process loads libpci (dlopen); it stays loaded. On failure
 * the list is empty and err (errlen bytes; may be NULL) says why:
 * -EINVAL a bad HP_PCI_ACCESS_ENV, -ENOENT or -EACCES the tree or file
 * cannot be read, -ELIBACC libpci cannot be loaded (err names its
 * package), -ELIBBAD it lacks a function, -EIO libpci failed on the tree
 * or file, -ENOMEM. Any process; thread safe. */
HP_API int hp_pci_scan(bool names, char *err, size_t errlen);

/* Copies up to max devices of the last scan into devs, with the policy in
 * force; returns how many the scan found (possibly more than max). Thread
 * safe. */
HP_API int hp_pci_list(struct hp_pci_dev *devs, unsigned max);

/* Copies the device at the address str names (either form) from the last
 * scan into ret_dev; -EINVAL str is not a PCI address, -ENODEV no such
 * device. Thread safe. */
HP_API int hp_pci_find(const char *str, struct hp_pci_dev *ret_dev);

/* Whether an id table (ended by vendor 0) takes vendor:device. Pure. */
HP_API bool hp_pci_id_match(const struct hp_pci_id *table, uint16_t vendor,
			    uint16_t device);

/* Whether kernel driver kdrv hands its devices to user space (vfio-pci,
 * uio_pci_generic, igb_uio): the only binding hotport drives a device
 * under. Pure. */
HP_API bool hp_pci_driver_is_user(const char *kdrv);

#endif
