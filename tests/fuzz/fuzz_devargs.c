/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the devargs parser and its getters, fed any string a
 * user or a secondary could pass to port attach or --vdev. An accepted
 * string has a valid name, unique well-formed keys that hp_devargs_get
 * finds, and prints back to itself; a refused one gives a documented errno
 * and one printable line saying why. */
#include <ctype.h>
#include <errno.h>

#include "fuzz_common.h"
#include "hp_devargs.h"


static bool fuzz_in_buf(const struct hp_devargs *da, const char *p)
{
	return p >= da->buf && p < da->buf + sizeof(da->buf);
}

static void fuzz_devargs_key(const struct hp_devargs *da, unsigned i)
{
	const char *k = da->keys[i], *v = da->values[i];

	FUZZ_CHECK(fuzz_in_buf(da, k) && fuzz_in_buf(da, v));
	FUZZ_CHECK(k[0] != '\0');
	for (const char *c = k; *c; c++)
		FUZZ_CHECK(isalnum((unsigned char)*c) || *c == '_' || *c == '-');
	for (const char *c = v; *c; c++)
		FUZZ_CHECK(*c != ',' && isprint((unsigned char)*c));
	for (unsigned j = 0; j < i; j++)
		FUZZ_CHECK(strcmp(da->keys[j], k) != 0);
	FUZZ_CHECK(hp_devargs_get(da, k) == v);
}

/* The getters on an accepted string: a number or one line why not. */
static void fuzz_devargs_getters(const struct hp_devargs *da)
{
	static const char *const allowed[] = { "size", "peer", "queues", NULL };
	unsigned long n = 12345;
	char err[256] = "";
	int r;

	r = hp_devargs_get_uint(da, "size", 14, 9000, 64, &n, err, sizeof(err));
	if (r == 0) {
		FUZZ_CHECK(n >= 14 && n <= 9000);
		FUZZ_CHECK(hp_devargs_get(da, "size") || n == 64);
	} else {
		FUZZ_CHECK(r == -EINVAL && fuzz_one_line(err));
		FUZZ_CHECK(n == 12345);
	}
	err[0] = '\0';
	r = hp_devargs_check_keys(da, allowed, err, sizeof(err));
	FUZZ_CHECK(r == 0 || (r == -EINVAL && fuzz_one_line(err)));
	for (unsigned i = 0; r == 0 && i < da->nb_kv; i++)
		FUZZ_CHECK(!strcmp(da->keys[i], "size") ||
			   !strcmp(da->keys[i], "peer") ||
			   !strcmp(da->keys[i], "queues"));
}

static void fuzz_devargs_accepted(const char *str, const struct hp_devargs *da)
{
	char back[HP_DEVARGS_MAX + 2];
	size_t off;

	FUZZ_CHECK(strlen(str) <= HP_DEVARGS_MAX);
	FUZZ_CHECK(da->name[0] != '\0' && strlen(da->name) < HP_NAME_MAX);
	FUZZ_CHECK(da->is_pci == hp_devargs_is_pci_addr(da->name));
	FUZZ_CHECK(da->nb_kv <= HP_DEVARGS_MAX_KV);
	for (unsigned i = 0; i < da->nb_kv; i++)
		fuzz_devargs_key(da, i);
	/* name,key=value,... prints back to the string it came from */
	off = (size_t)snprintf(back, sizeof(back), "%s", da->name);
	for (unsigned i = 0; i < da->nb_kv && off < sizeof(back); i++)
		off += (size_t)snprintf(back + off, sizeof(back) - off, ",%s=%s",
					da->keys[i], da->values[i]);
	FUZZ_CHECK(strcmp(back, str) == 0);
	fuzz_devargs_getters(da);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hp_devargs da, da2;
	char *str = fuzz_str(data, size);
	char err[256] = "", err2[256] = "";
	int r;

	r = hp_devargs_parse(str, &da, err, sizeof(err));
	if (r == 0) {
		FUZZ_CHECK(err[0] == '\0');
		fuzz_devargs_accepted(str, &da);
	} else {
		FUZZ_CHECK(r == -EINVAL || r == -ENAMETOOLONG || r == -E2BIG);
		FUZZ_CHECK(fuzz_one_line(err));
		FUZZ_CHECK(r != -ENAMETOOLONG || strstr(err, "longer than"));
		FUZZ_CHECK(r != -E2BIG || strstr(err, "more than"));
	}
	/* Pure: the same answer again, and a short err buffer is fine. */
	FUZZ_CHECK(hp_devargs_parse(str, &da2, err2, 8) == r);
	FUZZ_CHECK(r != 0 || strcmp(da2.name, da.name) == 0);
	FUZZ_CHECK(hp_devargs_parse(str, &da2, NULL, 0) == r);
	FUZZ_CHECK(fuzz_logged() == 0);
	free(str);
	return 0;
}
