/* SPDX-License-Identifier: BSD-3-Clause */
/* Lists of numbers ("0,2-5") as the -l option and the portlist and
 * fwd-queues commands take them, parsed into bit sets and written back. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fwd_private.h"

/* Reads the number at *p (digits only) and moves *p past it. */
static int fwd_list_num(const char **p, unsigned limit, unsigned *ret_n)
{
	const char *s = *p;
	unsigned long v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++)
		if (v < limit)	/* past limit only its digits matter */
			v = v * 10 + (unsigned long)(*s - '0');
	*p = s;
	if (v >= limit)
		return -ERANGE;
	*ret_n = (unsigned)v;
	return 0;
}

/* Checks list and, when bits is not NULL, sets its numbers in bits. */
static int fwd_list_walk(const char *p, unsigned limit, uint64_t *bits)
{
	unsigned lo, hi;
	int r;

	for (;;) {
		r = fwd_list_num(&p, limit, &lo);
		if (r < 0)
			return r;
		hi = lo;
		if (*p == '-') {
			p++;
			r = fwd_list_num(&p, limit, &hi);
			if (r < 0)
				return r;
			if (hi < lo)
				return -EINVAL;
		}
		for (unsigned n = lo; bits && n <= hi; n++)
			fwd_bit_set(bits, n);
		if (*p == '\0')
			return 0;
		if (*p++ != ',')
			return -EINVAL;
	}
}

int hp_fwd_list_parse(const char *list, unsigned limit, uint64_t *ret_bits)
{
	int r;

	if (!list || !ret_bits || limit == 0)
		return -EINVAL;
	r = fwd_list_walk(list, limit, NULL);
	if (r < 0)
		return r;
	memset(ret_bits, 0, HP_FWD_BITS_WORDS(limit) * sizeof(*ret_bits));
	return fwd_list_walk(list, limit, ret_bits);
}

void fwd_list_format(const uint64_t *bits, unsigned limit, char *buf,
			    size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned n = 0; n < limit; n++) {
		unsigned hi = n;
		int w;

		if (!fwd_bit(bits, n))
			continue;
		while (hi + 1 < limit && fwd_bit(bits, hi + 1))
			hi++;
		if (hi == n)
			w = snprintf(buf + off, len - off, "%s%u",
				     off ? "," : "", n);
		else
			w = snprintf(buf + off, len - off, "%s%u-%u",
				     off ? "," : "", n, hi);
		if (w < 0 || off + (size_t)w >= len) {
			strcpy(buf + len - 4, "...");
			return;
		}
		off += (size_t)w;
		n = hi;
	}
}
