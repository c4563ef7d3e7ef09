/* SPDX-License-Identifier: BSD-3-Clause */
/* Placeholder until the ring implementation lands. */
#include "hp_ring.h"
