/* SPDX-License-Identifier: BSD-3-Clause */
/* The apps' standard output: whole lines, written by a thread of their
 * own, so that printing an event never blocks the thread that runs it. */
#ifndef APP_OUT_H
#define APP_OUT_H

#include <stdio.h>

#include "hp_common.h"

/* Queues one line (no newline) for standard output and returns at once:
 * if the queue is full (nobody reads the output), the line is dropped,
 * counted, and "output: N lines dropped ..." follows once the output
 * drains. For events; any thread. */
void app_out_event(const char *fmt, ...) HP_PRINTF(1, 2);

/* Like app_out_event, but waits for room and until the line is written:
 * for the user's own thread (ready lines). */
void app_out_line(const char *fmt, ...) HP_PRINTF(1, 2);

/* A stream for the command interpreter: what is written to it goes out
 * as whole lines, in order with the events; each fflush waits until its
 * lines are written. NULL if it cannot be made (then use stdout). */
FILE *app_out_stream(void);

#endif
