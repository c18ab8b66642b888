/* Debug info shared by dwarf.c (source lines) and types.c (layouts): the
 * vmlinux's DWARF through libdw. Engine-private. */
#ifndef VR_DWARF_H
#define VR_DWARF_H

#include <elfutils/libdw.h>

#include "internal.h"

/* The vmlinux's Dwarf handle, opened on first use. VR_ERR_NOT_FOUND when
 * no vmlinux is in use or it has no DWARF. */
struct vr_error *vr_dwarf_vmlinux(struct vr_kernel *k, Dwarf **ret);

/* Turns libdw's thread-local error into a vr_error. */
struct vr_error *vr_dwarf_error(const char *what);

#endif
