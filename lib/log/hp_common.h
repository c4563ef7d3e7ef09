/* SPDX-License-Identifier: BSD-3-Clause */
/* Macros every hotport header and source shares: exports, hints, sizes. */
#ifndef HP_COMMON_H
#define HP_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "hp_config.h"

/* Marks a function as part of libhotport's exported API. */
#define HP_API __attribute__((visibility("default")))

#define HP_LIKELY(x) __builtin_expect(!!(x), 1)
#define HP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HP_CACHE_LINE 64
#define HP_CACHE_ALIGNED __attribute__((aligned(HP_CACHE_LINE)))
#define HP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HP_ALIGN_UP(v, a) (((v) + ((a) - 1)) & ~((__typeof__(v))(a) - 1))
#define HP_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Longest devargs string a port accepts (DPDK: 127 characters). */
#define HP_DEVARGS_MAX 1024
/* Longest port (device) name, with its NUL. */
#define HP_NAME_MAX 64

#endif
