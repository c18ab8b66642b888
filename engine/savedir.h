/* kdump save directories: what kdump-tools (Debian, Ubuntu) and
 * kdump-utils (RHEL, Fedora) write under /var/crash for one crash. */
#ifndef VR_SAVEDIR_H
#define VR_SAVEDIR_H

#include <stdbool.h>

#include "error.h"

struct vr_savedir {
	char *dump;  /* the dump, NULL when the directory holds only a log */
	char *log;   /* the kernel log saved beside it, NULL when none */
};

/* Finds the dump and the log in dir:
 *   kdump-utils: vmcore (or vmcore.flat, vmcore-incomplete while it was
 *                being written) and vmcore-dmesg.txt;
 *   kdump-tools: dump.YYYYMMDDHHMM (dump-incomplete while being written)
 *                and dmesg.YYYYMMDDHHMM.
 * A complete dump is taken before an incomplete one; names sort for the
 * rest. VR_ERR_NOT_FOUND when the directory holds neither a dump nor a
 * log. */
struct vr_error *vr_savedir_resolve(const char *dir, struct vr_savedir *ret);
/* The kernel log saved beside a dump that is named as a save directory's
 * dump is (vmcore, dump.T, ...): dmesg.T for dump.T, else the directory's
 * log as vr_savedir_resolve() picks it. *ret is NULL when there is none,
 * or when the dump's name is not one kdump gives. */
struct vr_error *vr_savedir_log_beside(const char *dump_path, char **ret);
void vr_savedir_deinit(struct vr_savedir *s);
/* Whether name (a file name, no directory) is one kdump gives the dump in a
 * save directory (vmcore, dump.T, ...). */
bool vr_savedir_dump_name(const char *name);

#endif
