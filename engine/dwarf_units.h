/* The vmlinux's DWARF read a compile unit at a time (dwarf_units.c), with
 * the answers libdw's whole-file calls give; a unit's line table in
 * dwarf_lines.h, its children by address in dwarf_scan.h.
 * Engine-private. */
#ifndef VR_DWARF_UNITS_H
#define VR_DWARF_UNITS_H

#include <elfutils/libdw.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct vr_dwarf_units; /* one vmlinux */
struct vr_dwarf_unit;  /* one of its compile units */

/* Prepares the DWARF of elf (a vmlinux open on fd) to be read a unit at a
 * time. VR_ERR_UNSUPPORTED when it cannot be (compressed or missing debug
 * sections, another byte order): libdw's whole-file handle serves then. */
struct vr_error *vr_dwarf_units_create(Elf *elf, int fd, struct vr_dwarf_units **ret);
void vr_dwarf_units_destroy(struct vr_dwarf_units *u);

/* The unit .debug_aranges gives for pc, as dwarf_addrdie() finds it; *ret
 * NULL when none does. whole is the vmlinux's whole-file handle, opened
 * by the caller, for a unit that cannot be read alone (one that refers
 * outside itself); it may be NULL, and such a unit is then not found.
 * The unit stays valid until the next call. */
struct vr_error *vr_dwarf_units_find(struct vr_dwarf_units *u, Dwarf *whole, Dwarf_Addr pc,
				     struct vr_dwarf_unit **ret);

/* The unit's DIE. */
Dwarf_Die *vr_dwarf_unit_die(struct vr_dwarf_unit *unit);
/* Whether the unit is read in a handle of its own: then the calls below on
 * it may run on one thread while others work on other units. */
bool vr_dwarf_unit_alone(const struct vr_dwarf_unit *unit);
/* Whether it is open still (a later find may close the least used). */
bool vr_dwarf_unit_open(const struct vr_dwarf_unit *unit);

/* The units read so far and their bytes, against the size of .debug_info:
 * for tests that bound what a report reads of the vmlinux. */
void vr_dwarf_units_stats(const struct vr_dwarf_units *u, size_t *ret_units, uint64_t *ret_bytes,
			  uint64_t *ret_info);

#endif
