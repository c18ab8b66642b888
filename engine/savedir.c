/* kdump save directories (see savedir.h). */
#define _GNU_SOURCE
#include "savedir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_ENTRIES 4096 /* directory entries looked at */

/* How good a name is as the dump (lower is better), -1 when it is none. */
static int dump_rank(const char *n)
{
	if (!strcmp(n, "vmcore"))
		return 0;
	if (!strcmp(n, "vmcore.flat"))
		return 1;
	if (!strncmp(n, "dump.", 5))
		return 2;
	if (!strcmp(n, "vmcore-incomplete"))
		return 3;
	if (!strncmp(n, "dump-incomplete", 15))
		return 4;
	return -1;
}

static int log_rank(const char *n)
{
	if (!strcmp(n, "vmcore-dmesg.txt"))
		return 0;
	if (!strncmp(n, "dmesg.", 6))
		return 1;
	if (!strcmp(n, "vmcore-dmesg-incomplete.txt"))
		return 2;
	return -1;
}

static bool is_file(const char *dir, const char *name)
{
	char *p = vr_asprintf("%s/%s", dir, name);
	struct stat st;
	bool ok = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
	free(p);
	return ok;
}

struct vr_error *vr_savedir_resolve(const char *dir, struct vr_savedir *ret)
{
	*ret = (struct vr_savedir){0};
	DIR *d = opendir(dir);
	if (!d)
		return vr_error_create(VR_ERR_IO, "%s: %s", dir, strerror(errno));
	char *best_dump = NULL, *best_log = NULL;
	int dr = 99, lr = 99;
	struct dirent *e;
	size_t seen = 0;
	struct vr_error *err = NULL;
	while (!err && (e = readdir(d)) && seen++ < MAX_ENTRIES) {
		const char *n = e->d_name;
		int r = dump_rank(n);
		char **slot = &best_dump;
		int *rank = &dr;
		if (r < 0) {
			r = log_rank(n);
			slot = &best_log;
			rank = &lr;
		}
		if (r < 0 || r > *rank || (r == *rank && strcmp(n, *slot) >= 0) || !is_file(dir, n))
			continue;
		free(*slot);
		*rank = r;
		if (!(*slot = vr_strdup(n)))
			err = &vr_error_oom;
	}
	closedir(d);
	if (!err && !best_dump && !best_log)
		err = vr_error_create(VR_ERR_NOT_FOUND, "%s: a directory with neither a dump (vmcore, "
				      "dump.*) nor a kernel log (vmcore-dmesg.txt, dmesg.*)", dir);
	if (!err && best_dump && !(ret->dump = vr_asprintf("%s/%s", dir, best_dump)))
		err = &vr_error_oom;
	if (!err && best_log && !(ret->log = vr_asprintf("%s/%s", dir, best_log)))
		err = &vr_error_oom;
	free(best_dump);
	free(best_log);
	if (err)
		vr_savedir_deinit(ret);
	return err;
}

struct vr_error *vr_savedir_log_beside(const char *dump_path, char **ret)
{
	*ret = NULL;
	const char *slash = strrchr(dump_path, '/');
	const char *base = slash ? slash + 1 : dump_path;
	if (dump_rank(base) < 0)
		return NULL;
	char *dir = slash ? strndup(dump_path, (size_t)(slash - dump_path)) : strdup(".");
	if (!dir)
		return &vr_error_oom;
	if (!*dir) { /* a dump in / */
		free(dir);
		if (!(dir = strdup("/")))
			return &vr_error_oom;
	}
	struct vr_error *err = NULL;
	/* kdump-tools names the pair after the crash time: dump.T, dmesg.T */
	if (!strncmp(base, "dump.", 5) && base[5]) {
		char *name = vr_asprintf("dmesg.%s", base + 5);
		if (!name)
			err = &vr_error_oom;
		else if (is_file(dir, name) && !(*ret = vr_asprintf("%s/%s", dir, name)))
			err = &vr_error_oom;
		free(name);
	}
	if (!err && !*ret) {
		struct vr_savedir sd;
		err = vr_savedir_resolve(dir, &sd);
		if (err && err->code != VR_ERR_NOMEM) {
			vr_error_destroy(err); /* no log there: nothing to add */
			err = NULL;
		} else if (!err) {
			*ret = sd.log;
			sd.log = NULL;
			vr_savedir_deinit(&sd);
		}
	}
	free(dir);
	return err;
}

bool vr_savedir_dump_name(const char *name)
{
	return dump_rank(name) >= 0;
}

void vr_savedir_deinit(struct vr_savedir *s)
{
	free(s->dump);
	free(s->log);
	*s = (struct vr_savedir){0};
}
