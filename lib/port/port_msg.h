/* SPDX-License-Identifier: BSD-3-Clause */
/* The messages between processes of the port layer: their wire format,
 * the secondary's request stubs and the primary's broadcasts
 * (port_msg.c). Only lib/port (and its tests) include it. */
#ifndef PORT_MSG_H
#define PORT_MSG_H

#include "port_private.h"

/* Longest devargs quoted whole in a log line (a secondary's may hold any
 * byte). */
#define PORT_QUOTE_MAX 128

/* Message types of the port layer (lib/core uses 16..31). */
enum port_msg_type {
	PORT_MSG_ATTACH_REQ = 32,  /* secondary -> primary: attach devargs */
	PORT_MSG_DETACH_REQ = 33,  /* secondary -> primary: detach port */
	PORT_MSG_OP_REQ = 34,	   /* secondary -> primary: start/stop/close */
	PORT_MSG_ATTACH_LOCAL = 35, /* primary -> all: publish the port */
	PORT_MSG_DETACH_LOCAL = 36, /* primary -> all: unpublish the port */
	PORT_MSG_JOIN = 37,	   /* secondary -> primary: wait for hotplug */
	PORT_MSG_REFRESH_LOCAL = 38, /* primary -> all: rebuild the entry */
	PORT_MSG_FDS_REQ = 39,	   /* secondary -> primary: a port's fds */
	PORT_MSG_EVENT = 40,	   /* primary -> all: ports came, went or
				    * changed: look (doorbell, no reply) */
};

struct port_msg_req {
	uint16_t port_id;	/* detach and ops */
	struct port_op_args op;	/* PORT_MSG_OP_REQ */
	char devargs[HP_DEVARGS_MAX + 1]; /* attach */
};

struct port_msg_rep {
	uint16_t port_id;
	char name[HP_NAME_MAX];
	char err[PORT_ERR_MAX];
};

struct port_msg_local {
	uint16_t port_id;
	uint16_t pad;		/* 0: no uninitialised bytes go out */
	uint32_t generation;
};

/* The primary's answer to PORT_MSG_JOIN. */
struct port_msg_join_rep {
	uint32_t index;		/* the secondary's process index */
};

/* Registers the handlers of this process's role (hp_port_init). */
void port_handlers_register(struct hp_ipc *ipc);

/* Secondary -> primary: each sends one request and waits for the answer
 * (longer than the primary's own deadline, so that its -ETIMEDOUT naming
 * a stalled secondary arrives); err gets the primary's reason. */
int port_attach_request(const char *devargs, size_t len,
			uint16_t *ret_port_id, char *err, size_t errlen);
int port_detach_request(uint16_t port_id, char *name, size_t len, char *err,
			size_t errlen);
int port_op_request(uint16_t port_id, const struct port_op_args *a,
		    char *err, size_t errlen);
/* JOIN: returns once no attach or detach is under way, and sets
 * port_ctx.proc_index from the answer. */
int port_join_barrier(void);
/* Copies of the primary's fds of port_id; -ESTALE when generation gen of
 * the port is gone. */
int port_fds_fetch(uint16_t port_id, uint32_t gen, struct hp_port_fds *fds);

/* Primary -> secondaries, under hotplug_lock: sends a local attach,
 * detach or refresh and reports the first failure of a live process. */
int port_broadcast(uint16_t type, uint16_t port_id, uint32_t gen, char *err,
		   size_t errlen);
/* The ipc peer ids of the secondaries in port_id's holders (at most
 * HP_MAX_PROCS), each word read with a read-modify-write. Under
 * hotplug_lock. */
int port_holders_peers(uint16_t port_id, uint32_t *peers);
/* Rings every secondary's doorbell: ports came, went or changed. No
 * reply is awaited, and none is sent where one is still unread. */
void port_notify(void);

#endif
