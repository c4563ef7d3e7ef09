/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef HP_CORE_H
#define HP_CORE_H
#endif
