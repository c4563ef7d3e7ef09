/* SPDX-License-Identifier: BSD-3-Clause */
/* net_pcap's calls into libpcap, loaded with dlopen when a process first
 * uses a pcap port: a process without one never maps libpcap nor what it
 * pulls in (libdbus, libsystemd, libgcrypt, ...), which would cost every
 * hotport process milliseconds of start-up.
 *
 * The table is filled once per process (hp_dl_load), by the primary's
 * probe or by attach_local, and never unloaded; the bursts that call
 * through it run only on queues that attach_local set up, after that. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "hp_dl.h"
#include "pcap_private.h"

#define PCAP_LIB_SONAME "libpcap.so.0.8"
/* The Debian package that holds it, for the error message. */
#define PCAP_LIB_PACKAGE "libpcap0.8"

struct pcap_lib pcap_lib;

/* Symbol name and slot in pcap_lib, for each function. */
#define PCAP_LIB_SYM(f) { "pcap_" #f, (void **)&pcap_lib.f }

static const struct hp_dl_sym pcap_lib_syms[] = {
	PCAP_LIB_SYM(create),
	PCAP_LIB_SYM(set_snaplen),
	PCAP_LIB_SYM(set_promisc),
	PCAP_LIB_SYM(set_immediate_mode),
	PCAP_LIB_SYM(set_buffer_size),
	PCAP_LIB_SYM(activate),
	PCAP_LIB_SYM(setnonblock),
	PCAP_LIB_SYM(setdirection),
	PCAP_LIB_SYM(setfilter),
	PCAP_LIB_SYM(fopen_offline),
	PCAP_LIB_SYM(datalink),
	PCAP_LIB_SYM(file),
	PCAP_LIB_SYM(next_ex),
	PCAP_LIB_SYM(inject),
	PCAP_LIB_SYM(geterr),
	PCAP_LIB_SYM(statustostr),
	PCAP_LIB_SYM(close),
};

static struct hp_dl_lib pcap_lib_dl =
	HP_DL_LIB("libpcap", PCAP_LIB_SONAME, PCAP_LIB_PACKAGE, pcap_lib_syms);

int pcap_lib_load(struct hp_port_dev *dev)
{
	int r = hp_dl_load(&pcap_lib_dl);

	if (r < 0)
		snprintf(dev->err, dev->errlen, "%s: %s", dev->args->name,
			 pcap_lib_dl.why);
	return r;
}
