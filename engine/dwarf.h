/* Debug info shared by dwarf.c (source lines) and types.c (layouts): the
 * vmlinux's DWARF through libdw. Engine-private. */
#ifndef VR_DWARF_H
#define VR_DWARF_H

#include <elfutils/libdw.h>

#include "internal.h"

/* The vmlinux's Dwarf handle, opened on first use. VR_ERR_NOT_FOUND when
 * no vmlinux is in use or it has no DWARF. */
struct vr_error *vr_dwarf_vmlinux(struct vr_kernel *k, Dwarf **ret);

/* The compile units of the vmlinux read so far (dwarf_units.c) and their
 * bytes, against .debug_info's size; false when the vmlinux is not read a
 * unit at a time. */
bool vr_dwarf_units_read(struct vr_kernel *k, size_t *ret_units, uint64_t *ret_bytes, uint64_t *ret_info);

/* A member's byte offset from its DW_AT_data_member_location: a constant
 * (DWARF 4+, and what GCC writes for DWARF 3 too) or the location
 * expression DWARF 2 compilers write, DW_OP_plus_uconst N. False for
 * anything else. */
bool vr_dwarf_member_location(Dwarf_Attribute *attr, Dwarf_Word *ret);

/* Turns libdw's thread-local error into a vr_error. */
struct vr_error *vr_dwarf_error(const char *what);

#endif
