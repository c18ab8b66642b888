/* BTF: the kernel's compact type format (include/uapi/linux/btf.h,
 * Documentation/bpf/btf.rst). Engine-private. The parser copies the blob,
 * checks every record against the section bounds once, and builds a name
 * index of struct/union/enum/typedef names and of enumerators. */
#ifndef VR_BTF_H
#define VR_BTF_H

#include <stdint.h>

#include "error.h"

struct vr_btf;

/* Largest blob accepted: vmlinux BTF is about 4-8 MB. */
#define VR_BTF_MAX_SIZE (64u << 20)

/* Kinds, numbered as in include/uapi/linux/btf.h. */
enum vr_btf_kind {
	VR_BTF_KIND_UNKN = 0,
	VR_BTF_KIND_INT = 1,
	VR_BTF_KIND_PTR = 2,
	VR_BTF_KIND_ARRAY = 3,
	VR_BTF_KIND_STRUCT = 4,
	VR_BTF_KIND_UNION = 5,
	VR_BTF_KIND_ENUM = 6,
	VR_BTF_KIND_FWD = 7,
	VR_BTF_KIND_TYPEDEF = 8,
	VR_BTF_KIND_VOLATILE = 9,
	VR_BTF_KIND_CONST = 10,
	VR_BTF_KIND_RESTRICT = 11,
	VR_BTF_KIND_FUNC = 12,
	VR_BTF_KIND_FUNC_PROTO = 13,
	VR_BTF_KIND_VAR = 14,
	VR_BTF_KIND_DATASEC = 15,
	VR_BTF_KIND_FLOAT = 16,
	VR_BTF_KIND_DECL_TAG = 17,
	VR_BTF_KIND_TYPE_TAG = 18,
	VR_BTF_KIND_ENUM64 = 19,
	VR_BTF_KIND_MAX = 19,
};

/* Where a member lies inside its outermost type. */
struct vr_btf_member {
	uint64_t offset;     /* bytes */
	uint64_t size;       /* bytes of the member's type, 0 unknown */
	uint32_t bit_offset; /* bit within offset's byte, for bitfields */
	uint32_t bit_size;   /* 0 unless a bitfield */
	uint32_t type;       /* BTF type id of the member */
};

/* Parses a BTF blob (copied). VR_ERR_FORMAT names the offset of the first
 * record that does not fit. */
struct vr_error *vr_btf_create(const void *data, size_t len, struct vr_btf **ret);
/* The same over a blob that stays where it is: with take, a malloc'd one the
 * BTF frees (also on failure); else one that outlives the BTF (a mapped
 * vmlinux's .BTF). */
struct vr_error *vr_btf_create_in_place(const void *data, size_t len, bool take, struct vr_btf **ret);
void vr_btf_destroy(struct vr_btf *btf);

/* Number of type ids, including id 0 (void). */
uint32_t vr_btf_n_types(const struct vr_btf *btf);
/* Kind and name of a type id ("" for anonymous); false for a bad id. */
bool vr_btf_type_info(const struct vr_btf *btf, uint32_t id, int *ret_kind, const char **ret_name);

/* A complete struct or union named name (a union only when no struct
 * has that name). */
struct vr_error *vr_btf_find_struct(const struct vr_btf *btf, const char *name, uint32_t *ret);
/* Any named type (struct, union, enum, typedef, int, float), preferring
 * complete definitions. */
struct vr_error *vr_btf_find_type(const struct vr_btf *btf, const char *name, uint32_t *ret);

/* Size in bytes of a type, through typedefs and qualifiers. */
struct vr_error *vr_btf_type_size(const struct vr_btf *btf, uint32_t id, uint64_t *ret);

/* Member at a dotted path ("thread.sp", "se.avg.util_avg"; "name[3]" indexes
 * an array), looking through anonymous structs and unions. */
struct vr_error *vr_btf_member(const struct vr_btf *btf, uint32_t id, const char *path,
			       struct vr_btf_member *ret);

/* Dotted name of the deepest member that covers byte offset (e.g.
 * "tasks.next"). VR_ERR_NOT_FOUND for padding or beyond the end. */
struct vr_error *vr_btf_member_at(const struct vr_btf *btf, uint32_t id, uint64_t offset,
				  char **ret);

/* Value of an enumerator of an ENUM or ENUM64 type. */
struct vr_error *vr_btf_enum_value(const struct vr_btf *btf, const char *name, int64_t *ret);

/* The type id of variable name (a VAR record: the kernel's BTF holds them
 * for per-CPU variables only). */
struct vr_error *vr_btf_find_var(const struct vr_btf *btf, const char *name, uint32_t *ret);

/* Where member lies in every struct or union that has a direct member of
 * that name, when they all agree: so in the type of a variable whose type
 * has one, even an anonymous type BTF names no variable of (tk_core's
 * `struct { seqcount_raw_spinlock_t seq; struct timekeeper timekeeper; }`).
 * VR_ERR_NOT_FOUND when no type has such a member or two disagree. */
struct vr_error *vr_btf_member_anywhere(const struct vr_btf *btf, const char *member,
					struct vr_btf_member *ret);

#endif
