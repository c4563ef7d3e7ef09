/* SPDX-License-Identifier: BSD-3-Clause */
/* Placeholder until the pool implementation lands. */
#include <errno.h>

#include "hp_mbuf.h"
