/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef HP_CLI_H
#define HP_CLI_H
#endif
