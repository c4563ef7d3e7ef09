/* SPDX-License-Identifier: BSD-3-Clause */
/* What every libFuzzer target shares: a failed invariant aborts (so
 * libFuzzer keeps the input as a crash), the parsers under test must not
 * log, and an error message must be one non-empty printable line. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp_log.h"

/* Aborts with the failed condition when cond is false. */
#define FUZZ_CHECK(cond)                                                    \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",    \
				__FILE__, __LINE__, #cond);                 \
			abort();                                            \
		}                                                           \
	} while (0)

/* Lines logged while a target ran; the pure parsers write none. */
static unsigned fuzz_log_lines;

static void fuzz_log_sink(int level, const char *topic, const char *line,
			  void *arg)
{
	(void)level;
	(void)topic;
	(void)line;
	(void)arg;
	fuzz_log_lines++;
}

/* Lines logged so far (the sink runs on the log's writer thread). */
static inline unsigned fuzz_logged(void)
{
	hp_log_flush(-1);
	return fuzz_log_lines;
}

/* Every level on, into a counter: a parser that logs is caught, and
 * nothing floods the fuzzer's output. */
static inline void fuzz_log_init(void)
{
	hp_log_set_sink(fuzz_log_sink, NULL);
	hp_log_set_levels("debug");
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer calls it once, before the first input: logging as above.
 * (Each target is one file that includes this header.) */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_log_init();
	return 0;
}

/* An error message as the user would see it: one line, not empty, and
 * plain printable text (user input in it quoted). */
static inline bool fuzz_one_line(const char *err)
{
	if (!err[0])
		return false;
	for (const char *c = err; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
			return false;
	return true;
}

/* data as a NUL-terminated string (cut at its first NUL byte); free it. */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	FUZZ_CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
