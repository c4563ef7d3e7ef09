/* SPDX-License-Identifier: BSD-3-Clause */
/* Parsing of device arguments: "name[,key=value...]" or a PCI address. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_devargs.h"
#include "hp_log.h"

/* Longest user text quoted whole in a message. */
#define DA_QUOTE_MAX 40

#define DA_ERR(err, errlen, ...)                                   \
	do {                                                       \
		if (err && errlen)                                 \
			snprintf(err, errlen, __VA_ARGS__);        \
	} while (0)

static int da_hex_run(const char *s, unsigned n, char end)
{
	for (unsigned i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[n] == end;
}

bool hp_devargs_is_pci_addr(const char *s)
{
	if (!s)
		return false;
	/* DDDD:BB:DD.F or BB:DD.F */
	if (da_hex_run(s, 4, ':') && da_hex_run(s + 5, 2, ':'))
		s += 5;
	return da_hex_run(s, 2, ':') && da_hex_run(s + 3, 2, '.') &&
	       s[6] >= '0' && s[6] <= '7' && s[7] == '\0';
}

static bool da_name_char_ok(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == ':' ||
	       c == '.';
}

static bool da_key_ok(const char *k)
{
	if (!*k)
		return false;
	for (; *k; k++)
		if (!isalnum((unsigned char)*k) && *k != '_' && *k != '-')
			return false;
	return true;
}

static bool da_value_ok(const char *v)
{
	for (; *v; v++)
		if (!isprint((unsigned char)*v))
			return false;
	return true;
}

static int da_parse_name(struct hp_devargs *da, const char *name, char *err,
			 size_t errlen)
{
	char q[HP_LOG_QUOTE_SIZE(DA_QUOTE_MAX)];

	if (!*name) {
		DA_ERR(err, errlen, "no device name before the first ','");
		return -EINVAL;
	}
	if (strlen(name) >= sizeof(da->name)) {
		DA_ERR(err, errlen, "device name longer than %d characters",
		       HP_NAME_MAX - 1);
		return -ENAMETOOLONG;
	}
	for (const char *c = name; *c; c++) {
		if (!da_name_char_ok(*c)) {
			DA_ERR(err, errlen,
			       "device name '%s' has a character that is not a letter, digit, '_', '-', ':' or '.'",
			       hp_log_quote(q, sizeof(q), name, DA_QUOTE_MAX));
			return -EINVAL;
		}
	}
	snprintf(da->name, sizeof(da->name), "%s", name);
	da->is_pci = hp_devargs_is_pci_addr(name);
	return 0;
}

/* Checks the key of item, cut at its '=' already, and its value. */
static int da_check_kv(const char *item, const char *value, char *err,
		       size_t errlen)
{
	char q[HP_LOG_QUOTE_SIZE(DA_QUOTE_MAX)];

	if (!*item) {
		DA_ERR(err, errlen, "'=%s' has no key before its '='",
		       hp_log_quote(q, sizeof(q), value, DA_QUOTE_MAX));
		return -EINVAL;
	}
	if (!da_key_ok(item)) {
		DA_ERR(err, errlen,
		       "bad key '%s': keys are letters, digits, '_' and '-'",
		       hp_log_quote(q, sizeof(q), item, DA_QUOTE_MAX));
		return -EINVAL;
	}
	if (!da_value_ok(value)) {
		DA_ERR(err, errlen, "value of '%.40s' has a control character",
		       item);
		return -EINVAL;
	}
	return 0;
}

static int da_parse_kv(struct hp_devargs *da, char *item, char *err,
		       size_t errlen)
{
	char q[HP_LOG_QUOTE_SIZE(DA_QUOTE_MAX)];
	char *eq = strchr(item, '=');
	int r;

	if (!*item) {
		DA_ERR(err, errlen, "empty key=value pair (',,' in the devargs)");
		return -EINVAL;
	}
	if (!eq) {
		DA_ERR(err, errlen, "'%s' is not key=value",
		       hp_log_quote(q, sizeof(q), item, DA_QUOTE_MAX));
		return -EINVAL;
	}
	*eq = '\0';
	r = da_check_kv(item, eq + 1, err, errlen);
	if (r < 0)
		return r;
	if (hp_devargs_get(da, item)) {
		DA_ERR(err, errlen, "key '%.40s' given twice", item);
		return -EINVAL;
	}
	if (da->nb_kv == HP_DEVARGS_MAX_KV) {
		DA_ERR(err, errlen, "more than %d key=value pairs",
		       HP_DEVARGS_MAX_KV);
		return -E2BIG;
	}
	da->keys[da->nb_kv] = item;
	da->values[da->nb_kv] = eq + 1;
	da->nb_kv++;
	return 0;
}

int hp_devargs_parse(const char *str, struct hp_devargs *da, char *err,
		     size_t errlen)
{
	size_t len;
	int r;

	if (!str || !da) {
		DA_ERR(err, errlen, "no devargs given");
		return -EINVAL;
	}
	len = strnlen(str, HP_DEVARGS_MAX + 1);
	if (len > HP_DEVARGS_MAX) {
		DA_ERR(err, errlen, "devargs longer than %d characters",
		       HP_DEVARGS_MAX);
		return -ENAMETOOLONG;
	}
	if (len == 0) {
		DA_ERR(err, errlen, "empty devargs: give a device name such as net_null0 or a PCI address");
		return -EINVAL;
	}
	memset(da, 0, sizeof(*da));
	memcpy(da->buf, str, len + 1);
	if (da->buf[len - 1] == ',') {
		DA_ERR(err, errlen, "devargs end with ','");
		return -EINVAL;
	}
	/* strtok_r would merge ",,": find each comma by hand. */
	char *p = da->buf;
	char *comma = strchr(p, ',');
	if (comma)
		*comma = '\0';
	r = da_parse_name(da, p, err, errlen);
	if (r < 0)
		return r;
	while (comma) {
		p = comma + 1;
		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		r = da_parse_kv(da, p, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

const char *hp_devargs_get(const struct hp_devargs *da, const char *key)
{
	for (unsigned i = 0; i < da->nb_kv; i++)
		if (!strcmp(da->keys[i], key))
			return da->values[i];
	return NULL;
}

int hp_devargs_check_keys(const struct hp_devargs *da,
			  const char *const *allowed, char *err, size_t errlen)
{
	for (unsigned i = 0; i < da->nb_kv; i++) {
		bool ok = false;
		for (const char *const *a = allowed; a && *a && !ok; a++)
			ok = !strcmp(*a, da->keys[i]);
		if (ok)
			continue;
		char list[256] = "";
		size_t off = 0;
		for (const char *const *a = allowed; a && *a; a++)
			off += (size_t)snprintf(list + off,
					off < sizeof(list) ? sizeof(list) - off : 0,
					"%s%s", off ? ", " : "", *a);
		DA_ERR(err, errlen, "unknown key '%.40s' (known: %s)", da->keys[i],
		       list[0] ? list : "none");
		return -EINVAL;
	}
	return 0;
}

int hp_devargs_get_uint(const struct hp_devargs *da, const char *key,
			unsigned long min, unsigned long max, unsigned long def,
			unsigned long *ret_value, char *err, size_t errlen)
{
	const char *v = hp_devargs_get(da, key);
	char *end;
	unsigned long n;

	if (!v) {
		*ret_value = def;
		return 0;
	}
	errno = 0;
	n = strtoul(v, &end, 0);
	if (!*v || *end || errno || v[0] == '-' || n < min || n > max) {
		DA_ERR(err, errlen, "%.40s=%.40s: expected a number from %lu to %lu",
		       key, v, min, max);
		return -EINVAL;
	}
	*ret_value = n;
	return 0;
}
