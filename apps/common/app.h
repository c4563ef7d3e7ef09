/* SPDX-License-Identifier: BSD-3-Clause */
/* The start-up both apps share: options, init, commands, shut-down. */
#ifndef APP_H
#define APP_H

#include "hp_core.h"

/* Runs a hotport app as role; returns the process exit status. */
int app_main(enum hp_proc_role role, int argc, char **argv);

#endif
