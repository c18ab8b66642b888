/* Opening input files (see file.h). */
#define _GNU_SOURCE
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of(const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		return "a directory";
	if (S_ISFIFO(st->st_mode))
		return "a FIFO";
	if (S_ISCHR(st->st_mode))
		return "a character device";
	if (S_ISBLK(st->st_mode))
		return "a block device";
	if (S_ISSOCK(st->st_mode))
		return "a socket";
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if (st->st_size == 0)
		return "an empty file";
	return NULL;
}

const char *vr_file_kind(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return NULL;
	return kind_of(&st);
}

struct vr_error *vr_file_open(const char *path, int *ret_fd, uint64_t *ret_size)
{
	/* O_NONBLOCK: a FIFO (or a path that turns into one between a stat
	 * and the open) must not hold the run; regular files ignore it. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return vr_error_create(VR_ERR_IO, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return vr_error_create(VR_ERR_IO, "%s: %s", path, strerror(e));
	}
	const char *k = kind_of(&st);
	if (k && S_ISREG(st.st_mode))
		k = NULL; /* an empty regular file is for the caller to judge */
	if (k) {
		close(fd);
		return vr_error_create(VR_ERR_IO, "%s: is %s, not a file", path, k);
	}
	/* Back to blocking reads (pread on a regular file never blocks long,
	 * but a network file system's may return EAGAIN with O_NONBLOCK). */
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	*ret_fd = fd;
	*ret_size = (uint64_t)st.st_size;
	return NULL;
}
