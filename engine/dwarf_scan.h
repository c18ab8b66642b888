/* A compile unit's children by address (dwarf_scan.c). Engine-private. */
#ifndef VR_DWARF_SCAN_H
#define VR_DWARF_SCAN_H

#include <elfutils/libdw.h>

struct vr_dwarf_unit; /* dwarf_units.h */

/* The first child of the unit's DIE whose ranges hold pc (dwarf_haspc()),
 * from an index of the children built on the unit's first use: 1 found
 * (*ret), 0 none, -1 no index (the caller walks the children). */
int vr_dwarf_unit_scope(struct vr_dwarf_unit *unit, Dwarf_Addr pc, Dwarf_Die *ret);

#endif
