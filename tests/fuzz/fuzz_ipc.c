/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the IPC message decoder, fed any datagram a peer could
 * send. Checks that it answers with one of its documented errors, that an
 * accepted message is within bounds and is exactly what the bytes say
 * (the header encodes back to the same bytes), and that the header decode
 * agrees with the message decode. */
#include <errno.h>

#include "fuzz_common.h"
#include "ipc_private.h"


/* An accepted datagram: bounds, payload, and the header round trip. */
static void fuzz_ipc_accepted(const uint8_t *data, size_t size,
			      const struct hp_ipc_msg *msg,
			      const struct ipc_hdr *hdr)
{
	uint8_t again[IPC_HDR_SIZE];
	struct hp_ipc_msg msg2;

	FUZZ_CHECK(size >= IPC_HDR_SIZE);
	FUZZ_CHECK(msg->len <= HP_IPC_MAX_PAYLOAD);
	FUZZ_CHECK(msg->len == size - IPC_HDR_SIZE);
	FUZZ_CHECK(msg->nb_fds == 0 && msg->nb_fds <= HP_IPC_MAX_FDS);
	FUZZ_CHECK(msg->type != 0);
	FUZZ_CHECK(memcmp(msg->payload, data + IPC_HDR_SIZE, msg->len) == 0);
	FUZZ_CHECK(hdr->magic == HP_IPC_MAGIC);
	FUZZ_CHECK(hdr->version == HP_IPC_PROTO_VERSION);
	FUZZ_CHECK(hdr->kind >= IPC_KIND_REQUEST && hdr->kind <= IPC_KIND_NOTIFY);
	FUZZ_CHECK(hdr->type == msg->type && hdr->id == msg->id &&
		   hdr->status == msg->status && hdr->len == msg->len);

	/* The header encodes back to the very bytes it came from... */
	ipc_hdr_encode(again, hdr);
	FUZZ_CHECK(memcmp(again, data, IPC_HDR_SIZE) == 0);
	/* ...and so does a header made from the message, but for the
	 * reserved field, which the sender sets to 0. */
	ipc_hdr_make(again, hdr->kind, msg->type, msg->id, msg->status,
		     msg->len);
	memcpy(again + 10, data + 10, 2);
	FUZZ_CHECK(memcmp(again, data, IPC_HDR_SIZE) == 0);

	/* Decoding is pure: twice gives the same message. */
	FUZZ_CHECK(hp_ipc_msg_decode(data, size, &msg2) == 0);
	FUZZ_CHECK(msg2.type == msg->type && msg2.id == msg->id &&
		   msg2.status == msg->status && msg2.len == msg->len &&
		   memcmp(msg2.payload, msg->payload, msg->len) == 0);

	/* What a sender would accept to send back. */
	FUZZ_CHECK(ipc_msg_check(msg) == 0);
}

/* A refused datagram: the error says why, as hp_ipc.h documents. */
static void fuzz_ipc_refused(const uint8_t *data, size_t size, int r,
			     const struct hp_ipc_msg *msg,
			     const struct ipc_hdr *hdr)
{
	uint32_t magic = 0;

	FUZZ_CHECK(r == -EBADMSG || r == -EMSGSIZE || r == -EPROTO);
	if (size >= 4)
		memcpy(&magic, data, 4);
	if (size < 8 || magic != HP_IPC_MAGIC) {
		FUZZ_CHECK(r == -EBADMSG);
		return;
	}
	if (r == -EPROTO) {
		/* another version, told even for a short header */
		FUZZ_CHECK(hdr->version != HP_IPC_PROTO_VERSION);
		FUZZ_CHECK(msg->status == hdr->version);
		return;
	}
	FUZZ_CHECK(hdr->version == HP_IPC_PROTO_VERSION);
	if (r == -EMSGSIZE)
		FUZZ_CHECK(size >= IPC_HDR_SIZE && hdr->len > HP_IPC_MAX_PAYLOAD);
	else
		FUZZ_CHECK(size < IPC_HDR_SIZE || hdr->len != size - IPC_HDR_SIZE ||
			   hdr->type == 0 || hdr->kind < IPC_KIND_REQUEST ||
			   hdr->kind > IPC_KIND_NOTIFY);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hp_ipc_msg msg;
	struct ipc_hdr hdr;
	int r, rh;

	/* Exactly the bytes, in a buffer of their own size, so that any read
	 * past them is caught by AddressSanitizer. */
	uint8_t *buf = malloc(size ? size : 1);

	FUZZ_CHECK(buf != NULL);
	memcpy(buf, data, size);
	memset(&msg, 0xa5, sizeof(msg));
	r = hp_ipc_msg_decode(buf, size, &msg);
	rh = ipc_hdr_decode(buf, size, &hdr);
	FUZZ_CHECK(r == rh);
	if (r == 0)
		fuzz_ipc_accepted(buf, size, &msg, &hdr);
	else
		fuzz_ipc_refused(buf, size, r, &msg, &hdr);
	FUZZ_CHECK(hp_ipc_msg_decode(NULL, size, &msg) == -EINVAL);
	FUZZ_CHECK(fuzz_logged() == 0);
	free(buf);
	return 0;
}
