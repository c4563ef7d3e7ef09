/* SPDX-License-Identifier: BSD-3-Clause */
/* Start-up and shut-down of a primary or a secondary.
 *
 * Primary: shared memory, then the request channel in the runtime dir,
 * then the default packet pool and the port table, then the -a/-b lists
 * (also in a zone, for secondaries) and a first PCI scan, then --vdev
 * ports. A failed scan is one warning: the primary runs without PCI
 * devices, and 'show pci' scans again.
 * Secondary: connect (fails at once when no primary listens), HELLO
 * (versions checked, memory fds received), map the memory, take the
 * primary's -a/-b lists (no scan: 'show pci' scans), join the port table
 * (every attached port enters this process's fast path). */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core_private.h"
#include "hp_ipc.h"
#include "hp_log.h"
#include "hp_mbuf.h"
#include "hp_port.h"
#include "hp_port_internal.h"

static struct {
	bool up;
	enum hp_proc_role role;
	char prefix[HP_SHM_PREFIX_MAX + 1];
	int timeout_ms;
	struct hp_shm *shm;
	struct hp_ipc *ipc;
	struct hp_mempool *pool;
	int stop_fd;
	int stop_reason;
	pid_t primary_pid;
	pid_t primary_gone;	/* the dead primary, as this process sees its pid */
	uint32_t peer_id;
	/* primary: the peers that joined (said hello), under joined_lock
	 * (hello runs on the ipc I/O thread, peer-down on the worker) */
	pthread_mutex_t joined_lock;
	uint32_t joined[HP_MAX_PROCS];
	unsigned nb_joined;
} core = { .stop_fd = -1, .joined_lock = PTHREAD_MUTEX_INITIALIZER };

enum hp_proc_role hp_core_role(void) { return core.role; }
const char *hp_core_prefix(void) { return core.prefix; }
struct hp_shm *hp_core_shm(void) { return core.shm; }
struct hp_ipc *hp_core_ipc(void) { return core.ipc; }
int hp_core_timeout_ms(void) { return core.timeout_ms; }
int hp_core_stop_fd(void) { return core.stop_fd; }
int hp_core_stop_reason(void) { return core.stop_reason; }

static void core_stop(int reason)
{
	uint64_t one = 1;

	if (reason)
		core.stop_reason = reason;
	if (core.stop_fd >= 0 && write(core.stop_fd, &one, sizeof(one)) < 0)
		return;
}

static void core_on_signal(int sig)
{
	(void)sig;
	core_stop(0);
}

int hp_core_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = core_on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return -errno;
	/* A standard output nobody reads (a closed pipe) must not kill a
	 * process that others depend on: the write fails with EPIPE. */
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -errno;
	return 0;
}

/* Whether a primary listens on the socket at path: a connect succeeds (a
 * dead primary's socket file refuses). */
static bool core_primary_listens(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return r == 0;
}

int hp_core_wait_primary(const char *prefix)
{
	char dir[256], parent[256], sock[300];
	struct pollfd p[2];
	int r = 0, ino;

	if (!prefix || hp_shm_runtime_dir(prefix, dir, sizeof(dir)) < 0)
		return -EINVAL;
	snprintf(sock, sizeof(sock), "%s/mp.sock", dir);
	snprintf(parent, sizeof(parent), "%s", dir);
	*strrchr(parent, '/') = '\0';
	ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ino < 0)
		return -errno;
	core.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (core.stop_fd < 0) {
		r = -errno;
		goto out;
	}
	/* The parent tells when the runtime dir comes; the dir tells when the
	 * socket is renamed into place, listening already. */
	if (mkdir(parent, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		goto out;
	}
	if (inotify_add_watch(ino, parent, IN_CREATE | IN_MOVED_TO) < 0) {
		r = -errno;
		goto out;
	}
	HP_NOTICE(CORE_LOG, "waiting for a primary with prefix '%s'", prefix);
	p[0] = (struct pollfd){ .fd = ino, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = core.stop_fd, .events = POLLIN };
	for (;;) {
		char ev[4096] __attribute__((aligned(8)));

		/* Again each time: a new primary may have removed the dead
		 * one's dir and made it anew (the old watch went with it);
		 * adding a watch that exists is a no-op. */
		inotify_add_watch(ino, dir, IN_CREATE | IN_MOVED_TO);
		/* A socket the dead primary left (other secondaries still
		 * keep its dir) refuses; a new primary's, renamed into place
		 * once it serves, accepts (it may have come before we did). */
		if (core_primary_listens(sock))
			break;
		if (poll(p, 2, -1) < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		if (p[1].revents) {
			r = -EINTR;
			break;
		}
		while (read(ino, ev, sizeof(ev)) > 0)
			; /* the check at the top of the loop says what changed */
	}
out:
	close(ino);
	if (core.stop_fd >= 0)
		close(core.stop_fd);
	core.stop_fd = -1;
	return r;
}

static int core_sock_path(char *buf, size_t len)
{
	char dir[256];
	int r = hp_shm_runtime_dir(core.prefix, dir, sizeof(dir));

	if (r < 0)
		return r;
	if ((size_t)snprintf(buf, len, "%s/mp.sock", dir) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Primary: a secondary joins; check its build and hand it the memory. */
static void core_handle_hello(struct hp_ipc *ipc, uint32_t peer,
			      const struct hp_ipc_msg *msg, void *arg)
{
	struct core_hello_req req;
	struct core_hello_rep rep;
	struct hp_shm_seg segs[HP_SHM_MAX_SEGS];
	struct hp_ipc_msg reply;
	bool known = false;
	int n, status = 0;

	(void)arg;
	memset(&rep, 0, sizeof(rep));
	memset(&req, 0, sizeof(req));
	memcpy(&req, msg->payload, msg->len < sizeof(req) ? msg->len : sizeof(req));
	rep.shm_layout = HP_SHM_LAYOUT_VERSION;
	rep.max_ports = HP_MAX_PORTS;
	rep.max_procs = HP_MAX_PROCS;
	rep.primary_pid = getpid();
	rep.timeout_ms = core.timeout_ms;
	rep.peer_id = peer;
	rep.peer_pid = hp_ipc_peer_pid(ipc, peer);
	if (msg->len != sizeof(req) || req.shm_layout != HP_SHM_LAYOUT_VERSION ||
	    req.max_ports != HP_MAX_PORTS || req.max_procs != HP_MAX_PROCS) {
		snprintf(rep.err, sizeof(rep.err),
			 "primary has layout %u, %u ports, %u processes; secondary has layout %u, %u ports, %u processes",
			 HP_SHM_LAYOUT_VERSION, HP_MAX_PORTS, HP_MAX_PROCS,
			 req.shm_layout, req.max_ports, req.max_procs);
		HP_WARN(CORE_LOG, "refused secondary pid %d: %s",
			(int)hp_ipc_peer_pid(ipc, peer), rep.err);
		status = -EPROTO;
	}
	/* Only now does it count as a secondary (and against the limit). */
	if (!status && (status = hp_ipc_peer_admit(ipc, peer)) < 0)
		snprintf(rep.err, sizeof(rep.err),
			 "%u secondaries are there already (the limit is %u)",
			 HP_MAX_PROCS - 1, HP_MAX_PROCS - 1);
	hp_ipc_msg_init(&reply, CORE_MSG_HELLO, NULL, 0);
	n = status ? 0 : hp_shm_segments(core.shm, segs, HP_SHM_MAX_SEGS);
	for (int i = 0; i < n; i++) {
		rep.segs[i].addr = segs[i].addr;
		rep.segs[i].len = segs[i].len;
		rep.segs[i].huge_sz = segs[i].huge_sz;
		rep.segs[i].node = segs[i].node;
		reply.fds[i] = segs[i].fd;
	}
	rep.nb_segs = n > 0 ? (uint32_t)n : 0;
	reply.nb_fds = rep.nb_segs;
	memcpy(reply.payload, &rep, sizeof(rep));
	reply.len = sizeof(rep);
	reply.status = status;
	hp_ipc_reply(ipc, peer, msg, &reply);
	if (status)
		return;
	/* Once per peer, however often it says HELLO: duplicates would
	 * fill the list, and later secondaries would leave "without
	 * joining", their cached buffers never reclaimed. */
	pthread_mutex_lock(&core.joined_lock);
	for (unsigned i = 0; i < core.nb_joined && !known; i++)
		known = core.joined[i] == peer;
	if (!known && core.nb_joined < HP_ARRAY_SIZE(core.joined))
		core.joined[core.nb_joined++] = peer;
	pthread_mutex_unlock(&core.joined_lock);
	if (!known)
		HP_INFO(CORE_LOG, "secondary pid %d joined",
			(int)hp_ipc_peer_pid(ipc, peer));
}

/* Forgets a peer that hung up; whether it had joined. */
static bool core_unjoin(uint32_t peer)
{
	bool found = false;

	pthread_mutex_lock(&core.joined_lock);
	for (unsigned i = 0; i < core.nb_joined && !found; i++) {
		if (core.joined[i] == peer) {
			core.joined[i] = core.joined[--core.nb_joined];
			found = true;
		}
	}
	pthread_mutex_unlock(&core.joined_lock);
	return found;
}

static int core_procs_local(struct hp_proc_info *procs, unsigned max)
{
	struct hp_ipc_peer_info peers[HP_MAX_PROCS];
	int n = hp_ipc_peers(core.ipc, peers, HP_ARRAY_SIZE(peers));
	unsigned k = 0;

	if (n < 0)
		return n;
	if (k < max)
		procs[k++] = (struct hp_proc_info){ HP_ROLE_PRIMARY, getpid(), 0 };
	for (int i = 0; i < n && k < max; i++)
		procs[k++] = (struct hp_proc_info){ HP_ROLE_SECONDARY,
						    peers[i].pid, peers[i].id };
	return (int)k;
}

static void core_handle_procs(struct hp_ipc *ipc, uint32_t peer,
			      const struct hp_ipc_msg *msg, void *arg)
{
	struct hp_ipc_msg reply;
	struct core_procs_rep *rep = (struct core_procs_rep *)reply.payload;
	unsigned max = (HP_IPC_MAX_PAYLOAD - sizeof(*rep)) / sizeof(rep->procs[0]);
	int n;

	(void)arg;
	hp_ipc_msg_init(&reply, CORE_MSG_PROCS, NULL, 0);
	n = core_procs_local(rep->procs, max);
	rep->nb = n > 0 ? (uint32_t)n : 0;
	reply.len = (uint32_t)(sizeof(*rep) + rep->nb * sizeof(rep->procs[0]));
	reply.status = n < 0 ? n : 0;
	hp_ipc_reply(ipc, peer, msg, &reply);
}

int hp_core_procs(struct hp_proc_info *procs, unsigned max)
{
	struct hp_ipc_msg msg, reply;
	const struct core_procs_rep *rep;
	unsigned n;
	int r;

	if (!core.up)
		return -ENODEV;
	if (core.role == HP_ROLE_PRIMARY)
		return core_procs_local(procs, max);
	hp_ipc_msg_init(&msg, CORE_MSG_PROCS, NULL, 0);
	r = hp_ipc_request(core.ipc, HP_IPC_PRIMARY, &msg, &reply,
			   core.timeout_ms);
	if (r < 0)
		return r;
	if (reply.status < 0)
		return reply.status;
	rep = (const struct core_procs_rep *)reply.payload;
	if (reply.len < sizeof(*rep) ||
	    reply.len < sizeof(*rep) + rep->nb * sizeof(rep->procs[0]))
		return -EBADMSG;
	n = rep->nb < max ? rep->nb : max;
	memcpy(procs, rep->procs, n * sizeof(procs[0]));
	return (int)n;
}

/* Waits up to ms for process pid to exit (a pidfd becomes readable). */
static void core_wait_exit(pid_t pid, int ms)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p;

	if (fd < 0)
		return; /* gone already, or no pidfd: reclaim does its best */
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (poll(&p, 1, ms) < 0 && errno == EINTR)
		;
	close(fd);
}

static void core_on_peer(struct hp_ipc *ipc, uint32_t peer, pid_t pid, bool up,
			 void *arg)
{
	(void)ipc;
	(void)arg;
	if (core.role == HP_ROLE_PRIMARY) {
		if (up)
			return;
		hp_port_peer_gone(peer);
		/* A peer that never joined has no memory, so no caches; it
		 * may well live on (hung up on for sending garbage): waiting
		 * for it to exit would only stall this thread. */
		if (!core_unjoin(peer)) {
			HP_DEBUG(CORE_LOG, "peer %u (pid %d) left without joining",
				 peer, (int)pid);
			return;
		}
		/* Buffers in the dead process's per-thread caches go back.
		 * The socket hangs up while the process is still exiting:
		 * wait (bounded) until it has, so that its threads count as
		 * gone. */
		core_wait_exit(pid, 1000);
		int n = hp_mempool_reclaim_pid(core.pool, pid);
		HP_INFO(CORE_LOG, "secondary pid %d left%s", (int)pid,
			n > 0 ? "; its cached packet buffers are back in the pool" : "");
		return;
	}
	/* Said by the caller, which hp_core_stop_reason tells. */
	if (peer == HP_IPC_PRIMARY && !up) {
		HP_INFO(CORE_LOG, "the primary (pid %d) exited: stopping",
			(int)(core.primary_pid ? core.primary_pid : pid));
		core.primary_gone = pid;
		core_stop(-ECONNRESET);
	}
}

static int core_group(const char *name, gid_t *ret, char *err, size_t errlen)
{
	char q[HP_LOG_QUOTE_SIZE(64)];
	struct group *g;

	if (!name) {
		*ret = 0;
		return 0;
	}
	g = getgrnam(name);
	if (g) {
		*ret = g->gr_gid;
	} else {
		/* or its number, as chgrp takes */
		char *end;
		unsigned long gid;

		errno = 0;
		gid = strtoul(name, &end, 10);
		if (!*name || *end || errno || name[0] == '-' ||
		    gid >= (gid_t)-1 || !(g = getgrgid((gid_t)gid)))
			return hp_err_set(err, errlen, -EINVAL,
					  "--ipc-group '%s': no such group",
					  hp_log_quote(q, sizeof(q), name, 64));
		*ret = (gid_t)gid;
	}
	/* 0 means no group to the IPC server: say so rather than ignore */
	if (*ret == 0)
		return hp_err_set(err, errlen, -EINVAL,
				  "--ipc-group '%s': group 0 cannot be let in this way (root itself always may join)",
				  hp_log_quote(q, sizeof(q), name, 64));
	return 0;
}

_Static_assert(HP_PCI_MAX_LIST >= HP_CORE_MAX_DEVS,
	       "the PCI lists hold every -a or -b option");

/* Primary: the -a/-b lists, here and in a zone for secondaries, and the
 * first scan. */
static int core_pci_primary(const struct hp_core_opts *o, char *err,
			    size_t errlen)
{
	struct core_pci_lists *l;
	char why[256];
	int r;

	r = hp_pci_set_lists(o->allow, o->nb_allow, o->block, o->nb_block, err,
			     errlen);
	if (r < 0)
		return r;
	r = hp_shm_zone_reserve(core.shm, CORE_PCI_ZONE, sizeof(*l), 0,
				(void **)&l);
	if (r < 0)
		return hp_err_set(err, errlen, r,
				  "cannot reserve the PCI lists: %s; try a larger --mem",
				  strerror(-r));
	l->nb_allow = o->nb_allow;
	l->nb_block = o->nb_block;
	for (unsigned i = 0; i < o->nb_allow; i++)
		snprintf(l->allow[i], sizeof(l->allow[i]), "%s", o->allow[i]);
	for (unsigned i = 0; i < o->nb_block; i++)
		snprintf(l->block[i], sizeof(l->block[i]), "%s", o->block[i]);
	r = hp_pci_scan(false, why, sizeof(why));
	if (r < 0)
		HP_WARN(CORE_LOG, "no PCI devices: %s ('show pci' scans again)",
			why);
	else
		HP_INFO(CORE_LOG, "%d PCI devices", r);
	return 0;
}

/* Secondary: the primary's -a/-b lists, so that show pci says what the
 * primary would refuse. */
static void core_pci_secondary(void)
{
	const char *allow[HP_CORE_MAX_DEVS], *block[HP_CORE_MAX_DEVS];
	const struct core_pci_lists *l;
	unsigned na, nb;
	char err[256];
	void *addr;
	int r;

	r = hp_shm_zone_lookup(core.shm, CORE_PCI_ZONE, &addr, NULL);
	if (r < 0) {
		HP_DEBUG(CORE_LOG, "no PCI lists from the primary: %s",
			 strerror(-r));
		return;
	}
	l = addr;
	na = l->nb_allow < HP_CORE_MAX_DEVS ? l->nb_allow : HP_CORE_MAX_DEVS;
	nb = l->nb_block < HP_CORE_MAX_DEVS ? l->nb_block : HP_CORE_MAX_DEVS;
	for (unsigned i = 0; i < na; i++)
		allow[i] = l->allow[i];
	for (unsigned i = 0; i < nb; i++)
		block[i] = l->block[i];
	r = hp_pci_set_lists(allow, na, block, nb, err, sizeof(err));
	if (r < 0)
		HP_DEBUG(CORE_LOG, "the primary's PCI lists: %s", err);
}

/* Primary: the --vdev ports, in order; the first failure stops. */
static int core_vdevs(const struct hp_core_opts *o, char *err, size_t errlen)
{
	char q[HP_LOG_QUOTE_SIZE(80)], why[256];
	uint16_t id;
	int r;

	for (unsigned i = 0; i < o->nb_vdevs; i++) {
		r = hp_port_attach_msg(o->vdevs[i], &id, why, sizeof(why));
		if (r < 0)
			return hp_err_set(err, errlen, r, "--vdev '%s': %s",
					  hp_log_quote(q, sizeof(q),
						       o->vdevs[i], 80),
					  why);
		HP_NOTICE(CORE_LOG, "port %u: %s attached", id, o->vdevs[i]);
	}
	return 0;
}

static int core_init_primary(const struct hp_core_opts *o, char *err,
			     size_t errlen)
{
	struct hp_shm_opts so = {
		.prefix = core.prefix,
		.mem_size = o->mem_size,
		.base_virtaddr = o->base_virtaddr,
		.no_huge = o->no_huge,
		.huge_1g = o->huge_1g,
		.socket_mem = o->socket_mem,
	};
	/* A connection that does not say HELLO in time is hung up on. */
	struct hp_ipc_server_opts io = { .hidden = true,
					 .join_timeout_ms = core.timeout_ms };
	char path[300];
	int r;

	r = core_group(o->ipc_group, &so.ipc_group, err, errlen);
	if (r < 0)
		return r;
	io.group = so.ipc_group;
	r = hp_shm_primary_create(&so, &core.shm, err, errlen);
	if (r == -EEXIST)
		return hp_err_set(err, errlen, r,
				  "another primary is running with prefix '%s': stop it, or use another --file-prefix",
				  core.prefix);
	if (r < 0)
		return r;
	r = core_sock_path(path, sizeof(path));
	if (r == 0)
		r = hp_ipc_server_create(path, &io, &core.ipc);
	if (r < 0)
		return hp_err_set(err, errlen, r,
				  "cannot open the request channel %s: %s",
				  path, strerror(-r));
	r = hp_mempool_create(core.shm, CORE_POOL_NAME, CORE_POOL_SIZE,
			      CORE_POOL_CACHE, HP_MBUF_DEFAULT_DATAROOM,
			      &core.pool);
	if (r < 0)
		return hp_err_set(err, errlen, r,
				  "cannot create the packet pool (%d buffers): %s; try a larger --mem",
				  CORE_POOL_SIZE, strerror(-r));
	r = hp_port_init(true, core.shm, core.ipc, core.pool, core.timeout_ms);
	if (r < 0)
		return hp_err_set(err, errlen, r,
				  "cannot create the port table: %s; try a larger --mem",
				  strerror(-r));
	r = core_pci_primary(o, err, errlen);
	if (r < 0)
		return r;
	/* Quick and waiting on nothing: answered as it arrives. */
	hp_ipc_register_inline(core.ipc, CORE_MSG_HELLO, core_handle_hello,
			       NULL);
	hp_ipc_register(core.ipc, CORE_MSG_PROCS, core_handle_procs, NULL);
	hp_ipc_set_peer_callback(core.ipc, core_on_peer, NULL);
	r = core_vdevs(o, err, errlen);
	if (r < 0)
		return r;
	core.primary_pid = getpid();
	/* Only now may secondaries connect: every handler is there and the
	 * --vdev ports are attached. */
	r = hp_ipc_server_publish(core.ipc);
	if (r < 0)
		return hp_err_set(err, errlen, r,
				  "cannot publish the request channel %s: %s",
				  path, strerror(-r));
	HP_NOTICE(CORE_LOG, "primary ready: prefix '%s', %zu MiB of %s memory at %p",
		  core.prefix, hp_shm_size(core.shm) >> 20,
		  hp_shm_is_huge(core.shm) ? "hugepage" : "ordinary",
		  hp_shm_base(core.shm));
	return 0;
}

static int core_hello(struct core_hello_rep *rep, struct hp_ipc_msg *reply,
		      char *err, size_t errlen)
{
	struct core_hello_req req = {
		.shm_layout = HP_SHM_LAYOUT_VERSION,
		.max_ports = HP_MAX_PORTS,
		.max_procs = HP_MAX_PROCS,
		.pid = getpid(),
	};
	struct hp_ipc_msg msg;
	int r;

	hp_ipc_msg_init(&msg, CORE_MSG_HELLO, &req, sizeof(req));
	r = hp_ipc_request(core.ipc, HP_IPC_PRIMARY, &msg, reply,
			   core.timeout_ms);
	if (r < 0)
		return hp_err_set(err, errlen, r,
				  "the primary of prefix '%s' did not answer: %s",
				  core.prefix, strerror(-r));
	memset(rep, 0, sizeof(*rep));
	memcpy(rep, reply->payload,
	       reply->len < sizeof(*rep) ? reply->len : sizeof(*rep));
	rep->err[sizeof(rep->err) - 1] = '\0';
	if (reply->status < 0)
		r = hp_err_set(err, errlen, reply->status,
			       "the primary refused this process: %s",
			       rep->err[0] ? rep->err :
					     strerror(-reply->status));
	else if (rep->nb_segs == 0 || rep->nb_segs > HP_SHM_MAX_SEGS ||
		 rep->nb_segs != reply->nb_fds)
		r = hp_err_set(err, errlen, -EBADMSG,
			       "the primary sent %u memory segments with %u fds",
			       rep->nb_segs, reply->nb_fds);
	if (r < 0)
		for (unsigned i = 0; i < reply->nb_fds; i++)
			close(reply->fds[i]);
	return r;
}

static int core_init_secondary(char *err, size_t errlen)
{
	struct hp_shm_seg segs[HP_SHM_MAX_SEGS];
	struct hp_ipc_msg reply;
	struct core_hello_rep rep;
	char path[300];
	int r;

	r = core_sock_path(path, sizeof(path));
	if (r < 0)
		return hp_err_set(err, errlen, r, "bad prefix '%s'",
				  core.prefix);
	char why[256];
	r = hp_ipc_client_connect_msg(path, &core.ipc, why, sizeof(why));
	if (r == -ENOENT || r == -ECONNREFUSED)
		return hp_err_set(err, errlen, -ENOENT,
				  "no primary running for prefix '%s' (%s)",
				  core.prefix, path);
	if (r < 0)
		return hp_err_set(err, errlen, r, "%s", why);
	hp_ipc_set_peer_callback(core.ipc, core_on_peer, NULL);
	/* Port messages may arrive before the memory is mapped: they are
	 * answered as done, and the join below picks the ports up. */
	r = hp_port_init(false, NULL, core.ipc, NULL, core.timeout_ms);
	if (r < 0)
		return hp_err_set(err, errlen, r,
				  "cannot set up the port layer: %s",
				  strerror(-r));
	r = core_hello(&rep, &reply, err, errlen);
	if (r < 0)
		return r;
	core.primary_pid = rep.primary_pid;
	core.peer_id = rep.peer_id;
	/* Buffer caches carry the pid the primary knows us by, which is not
	 * getpid() in another PID namespace: its reclaim must find them. */
	hp_mempool_set_owner_pid(rep.peer_pid);
	for (unsigned i = 0; i < rep.nb_segs; i++)
		segs[i] = (struct hp_shm_seg){ reply.fds[i], rep.segs[i].addr,
					       rep.segs[i].len,
					       rep.segs[i].huge_sz,
					       rep.segs[i].node };
	r = hp_shm_secondary_attach(core.prefix, segs, rep.nb_segs, &core.shm,
				    err, errlen);
	if (r < 0)
		return r;
	core_pci_secondary();
	r = hp_mempool_lookup(core.shm, CORE_POOL_NAME, &core.pool);
	if (r < 0)
		return hp_err_set(err, errlen, r,
				  "the primary has no packet pool: %s",
				  strerror(-r));
	r = hp_port_join(core.shm, core.pool, err, errlen);
	if (r < 0)
		return r;
	HP_NOTICE(CORE_LOG, "secondary ready: prefix '%s', primary pid %d, %u ports",
		  core.prefix, (int)core.primary_pid, hp_port_count());
	return 0;
}

static int core_init(const struct hp_core_opts *opts, char *err,
		     size_t errlen)
{
	char q[HP_LOG_QUOTE_SIZE(80)];

	if (core.up)
		return hp_err_set(err, errlen, -EALREADY,
				  "this process has started already");
	hp_log_set_role(opts->role == HP_ROLE_PRIMARY ? "primary" : "secondary");
	if (opts->log_levels && hp_log_set_levels(opts->log_levels) < 0)
		return hp_err_set(err, errlen, -EINVAL,
				  "bad log level spec '%s'",
				  hp_log_quote(q, sizeof(q), opts->log_levels,
					       64));
	/* Checked here, not only by the shared memory: a long prefix would
	 * be cut to fit core.prefix and name another instance. */
	if (opts->prefix && hp_shm_prefix_check(opts->prefix) < 0)
		return hp_err_set(err, errlen, -EINVAL,
				  "bad prefix '%s': 1 to %d printable characters, no '/'",
				  hp_log_quote(q, sizeof(q), opts->prefix, 80),
				  HP_SHM_PREFIX_MAX);
	core.role = opts->role;
	pthread_mutex_lock(&core.joined_lock);
	core.nb_joined = 0;
	pthread_mutex_unlock(&core.joined_lock);
	core.timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms :
						 HP_IPC_DEFAULT_TIMEOUT_MS;
	snprintf(core.prefix, sizeof(core.prefix), "%s",
		 opts->prefix ? opts->prefix : "hotport");
	core.stop_reason = 0;
	core.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (core.stop_fd < 0)
		return hp_err_set(err, errlen, -errno, "eventfd: %s",
				  strerror(errno));
	core.up = true;
	return opts->role == HP_ROLE_PRIMARY ?
		       core_init_primary(opts, err, errlen) :
		       core_init_secondary(err, errlen);
}

int hp_core_init(const struct hp_core_opts *opts, char *err, size_t errlen)
{
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!opts)
		return hp_err_set(err, errlen, -EINVAL, "no options");
	r = core_init(opts, err, errlen);
	if (r < 0) {
		HP_DEBUG(CORE_LOG, "start-up failed: %s",
			 err && errlen ? err : strerror(-r));
		if (r != -EALREADY)
			hp_core_fini();
	}
	return r;
}

void hp_core_fini(void)
{
	if (!core.up)
		return;
	hp_port_fini();
	if (core.pool)
		hp_mempool_cache_release(core.pool);
	hp_ipc_destroy(core.ipc);
	core.ipc = NULL;
	core.pool = NULL;
	hp_shm_destroy(core.shm);
	core.shm = NULL;
	/* The primary died: the last process out removes what it left. Its
	 * socket hangs up before its exit has closed every file, the runtime
	 * dir's lock among them: wait (bounded) until it has, or every
	 * secondary could find the lock still held and leave the dir. */
	if (core.role == HP_ROLE_SECONDARY && core.stop_reason == -ECONNRESET) {
		if (core.primary_gone > 0)
			core_wait_exit(core.primary_gone, 1000);
		hp_shm_runtime_dir_reap(core.prefix);
	}
	core.primary_gone = 0;
	if (core.stop_fd >= 0)
		close(core.stop_fd);
	core.stop_fd = -1;
	core.up = false;
	/* a process that leaves with _exit loses nothing logged so far */
	hp_log_flush(1000);
}
