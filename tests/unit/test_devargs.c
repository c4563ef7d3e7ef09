/* SPDX-License-Identifier: BSD-3-Clause */
/* Device argument parsing: names, keys, values, limits, PCI addresses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hp_devargs.h"

static void test_devargs_name_and_keys(void **state)
{
	struct hp_devargs da;
	char err[128];

	(void)state;
	assert_int_equal(hp_devargs_parse("net_pcap0,iface=eth0,rx_pcap=/tmp/a b.pcap", &da,
					  err, sizeof(err)), 0);
	assert_string_equal(da.name, "net_pcap0");
	assert_false(da.is_pci);
	assert_int_equal(da.nb_kv, 2);
	assert_string_equal(hp_devargs_get(&da, "iface"), "eth0");
	assert_string_equal(hp_devargs_get(&da, "rx_pcap"), "/tmp/a b.pcap");
	assert_null(hp_devargs_get(&da, "tx_pcap"));
	assert_int_equal(hp_devargs_parse("net_null0", &da, err, sizeof(err)), 0);
	assert_int_equal(da.nb_kv, 0);
	assert_int_equal(hp_devargs_parse("net_null0,path=a=b", &da, err, sizeof(err)), 0);
	assert_string_equal(hp_devargs_get(&da, "path"), "a=b");
}

static void test_devargs_pci_addresses(void **state)
{
	struct hp_devargs da;

	(void)state;
	assert_true(hp_devargs_is_pci_addr("0000:01:00.0"));
	assert_true(hp_devargs_is_pci_addr("01:00.7"));
	assert_true(hp_devargs_is_pci_addr("abcd:ef:1f.3"));
	assert_false(hp_devargs_is_pci_addr("0000:01:00.8"));
	assert_false(hp_devargs_is_pci_addr("0000:01:00"));
	assert_false(hp_devargs_is_pci_addr("0000:01:00.0x"));
	assert_false(hp_devargs_is_pci_addr("net_null0"));
	assert_false(hp_devargs_is_pci_addr(""));
	assert_int_equal(hp_devargs_parse("0000:3b:00.1", &da, NULL, 0), 0);
	assert_true(da.is_pci);
}

static void test_devargs_bad_inputs(void **state)
{
	static char longer[HP_DEVARGS_MAX + 2];
	static char longname[HP_NAME_MAX + 2];
	static char many[HP_DEVARGS_MAX];
	const struct {
		const char *s;
		int r;
		const char *says;
	} bad[] = {
		{ "", -EINVAL, "empty" },
		{ ",a=1", -EINVAL, "no device name" },
		{ "x,", -EINVAL, "end with" },
		{ "x,a", -EINVAL, "not key=value" },
		{ "x,=1", -EINVAL, "no key before its '='" },
		{ "x,a b=1", -EINVAL, "bad key" },
		{ "x,a=1,a=2", -EINVAL, "twice" },
		{ "x,,a=1", -EINVAL, "empty key=value pair" },
		{ "x\n", -EINVAL, "name 'x\\x0a'" }, /* one line */
		{ "x,a\nb", -EINVAL, "'a\\x0ab' is not" },
		{ "x/y", -EINVAL, "character" },
		{ "x,a=\x01", -EINVAL, "control" },
		{ longer, -ENAMETOOLONG, "longer than" },
		{ longname, -ENAMETOOLONG, "longer than" },
		{ many, -E2BIG, "more than" },
	};
	struct hp_devargs da;
	char err[128];

	(void)state;
	memset(longer, 'a', sizeof(longer) - 1);
	memset(longname, 'n', sizeof(longname) - 1);
	strcpy(many, "x");
	for (int i = 0; i <= HP_DEVARGS_MAX_KV; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), ",k%d=1", i);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		int r = hp_devargs_parse(bad[i].s, &da, err, sizeof(err));
		if (r != bad[i].r || !strstr(err, bad[i].says))
			fail_msg("#%zu: got %d '%s', expected %d '%s'", i, r, err,
				 bad[i].r, bad[i].says);
	}
	assert_int_equal(hp_devargs_parse(NULL, &da, err, sizeof(err)), -EINVAL);
}

static void test_devargs_keys_and_numbers(void **state)
{
	static const char *const keys[] = { "size", "queues", NULL };
	struct hp_devargs da;
	unsigned long v;
	char err[128];

	(void)state;
	assert_int_equal(hp_devargs_parse("n0,size=100,bogus=1", &da, NULL, 0), 0);
	assert_int_equal(hp_devargs_check_keys(&da, keys, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown key 'bogus' (known: size, queues)"));
	assert_int_equal(hp_devargs_get_uint(&da, "size", 1, 200, 5, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 100);
	assert_int_equal(hp_devargs_get_uint(&da, "queues", 1, 16, 3, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 3);
	assert_int_equal(hp_devargs_get_uint(&da, "size", 1, 99, 5, &v, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "size=100: expected a number from 1 to 99"));
	assert_int_equal(hp_devargs_parse("n0,size=-1", &da, NULL, 0), 0);
	assert_int_equal(hp_devargs_get_uint(&da, "size", 0, 99, 5, &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(hp_devargs_parse("n0,size=12abc", &da, NULL, 0), 0);
	assert_int_equal(hp_devargs_get_uint(&da, "size", 0, 99, 5, &v, err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_devargs_name_and_keys),
		cmocka_unit_test(test_devargs_pci_addresses),
		cmocka_unit_test(test_devargs_bad_inputs),
		cmocka_unit_test(test_devargs_keys_and_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
