/* SPDX-License-Identifier: BSD-3-Clause */
/* The IPC tests' fixtures (hp_test_ipc.h): temp dirs, log capture, the
 * primary's side, forked secondaries and what they run, raw wire-format
 * sockets. */
#include "hp_test_ipc.h"

void tdir_make(struct tdir *d)
{
	snprintf(d->dir, sizeof(d->dir), "/tmp/%s-ipc-XXXXXX", hp_test_tag());
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->path, sizeof(d->path), "%s/mp.sock", d->dir);
}

void tdir_remove(struct tdir *d)
{
	unlink(d->path);
	rmdir(d->dir);
}

/* Log capture: every line at warning or worse, plus debug lines. */
static pthread_mutex_t cap_lock = PTHREAD_MUTEX_INITIALIZER;
static char cap_buf[16384];
static int cap_warnings;

void cap_sink(int level, const char *topic, const char *line, void *arg)
{
	(void)topic;
	(void)arg;
	pthread_mutex_lock(&cap_lock);
	if (level <= HP_LOG_WARNING)
		cap_warnings++;
	size_t used = strlen(cap_buf);
	snprintf(cap_buf + used, sizeof(cap_buf) - used, "%s\n", line);
	pthread_mutex_unlock(&cap_lock);
}

void cap_start(void)
{
	pthread_mutex_lock(&cap_lock);
	cap_buf[0] = '\0';
	cap_warnings = 0;
	pthread_mutex_unlock(&cap_lock);
	hp_log_set_sink(cap_sink, NULL);
}

int cap_count(void)
{
	hp_log_flush(-1); /* the sink runs on the log's writer thread */
	pthread_mutex_lock(&cap_lock);
	int n = cap_warnings;
	pthread_mutex_unlock(&cap_lock);
	return n;
}

bool cap_has(const char *s)
{
	hp_log_flush(-1);
	pthread_mutex_lock(&cap_lock);
	bool r = strstr(cap_buf, s) != NULL;
	pthread_mutex_unlock(&cap_lock);
	return r;
}

void cap_stop(void)
{
	hp_log_set_sink(NULL, NULL);
	hp_log_set_levels("ipc:notice");
}

void srv_peer_cb(struct hp_ipc *ipc, uint32_t peer, pid_t pid, bool up,
		 void *arg)
{
	struct srv *s = arg;

	(void)ipc;
	(void)pid;
	atomic_store(up ? &s->last_up : &s->last_down, peer);
	evt_post(up ? s->up_fd : s->down_fd);
}

void echo_handler(struct hp_ipc *ipc, uint32_t peer,
		  const struct hp_ipc_msg *req, void *arg)
{
	struct hp_ipc_msg *reply = malloc(sizeof(*reply));
	char text[64];

	(void)arg;
	snprintf(text, sizeof(text), "re:%.*s", (int)req->len,
		 (const char *)req->payload);
	hp_ipc_msg_init(reply, req->type, text, strlen(text));
	reply->status = (int32_t)req->len;
	hp_ipc_reply(ipc, peer, req, reply);
	free(reply);
}

void srv_start(struct srv *s, const struct hp_ipc_server_opts *opts)
{
	if (!s->d.dir[0])
		tdir_make(&s->d);
	s->up_fd = eventfd(0, EFD_CLOEXEC);
	s->down_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(s->up_fd >= 0 && s->down_fd >= 0);
	assert_int_equal(hp_ipc_server_create(s->d.path, opts, &s->ipc), 0);
	hp_ipc_set_peer_callback(s->ipc, srv_peer_cb, s);
	assert_int_equal(hp_ipc_register(s->ipc, T_ECHO, echo_handler, NULL), 0);
}

void srv_stop(struct srv *s)
{
	hp_ipc_destroy(s->ipc);
	s->ipc = NULL;
	close(s->up_fd);
	close(s->down_fd);
	tdir_remove(&s->d);
}

int nb_peers(struct hp_ipc *ipc)
{
	struct hp_ipc_peer_info info[HP_MAX_PROCS];

	return hp_ipc_peers(ipc, info, HP_ARRAY_SIZE(info));
}

int echo_check(struct hp_ipc *ipc, uint32_t peer, const char *text)
{
	struct hp_ipc_msg *req = malloc(sizeof(*req));
	struct hp_ipc_msg *rep = malloc(sizeof(*rep));
	char want[64];
	int r;

	hp_ipc_msg_init(req, T_ECHO, text, strlen(text));
	r = hp_ipc_request(ipc, peer, req, rep, WAIT_MS);
	snprintf(want, sizeof(want), "re:%s", text);
	if (r == 0 && (rep->id != req->id || rep->len != strlen(want) ||
		       memcmp(rep->payload, want, rep->len) ||
		       rep->status != (int32_t)strlen(text)))
		r = -EBADMSG;
	free(req);
	free(rep);
	return r;
}

void note_handler(struct hp_ipc *ipc, uint32_t peer,
		  const struct hp_ipc_msg *msg, void *arg)
{
	(void)ipc;
	(void)peer;
	if (msg->len == 4 && !memcmp(msg->payload, "note", 4))
		evt_post(*(int *)arg);
}

void late_handler(struct hp_ipc *ipc, uint32_t peer,
		  const struct hp_ipc_msg *req, void *arg)
{
	struct late *l = arg;

	if (atomic_load(&l->answer)) {
		echo_handler(ipc, peer, req, NULL);
		return;
	}
	l->req = *req;
	evt_post(l->got_fd);
}

/* Children not reaped yet, killed after a failed test. */
static pid_t live_children[8];

static void live_set(pid_t old, pid_t pid)
{
	for (size_t i = 0; i < HP_ARRAY_SIZE(live_children); i++) {
		if (live_children[i] == old) {
			live_children[i] = pid;
			return;
		}
	}
	abort();
}

int kill_leftovers(void **state)
{
	(void)state;
	for (size_t i = 0; i < HP_ARRAY_SIZE(live_children); i++) {
		if (live_children[i] > 0) {
			kill(live_children[i], SIGKILL);
			waitpid(live_children[i], NULL, 0);
			live_children[i] = 0;
		}
	}
	return 0;
}

void child_spawn(struct child *c, child_fn fn, void *arg)
{
	assert_int_equal(pipe2(c->go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(c->ready, O_CLOEXEC), 0);
	c->pid = proc_fork(SIGKILL);
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		char b;

		close(c->go[1]);
		close(c->ready[0]);
		if (!wait_fd(c->go[0], WAIT_MS) || read(c->go[0], &b, 1) != 1)
			_exit(90);
		_exit(fn(arg, c->ready[1]));
	}
	live_set(0, c->pid);
	close(c->go[0]);
	close(c->ready[1]);
}

void child_go(struct child *c)
{
	assert_int_equal(write(c->go[1], "g", 1), 1);
}

bool child_ready(struct child *c)
{
	char b;

	return wait_fd(c->ready[0], WAIT_MS) && read(c->ready[0], &b, 1) == 1;
}

int child_reap(struct child *c)
{
	int r = proc_wait_exit(c->pid, WAIT_MS);

	if (r == -ETIMEDOUT) {
		kill(c->pid, SIGKILL);
		r = proc_wait_exit(c->pid, -1);
	}
	live_set(c->pid, 0);
	close(c->go[1]);
	close(c->ready[0]);
	return r;
}

void cli_down_cb(struct hp_ipc *ipc, uint32_t peer, pid_t pid, bool up,
		 void *arg)
{
	(void)ipc;
	(void)pid;
	if (peer == HP_IPC_PRIMARY && !up)
		evt_post(*(int *)arg);
}

int child_client(void *arg, int ready_fd)
{
	struct cli_cfg *cfg = arg;
	struct hp_ipc *ipc;
	int down = eventfd(0, EFD_CLOEXEC);

	if (hp_ipc_client_connect(cfg->path, &ipc) < 0)
		return 10;
	hp_ipc_set_peer_callback(ipc, cli_down_cb, &down);
	if (cfg->fn && hp_ipc_register(ipc, cfg->type, cfg->fn, cfg) < 0)
		return 11;
	if (write(ready_fd, "r", 1) != 1)
		return 12;
	if (!evt_wait(down, 1, 30000))
		return 13;
	hp_ipc_destroy(ipc);
	return 0;
}

void child_bcast_handler(struct hp_ipc *ipc, uint32_t peer,
			 const struct hp_ipc_msg *req, void *arg)
{
	struct cli_cfg *cfg = arg;
	struct hp_ipc_msg reply;
	char text[64];

	snprintf(text, sizeof(text), "child %d pid %d", cfg->idx, (int)getpid());
	hp_ipc_msg_init(&reply, req->type, text, strlen(text));
	reply.status = cfg->idx;
	hp_ipc_reply(ipc, peer, req, &reply);
}

void silent_handler(struct hp_ipc *ipc, uint32_t peer,
		    const struct hp_ipc_msg *req, void *arg)
{
	(void)ipc;
	(void)peer;
	(void)req;
	(void)arg;
}

void spawn_clients(struct srv *s, struct child *c, struct cli_cfg *cfg, int n)
{
	tdir_make(&s->d);
	for (int i = 0; i < n; i++) {
		cfg[i].path = s->d.path;
		cfg[i].idx = i;
		child_spawn(&c[i], child_client, &cfg[i]);
	}
	srv_start(s, NULL);
	for (int i = 0; i < n; i++)
		child_go(&c[i]);
	for (int i = 0; i < n; i++)
		assert_true(child_ready(&c[i]));
	assert_true(evt_wait(s->up_fd, (uint64_t)n, WAIT_MS));
}

void bcast_start(struct bcast *f, int silent)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 3; i++)
		f->cfg[i] = (struct cli_cfg){ .type = T_ECHO,
					      .fn = i == silent ?
						      silent_handler :
						      child_bcast_handler };
	spawn_clients(&f->s, f->c, f->cfg, 3);
	hp_ipc_msg_init(&f->req, T_ECHO, "all", 3);
}

void bcast_stop(struct bcast *f)
{
	srv_stop(&f->s);
	for (int i = 0; i < 3; i++)
		assert_int_equal(child_reap(&f->c[i]), 0);
}

int raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	uint8_t buf[IPC_HDR_SIZE];
	struct ipc_hdr h;

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* the primary's first word: its welcome */
	assert_true(wait_fd(fd, WAIT_MS));
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), IPC_HDR_SIZE);
	assert_int_equal(ipc_hdr_decode(buf, sizeof(buf), &h), 0);
	assert_int_equal(h.type, IPC_TYPE_WELCOME);
	return fd;
}

size_t raw_build(uint8_t *buf, uint16_t version, uint16_t kind, uint16_t type,
		 uint64_t id, const char *text)
{
	struct ipc_hdr h = {
		.magic = HP_IPC_MAGIC, .version = version, .type = type,
		.kind = kind, .id = id, .len = (uint32_t)strlen(text),
	};

	ipc_hdr_encode(buf, &h);
	memcpy(buf + IPC_HDR_SIZE, text, h.len);
	return IPC_HDR_SIZE + h.len;
}

void raw_send(int fd, const void *buf, size_t len)
{
	assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

ssize_t raw_recv(int fd, struct hp_ipc_msg *msg, int *ret_decode)
{
	uint8_t buf[IPC_RX_SIZE];
	ssize_t n;

	if (!wait_fd(fd, WAIT_MS))
		return -ETIMEDOUT;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n > 0)
		*ret_decode = hp_ipc_msg_decode(buf, (size_t)n, msg);
	return n;
}

void cli_done(struct hp_ipc *cli, struct srv *s, int p[2],
	      struct hp_ipc_msg *req, struct hp_ipc_msg *rep)
{
	hp_ipc_destroy(cli);
	srv_stop(s);
	close(p[0]);
	close(p[1]);
	free(req);
	free(rep);
}

void raw_echo(int fd, uint64_t id)
{
	uint8_t buf[IPC_RX_SIZE];
	struct hp_ipc_msg msg;
	int dec = -1;

	raw_send(fd, buf, raw_build(buf, HP_IPC_PROTO_VERSION,
				    IPC_KIND_REQUEST, T_ECHO, id, "raw"));
	assert_true(raw_recv(fd, &msg, &dec) > 0);
	assert_int_equal(dec, 0);
	assert_int_equal(msg.id, id);
	assert_int_equal(msg.len, 6);
	assert_memory_equal(msg.payload, "re:raw", 6);
}

const char pipe_text[17] = "through the pipe";
const char memfd_text[13] = "from a memfd";

int child_fds(void *arg, int ready_fd)
{
	struct hp_ipc_msg req, rep;
	struct hp_ipc *ipc;
	char buf[64] = "";
	int p[2];

	(void)ready_fd;
	if (hp_ipc_client_connect(arg, &ipc) < 0 || pipe2(p, O_CLOEXEC) < 0)
		return 10;
	hp_ipc_msg_init(&req, T_FDS, NULL, 0);
	req.fds[0] = p[1];
	req.nb_fds = 1;
	if (hp_ipc_request(ipc, HP_IPC_PRIMARY, &req, &rep, WAIT_MS) < 0 ||
	    rep.status != 0)
		return 11;
	close(p[1]);
	if (read(p[0], buf, sizeof(buf)) != sizeof(pipe_text) ||
	    strcmp(buf, pipe_text))
		return 12;
	if (rep.nb_fds != 1 ||
	    pread(rep.fds[0], buf, sizeof(buf), 0) != sizeof(memfd_text) ||
	    strcmp(buf, memfd_text))
		return 13;
	close(rep.fds[0]);
	hp_ipc_destroy(ipc);
	return 0;
}

void kill_handler(struct hp_ipc *ipc, uint32_t peer,
		  const struct hp_ipc_msg *req, void *arg)
{
	(void)ipc;
	(void)peer;
	(void)req;
	(void)arg;
	raise(SIGKILL);
}

int child_orphan(void *arg, int ready_fd)
{
	struct hp_ipc_msg req, rep;
	struct hp_ipc *ipc;
	int down = eventfd(0, EFD_CLOEXEC);
	int64_t t0;
	int r;

	(void)ready_fd;
	if (hp_ipc_client_connect(arg, &ipc) < 0)
		return 10;
	hp_ipc_set_peer_callback(ipc, cli_down_cb, &down);
	hp_ipc_msg_init(&req, T_SILENT, NULL, 0);
	t0 = now_ms();
	r = hp_ipc_request(ipc, HP_IPC_PRIMARY, &req, &rep, 20000);
	if (r != -ECONNRESET)
		return 11;
	if (now_ms() - t0 > 2000)
		return 12;
	if (!evt_wait(down, 1, WAIT_MS))
		return 13;
	hp_ipc_destroy(ipc);
	return 0;
}

int child_other_user(void *arg, int ready_fd)
{
	struct other_cfg *cfg = arg;
	struct hp_ipc *ipc;
	int r;

	(void)ready_fd;
	if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
		return 10;
	r = hp_ipc_client_connect(cfg->path, &ipc);
	if (r == -EACCES && !cfg->want_ok)
		return 0; /* refused at connect, as it should */
	if (r < 0)
		return 11;
	r = echo_check(ipc, HP_IPC_PRIMARY, "who");
	hp_ipc_destroy(ipc);
	if (cfg->want_ok)
		return r == 0 ? 0 : 12;
	return r == -ECONNRESET || r == -ENOTCONN ? 0 : 13;
}
