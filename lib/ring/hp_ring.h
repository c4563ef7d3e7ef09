/* SPDX-License-Identifier: BSD-3-Clause */
/* Lock-free rings of pointers in shared memory, found by name from any
 * process. */
#ifndef HP_RING_H
#define HP_RING_H

#include "hp_common.h"

#endif
