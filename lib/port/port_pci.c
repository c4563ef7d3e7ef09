/* SPDX-License-Identifier: BSD-3-Clause */
/* The PCI side of attach: from a PCI address to the scanned device and the
 * driver that takes it, or one line saying why not and what to do.
 *
 * The checks, in order: the address names a device of a fresh scan (a
 * device bound to vfio-pci a moment ago is seen as such); -a and -b let
 * hotport use it; a built-in driver's id table takes its vendor:device;
 * its kernel driver hands it to user space. Only the device named is
 * looked at, and nothing is ever written: hotport binds and unbinds
 * nothing, so the machine's own network device stays with its driver
 * whatever the user types. */
#include <errno.h>
#include <stdio.h>

#include "hp_log.h"
#include "port_private.h"

/* What to tell the user who wants a device driven from user space. */
#define PORT_PCI_BIND_HINT \
	"bind it to vfio-pci yourself (dpdk-devbind.py / driverctl)"

static int port_pci_policy(const struct hp_pci_dev *dev, char *err,
			   size_t errlen)
{
	switch (dev->policy) {
	case HP_PCI_BLOCKED:
		return hp_err_set(err, errlen, -EPERM, "%s is blocked (-b)",
				  dev->name);
	case HP_PCI_NOT_ALLOWED:
		return hp_err_set(err, errlen, -EPERM,
				  "%s is not in the allow list (-a)", dev->name);
	default:
		return 0;
	}
}

static int port_pci_binding(const struct hp_pci_dev *dev, char *err,
			    size_t errlen)
{
	if (!dev->driver[0])
		return hp_err_set(err, errlen, -ENXIO,
				  "%s (%04x:%04x) is bound to no kernel driver: " PORT_PCI_BIND_HINT " first",
				  dev->name, dev->vendor_id, dev->device_id);
	if (!hp_pci_driver_is_user(dev->driver))
		return hp_err_set(err, errlen, -EBUSY,
				  "%s (%04x:%04x) is bound to kernel driver %s: hotport never unbinds a device; " PORT_PCI_BIND_HINT " if you mean it",
				  dev->name, dev->vendor_id, dev->device_id,
				  dev->driver);
	return 0;
}

int port_pci_match(struct hp_devargs *args, struct hp_pci_dev *ret_dev,
		   const struct hp_port_driver **ret_drv, char *err,
		   size_t errlen)
{
	const struct hp_port_driver *drv;
	struct hp_pci_addr addr;
	struct hp_pci_dev dev;
	char why[PORT_ERR_MAX];
	int r;

	/* One name per device, whichever form was typed: "01:00.0" is
	 * "0000:01:00.0", and a second attach of it finds the first. */
	r = hp_pci_addr_parse(args->name, &addr);
	if (r < 0)
		return hp_err_set(err, errlen, r, "%s: not a PCI address",
				  args->name);
	hp_pci_addr_format(&addr, args->name, sizeof(args->name));
	r = hp_pci_scan(false, why, sizeof(why));
	if (r < 0)
		return hp_err_set(err, errlen, -ENODEV,
				  "%s: cannot scan PCI devices: %s", args->name,
				  why);
	r = hp_pci_find(args->name, &dev);
	if (r < 0)
		return hp_err_set(err, errlen, -ENODEV,
				  "%s: no such PCI device (see 'show pci')",
				  args->name);
	r = port_pci_policy(&dev, err, errlen);
	if (r < 0)
		return r;
	drv = port_driver_pci(dev.vendor_id, dev.device_id);
	if (!drv)
		return hp_err_set(err, errlen, -ENODEV,
				  "%s (%04x:%04x): no hotport driver for this device%s%s%s",
				  dev.name, dev.vendor_id, dev.device_id,
				  dev.driver[0] ? " (it stays with kernel driver " : "",
				  dev.driver, dev.driver[0] ? ")" : "");
	r = port_pci_binding(&dev, err, errlen);
	if (r < 0)
		return r;
	HP_DEBUG(PORT_LOG, "%s (%04x:%04x, %s, node %d): driver %s",
		 dev.name, dev.vendor_id, dev.device_id,
		 dev.driver, dev.numa_node, drv->name);
	*ret_dev = dev;
	*ret_drv = drv;
	return 0;
}
