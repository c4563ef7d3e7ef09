/* SPDX-License-Identifier: BSD-3-Clause */
/* The one formatter of the one-line reasons that err/errlen parameters
 * carry back to the caller who logs or prints them. */
#include <stdarg.h>
#include <stdio.h>

#include "hp_log.h"

int hp_err_set(char *err, size_t errlen, int res, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return res;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return res;
}
