/* What is read once from a vmlinux (debuginfo.c): the products other parts
 * build from it, kept with the file and shared by every dump that uses it
 * in a batch. Engine-private. */
#ifndef VR_DEBUGINFO_H
#define VR_DEBUGINFO_H

#include <libelf.h>

#include "error.h"

struct vr_debuginfo;
struct vr_debuginfo_cache; /* kernel.h */

/* The vmlinux open on fd at path, of GNU build ID build_id (hex; NULL or
 * "" when it has none), from cache (NULL: one of its own): the same file
 * (device, inode, size, modification time) or the same build ID gives the
 * same debuginfo. One reference for the caller; vr_debuginfo_put() drops
 * it. */
struct vr_error *vr_debuginfo_get(struct vr_debuginfo_cache *cache, const char *path, int fd,
				  const char *build_id, struct vr_debuginfo **ret);
void vr_debuginfo_put(struct vr_debuginfo *di);

/* The debuginfo's own handle on the file: its mapping lasts as long as the
 * debuginfo, so products may point into it. libelf is not for concurrent
 * use: a build calls it holding vr_debuginfo_lock(), and reads the bytes it
 * got afterwards without. */
Elf *vr_debuginfo_elf(struct vr_debuginfo *di);
/* The path the file was opened as. */
const char *vr_debuginfo_path(const struct vr_debuginfo *di);

/* The products, one per slot. */
enum vr_debuginfo_slot {
	VR_DEBUGINFO_SYMBOLS, /* symbols.c: the kernel's symbol table */
	VR_DEBUGINFO_BTF,     /* types.c: the vmlinux's .BTF */
	VR_DEBUGINFO_DWARF,   /* dwarf.c: source lines found so far */
	VR_DEBUGINFO_N,
};

typedef struct vr_error *(*vr_debuginfo_build_fn)(struct vr_debuginfo *di, void **ret);
typedef void (*vr_debuginfo_free_fn)(void *product);

/* The product in slot, built by build on first use (under the slot's own
 * lock: products of different slots are built at once); a build that fails is not tried again and its error is returned
 * each time (a copy). free releases it with the debuginfo. Once built, a
 * product is read by every dump that shares the debuginfo at once: it is
 * immutable, or guarded by vr_debuginfo_lock(). */
struct vr_error *vr_debuginfo_product(struct vr_debuginfo *di, enum vr_debuginfo_slot slot,
				      vr_debuginfo_build_fn build, vr_debuginfo_free_fn free_fn,
				      void **ret);

/* Starts building the product in slot in a thread of its own, so that it
 * is ready, or nearer, when vr_debuginfo_product() asks for it. */
void vr_debuginfo_prefetch(struct vr_debuginfo *di, enum vr_debuginfo_slot slot, vr_debuginfo_build_fn build,
			   vr_debuginfo_free_fn free_fn);

void vr_debuginfo_lock(struct vr_debuginfo *di);
void vr_debuginfo_unlock(struct vr_debuginfo *di);

#endif
