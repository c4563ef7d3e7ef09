/* SPDX-License-Identifier: BSD-3-Clause */
/* The PCI scan, through libpci (loaded by the first scan, pci_lib.c), and
 * the device list it leaves.
 *
 * The access method is chosen here, never by libpci's autodetection,
 * which would fall back to raw port I/O when run as root: sysfs (a tree
 * laid out as /sys/bus/pci, where NUMA node and kernel driver come from)
 * or a dump file in lspci -x format (ids and class only). The tree or file
 * is checked before libpci opens it. libpci reports a fatal error by
 * calling a->error, which must not return: ours jumps back into the scan,
 * which fails with -EIO and frees what libpci had; a device it was reading
 * at that moment is lost (a few bytes, and only for a broken tree). One
 * scan runs at a time, under pci_lock, so one jump target is enough. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hp_log.h"
#include "pci_private.h"

#define PCI_WHY_MAX 256

static pthread_mutex_t pci_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hp_pci_dev *pci_devs;	/* the last scan, in address order */
static unsigned pci_nb_devs;

static jmp_buf pci_jmp;			/* during a scan, under pci_lock */
static char pci_lib_msg[PCI_WHY_MAX];	/* libpci's fatal error */

/* Where a scan reads. */
struct pci_where {
	int method;		/* PCI_ACCESS_SYS_BUS_PCI or PCI_ACCESS_DUMP */
	char path[PATH_MAX];	/* the sysfs tree or the dump file */
};

static void pci_lib_error(char *msg, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

static void pci_lib_error(char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	vsnprintf(pci_lib_msg, sizeof(pci_lib_msg), msg, ap);
	va_end(ap);
	longjmp(pci_jmp, 1);
}

static void pci_lib_warning(char *msg, ...) HP_PRINTF(1, 2);

static void pci_lib_warning(char *msg, ...)
{
	char line[PCI_WHY_MAX];
	va_list ap;

	va_start(ap, msg);
	vsnprintf(line, sizeof(line), msg, ap);
	va_end(ap);
	HP_DEBUG(PCI_LOG, "libpci: %s", line);
}

static void pci_lib_debug(char *msg, ...) HP_PRINTF(1, 2);

static void pci_lib_debug(char *msg, ...)
{
	(void)msg;
}

/* Reads HP_PCI_ACCESS_ENV into w. */
static int pci_where_get(struct pci_where *w, char *why)
{
	const char *env = getenv(HP_PCI_ACCESS_ENV);
	const char *path = HP_PCI_SYSFS_DEFAULT;

	w->method = PCI_ACCESS_SYS_BUS_PCI;
	if (env && !strncmp(env, "sysfs:", 6)) {
		path = env + 6;
	} else if (env && !strncmp(env, "dump:", 5)) {
		w->method = PCI_ACCESS_DUMP;
		path = env + 5;
	} else if (env && *env) {
		path = "";
	}
	if (!*path || strlen(path) >= sizeof(w->path))
		return hp_err_set(why, PCI_WHY_MAX, -EINVAL,
				  "%s=%.60s: expected sysfs:DIR or dump:FILE",
				  HP_PCI_ACCESS_ENV, env);
	snprintf(w->path, sizeof(w->path), "%s", path);
	return 0;
}

/* Checks that what libpci will open is there and readable. */
static int pci_where_check(const struct pci_where *w, char *why)
{
	char what[PATH_MAX + 16];
	int r;

	snprintf(what, sizeof(what), "%s%s", w->path,
		 w->method == PCI_ACCESS_DUMP ? "" : "/devices");
	if (access(what, R_OK) == 0)
		return 0;
	r = -errno;
	return hp_err_set(why, PCI_WHY_MAX, r, "cannot read %s: %s", what,
			  strerror(-r));
}

/* Copies what the scan knows of d into out. */
static void pci_dev_copy(struct pci_access *a, struct pci_dev *d, bool names,
			 struct hp_pci_dev *out)
{
	int known = pci_lib.fill_info(d, PCI_FILL_IDENT | PCI_FILL_CLASS |
						 PCI_FILL_NUMA_NODE |
						 PCI_FILL_DRIVER);
	const char *drv = NULL;

	memset(out, 0, sizeof(*out));
	out->addr = (struct hp_pci_addr){ (uint32_t)d->domain, d->bus, d->dev,
					  d->func };
	hp_pci_addr_format(&out->addr, out->name, sizeof(out->name));
	out->vendor_id = d->vendor_id;
	out->device_id = d->device_id;
	out->class_id = d->device_class;
	out->numa_node = known & PCI_FILL_NUMA_NODE ? d->numa_node : -1;
	if (known & PCI_FILL_DRIVER)
		drv = pci_lib.get_string_property(d, PCI_FILL_DRIVER);
	snprintf(out->driver, sizeof(out->driver), "%s", drv ? drv : "");
	/* pci.ids only: udev's hwdb costs a udev context per scan, which
	 * this libpci (3.9) does not free (LeakSanitizer, test_pci) */
	if (names && !pci_lib.lookup_name(a, out->desc, sizeof(out->desc),
					  PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE |
						  PCI_LOOKUP_NO_NUMBERS |
						  PCI_LOOKUP_NO_HWDB,
					  d->vendor_id, d->device_id))
		out->desc[0] = '\0';
}

/* Copies the devices libpci found into devs; returns how many. */
static unsigned pci_walk(struct pci_access *a, bool names,
			 struct hp_pci_dev *devs)
{
	unsigned n = 0;

	for (struct pci_dev *d = a->devices; d; d = d->next) {
		if (n == HP_PCI_MAX_DEVS) {
			HP_DEBUG(PCI_LOG, "more than %d PCI devices: the rest left out",
				 HP_PCI_MAX_DEVS);
			break;
		}
		/* Domains past 16 bits (VMD) do not fit DDDD:BB:DD.F */
		if (d->domain > 0xffff) {
			HP_DEBUG(PCI_LOG, "%x:%02x:%02x.%u: a domain above ffff, left out",
				 (unsigned)d->domain, d->bus, d->dev, d->func);
			continue;
		}
		pci_dev_copy(a, d, names, &devs[n++]);
	}
	return n;
}

/* The libpci part of a scan, under pci_lock. */
static int pci_scan_lib(const struct pci_where *w, bool names,
			struct hp_pci_dev *devs, unsigned *ret_nb, char *why)
{
	char param[16], path[PATH_MAX];
	struct pci_access *a = pci_lib.alloc();

	a->method = (unsigned)w->method;
	a->error = pci_lib_error;
	a->warning = pci_lib_warning;
	a->debug = pci_lib_debug;
	/* neither the network nor a cache file in $HOME: pci.ids only */
	a->id_lookup_mode = 0;
	snprintf(param, sizeof(param), "%s",
		 w->method == PCI_ACCESS_DUMP ? "dump.name" : "sysfs.path");
	snprintf(path, sizeof(path), "%s", w->path);
	if (pci_lib.set_param(a, param, path) < 0) {
		pci_lib.cleanup(a);
		return hp_err_set(why, PCI_WHY_MAX, -EIO,
				  "this libpci has no parameter %s", param);
	}
	if (setjmp(pci_jmp)) {
		pci_lib.cleanup(a);
		return hp_err_set(why, PCI_WHY_MAX, -EIO, "libpci: %s",
				  pci_lib_msg);
	}
	pci_lib.init(a);
	pci_lib.scan_bus(a);
	*ret_nb = pci_walk(a, names, devs);
	pci_lib.cleanup(a);
	return 0;
}

static int pci_dev_cmp(const void *pa, const void *pb)
{
	const struct hp_pci_addr *a = &((const struct hp_pci_dev *)pa)->addr;
	const struct hp_pci_addr *b = &((const struct hp_pci_dev *)pb)->addr;
	uint64_t ka = (uint64_t)a->domain << 16 | a->bus << 8 | a->dev << 3 |
		      a->func;
	uint64_t kb = (uint64_t)b->domain << 16 | b->bus << 8 | b->dev << 3 |
		      b->func;

	return ka < kb ? -1 : ka > kb;
}

int hp_pci_scan(bool names, char *err, size_t errlen)
{
	char why[PCI_WHY_MAX] = "";
	struct hp_pci_dev *devs = calloc(HP_PCI_MAX_DEVS, sizeof(*devs));
	struct pci_where w;
	unsigned nb = 0;
	int r;

	if (!devs)
		return hp_err_set(err, errlen, -ENOMEM, "out of memory");
	pthread_mutex_lock(&pci_lock);
	r = pci_where_get(&w, why);
	if (r == 0)
		r = pci_where_check(&w, why);
	if (r == 0)
		r = pci_lib_load(why, PCI_WHY_MAX);
	if (r == 0)
		r = pci_scan_lib(&w, names, devs, &nb, why);
	if (r < 0)
		nb = 0;
	qsort(devs, nb, sizeof(devs[0]), pci_dev_cmp);
	free(pci_devs);
	pci_devs = devs;
	pci_nb_devs = nb;
	pthread_mutex_unlock(&pci_lock);
	if (r < 0) {
		HP_DEBUG(PCI_LOG, "scan failed: %s", why);
		return hp_err_set(err, errlen, r, "%s", why);
	}
	HP_DEBUG(PCI_LOG, "scan of %s: %u devices", w.path, nb);
	return (int)nb;
}

int hp_pci_list(struct hp_pci_dev *devs, unsigned max)
{
	int n;

	if (!devs && max)
		return -EINVAL;
	pthread_mutex_lock(&pci_lock);
	n = (int)pci_nb_devs;
	for (unsigned i = 0; i < pci_nb_devs && i < max; i++) {
		devs[i] = pci_devs[i];
		devs[i].policy = hp_pci_policy_of(&devs[i].addr);
	}
	pthread_mutex_unlock(&pci_lock);
	return n;
}

int hp_pci_find(const char *str, struct hp_pci_dev *ret_dev)
{
	struct hp_pci_addr addr;
	int r = -ENODEV;

	if (!ret_dev || hp_pci_addr_parse(str, &addr) < 0)
		return -EINVAL;
	pthread_mutex_lock(&pci_lock);
	for (unsigned i = 0; i < pci_nb_devs && r < 0; i++) {
		if (pci_addr_eq(&pci_devs[i].addr, &addr)) {
			*ret_dev = pci_devs[i];
			ret_dev->policy = hp_pci_policy_of(&addr);
			r = 0;
		}
	}
	pthread_mutex_unlock(&pci_lock);
	return r;
}
