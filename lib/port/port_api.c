/* SPDX-License-Identifier: BSD-3-Clause */
/* The public hotplug and port calls, in any process: the primary does the
 * work itself (port_hotplug.c, port_ops.c), a secondary asks the primary
 * (port_msg.c), which does the same work for it. */
#include <errno.h>
#include <string.h>

#include "hp_log.h"
#include "port_msg.h"

/* 0 once hp_port_init (and, in a secondary, hp_port_join) ran. */
static int port_check_init(char *err, size_t errlen)
{
	if (!port_ctx.table || !port_ctx.ipc)
		return hp_err_set(err, errlen, -ENODEV,
				  "hotport is not initialised in this process");
	return 0;
}

int hp_port_attach_msg(const char *devargs, uint16_t *ret_port_id, char *err,
		       size_t errlen)
{
	char tmp[PORT_ERR_MAX];
	uint16_t id;
	size_t len;
	int r;

	if (!err) {
		err = tmp;
		errlen = sizeof(tmp);
	}
	err[0] = '\0';
	if (!devargs || !ret_port_id)
		return hp_err_set(err, errlen, -EINVAL, "no devargs given");
	len = strnlen(devargs, HP_DEVARGS_MAX + 1);
	if (len > HP_DEVARGS_MAX)
		return hp_err_set(err, errlen, -ENAMETOOLONG,
				  "devargs longer than %d characters",
				  HP_DEVARGS_MAX);
	r = port_check_init(err, errlen);
	if (r < 0)
		return r;
	if (port_ctx.primary) {
		struct port_requester self;

		port_requester_self(&self);
		r = port_attach_primary(devargs, &self.rq, &id, err, errlen);
	} else {
		r = port_attach_request(devargs, len, &id, err, errlen);
	}
	if (r < 0) {
		char q[HP_LOG_QUOTE_SIZE(PORT_QUOTE_MAX)];
		HP_DEBUG(PORT_LOG, "attach '%s' failed: %s",
			 hp_log_quote(q, sizeof(q), devargs, PORT_QUOTE_MAX), err);
		return r;
	}
	*ret_port_id = id;
	return 0;
}

int hp_port_attach(const char *devargs, uint16_t *ret_port_id)
{
	return hp_port_attach_msg(devargs, ret_port_id, NULL, 0);
}

int hp_port_detach_msg(uint16_t port_id, char *name, size_t len, char *err,
		       size_t errlen)
{
	char tmp[PORT_ERR_MAX];
	int r;

	if (!err) {
		err = tmp;
		errlen = sizeof(tmp);
	}
	err[0] = '\0';
	r = port_check_init(err, errlen);
	if (r < 0)
		return r;
	if (port_ctx.primary)
		return port_detach_primary(port_id, false, name, len, err,
					   errlen);
	return port_detach_request(port_id, name, len, err, errlen);
}

int hp_port_detach(uint16_t port_id, char *name, size_t len)
{
	return hp_port_detach_msg(port_id, name, len, NULL, 0);
}

/* Start, stop, close or a configuration change, from any process. */
static int port_op_call(uint16_t port_id, const struct port_op_args *a)
{
	char err[PORT_ERR_MAX];
	int r;

	r = port_check_init(err, sizeof(err));
	if (r < 0)
		return r;
	if (port_ctx.primary)
		r = port_op_primary(port_id, a, err, sizeof(err));
	else
		r = port_op_request(port_id, a, err, sizeof(err));
	if (r < 0)
		HP_DEBUG(PORT_LOG, "port %u: %s", port_id, err);
	return r;
}

int hp_port_start(uint16_t port_id)
{
	return port_op_call(port_id, &(struct port_op_args){ .op = PORT_OP_START });
}

int hp_port_stop(uint16_t port_id)
{
	return port_op_call(port_id, &(struct port_op_args){ .op = PORT_OP_STOP });
}

int hp_port_close(uint16_t port_id)
{
	return port_op_call(port_id, &(struct port_op_args){ .op = PORT_OP_CLOSE });
}

int hp_port_configure(uint16_t port_id, uint16_t nb_rxq, uint16_t nb_txq)
{
	struct port_op_args a = { .op = PORT_OP_CONFIGURE, .nb_rxq = nb_rxq,
				  .nb_txq = nb_txq };

	return port_op_call(port_id, &a);
}

int hp_port_rx_queue_setup(uint16_t port_id, uint16_t queue_id,
			   uint16_t nb_desc, struct hp_mempool *pool)
{
	struct port_op_args a = { .op = PORT_OP_RXQ_SETUP, .queue_id = queue_id,
				  .nb_desc = nb_desc,
				  .pool = (uint64_t)(uintptr_t)pool };

	return port_op_call(port_id, &a);
}

int hp_port_tx_queue_setup(uint16_t port_id, uint16_t queue_id,
			   uint16_t nb_desc)
{
	struct port_op_args a = { .op = PORT_OP_TXQ_SETUP, .queue_id = queue_id,
				  .nb_desc = nb_desc };

	return port_op_call(port_id, &a);
}
