/* A compile unit's line table for one address at a time (dwarf_lines.c).
 * Engine-private. */
#ifndef VR_DWARF_LINES_H
#define VR_DWARF_LINES_H

#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct vr_dwarf_unit; /* dwarf_units.h */

/* The line-table row for pc, as dwarf_getsrc_die(), dwarf_linesrc() and
 * dwarf_lineno() give it: *found false when no row covers pc; else
 * *ret_file (allocated; NULL when the row names no file) and *ret_line. */
struct vr_error *vr_dwarf_unit_line(struct vr_dwarf_unit *unit, Dwarf_Addr pc, bool *found,
				    char **ret_file, int *ret_line);

/* File idx of the unit's line table, as dwarf_getsrcfiles() and
 * dwarf_filesrc() give it; *ret NULL when there is none. */
struct vr_error *vr_dwarf_unit_file(struct vr_dwarf_unit *unit, uint64_t idx, char **ret);

#endif
