/* SPDX-License-Identifier: BSD-3-Clause */
/* The runtime dir of an instance and the primary's exclusive lock in it.
 *
 * The primary creates the dir (and its parents), opens <dir>/lock and takes
 * flock(LOCK_EX | LOCK_NB) on it. The lock belongs to the open file
 * description, so it is held until the primary closes the file or dies: a
 * lock that can be taken means the dir is stale, and what is left in it is
 * removed. On the way out the primary unlinks the file while still holding
 * the lock, then removes the dir; a primary starting at that moment may have
 * locked the unlinked file, so after locking it checks that the file it holds
 * is still the one at <dir>/lock, and starts again if not.
 */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hp_log.h"
#include "shm_private.h"

/* How often to start again when a dying primary removes the lock under us. */
#define SHM_LOCK_TRIES 8
/* Room a runtime dir leaves in PATH_MAX for the names of its files. */
#define SHM_DIR_ROOM 32

int hp_shm_prefix_check(const char *prefix)
{
	size_t n;

	if (!prefix)
		return -EINVAL;
	n = strnlen(prefix, HP_SHM_PREFIX_MAX + 1);
	if (n == 0 || n > HP_SHM_PREFIX_MAX || !strcmp(prefix, ".") ||
	    !strcmp(prefix, ".."))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (prefix[i] == '/' || !isgraph((unsigned char)prefix[i]))
			return -EINVAL;
	return 0;
}

int hp_shm_runtime_dir(const char *prefix, char *buf, size_t len)
{
	char path[PATH_MAX];
	const char *xdg;
	int n;

	if (!prefix)
		prefix = "hotport";
	if (!buf || hp_shm_prefix_check(prefix) < 0) {
		HP_DEBUG(SHM_LOG, "bad prefix or no buffer");
		return -EINVAL;
	}
	xdg = secure_getenv("XDG_RUNTIME_DIR");
	if (geteuid() == 0)
		n = snprintf(path, sizeof(path), "/run/hotport/%s", prefix);
	else if (xdg && xdg[0] == '/')
		n = snprintf(path, sizeof(path), "%s/hotport/%s", xdg, prefix);
	else
		n = snprintf(path, sizeof(path), "/tmp/hotport-%u/%s",
			     (unsigned)geteuid(), prefix);
	if (n < 0 || (size_t)n >= sizeof(path) - SHM_DIR_ROOM ||
	    (size_t)n >= len) {
		HP_DEBUG(SHM_LOG, "runtime dir of \"%s\" is too long", prefix);
		return -ENAMETOOLONG;
	}
	memcpy(buf, path, (size_t)n + 1);
	return 0;
}

/* A dir we may use: a real directory (not a link) owned by us, or by root
 * for a parent. */
static int shm_dir_check(const char *path, bool parent)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid() && !(parent && st.st_uid == 0))
		return -EPERM;
	return 0;
}

/* What is wrong with a dir shm_dir_check or mkdir refused. */
static const char *shm_dir_why(int r)
{
	switch (r) {
	case -ENOTDIR:
		return "not a directory (a file or a symbolic link is in the way)";
	case -EPERM:
		return "owned by another user";
	default:
		return strerror(-r);
	}
}

/* mkdir -p of every parent of dir; the last one is checked: it may sit in a
 * world-writable place such as /tmp. The reason names the path. */
static int shm_mkdir_parents(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	char *slash;
	int r;

	snprintf(path, sizeof(path), "%s", dir);
	slash = strrchr(path, '/');
	if (!slash || slash == path)
		return 0;
	*slash = '\0';
	for (char *p = strchr(path + 1, '/');; p = strchr(p + 1, '/')) {
		if (p)
			*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return hp_err_set(err, errlen, -errno,
					  "cannot create %s, for the runtime dir %s: %s",
					  path, dir, strerror(errno));
		if (!p)
			break;
		*p = '/';
	}
	r = shm_dir_check(path, true);
	if (r < 0)
		return hp_err_set(err, errlen, r,
				  "%s, the parent of the runtime dir %s: %s",
				  path, dir, shm_dir_why(r));
	return 0;
}

/* <dir>/lock; the runtime dir leaves room for it. */
static void shm_lock_path(const char *dir, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/lock", dir);

	assert(n > 0 && (size_t)n < len);
	(void)n;
}

/* Creates dir if needed and opens and locks its lock file; -EAGAIN when a
 * dying primary removed the dir or the file under us. */
static int shm_lock_try(const char *dir, int *ret_fd)
{
	char path[PATH_MAX];
	struct stat held, now;
	int fd, r;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	r = shm_dir_check(dir, false);
	if (r < 0)
		return r;
	shm_lock_path(dir, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errno == ENOENT ? -EAGAIN : -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EEXIST : -errno;
		goto err_close;
	}
	if (fstat(fd, &held) < 0) {
		r = -errno;
		goto err_close;
	}
	if (stat(path, &now) < 0 || now.st_ino != held.st_ino ||
	    now.st_dev != held.st_dev) {
		r = -EAGAIN;
		goto err_close;
	}
	*ret_fd = fd;
	return 0;

err_close:
	close(fd);
	return r;
}

/* Removes what a dead primary's instance left in dir, except the lock. */
static void shm_dir_clean(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		HP_DEBUG(SHM_LOG, "cannot read %s: %s", dir, strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, "lock"))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0)
			HP_DEBUG(SHM_LOG, "cannot remove stale %s/%s: %s", dir,
				 de->d_name, strerror(errno));
		else
			HP_DEBUG(SHM_LOG, "removed stale %s/%s", dir,
				 de->d_name);
	}
	closedir(d);
}

/* 0700, or 0750 and the group when a group may reach the IPC socket. */
static int shm_dir_set_mode(const char *dir, gid_t ipc_group)
{
	if (ipc_group && chown(dir, (uid_t)-1, ipc_group) < 0)
		return -errno;
	if (chmod(dir, ipc_group ? 0750 : 0700) < 0)
		return -errno;
	return 0;
}

int shm_dir_lock(struct hp_shm *shm, const char *prefix, gid_t ipc_group,
		 char *err, size_t errlen)
{
	int fd = -1, r;

	r = hp_shm_runtime_dir(prefix, shm->dir, sizeof(shm->dir));
	if (r < 0)
		return hp_err_set(err, errlen, r,
				  "no runtime dir for prefix '%s': %s", prefix,
				  strerror(-r));
	r = shm_mkdir_parents(shm->dir, err, errlen);
	if (r < 0)
		return r;
	for (int i = 0; i < SHM_LOCK_TRIES; i++) {
		r = shm_lock_try(shm->dir, &fd);
		if (r != -EAGAIN)
			break;
	}
	if (r == -EEXIST)
		return hp_err_set(err, errlen, r,
				  "%s/lock is held by a live primary", shm->dir);
	if (r < 0)
		return hp_err_set(err, errlen, r,
				  "cannot lock the runtime dir %s: %s", shm->dir,
				  shm_dir_why(r));
	r = shm_dir_set_mode(shm->dir, ipc_group);
	if (r < 0) {
		close(fd);
		return hp_err_set(err, errlen, r,
				  "cannot set the mode or group of the runtime dir %s: %s",
				  shm->dir, strerror(-r));
	}
	shm_dir_clean(shm->dir);
	shm->lock_fd = fd;
	return 0;
}

/* Removes the lock file and the dir while holding the lock (fd). */
static void shm_dir_release(const char *dir, int fd)
{
	char path[PATH_MAX];

	shm_lock_path(dir, path, sizeof(path));
	if (unlink(path) < 0)
		HP_DEBUG(SHM_LOG, "cannot remove %s: %s", path,
			 strerror(errno));
	/* What others put here (the IPC socket) is theirs to remove: then
	 * the dir stays, and the next primary cleans it. */
	if (rmdir(dir) < 0)
		HP_DEBUG(SHM_LOG, "cannot remove %s: %s", dir, strerror(errno));
	close(fd);
}

void shm_dir_unlock(struct hp_shm *shm)
{
	if (shm->lock_fd < 0)
		return;
	shm_dir_release(shm->dir, shm->lock_fd);
	shm->lock_fd = -1;
}

int hp_shm_runtime_dir_reap(const char *prefix)
{
	char dir[PATH_MAX];
	struct stat st;
	int fd, r;

	r = hp_shm_runtime_dir(prefix, dir, sizeof(dir));
	if (r < 0)
		return r;
	if (stat(dir, &st) < 0)
		return 0; /* nothing left */
	r = shm_lock_try(dir, &fd);
	if (r < 0) {
		HP_DEBUG(SHM_LOG, "not reaping %s: %s", dir, strerror(-r));
		return r == -EAGAIN ? 0 : r;
	}
	shm_dir_clean(dir);
	shm_dir_release(dir, fd);
	HP_DEBUG(SHM_LOG, "removed %s, left by a dead primary", dir);
	return 0;
}
