/* Opening an input file: only regular files are read, and never in a way
 * that can block (a FIFO given as a dump would wait forever in open()). */
#ifndef VR_FILE_H
#define VR_FILE_H

#include <stdint.h>

#include "error.h"

/* What path is, for messages: "a directory", "a FIFO", "a character device",
 * "a block device", "a socket", "an empty file"; NULL for a regular file
 * with data (or one that cannot be looked at: open() then says why). */
const char *vr_file_kind(const char *path);

/* Opens path read-only for reading a dump or a vmlinux: a regular file,
 * without blocking. The fd in *ret_fd, its size in *ret_size. VR_ERR_IO
 * "PATH: is a FIFO, not a file" and the like otherwise. */
struct vr_error *vr_file_open(const char *path, int *ret_fd, uint64_t *ret_size);

#endif
