/* SPDX-License-Identifier: BSD-3-Clause */
/* PCI addresses, the allow and block lists (-a, -b), id tables and the
 * kernel drivers that hand a device to user space. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_devargs.h"
#include "pci_private.h"

static pthread_mutex_t pci_list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	unsigned nb_allow;
	unsigned nb_block;
	struct hp_pci_addr allow[HP_PCI_MAX_LIST];
	struct hp_pci_addr block[HP_PCI_MAX_LIST];
} pci_lists;

int hp_pci_addr_parse(const char *str, struct hp_pci_addr *ret_addr)
{
	unsigned long dom = 0;
	unsigned bus, dev, func;

	/* The shape first (hex digits where they belong), then the values. */
	if (!str || !ret_addr || !hp_devargs_is_pci_addr(str))
		return -EINVAL;
	if (strlen(str) == 12) {
		dom = strtoul(str, NULL, 16);
		str += 5;
	}
	if (sscanf(str, "%2x:%2x.%1u", &bus, &dev, &func) != 3 || dev > 31)
		return -EINVAL;
	ret_addr->domain = (uint32_t)dom;
	ret_addr->bus = (uint8_t)bus;
	ret_addr->dev = (uint8_t)dev;
	ret_addr->func = (uint8_t)func;
	return 0;
}

void hp_pci_addr_format(const struct hp_pci_addr *addr, char *buf, size_t len)
{
	snprintf(buf, len, "%04x:%02x:%02x.%u", addr->domain, addr->bus,
		 addr->dev, addr->func);
}

bool pci_addr_eq(const struct hp_pci_addr *a, const struct hp_pci_addr *b)
{
	return a->domain == b->domain && a->bus == b->bus && a->dev == b->dev &&
	       a->func == b->func;
}

/* Parses one list into out; opt names it in messages ("-a", "-b"). */
static int pci_list_parse(const char *const *list, unsigned nb,
			  const char *opt, struct hp_pci_addr *out, char *err,
			  size_t errlen)
{
	if (nb > HP_PCI_MAX_LIST)
		return hp_err_set(err, errlen, -E2BIG, "more than %d %s entries",
				  HP_PCI_MAX_LIST, opt);
	for (unsigned i = 0; i < nb; i++)
		if (hp_pci_addr_parse(list[i], &out[i]) < 0)
			return hp_err_set(err, errlen, -EINVAL,
					  "%s %.40s: not a PCI address (expected DDDD:BB:DD.F or BB:DD.F, such as 0000:01:00.0)",
					  opt, list[i] ? list[i] : "(null)");
	return 0;
}

int hp_pci_set_lists(const char *const *allow, unsigned nb_allow,
		     const char *const *block, unsigned nb_block, char *err,
		     size_t errlen)
{
	struct hp_pci_addr a[HP_PCI_MAX_LIST], b[HP_PCI_MAX_LIST];
	int r;

	if ((nb_allow && !allow) || (nb_block && !block))
		return hp_err_set(err, errlen, -EINVAL, "no list given");
	if (nb_allow && nb_block)
		return hp_err_set(err, errlen, -EINVAL,
				  "-a and -b exclude each other: give the devices to use (-a) or those to leave alone (-b)");
	r = pci_list_parse(allow, nb_allow, "-a", a, err, errlen);
	if (r == 0)
		r = pci_list_parse(block, nb_block, "-b", b, err, errlen);
	if (r < 0)
		return r;
	pthread_mutex_lock(&pci_list_lock);
	pci_lists.nb_allow = nb_allow;
	pci_lists.nb_block = nb_block;
	memcpy(pci_lists.allow, a, nb_allow * sizeof(a[0]));
	memcpy(pci_lists.block, b, nb_block * sizeof(b[0]));
	pthread_mutex_unlock(&pci_list_lock);
	return 0;
}

enum hp_pci_policy hp_pci_policy_of(const struct hp_pci_addr *addr)
{
	enum hp_pci_policy p = HP_PCI_USABLE;

	pthread_mutex_lock(&pci_list_lock);
	for (unsigned i = 0; i < pci_lists.nb_block; i++)
		if (pci_addr_eq(addr, &pci_lists.block[i]))
			p = HP_PCI_BLOCKED;
	if (pci_lists.nb_allow) {
		p = HP_PCI_NOT_ALLOWED;
		for (unsigned i = 0; i < pci_lists.nb_allow; i++)
			if (pci_addr_eq(addr, &pci_lists.allow[i]))
				p = HP_PCI_USABLE;
	}
	pthread_mutex_unlock(&pci_list_lock);
	return p;
}

bool hp_pci_id_match(const struct hp_pci_id *table, uint16_t vendor,
		     uint16_t device)
{
	for (const struct hp_pci_id *id = table; id && id->vendor; id++)
		if (id->vendor == vendor &&
		    (id->device == HP_PCI_ANY_ID || id->device == device))
			return true;
	return false;
}

bool hp_pci_driver_is_user(const char *kdrv)
{
	static const char *const user[] = { "vfio-pci", "uio_pci_generic",
					    "igb_uio" };

	for (size_t i = 0; kdrv && i < HP_ARRAY_SIZE(user); i++)
		if (!strcmp(kdrv, user[i]))
			return true;
	return false;
}
