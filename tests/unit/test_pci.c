/* SPDX-License-Identifier: BSD-3-Clause */
/* The PCI bus and PCI hotplug on a fake sysfs tree and an lspci -x dump,
 * both written at run time, never the machine's own devices: the scan,
 * -a/-b, the refusals of attach, attach and detach through a test driver
 * (also from a secondary), and a driver that cannot be detached. The
 * secondaries are this binary re-executed with --child
 * (hp_test_child.h). */
#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>

#include "hp_test_child.h"
#include "hp_cli.h"
#include "hp_log.h"
#include "hp_pci.h"

/* A vendor no real device has (pci.ids does not list it). */
#define TEST_VENDOR 0xf1ee
#define TEST_DEV 0x0001		/* net_tpci takes it */
#define TEST_DEV_PINNED 0x0002	/* net_tpci_pinned takes it */

/* One device of the fake tree. */
struct fake_dev {
	const char *addr;
	unsigned vendor;
	unsigned device;
	unsigned class_code;	/* 24 bits, as sysfs has it */
	int numa;
	const char *driver;	/* kernel driver; NULL for none */
};

/* Not in address order: the scan sorts them. */
static const struct fake_dev fake_devs[] = {
	{ "0000:04:00.1", TEST_VENDOR, TEST_DEV, 0x020000, 1, "ixgbe" },
	{ "0001:80:1f.7", 0x8086, 0x1572, 0x020000, 1, "i40e" },
	{ "0000:00:03.0", 0x8086, 0x100e, 0x020000, -1, "e1000" },
	{ "0000:04:00.0", TEST_VENDOR, TEST_DEV, 0x020000, 1, "vfio-pci" },
	{ "0000:03:00.0", 0x1af4, 0x1000, 0x020000, 0, "vfio-pci" },
	{ "0000:04:00.2", TEST_VENDOR, TEST_DEV, 0x020000, 1, NULL },
	{ "0000:05:00.0", TEST_VENDOR, TEST_DEV_PINNED, 0x028000, 0,
	  "uio_pci_generic" },
};
#define NB_FAKE (sizeof(fake_devs) / sizeof(fake_devs[0]))

static char tree[64];		/* the fake /sys/bus/pci */
static char tree_env[96];	/* "sysfs:<tree>" */

/* ---- test drivers ---- */

static uint16_t tpci_burst(void *q, struct hp_mbuf **pkts, uint16_t n)
{
	(void)q;
	(void)pkts;
	(void)n;
	return 0;
}

/* Fills info from the scanned device, as a real PCI driver would. */
static int tpci_probe(struct hp_port_dev *dev)
{
	if (!dev->pci || dev->pci->vendor_id != TEST_VENDOR) {
		snprintf(dev->err, dev->errlen, "probe without a PCI device");
		return -EINVAL;
	}
	dev->info->link_up = true;
	dev->info->link_speed = 25000;
	memcpy(dev->info->mac, (uint8_t[6]){ 0x02, 0, 0, dev->pci->addr.bus,
					     dev->pci->addr.dev,
					     dev->pci->addr.func }, 6);
	return 0;
}

static int tpci_attach_local(struct hp_port_dev *dev, struct hp_port_fp *fp)
{
	(void)dev;
	fp->rx_burst = tpci_burst;
	fp->tx_burst = tpci_burst;
	return 0;
}

static const char *const tpci_keys[] = { "mode", NULL };
static const struct hp_pci_id tpci_ids[] = { { TEST_VENDOR, TEST_DEV },
					     { 0, 0 } };
static const struct hp_port_driver tpci_driver = {
	.name = "net_tpci",
	.keys = tpci_keys,
	.pci_ids = tpci_ids,
	.detachable = true,
	.probe = tpci_probe,
	.attach_local = tpci_attach_local,
};
HP_PORT_DRIVER_REGISTER(tpci_driver)

/* A driver whose ports stay until the primary exits. */
static const struct hp_pci_id pinned_ids[] = { { TEST_VENDOR,
						 TEST_DEV_PINNED },
					       { 0, 0 } };
static const struct hp_port_driver pinned_driver = {
	.name = "net_tpci_pinned",
	.pci_ids = pinned_ids,
	.detachable = false,
	.probe = tpci_probe,
	.attach_local = tpci_attach_local,
};
HP_PORT_DRIVER_REGISTER(pinned_driver)

/* ---- the fake tree and the dump ---- */

static void write_file(const char *path, const char *fmt, ...)
	HP_PRINTF(2, 3);
static void write_file(const char *path, const char *fmt, ...)
{
	FILE *f = fopen(path, "w");
	va_list ap;

	assert_non_null(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(f), 0);
}

static void fake_dev_write(const struct fake_dev *d)
{
	char dir[256], path[320], target[128];

	snprintf(dir, sizeof(dir), "%s/devices/%s", tree, d->addr);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/vendor", dir);
	write_file(path, "0x%04x\n", d->vendor);
	snprintf(path, sizeof(path), "%s/device", dir);
	write_file(path, "0x%04x\n", d->device);
	snprintf(path, sizeof(path), "%s/class", dir);
	write_file(path, "0x%06x\n", d->class_code);
	snprintf(path, sizeof(path), "%s/numa_node", dir);
	write_file(path, "%d\n", d->numa);
	if (!d->driver)
		return;
	/* As in sysfs: driver is a link into the bus's drivers. */
	snprintf(path, sizeof(path), "%s/drivers/%s", tree, d->driver);
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/driver", dir);
	snprintf(target, sizeof(target), "../../drivers/%s", d->driver);
	assert_int_equal(symlink(target, path), 0);
}

/* Builds the fake /sys/bus/pci in a new temporary directory. */
static void fake_tree_create(void)
{
	char path[128];

	snprintf(tree, sizeof(tree), "/tmp/hp-test-pci-XXXXXX");
	assert_non_null(mkdtemp(tree));
	snprintf(path, sizeof(path), "%s/devices", tree);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/drivers", tree);
	assert_int_equal(mkdir(path, 0755), 0);
	for (size_t i = 0; i < NB_FAKE; i++)
		fake_dev_write(&fake_devs[i]);
	snprintf(tree_env, sizeof(tree_env), "sysfs:%s", tree);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void fake_tree_remove(void)
{
	if (tree[0])
		nftw(tree, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Scans read the fake tree (secondaries inherit it). */
static void use_tree(void)
{
	setenv(HP_PCI_ACCESS_ENV, tree_env, 1);
}

static int group_setup(void **state)
{
	(void)state;
	fake_tree_create();
	use_tree();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	fake_tree_remove();
	return 0;
}

/* The names of the entries of dir, sorted, joined by spaces. */
static void dir_listing(const char *dir, char *buf, size_t len)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);
	size_t off = 0;

	assert_true(n >= 0);
	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s ",
						ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
}

/* ---- the scan ---- */

static void test_pci_scan_fake_sysfs(void **state)
{
	struct hp_pci_dev devs[16], d;

	(void)state;
	use_tree();
	assert_int_equal(hp_pci_scan(false, NULL, 0), (int)NB_FAKE);
	assert_int_equal(hp_pci_list(devs, 16), (int)NB_FAKE);
	/* in address order, the domain first */
	assert_string_equal(devs[0].name, "0000:00:03.0");
	assert_string_equal(devs[1].name, "0000:03:00.0");
	assert_string_equal(devs[2].name, "0000:04:00.0");
	assert_string_equal(devs[5].name, "0000:05:00.0");
	assert_string_equal(devs[6].name, "0001:80:1f.7");
	assert_int_equal(devs[6].addr.domain, 1);
	assert_int_equal(devs[6].addr.bus, 0x80);
	assert_int_equal(devs[6].addr.dev, 0x1f);
	assert_int_equal(devs[6].addr.func, 7);
	/* ids, class, NUMA node and kernel driver, as sysfs says */
	assert_int_equal(devs[2].vendor_id, TEST_VENDOR);
	assert_int_equal(devs[2].device_id, TEST_DEV);
	assert_int_equal(devs[2].class_id, 0x0200);
	assert_int_equal(devs[2].numa_node, 1);
	assert_string_equal(devs[2].driver, "vfio-pci");
	assert_int_equal(devs[2].policy, HP_PCI_USABLE);
	assert_int_equal(devs[0].numa_node, -1);
	assert_string_equal(devs[0].driver, "e1000");
	assert_string_equal(devs[4].driver, "");
	assert_int_equal(devs[5].class_id, 0x0280);
	/* fewer than found: the count still says how many */
	assert_int_equal(hp_pci_list(devs, 2), (int)NB_FAKE);
	assert_int_equal(hp_pci_list(NULL, 0), (int)NB_FAKE);
	assert_int_equal(hp_pci_list(NULL, 1), -EINVAL);
	/* find: either address form; absent; not an address */
	assert_int_equal(hp_pci_find("04:00.2", &d), 0);
	assert_string_equal(d.name, "0000:04:00.2");
	assert_int_equal(hp_pci_find("0000:09:00.0", &d), -ENODEV);
	assert_int_equal(hp_pci_find("eth0", &d), -EINVAL);
	assert_int_equal(hp_pci_find("0000:04:00.8", &d), -EINVAL);
	/* names from pci.ids: none for a vendor it does not know */
	assert_int_equal(hp_pci_scan(true, NULL, 0), (int)NB_FAKE);
	assert_int_equal(hp_pci_find("0000:04:00.0", &d), 0);
	assert_string_equal(d.desc, "");
}

static void test_pci_scan_dump_file(void **state)
{
	struct hp_pci_dev devs[4];
	char path[128], env[160], err[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/lspci-x.txt", tree);
	write_file(path,
		   "06:00.0 Ethernet controller: test\n"
		   "00: ee f1 01 00 00 00 00 00 00 00 00 02 00 00 00 00\n"
		   "10: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n"
		   "\n"
		   "0002:00:01.0 Mass storage controller: test\n"
		   "00: f4 1a 01 10 00 00 00 00 00 00 00 01 00 00 00 00\n");
	snprintf(env, sizeof(env), "dump:%s", path);
	setenv(HP_PCI_ACCESS_ENV, env, 1);
	assert_int_equal(hp_pci_scan(false, err, sizeof(err)), 2);
	assert_int_equal(hp_pci_list(devs, 4), 2);
	assert_string_equal(devs[0].name, "0000:06:00.0");
	assert_int_equal(devs[0].vendor_id, TEST_VENDOR);
	assert_int_equal(devs[0].device_id, TEST_DEV);
	assert_int_equal(devs[0].class_id, 0x0200);
	/* a dump knows neither the NUMA node nor the kernel driver */
	assert_int_equal(devs[0].numa_node, -1);
	assert_string_equal(devs[0].driver, "");
	assert_string_equal(devs[1].name, "0002:00:01.0");
	assert_int_equal(devs[1].vendor_id, 0x1af4);
	assert_int_equal(devs[1].class_id, 0x0100);
	/* A broken dump: libpci's fatal error comes back as -EIO, and the
	 * process goes on with no devices. */
	write_file(path, "06:00.0 Ethernet controller: test\n00: ee f1 zz\n");
	assert_int_equal(hp_pci_scan(false, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "libpci"));
	assert_non_null(strstr(err, "Malformed"));
	assert_int_equal(hp_pci_list(devs, 4), 0);
	use_tree();
}

static void test_pci_scan_missing_or_bad_access(void **state)
{
	static const struct {
		const char *env;
		int res;
		const char *says;
	} bad[] = {
		{ "sysfs:/nonexistent/hp-test", -ENOENT,
		  "cannot read /nonexistent/hp-test/devices" },
		{ "dump:/nonexistent/hp-test.txt", -ENOENT,
		  "cannot read /nonexistent/hp-test.txt" },
		{ "sysfs:", -EINVAL, "expected sysfs:DIR or dump:FILE" },
		{ "proc", -EINVAL, "HOTPORT_PCI_ACCESS=proc" },
	};
	struct hp_pci_dev d;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		use_tree();
		assert_int_equal(hp_pci_scan(false, NULL, 0), (int)NB_FAKE);
		setenv(HP_PCI_ACCESS_ENV, bad[i].env, 1);
		err[0] = '\0';
		int r = hp_pci_scan(false, err, sizeof(err));
		if (r != bad[i].res || !strstr(err, bad[i].says))
			fail_msg("%s: got %d '%s', expected %d '%s'", bad[i].env,
				 r, err, bad[i].res, bad[i].says);
		/* a failed scan leaves no devices behind */
		assert_int_equal(hp_pci_list(NULL, 0), 0);
		assert_int_equal(hp_pci_find("0000:04:00.0", &d), -ENODEV);
	}
	use_tree();
}

/* ---- -a and -b ---- */

static void test_pci_allow_and_block_lists(void **state)
{
	static const char *const allow[] = { "0000:04:00.0", "03:00.0" };
	static const char *const block[] = { "0000:00:03.0" };
	static const char *const bad[] = { "0000:04:00.9" };
	const char *many[HP_PCI_MAX_LIST + 1];
	struct hp_pci_dev devs[16], d;
	char err[256];

	(void)state;
	use_tree();
	assert_int_equal(hp_pci_scan(false, NULL, 0), (int)NB_FAKE);
	/* -a: only the devices named (either form) */
	assert_int_equal(hp_pci_set_lists(allow, 2, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(hp_pci_list(devs, 16), (int)NB_FAKE);
	assert_int_equal(devs[0].policy, HP_PCI_NOT_ALLOWED);
	assert_int_equal(devs[1].policy, HP_PCI_USABLE);
	assert_int_equal(devs[2].policy, HP_PCI_USABLE);
	assert_int_equal(devs[3].policy, HP_PCI_NOT_ALLOWED);
	/* -b: all but the devices named */
	assert_int_equal(hp_pci_set_lists(NULL, 0, block, 1, err, sizeof(err)), 0);
	assert_int_equal(hp_pci_find("00:03.0", &d), 0);
	assert_int_equal(d.policy, HP_PCI_BLOCKED);
	assert_int_equal(hp_pci_find("0000:03:00.0", &d), 0);
	assert_int_equal(d.policy, HP_PCI_USABLE);
	/* refused, and the lists in force stay */
	assert_int_equal(hp_pci_set_lists(allow, 2, block, 1, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "-a and -b exclude each other"));
	assert_int_equal(hp_pci_set_lists(bad, 1, NULL, 0, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "-a 0000:04:00.9: not a PCI address"));
	assert_int_equal(hp_pci_set_lists(NULL, 0, bad, 1, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "-b 0000:04:00.9"));
	for (size_t i = 0; i < HP_PCI_MAX_LIST + 1; i++)
		many[i] = "0000:04:00.0";
	assert_int_equal(hp_pci_set_lists(many, HP_PCI_MAX_LIST + 1, NULL, 0,
					  err, sizeof(err)), -E2BIG);
	assert_int_equal(hp_pci_find("00:03.0", &d), 0);
	assert_int_equal(d.policy, HP_PCI_BLOCKED);
	/* no lists: every device */
	assert_int_equal(hp_pci_set_lists(NULL, 0, NULL, 0, NULL, 0), 0);
	assert_int_equal(hp_pci_find("00:03.0", &d), 0);
	assert_int_equal(d.policy, HP_PCI_USABLE);
}

/* Parses argv (NULL-terminated, argv[0] added) as role; writes err. */
static int parse_opts(enum hp_proc_role role, struct hp_core_opts *o,
		      char *err, size_t errlen, const char *const *args)
{
	char *argv[16] = { "test" };
	int argc = 1;

	for (; *args && argc < 15; args++)
		argv[argc++] = (char *)*args;
	err[0] = '\0';
	return hp_core_opts_parse(role, argc, argv, o, err, errlen);
}

static void test_pci_core_options(void **state)
{
	static const struct {
		const char *args[6];
		const char *says;	/* NULL: accepted */
	} cases[] = {
		{ { "-a", "0000:04:00.0", "--allow", "03:00.0" }, NULL },
		{ { "-b", "0000:04:00.0", "--block", "0001:80:1f.7" }, NULL },
		{ { "-a", "0000:04:00.0", "-b", "0000:05:00.0" },
		  "-a and -b exclude each other" },
		{ { "-a", "eth0" }, "-a 'eth0': not a PCI address" },
		{ { "--block", "0000:04:00.8" },
		  "-b '0000:04:00.8': not a PCI address" },
		{ { "-a", "0000:04:00.0,x=1" }, "not a PCI address" },
		{ { "-b", "" }, "-b needs a value" },
		{ { "-a" }, "needs a value" },
	};
	struct hp_core_opts o;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = parse_opts(HP_ROLE_PRIMARY, &o, err, sizeof(err),
				   cases[i].args);

		if (!cases[i].says && r != 0)
			fail_msg("case %zu refused: %s", i, err);
		if (cases[i].says &&
		    (r != -EINVAL || !strstr(err, cases[i].says)))
			fail_msg("case %zu: got %d '%s', expected '%s'", i, r,
				 err, cases[i].says);
	}
	assert_int_equal(parse_opts(HP_ROLE_PRIMARY, &o, err, sizeof(err),
				    (const char *[]){ "-a", "0000:04:00.0",
						      "-a", "03:00.0", NULL }),
			 0);
	assert_int_equal(o.nb_allow, 2);
	assert_string_equal(o.allow[1], "03:00.0");
	/* The lists are the primary's: a secondary takes them from it. */
	assert_int_equal(parse_opts(HP_ROLE_SECONDARY, &o, err, sizeof(err),
				    (const char *[]){ "-a", "0000:04:00.0",
						      NULL }),
			 -EINVAL);
	assert_non_null(strstr(err, "primary only"));
}

/* ---- attach and detach ---- */

/* The secondary's own command: "pci ADDR" scans and prints the device's
 * policy under the lists this process took from the primary. */
static bool pci_child_cmd(const char *line)
{
	struct hp_pci_dev d;
	char err[256];
	int r;

	if (strncmp(line, "pci ", 4))
		return false;
	r = hp_pci_scan(false, err, sizeof(err));
	if (r < 0)
		printf("err %d %s\n", r, err);
	else if (hp_pci_find(line + 4, &d) < 0)
		printf("err none\n");
	else
		printf("ok %d %s %d\n", (int)d.policy,
		       d.driver[0] ? d.driver : "-", d.numa_node);
	return true;
}

static int warnings;
static int pci_warnings;		/* those that speak of PCI */
static char last_pci_warning[512];

static void count_warnings(int level, const char *topic, const char *line,
			   void *arg)
{
	(void)topic;
	(void)arg;
	if (level <= HP_LOG_WARNING) {
		warnings++;
		fprintf(stderr, "%s\n", line);
	}
	if (level <= HP_LOG_WARNING && strstr(line, "PCI")) {
		pci_warnings++;
		snprintf(last_pci_warning, sizeof(last_pci_warning), "%s",
			 line);
	}
}

/* Starts this process as a primary with -a or -b, as hp_core_init gets
 * them from the command line. */
static int pci_primary_setup(const char *const *allow, unsigned nb_allow,
			     const char *const *block, unsigned nb_block)
{
	struct hp_core_opts o = { .role = HP_ROLE_PRIMARY, .prefix = prefix,
				  .no_huge = true,
				  .timeout_ms = test_timeout_ms,
				  .mem_size = 64u << 20,
				  .nb_allow = nb_allow, .nb_block = nb_block };

	use_tree();
	for (unsigned i = 0; i < nb_allow; i++)
		o.allow[i] = allow[i];
	for (unsigned i = 0; i < nb_block; i++)
		o.block[i] = block[i];
	hp_test_prefix(prefix, sizeof(prefix), "pci");
	return hp_core_init(&o, NULL, 0) == 0 ? 0 : -1;
}

static int setup(void **state)
{
	(void)state;
	return pci_primary_setup(NULL, 0, NULL, 0);
}

static int setup_block(void **state)
{
	static const char *const block[] = { "0000:04:00.0" };

	(void)state;
	return pci_primary_setup(NULL, 0, block, 1);
}

static int setup_allow(void **state)
{
	static const char *const allow[] = { "05:00.0" };

	(void)state;
	return pci_primary_setup(allow, 1, NULL, 0);
}

static void test_pci_primary_starts_without_a_bus(void **state)
{
	struct hp_port_info info;
	char err[256];
	uint16_t id;

	(void)state;
	/* libpci cannot read the bus: one warning, and no PCI devices */
	pci_warnings = 0;
	hp_log_set_sink(count_warnings, NULL);
	setenv(HP_PCI_ACCESS_ENV, "sysfs:/nonexistent/hp-test", 1);
	assert_int_equal(primary_setup("pci-nobus"), 0);
	hp_log_set_sink(NULL, NULL);
	assert_int_equal(pci_warnings, 1);
	assert_non_null(strstr(last_pci_warning,
			       "no PCI devices: cannot read "
			       "/nonexistent/hp-test/devices"));
	assert_int_equal(hp_pci_list(NULL, 0), 0);
	assert_int_equal(hp_port_attach_msg("0000:04:00.0", &id, err,
					    sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, "0000:04:00.0: cannot scan PCI devices"));
	/* virtual devices do not care */
	assert_int_equal(hp_port_attach("net_null0", &id), 0);
	assert_int_equal(hp_port_info_get(id, &info), 0);
	/* once the bus is readable, the next attach scans it */
	use_tree();
	assert_int_equal(hp_port_attach("0000:04:00.0", &id), 0);
	assert_int_equal(hp_port_detach(id, NULL, 0), 0);
	primary_teardown(NULL);
}

static void test_pci_attach_refusals(void **state)
{
	static const struct bad_devargs bad[] = {
		{ "0000:09:00.0", -ENODEV,
		  "0000:09:00.0: no such PCI device (see 'show pci')" },
		{ "09:00.0", -ENODEV, "0000:09:00.0: no such PCI device" },
		{ "0000:04:00.1", -EBUSY,
		  "0000:04:00.1 (f1ee:0001) is bound to kernel driver ixgbe: "
		  "hotport never unbinds a device; bind it to vfio-pci "
		  "yourself (dpdk-devbind.py / driverctl) if you mean it" },
		{ "0000:04:00.2", -ENXIO,
		  "0000:04:00.2 (f1ee:0001) is bound to no kernel driver: "
		  "bind it to vfio-pci yourself" },
		{ "0000:03:00.0", -ENODEV,
		  "0000:03:00.0 (1af4:1000): no hotport driver for this device" },
		{ "0000:00:03.0", -ENODEV,
		  "0000:00:03.0 (8086:100e): no hotport driver for this device "
		  "(it stays with kernel driver e1000)" },
		{ "0000:04:00.0,bogus=1", -EINVAL,
		  "unknown key 'bogus' (known: mode)" },
		/* a PCI driver takes PCI addresses only */
		{ "net_tpci0", -ENODEV, "no driver for device 'net_tpci0'" },
	};
	char dir[128], before[512], after[512], link[64];
	ssize_t n;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/devices/0000:04:00.1", tree);
	dir_listing(dir, before, sizeof(before));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		attach_must_fail(&bad[i]);
		assert_int_equal(hp_port_count(), 0);
	}
	/* Nothing was written: the kernel driver's device is as it was. */
	dir_listing(dir, after, sizeof(after));
	assert_string_equal(before, after);
	snprintf(dir, sizeof(dir), "%s/devices/0000:04:00.1/driver", tree);
	n = readlink(dir, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "../../drivers/ixgbe");
}

static void test_pci_attach_detach(void **state)
{
	struct child c = { 0 };
	struct hp_port_info info;
	char buf[512], err[256], name[64], from[160], to[160];
	uint16_t id;

	(void)state;
	child_start_env(&c, NULL, NULL);
	/* from the primary, by the short form of the address */
	assert_int_equal(hp_port_attach_msg("04:00.0,mode=x", &id, err,
					    sizeof(err)), 0);
	assert_int_equal(id, 0);
	assert_int_equal(hp_port_info_get(id, &info), 0);
	assert_string_equal(info.name, "0000:04:00.0");
	assert_string_equal(info.driver, "net_tpci");
	assert_string_equal(info.devargs, "04:00.0,mode=x");
	assert_int_equal(info.socket_id, 1);
	assert_true(info.link_up);
	assert_int_equal(info.mac[3], 4);
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "has 0"), "ok 1");
	/* one port per device, whatever form names it */
	assert_int_equal(hp_port_attach_msg("0000:04:00.0", &id, err,
					    sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "device 0000:04:00.0 is already port 0"));
	/* detached from the secondary, under its canonical name */
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "detach 0"),
			    "ok 0000:04:00.0");
	assert_int_equal(hp_port_count(), 0);
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "has 0"), "ok 0");
	/* attached from the secondary, detached by the primary */
	assert_string_equal(child_cmd(&c, buf, sizeof(buf),
				      "attach 0000:04:00.0"), "ok 0");
	assert_non_null(hp_port_fp_get(0));
	assert_int_equal(hp_port_detach(0, name, sizeof(name)), 0);
	assert_string_equal(name, "0000:04:00.0");
	/* A device that went away from the bus still detaches. */
	assert_int_equal(hp_port_attach("0000:04:00.0", &id), 0);
	snprintf(from, sizeof(from), "%s/devices/0000:04:00.0", tree);
	snprintf(to, sizeof(to), "%s/gone-0000:04:00.0", tree);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(hp_port_detach(id, name, sizeof(name)), 0);
	assert_string_equal(name, "0000:04:00.0");
	assert_int_equal(hp_port_attach_msg("0000:04:00.0", &id, err,
					    sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, "no such PCI device"));
	assert_int_equal(rename(to, from), 0);
	assert_int_equal(hp_port_count(), 0);
	child_stop(&c);
}


static void test_pci_not_detachable_refuses_detach(void **state)
{
	struct child c = { 0 };
	char buf[512], err[256];
	uint16_t id;

	(void)state;
	child_start_env(&c, NULL, NULL);
	assert_int_equal(hp_port_attach("0000:05:00.0", &id), 0);
	assert_int_equal(hp_port_detach_msg(id, NULL, 0, err, sizeof(err)),
			 -ENOTSUP);
	assert_non_null(strstr(err, "port 0 (0000:05:00.0): driver net_tpci_pinned "
				    "cannot be detached; the port stays until "
				    "the primary exits"));
	assert_true(hp_port_is_valid(id));
	/* the same from a secondary, and whether started or not */
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "start 0"), "ok 0");
	child_cmd(&c, buf, sizeof(buf), "detach 0");
	assert_non_null(strstr(buf, "err -95"));
	assert_non_null(strstr(buf, "cannot be detached"));
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "has 0"), "ok 1");
	assert_true(hp_port_is_valid(id));
	child_stop(&c);
	/* The primary's exit still removes it, without a complaint. */
	warnings = 0;
	hp_log_set_sink(count_warnings, NULL);
	hp_core_fini();
	hp_log_set_sink(NULL, NULL);
	assert_int_equal(warnings, 0);
}

static void test_pci_blocked_device_refused(void **state)
{
	static const struct bad_devargs blocked = {
		"0000:04:00.0", -EPERM, "0000:04:00.0 is blocked (-b)"
	};
	struct child c = { 0 };
	char buf[256];
	uint16_t id;

	(void)state;
	attach_must_fail(&blocked);
	/* the secondary took the primary's list: it sees the block too */
	child_start_env(&c, NULL, NULL);
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "pci 04:00.0"),
			    "ok 1 vfio-pci 1");
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "pci 0000:05:00.0"),
			    "ok 0 uio_pci_generic 0");
	child_cmd(&c, buf, sizeof(buf), "attach 0000:04:00.0");
	assert_non_null(strstr(buf, "err -1 0000:04:00.0 is blocked (-b)"));
	assert_int_equal(hp_port_attach("0000:05:00.0", &id), 0);
	child_stop(&c);
}

static void test_pci_device_not_in_allow_list_refused(void **state)
{
	static const struct bad_devargs not_allowed = {
		"0000:04:00.0", -EPERM,
		"0000:04:00.0 is not in the allow list (-a)"
	};
	struct child c = { 0 };
	char buf[256];
	uint16_t id;

	(void)state;
	attach_must_fail(&not_allowed);
	child_start_env(&c, NULL, NULL);
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "pci 04:00.0"),
			    "ok 2 vfio-pci 1");
	assert_string_equal(child_cmd(&c, buf, sizeof(buf), "pci 05:00.0"),
			    "ok 0 uio_pci_generic 0");
	/* -a takes the device in, and the binding check still applies */
	assert_int_equal(hp_port_attach("0000:05:00.0", &id), 0);
	child_stop(&c);
}

/* ---- show pci ---- */

static void test_pci_show_pci(void **state)
{
	static const char *const block[] = { "0000:03:00.0" };
	struct hp_cli *cli;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(hp_cli_create(f, &cli), 0);
	use_tree();
	assert_int_equal(hp_pci_set_lists(NULL, 0, block, 1, NULL, 0), 0);
	assert_int_equal(hp_cli_exec(cli, "show pci"), 0);
	fflush(f);
	/* a header, then one line per device in address order */
	assert_non_null(strstr(out, "address       id         class  numa  "
				    "kernel driver     usable"));
	assert_non_null(strstr(out, "\n0000:00:03.0  8086:100e  0200   -     "
				    "e1000             yes"));
	assert_non_null(strstr(out, "\n0000:03:00.0  1af4:1000  0200   0     "
				    "vfio-pci          blocked (-b)"));
	assert_non_null(strstr(out, "\n0000:04:00.0  f1ee:0001  0200   1     "
				    "vfio-pci          yes\n"));
	assert_non_null(strstr(out, "\n0000:04:00.2  f1ee:0001  0200   1     "
				    "-                 yes\n"));
	assert_non_null(strstr(out, "\n0001:80:1f.7  8086:1572  0200   1     "
				    "i40e              yes"));
	assert_true(strstr(out, "0000:00:03.0") < strstr(out, "0000:03:00.0"));
	unsigned lines = 0;
	for (const char *p = out; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, NB_FAKE + 1);
	hp_cli_destroy(cli);
	fclose(f);
	free(out);
	/* a scan that fails is one error line */
	out = NULL;
	f = open_memstream(&out, &len);
	assert_non_null(f);
	assert_int_equal(hp_cli_create(f, &cli), 0);
	setenv(HP_PCI_ACCESS_ENV, "sysfs:/nonexistent/hp-test", 1);
	assert_int_equal(hp_cli_exec(cli, "show pci"), -ENOENT);
	fflush(f);
	assert_string_equal(out, "error: cannot scan PCI devices: cannot read "
				 "/nonexistent/hp-test/devices: No such file or "
				 "directory\n");
	use_tree();
	assert_int_equal(hp_pci_set_lists(NULL, 0, NULL, 0, NULL, 0), 0);
	hp_cli_destroy(cli);
	fclose(f);
	free(out);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pci_scan_fake_sysfs),
		cmocka_unit_test(test_pci_scan_dump_file),
		cmocka_unit_test(test_pci_scan_missing_or_bad_access),
		cmocka_unit_test(test_pci_allow_and_block_lists),
		cmocka_unit_test(test_pci_core_options),
		cmocka_unit_test(test_pci_show_pci),
		cmocka_unit_test(test_pci_primary_starts_without_a_bus),
		cmocka_unit_test_setup_teardown(test_pci_attach_refusals, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_pci_attach_detach, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_pci_not_detachable_refuses_detach, setup, primary_teardown),
		cmocka_unit_test_setup_teardown(test_pci_blocked_device_refused, setup_block, primary_teardown),
		cmocka_unit_test_setup_teardown(test_pci_device_not_in_allow_list_refused, setup_allow, primary_teardown),
	};

	if (argc == 4 && !strcmp(argv[1], "--child"))
		return child_main(argv[2], atoi(argv[3]), pci_child_cmd);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
