/* SPDX-License-Identifier: BSD-3-Clause */
/* Placeholder until the implementation lands. */
#include "hp_shm.h"
