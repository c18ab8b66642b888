/* The per-dump layout cache: "type.member" -> offset and size, "type" ->
 * size, filled lazily from, in order of preference,
 *   1. VMCOREINFO's OFFSET(type.member) and SIZE(type) (kernel/vmcore_info.c):
 *      what the crashed kernel said about itself;
 *   2. BTF: the vmlinux's .BTF section, or without a vmlinux the copy the
 *      kernel keeps in memory between __start_BTF and __stop_BTF
 *      (CONFIG_DEBUG_INFO_BTF, include/asm-generic/vmlinux.lds.h);
 *   3. DWARF of the vmlinux, found by a bounded scan of the top-level DIEs
 *      of compile units (kernels are not built with .debug_names, so there
 *      is no index to ask).
 * Every answer, and every "not found", is cached. */
#define _GNU_SOURCE
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "btf.h"
#include "debuginfo.h"
#include "dwarf.h"
#include "internal.h"

/* Bounds: cached answers, in-memory BTF size, and the DWARF scan. */
#define TYPES_MAX_ENTRIES 65536
#define TYPES_MEM_BTF_MAX (64u << 20)
/* Compile units whose top-level DIEs we look through for a type before
 * giving up: the core structs are defined in the first few C units
 * (init/main.c includes most of them), so a few hundred is plenty. */
#define TYPES_DWARF_MAX_CUS 600
#define TYPES_DWARF_MAX_NEST 32

struct types_entry {
	char *key;
	enum vr_error_code code; /* 0: found */
	char *message;           /* why not found */
	uint64_t a, b;           /* offset/size, or size, or value */
	char *name;              /* member_at answers */
};

struct name_off {
	char *name;
	Dwarf_Off off;
};

struct vr_types {
	struct types_entry *slots;
	size_t mask, used;

	bool btf_tried;
	char *btf_reason; /* why there is no BTF */

	/* DWARF: top-level struct/union/enum DIEs by name, and enumerators. */
	struct name_off *dies;
	size_t dies_mask, dies_used;
	struct name_off *enums; /* enumerator name -> DIE offset of the enumerator */
	size_t enums_mask, enums_used;
	struct name_off *vars;  /* variable name -> DIE offset of its definition */
	size_t vars_mask, vars_used;
	unsigned sources; /* VR_TYPES_* allowed */
	Dwarf_Off next_cu;
	int cus_scanned;
	bool scan_done;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

void vr_types_destroy(struct vr_types *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->slots && i <= t->mask; i++) {
		free(t->slots[i].key);
		free(t->slots[i].message);
		free(t->slots[i].name);
	}
	for (size_t i = 0; t->dies && i <= t->dies_mask; i++)
		free(t->dies[i].name);
	for (size_t i = 0; t->enums && i <= t->enums_mask; i++)
		free(t->enums[i].name);
	for (size_t i = 0; t->vars && i <= t->vars_mask; i++)
		free(t->vars[i].name);
	free(t->vars);
	free(t->slots);
	free(t->dies);
	free(t->enums);
	free(t->btf_reason);
	free(t);
}

static struct vr_error *types_get(struct vr_kernel *k, struct vr_types **ret)
{
	if (!k->types) {
		struct vr_types *t = calloc(1, sizeof(*t));
		if (!t)
			return &vr_error_oom;
		t->slots = calloc(1024, sizeof(*t->slots));
		if (!t->slots) {
			free(t);
			return &vr_error_oom;
		}
		t->mask = 1023;
		t->sources = VR_TYPES_VMCOREINFO | VR_TYPES_BTF | VR_TYPES_DWARF;
		k->types = t;
	}
	*ret = k->types;
	return NULL;
}

/* ---- answer cache ---- */

static struct types_entry *cache_find(struct vr_types *t, const char *key)
{
	for (size_t i = hash_str(key) & t->mask; t->slots[i].key; i = (i + 1) & t->mask)
		if (strcmp(t->slots[i].key, key) == 0)
			return &t->slots[i];
	return NULL;
}

/* Stores an answer (err NULL: a, b, name are the answer). Takes name.
 * A full cache simply stops remembering. */
static void cache_put(struct vr_types *t, const char *key, const struct vr_error *err, uint64_t a,
		      uint64_t b, char *name)
{
	if (t->used + 1 > TYPES_MAX_ENTRIES || (err && err->code == VR_ERR_NOMEM)) {
		free(name);
		return;
	}
	if ((t->used + 1) * 2 > t->mask + 1) {
		size_t ncap = (t->mask + 1) * 2;
		struct types_entry *ns = calloc(ncap, sizeof(*ns));
		if (!ns) {
			free(name);
			return;
		}
		for (size_t i = 0; i <= t->mask; i++) {
			if (!t->slots[i].key)
				continue;
			size_t j = hash_str(t->slots[i].key) & (ncap - 1);
			while (ns[j].key)
				j = (j + 1) & (ncap - 1);
			ns[j] = t->slots[i];
		}
		free(t->slots);
		t->slots = ns;
		t->mask = ncap - 1;
	}
	char *kc = vr_strdup(key);
	char *msg = err ? vr_strdup(err->message) : NULL;
	if (!kc || (err && !msg)) {
		free(kc);
		free(msg);
		free(name);
		return;
	}
	size_t i = hash_str(key) & t->mask;
	while (t->slots[i].key)
		i = (i + 1) & t->mask;
	t->slots[i] = (struct types_entry){ kc, err ? err->code : 0, msg, a, b, name };
	t->used++;
}

static struct vr_error *cached_error(const struct types_entry *e)
{
	return vr_error_create(e->code, "%s", e->message);
}

/* ---- BTF ---- */

/* The bytes of elf's .BTF (in its mapping). */
static struct vr_error *btf_section(Elf *elf, const char *path, const void **ret, size_t *ret_len)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return vr_error_create(VR_ERR_FORMAT, "reading section names of %s: %s", path,
				       elf_errmsg(-1));
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".BTF") != 0)
			continue;
		if (sh.sh_type == SHT_NOBITS)
			return vr_error_create(VR_ERR_NOT_FOUND, "%s: .BTF holds no data", path);
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			return vr_error_create(VR_ERR_FORMAT, "reading .BTF of %s: %s", path, elf_errmsg(-1));
		*ret = d->d_buf;
		*ret_len = d->d_size;
		return NULL;
	}
	return vr_error_create(VR_ERR_NOT_FOUND, "%s has no .BTF section", path);
}

/* Parsed in place: the file stays mapped as long as the BTF. */
static struct vr_error *btf_parse(const void *data, size_t len, const char *path, struct vr_btf **ret)
{
	return vr_error_wrap(vr_btf_create_in_place(data, len, false, ret), "%s", path);
}

/* The vmlinux's BTF, a product of its debuginfo: parsed once for every dump
 * of the file. */
static struct vr_error *btf_build(struct vr_debuginfo *di, void **ret)
{
	const void *data;
	size_t len;
	vr_debuginfo_lock(di);
	struct vr_error *err = btf_section(vr_debuginfo_elf(di), vr_debuginfo_path(di), &data, &len);
	vr_debuginfo_unlock(di);
	struct vr_btf *btf;
	if (!err)
		err = btf_parse(data, len, vr_debuginfo_path(di), &btf);
	if (!err)
		*ret = btf;
	return err;
}

static void btf_free(void *p)
{
	vr_btf_destroy(p);
}

void vr_types_prefetch_btf(struct vr_kernel *k)
{
	if (k->debuginfo)
		vr_debuginfo_prefetch(k->debuginfo, VR_DEBUGINFO_BTF, btf_build, btf_free);
}

static struct vr_error *btf_from_vmlinux(struct vr_kernel *k, struct vr_btf **ret)
{
	if (!k->debuginfo) {
		const void *data;
		size_t len;
		struct vr_error *err = btf_section(k->vmlinux_elf, k->vmlinux_path, &data, &len);
		return err ? err : btf_parse(data, len, k->vmlinux_path, ret);
	}
	void *p;
	struct vr_error *err = vr_debuginfo_product(k->debuginfo, VR_DEBUGINFO_BTF, btf_build, btf_free, &p);
	if (err)
		return err;
	*ret = p;
	k->btf_shared = true;
	return NULL;
}

/* The in-memory BTF, read as soon as kallsyms names it and parsed on a
 * thread of its own while the symbol table is built (no vmlinux: the BTF
 * is the dump's). Only a read that succeeds is started: any problem is
 * left to btf_from_memory() to find and say, as without it. */
struct vr_btf_prefetch {
	pthread_t thread;
	uint64_t start;
	uint8_t *buf;
	size_t len;
	struct vr_btf *btf;
	struct vr_error *err;
};

static void *btf_prefetch_thread(void *arg)
{
	struct vr_btf_prefetch *p = arg;
	uint8_t *buf = p->buf;
	p->buf = NULL;
	p->err = vr_btf_create_in_place(buf, p->len, true, &p->btf);
	return NULL;
}

void vr_types_prefetch_memory_btf(struct vr_kernel *k, uint64_t start, uint64_t stop)
{
	if (k->btf_prefetch || k->vmlinux_elf || stop <= start || stop - start > TYPES_MEM_BTF_MAX)
		return;
	struct vr_btf_prefetch *p = calloc(1, sizeof(*p));
	if (!p)
		return;
	p->start = start;
	p->len = (size_t)(stop - start);
	p->buf = malloc(p->len);
	if (!p->buf || vr_kernel_absorb(k, vr_kernel_read(k, start, p->buf, p->len), VR_ERRS_READ) ||
	    pthread_create(&p->thread, NULL, btf_prefetch_thread, p) != 0) {
		free(p->buf);
		free(p);
		return;
	}
	k->btf_prefetch = p;
}

/* Waits for the prefetch and gives its BTF (*ret, the caller's) or its
 * error. */
static struct vr_error *btf_prefetched(struct vr_kernel *k, struct vr_btf **ret)
{
	struct vr_btf_prefetch *p = k->btf_prefetch;
	pthread_join(p->thread, NULL);
	k->btf_prefetch = NULL;
	struct vr_error *err = p->err;
	uint64_t start = p->start;
	if (!err)
		*ret = p->btf;
	free(p);
	return err ? vr_error_wrap(err, "in-memory BTF at 0x%llx", (unsigned long long)start) : NULL;
}

void vr_types_prefetch_end(struct vr_kernel *k)
{
	struct vr_btf *btf = NULL;
	if (!k->btf_prefetch)
		return;
	/* the kernel is going: its BTF, or why there is none, is not needed */
	struct vr_error *err = btf_prefetched(k, &btf);
	if (err)
		vr_error_destroy(err);
	else
		vr_btf_destroy(btf);
}

static struct vr_error *btf_from_memory(struct vr_kernel *k, struct vr_btf **ret)
{
	uint64_t start, stop;
	if (!vr_kernel_has_memory(k))
		return vr_error_create(VR_ERR_NOT_FOUND, "no memory to read BTF from");
	if (!vr_symbols_lookup_name(k, "__start_BTF", &start) ||
	    !vr_symbols_lookup_name(k, "__stop_BTF", &stop))
		return vr_error_create(VR_ERR_NOT_FOUND,
				       "the kernel has no __start_BTF/__stop_BTF symbols");
	if (stop <= start || stop - start > TYPES_MEM_BTF_MAX)
		return vr_error_create(VR_ERR_LIMIT,
				       "in-memory BTF at 0x%llx-0x%llx: size out of range",
				       (unsigned long long)start, (unsigned long long)stop);
	if (k->btf_prefetch) {
		if (k->btf_prefetch->start == start && k->btf_prefetch->len == stop - start)
			return btf_prefetched(k, ret);
		vr_types_prefetch_end(k);
	}
	size_t len = stop - start;
	uint8_t *buf = malloc(len);
	if (!buf)
		return &vr_error_oom;
	struct vr_error *err = vr_kernel_read(k, start, buf, len);
	if (err) {
		free(buf);
		return vr_error_wrap(err, "reading in-memory BTF at 0x%llx", (unsigned long long)start);
	}
	return vr_error_wrap(vr_btf_create_in_place(buf, len, true, ret), "in-memory BTF at 0x%llx",
			     (unsigned long long)start);
}

/* k->btf, loaded on first use; NULL with the reason cached. */
static struct vr_btf *types_btf(struct vr_kernel *k, struct vr_types *t)
{
	if (!(t->sources & VR_TYPES_BTF))
		return NULL;
	if (k->btf || t->btf_tried)
		return k->btf;
	t->btf_tried = true;
	struct vr_error *err = NULL;
	if (k->vmlinux_elf) {
		err = btf_from_vmlinux(k, &k->btf);
		if (!err)
			return k->btf;
	}
	struct vr_error *merr = btf_from_memory(k, &k->btf);
	if (!merr) {
		vr_error_destroy(err);
		return k->btf;
	}
	t->btf_reason = err ? vr_asprintf("%s; %s", err->message, merr->message)
			    : vr_strdup(merr->message);
	vr_error_destroy(err);
	vr_error_destroy(merr);
	return NULL;
}

/* ---- DWARF ---- */

static bool index_add(struct name_off **tab, size_t *mask, size_t *used, const char *name,
		      Dwarf_Off off)
{
	if (*used + 1 > 1u << 22)
		return false;
	if (!*tab || (*used + 1) * 2 > *mask + 1) {
		size_t ncap = *tab ? (*mask + 1) * 2 : 4096;
		struct name_off *ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return false;
		for (size_t i = 0; *tab && i <= *mask; i++) {
			if (!(*tab)[i].name)
				continue;
			size_t j = hash_str((*tab)[i].name) & (ncap - 1);
			while (ns[j].name)
				j = (j + 1) & (ncap - 1);
			ns[j] = (*tab)[i];
		}
		free(*tab);
		*tab = ns;
		*mask = ncap - 1;
	}
	size_t i = hash_str(name) & *mask;
	for (; (*tab)[i].name; i = (i + 1) & *mask)
		if (strcmp((*tab)[i].name, name) == 0)
			return true; /* first definition wins */
	char *n = vr_strdup(name);
	if (!n)
		return false;
	(*tab)[i] = (struct name_off){ n, off };
	(*used)++;
	return true;
}

static bool index_get(struct name_off *tab, size_t mask, const char *name, Dwarf_Off *ret)
{
	if (!tab)
		return false;
	for (size_t i = hash_str(name) & mask; tab[i].name; i = (i + 1) & mask)
		if (strcmp(tab[i].name, name) == 0) {
			*ret = tab[i].off;
			return true;
		}
	return false;
}

/* Indexes the top-level type and variable definitions of the next compile
 * unit. False when there is none left (or the bound is hit). */
static bool dwarf_scan_next(Dwarf *dbg, struct vr_types *t)
{
	if (t->scan_done || t->cus_scanned >= TYPES_DWARF_MAX_CUS) {
		t->scan_done = true;
		return false;
	}
	Dwarf_Off next;
	size_t hsize;
	Dwarf_Half version;
	if (dwarf_next_unit(dbg, t->next_cu, &next, &hsize, &version, NULL, NULL, NULL, NULL,
			    NULL) != 0) {
		t->scan_done = true;
		return false;
	}
	Dwarf_Die cu, die;
	Dwarf_Off cu_off = t->next_cu;
	t->next_cu = next;
	t->cus_scanned++;
	if (!dwarf_offdie(dbg, cu_off + hsize, &cu) || dwarf_child(&cu, &die) != 0)
		return true;
	int n = 0;
	do {
		if (++n > 1000000)
			break;
		int tag = dwarf_tag(&die);
		if (tag == DW_TAG_variable) {
			const char *name = dwarf_diename(&die);
			if (name && dwarf_hasattr(&die, DW_AT_type) && !dwarf_hasattr(&die, DW_AT_declaration))
				index_add(&t->vars, &t->vars_mask, &t->vars_used, name, dwarf_dieoffset(&die));
			continue;
		}
		if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type &&
		    tag != DW_TAG_enumeration_type && tag != DW_TAG_typedef &&
		    tag != DW_TAG_base_type)
			continue;
		if (dwarf_hasattr(&die, DW_AT_declaration))
			continue;
		const char *name = dwarf_diename(&die);
		if (name)
			index_add(&t->dies, &t->dies_mask, &t->dies_used, name, dwarf_dieoffset(&die));
		if (tag == DW_TAG_enumeration_type) {
			Dwarf_Die e;
			if (dwarf_child(&die, &e) != 0)
				continue;
			int m = 0;
			do {
				const char *en = dwarf_diename(&e);
				if (dwarf_tag(&e) == DW_TAG_enumerator && en)
					index_add(&t->enums, &t->enums_mask, &t->enums_used, en,
						  dwarf_dieoffset(&e));
			} while (++m < 100000 && dwarf_siblingof(&e, &e) == 0);
		}
	} while (dwarf_siblingof(&die, &die) == 0);
	return true;
}

enum find_what { FIND_TYPE, FIND_ENUMERATOR, FIND_VARIABLE };

/* Finds the DIE of struct/union/enum name, of enumerator name, or of the
 * definition of variable name. */
static struct vr_error *dwarf_find(struct vr_kernel *k, struct vr_types *t, const char *name,
				   enum find_what what, Dwarf **ret_dbg, Dwarf_Die *ret)
{
	static const char *const words[] = {"type", "enumerator", "variable"};
	Dwarf *dbg;
	if (!(t->sources & VR_TYPES_DWARF))
		return vr_error_create(VR_ERR_NOT_FOUND, "DWARF not consulted");
	struct vr_error *err = vr_dwarf_vmlinux(k, &dbg);
	if (err)
		return err;
	/* pahole encodes every type and enumerator of every compile unit into
	 * the kernel's BTF, so what BTF lacks DWARF lacks too: scanning DWARF
	 * for it would cost hundreds of milliseconds for nothing. (Not so for
	 * variables: BTF holds only the per-CPU ones.) */
	if (what != FIND_VARIABLE && types_btf(k, t))
		return vr_error_create(VR_ERR_NOT_FOUND, "not in the kernel's BTF, which holds every type");
	Dwarf_Off off;
	for (;;) {
		bool hit = what == FIND_ENUMERATOR ? index_get(t->enums, t->enums_mask, name, &off)
			   : what == FIND_VARIABLE ? index_get(t->vars, t->vars_mask, name, &off)
						   : index_get(t->dies, t->dies_mask, name, &off);
		if (hit)
			break;
		if (!dwarf_scan_next(dbg, t))
			return vr_error_create(VR_ERR_NOT_FOUND,
					       "DWARF: no %s %s in the first %d compile units",
					       words[what], name, t->cus_scanned);
	}
	if (!dwarf_offdie(dbg, off, ret))
		return vr_dwarf_error("DWARF: reading a type DIE");
	*ret_dbg = dbg;
	return NULL;
}

/* Type DIE of die's DW_AT_type with typedefs and qualifiers peeled. */
static bool die_type(Dwarf_Die *die, Dwarf_Die *ret)
{
	Dwarf_Attribute a;
	Dwarf_Die t;
	if (!dwarf_attr_integrate(die, DW_AT_type, &a) || !dwarf_formref_die(&a, &t))
		return false;
	return dwarf_peel_type(&t, ret) == 0;
}

static bool member_bits(Dwarf_Die *m, uint64_t *ret_bits)
{
	Dwarf_Attribute a;
	Dwarf_Word w;
	if (dwarf_attr(m, DW_AT_data_member_location, &a)) {
		/* A constant, or DWARF 2's DW_OP_plus_uconst expression */
		if (!vr_dwarf_member_location(&a, &w))
			return false;
		*ret_bits = w * 8;
		return true;
	}
	if (dwarf_attr(m, DW_AT_data_bit_offset, &a) && dwarf_formudata(&a, &w) == 0) {
		*ret_bits = w;
		return true;
	}
	/* Union members have no location: they start at 0. */
	*ret_bits = 0;
	return true;
}

static bool die_is_composite(Dwarf_Die *d)
{
	int tag = dwarf_tag(d);
	return tag == DW_TAG_structure_type || tag == DW_TAG_union_type;
}

static struct vr_error *dwarf_find_member(Dwarf_Die *comp, const char *name, size_t len, int depth,
					  uint64_t *bits, Dwarf_Die *ret_type)
{
	Dwarf_Die m;
	if (depth > TYPES_DWARF_MAX_NEST || dwarf_child(comp, &m) != 0)
		return vr_error_create(VR_ERR_NOT_FOUND, "no member %.*s", (int)len, name);
	int n = 0;
	do {
		if (dwarf_tag(&m) != DW_TAG_member)
			continue;
		const char *mn = dwarf_diename(&m);
		uint64_t mb;
		if (!member_bits(&m, &mb))
			continue;
		if (mn) {
			if (strlen(mn) == len && memcmp(mn, name, len) == 0) {
				if (!die_type(&m, ret_type))
					return vr_error_create(VR_ERR_FORMAT,
							       "DWARF: member %s has no type", mn);
				*bits += mb;
				return NULL;
			}
			continue;
		}
		Dwarf_Die sub;
		if (!die_type(&m, &sub) || !die_is_composite(&sub))
			continue;
		uint64_t sb = 0;
		struct vr_error *err = dwarf_find_member(&sub, name, len, depth + 1, &sb, ret_type);
		if (!err) {
			*bits += mb + sb;
			return NULL;
		}
		if (err->code != VR_ERR_NOT_FOUND)
			return err;
		vr_error_destroy(err);
	} while (++n < 100000 && dwarf_siblingof(&m, &m) == 0);
	return vr_error_create(VR_ERR_NOT_FOUND, "no member %.*s", (int)len, name);
}

/* Member path of the type whose DIE is cur (type names it in messages). */
static struct vr_error *dwarf_member_of(Dwarf_Die cur, const char *type, const char *path,
					struct vr_member *ret)
{
	struct vr_error *err;
	Dwarf_Die peeled;
	if (dwarf_peel_type(&cur, &peeled) == 0)
		cur = peeled;
	uint64_t bits = 0;
	const char *p = path;
	for (int steps = 0; steps < TYPES_DWARF_MAX_NEST; steps++) {
		size_t len = strcspn(p, ".");
		if (!die_is_composite(&cur))
			return vr_error_create(VR_ERR_NOT_FOUND, "%s.%s: %.*s is not in a struct",
					       type, path, (int)len, p);
		Dwarf_Die mt;
		if ((err = dwarf_find_member(&cur, p, len, 0, &bits, &mt))) {
			if (err->code != VR_ERR_NOT_FOUND)
				return vr_error_wrap(err, "%s.%s", type, path);
			vr_error_destroy(err);
			return vr_error_create(VR_ERR_NOT_FOUND, "DWARF: %s has no member %s", type,
					       path);
		}
		cur = mt;
		p += len;
		if (*p == 0) {
			Dwarf_Word size = 0;
			if (dwarf_aggregate_size(&cur, &size) != 0)
				size = dwarf_tag(&cur) == DW_TAG_pointer_type ? 8 : 0;
			ret->offset = bits / 8;
			ret->size = size;
			return NULL;
		}
		p++;
	}
	return vr_error_create(VR_ERR_LIMIT, "%s.%s: path too deep", type, path);
}

static struct vr_error *dwarf_member(struct vr_kernel *k, struct vr_types *t, const char *type,
				     const char *path, struct vr_member *ret)
{
	Dwarf *dbg;
	Dwarf_Die cur;
	struct vr_error *err = dwarf_find(k, t, type, FIND_TYPE, &dbg, &cur);
	if (err)
		return err;
	return dwarf_member_of(cur, type, path, ret);
}

static struct vr_error *dwarf_member_at(Dwarf_Die *comp, uint64_t off, int depth, char **path)
{
	Dwarf_Die m;
	if (depth > TYPES_DWARF_MAX_NEST)
		return NULL;
	if (dwarf_child(comp, &m) != 0)
		return vr_error_create(VR_ERR_NOT_FOUND, "no member at offset 0x%llx",
				       (unsigned long long)off);
	int n = 0;
	do {
		if (dwarf_tag(&m) != DW_TAG_member)
			continue;
		uint64_t mb;
		Dwarf_Die mt;
		Dwarf_Word size;
		if (!member_bits(&m, &mb) || !die_type(&m, &mt))
			continue;
		Dwarf_Word bsz;
		Dwarf_Attribute a;
		if (dwarf_attr(&m, DW_AT_bit_size, &a) && dwarf_formudata(&a, &bsz) == 0)
			size = (mb % 8 + bsz + 7) / 8;
		else if (dwarf_aggregate_size(&mt, &size) != 0)
			size = dwarf_tag(&mt) == DW_TAG_pointer_type ? 8 : 0;
		uint64_t start = mb / 8;
		if (size == 0 || off < start || off - start >= size)
			continue;
		const char *mn = dwarf_diename(&m);
		bool composite = die_is_composite(&mt);
		if (!mn && !composite)
			continue;
		_cleanup_free_ char *before = vr_strdup(*path);
		if (*path && !before)
			return &vr_error_oom;
		if (mn) {
			char *np = vr_asprintf("%s%s%s", *path ? *path : "", *path ? "." : "", mn);
			if (!np)
				return &vr_error_oom;
			free(*path);
			*path = np;
		}
		if (!composite)
			return NULL;
		struct vr_error *err = dwarf_member_at(&mt, off - start, depth + 1, path);
		if (!err || err->code != VR_ERR_NOT_FOUND)
			return err;
		vr_error_destroy(err);
		if (mn)
			return NULL;
		free(*path);
		*path = before;
		before = NULL;
	} while (++n < 100000 && dwarf_siblingof(&m, &m) == 0);
	return vr_error_create(VR_ERR_NOT_FOUND, "no member at offset 0x%llx",
			       (unsigned long long)off);
}

/* ---- the questions, each answered from every source in turn ---- */

/* One question to the layout sources. */
struct query {
	const char *type;    /* a struct, union or type name; an enumerator's name */
	const char *member;  /* a member's (dotted) path */
	uint64_t offset;     /* a member's offset */
};

/* An answer, as the cache holds it. */
struct answer {
	uint64_t a, b;       /* offset and size; a size; an enumerator's value */
	char *name;          /* a member's path (owned) */
};

/* How each source answers one kind of question. A source that does not
 * know the kind is NULL. VMCOREINFO's word is the kernel's own and wins;
 * when it gives only part of an answer (vmcoreinfo_partial: an offset
 * without the member's size), BTF and DWARF are asked for the rest. */
struct question {
	char kind;           /* its cache keys: '.' "type.member", 's' "type",
			      * '@' "type@offset", '=' "=enumerator", '&'
			      * "&symbol.member" */
	bool (*vmcoreinfo)(const struct vr_vmcoreinfo *v, const struct query *q, struct answer *ret);
	bool vmcoreinfo_partial;
	struct vr_error *(*btf)(const struct vr_btf *btf, const struct query *q, struct answer *ret);
	struct vr_error *(*dwarf)(struct vr_kernel *k, struct vr_types *t, const struct query *q,
				  struct answer *ret);
	/* The message when no source knows: "no layout for task_struct.pid". */
	char *(*unknown)(const struct query *q);
};

static char *query_key(const struct question *qn, const struct query *q)
{
	switch (qn->kind) {
	case '.':
		return vr_asprintf("%s.%s", q->type, q->member);
	case '@':
		return vr_asprintf("%s@%llx", q->type, (unsigned long long)q->offset);
	case '=':
		return vr_asprintf("=%s", q->type);
	case '&':
		return vr_asprintf("&%s.%s", q->type, q->member);
	default:
		return vr_strdup(q->type);
	}
}

/* The one lookup chain: the cache, VMCOREINFO, BTF, DWARF, then the
 * answer or the reasons of every source that was asked, cached either
 * way. */
static struct vr_error *ask(struct vr_kernel *k, const struct question *qn, const struct query *q,
			    struct answer *ret)
{
	struct vr_types *t;
	struct vr_error *err = types_get(k, &t);
	if (err)
		return err;
	_cleanup_free_ char *key = query_key(qn, q);
	if (!key)
		return &vr_error_oom;
	const struct types_entry *e = cache_find(t, key);
	if (e && e->code)
		return cached_error(e);
	if (e) {
		char *name = NULL;
		if (e->name && !(name = vr_strdup(e->name)))
			return &vr_error_oom;
		*ret = (struct answer){e->a, e->b, name};
		return NULL;
	}

	struct answer ans = {0}, vmci = {0};
	bool have_vmci = qn->vmcoreinfo && k->vmcoreinfo && (t->sources & VR_TYPES_VMCOREINFO) &&
			 qn->vmcoreinfo(k->vmcoreinfo, q, &vmci);
	bool found = have_vmci && !qn->vmcoreinfo_partial;
	struct vr_error *berr = NULL, *derr = NULL;
	struct vr_btf *btf = found || !qn->btf ? NULL : types_btf(k, t);
	if (btf) {
		berr = qn->btf(btf, q, &ans);
		found = !berr;
	}
	if (!found && qn->dwarf) {
		derr = qn->dwarf(k, t, q, &ans);
		found = !derr;
	}
	if (have_vmci) {
		/* The kernel's own word on the first part wins; the rest comes
		 * from BTF/DWARF when they know it. */
		if (!found)
			ans = (struct answer){0};
		ans.a = vmci.a;
		found = true;
	}
	if (!found) {
		_cleanup_free_ char *what = qn->unknown(q);
		err = what ? vr_error_create(VR_ERR_NOT_FOUND, "%s: %s; %s", what,
					     berr ? berr->message : (t->btf_reason ? t->btf_reason : "no BTF"),
					     derr ? derr->message : "no DWARF")
			   : &vr_error_oom;
	}
	vr_error_destroy(berr);
	vr_error_destroy(derr);
	if (err) {
		free(ans.name);
		cache_put(t, key, err, 0, 0, NULL);
		return err;
	}
	char *copy = NULL;
	if (ans.name && !(copy = vr_strdup(ans.name))) {
		free(ans.name);
		return &vr_error_oom;
	}
	cache_put(t, key, NULL, ans.a, ans.b, ans.name);
	*ret = (struct answer){ans.a, ans.b, copy};
	return NULL;
}

/* type.member -> offset and size */

static bool member_vmcoreinfo(const struct vr_vmcoreinfo *v, const struct query *q, struct answer *ret)
{
	return vr_vmcoreinfo_offset(v, q->type, q->member, &ret->a);
}

static struct vr_error *member_btf(const struct vr_btf *btf, const struct query *q, struct answer *ret)
{
	uint32_t id;
	struct vr_btf_member bm;
	struct vr_error *err = vr_btf_find_struct(btf, q->type, &id);
	if (!err)
		err = vr_btf_member(btf, id, q->member, &bm);
	if (!err)
		*ret = (struct answer){bm.offset, bm.size, NULL};
	return err;
}

static struct vr_error *member_dwarf(struct vr_kernel *k, struct vr_types *t, const struct query *q,
				     struct answer *ret)
{
	struct vr_member m = {0};
	struct vr_error *err = dwarf_member(k, t, q->type, q->member, &m);
	if (!err)
		*ret = (struct answer){m.offset, m.size, NULL};
	return err;
}

static char *member_unknown(const struct query *q)
{
	return vr_asprintf("no layout for %s.%s", q->type, q->member);
}

static const struct question q_member = {
	.kind = '.',
	.vmcoreinfo = member_vmcoreinfo,
	.vmcoreinfo_partial = true,
	.btf = member_btf,
	.dwarf = member_dwarf,
	.unknown = member_unknown,
};

/* type -> size */

static bool size_vmcoreinfo(const struct vr_vmcoreinfo *v, const struct query *q, struct answer *ret)
{
	return vr_vmcoreinfo_size(v, q->type, &ret->a);
}

static struct vr_error *size_btf(const struct vr_btf *btf, const struct query *q, struct answer *ret)
{
	uint32_t id;
	struct vr_error *err = vr_btf_find_type(btf, q->type, &id);
	if (!err)
		err = vr_btf_type_size(btf, id, &ret->a);
	return err;
}

static struct vr_error *size_dwarf(struct vr_kernel *k, struct vr_types *t, const struct query *q,
				   struct answer *ret)
{
	Dwarf *dbg;
	Dwarf_Die die;
	struct vr_error *err = dwarf_find(k, t, q->type, FIND_TYPE, &dbg, &die);
	if (err)
		return err;
	Dwarf_Word w;
	if (dwarf_aggregate_size(&die, &w) != 0)
		return vr_dwarf_error("DWARF: size");
	ret->a = w;
	return NULL;
}

static char *size_unknown(const struct query *q)
{
	return vr_asprintf("no size for %s", q->type);
}

static const struct question q_size = {
	.kind = 's',
	.vmcoreinfo = size_vmcoreinfo,
	.btf = size_btf,
	.dwarf = size_dwarf,
	.unknown = size_unknown,
};

/* type + offset -> the member's path */

static struct vr_error *member_at_btf(const struct vr_btf *btf, const struct query *q,
				      struct answer *ret)
{
	uint32_t id;
	struct vr_error *err = vr_btf_find_struct(btf, q->type, &id);
	if (!err)
		err = vr_btf_member_at(btf, id, q->offset, &ret->name);
	return err;
}

static struct vr_error *member_at_dwarf(struct vr_kernel *k, struct vr_types *t, const struct query *q,
					struct answer *ret)
{
	Dwarf *dbg;
	Dwarf_Die die, peeled;
	char *name = NULL;
	struct vr_error *err = dwarf_find(k, t, q->type, FIND_TYPE, &dbg, &die);
	if (!err && dwarf_peel_type(&die, &peeled) == 0)
		die = peeled;
	if (!err)
		err = dwarf_member_at(&die, q->offset, 0, &name);
	if (!err && !name)
		err = vr_error_create(VR_ERR_NOT_FOUND, "no member at offset 0x%llx",
				      (unsigned long long)q->offset);
	if (err) {
		free(name);
		return err;
	}
	ret->name = name;
	return NULL;
}

static char *member_at_unknown(const struct query *q)
{
	return vr_asprintf("%s+0x%llx", q->type, (unsigned long long)q->offset);
}

static const struct question q_member_at = {
	.kind = '@',
	.btf = member_at_btf,
	.dwarf = member_at_dwarf,
	.unknown = member_at_unknown,
};

/* enumerator -> value */

static struct vr_error *enum_btf(const struct vr_btf *btf, const struct query *q, struct answer *ret)
{
	int64_t v;
	struct vr_error *err = vr_btf_enum_value(btf, q->type, &v);
	if (!err)
		ret->a = (uint64_t)v;
	return err;
}

static struct vr_error *enum_dwarf(struct vr_kernel *k, struct vr_types *t, const struct query *q,
				   struct answer *ret)
{
	Dwarf *dbg;
	Dwarf_Die die;
	struct vr_error *err = dwarf_find(k, t, q->type, FIND_ENUMERATOR, &dbg, &die);
	if (err)
		return err;
	Dwarf_Attribute a;
	Dwarf_Sword sv;
	if (!dwarf_attr(&die, DW_AT_const_value, &a) || dwarf_formsdata(&a, &sv) != 0)
		return vr_error_create(VR_ERR_FORMAT, "DWARF: enumerator %s has no value", q->type);
	ret->a = (uint64_t)sv;
	return NULL;
}

static char *enum_unknown(const struct query *q)
{
	return vr_asprintf("no enumerator %s", q->type);
}

static const struct question q_enum = {
	.kind = '=',
	.btf = enum_btf,
	.dwarf = enum_dwarf,
	.unknown = enum_unknown,
};

/* symbol + member -> offset and size of the member in the symbol's type */

static struct vr_error *symbol_member_btf(const struct vr_btf *btf, const struct query *q,
					  struct answer *ret)
{
	uint32_t type;
	struct vr_btf_member m;
	struct vr_error *err = vr_btf_find_var(btf, q->type, &type);
	if (!err) {
		if ((err = vr_btf_member(btf, type, q->member, &m)))
			return err;
		*ret = (struct answer){m.offset, m.size, NULL};
		return NULL;
	}
	/* The kernel's BTF names only its per-CPU variables; any other's
	 * type has its member where every type with a member of that name
	 * has it, when they all agree. */
	_cleanup_error_ struct vr_error *var_err = err;
	_cleanup_free_ char *first = vr_strndup(q->member, strcspn(q->member, "."));
	if (!first)
		return &vr_error_oom;
	if ((err = vr_btf_member_anywhere(btf, first, &m)))
		return vr_error_wrap(err, "%s", var_err->message);
	uint64_t off = m.offset, size = m.size;
	if (q->member[strlen(first)] == '.') {
		struct vr_btf_member rest;
		if ((err = vr_btf_member(btf, m.type, q->member + strlen(first) + 1, &rest)))
			return err;
		off += rest.offset;
		size = rest.size;
	}
	*ret = (struct answer){off, size, NULL};
	return NULL;
}

static struct vr_error *symbol_member_dwarf(struct vr_kernel *k, struct vr_types *t,
					    const struct query *q, struct answer *ret)
{
	Dwarf *dbg;
	Dwarf_Die var, type;
	struct vr_error *err = dwarf_find(k, t, q->type, FIND_VARIABLE, &dbg, &var);
	if (err)
		return err;
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(&var, DW_AT_type, &a) || !dwarf_formref_die(&a, &type))
		return vr_error_create(VR_ERR_FORMAT, "DWARF: variable %s has no type", q->type);
	struct vr_member m = {0};
	if ((err = dwarf_member_of(type, q->type, q->member, &m)))
		return err;
	*ret = (struct answer){m.offset, m.size, NULL};
	return NULL;
}

static char *symbol_member_unknown(const struct query *q)
{
	return vr_asprintf("no layout for %s.%s (the type of the variable %s)", q->type, q->member,
			   q->type);
}

static const struct question q_symbol_member = {
	.kind = '&',
	.btf = symbol_member_btf,
	.dwarf = symbol_member_dwarf,
	.unknown = symbol_member_unknown,
};

/* ---- public ---- */

struct vr_error *vr_type_symbol_member(struct vr_kernel *k, const char *symbol, const char *member,
				       struct vr_member *ret)
{
	struct answer ans;
	struct vr_error *err = ask(k, &q_symbol_member, &(struct query){.type = symbol, .member = member},
				   &ans);
	if (!err)
		*ret = (struct vr_member){ans.a, ans.b};
	return err;
}

struct vr_error *vr_kernel_member_offset(struct vr_kernel *k, const char *type, const char *member,
					 uint64_t *ret)
{
	struct vr_member m;
	struct vr_error *err = vr_type_member(k, type, member, &m);
	if (!err)
		*ret = m.offset;
	return err;
}

struct vr_error *vr_kernel_type_size(struct vr_kernel *k, const char *type, uint64_t *ret)
{
	return vr_type_size(k, type, ret);
}

struct vr_error *vr_kernel_symbol_member_offset(struct vr_kernel *k, const char *symbol,
						const char *member, uint64_t *ret)
{
	struct vr_member m;
	struct vr_error *err = vr_type_symbol_member(k, symbol, member, &m);
	if (!err)
		*ret = m.offset;
	return err;
}

struct vr_error *vr_kernel_task_stack_size(struct vr_kernel *k, uint64_t *ret)
{
	if (!k || !k->arch || !k->arch->task_stack_size)
		return vr_error_create(VR_ERR_NOT_FOUND, "the size of a task's stack: not known on %s",
				       k && k->arch ? k->arch->info->label : "an unknown architecture");
	return k->arch->task_stack_size(k, ret);
}


struct vr_error *vr_type_member(struct vr_kernel *k, const char *type, const char *member,
				struct vr_member *ret)
{
	struct answer ans;
	struct vr_error *err = ask(k, &q_member, &(struct query){.type = type, .member = member}, &ans);
	if (!err)
		*ret = (struct vr_member){ans.a, ans.b};
	return err;
}

struct vr_error *vr_type_size(struct vr_kernel *k, const char *type, uint64_t *ret)
{
	struct answer ans;
	struct vr_error *err = ask(k, &q_size, &(struct query){.type = type}, &ans);
	if (!err)
		*ret = ans.a;
	return err;
}

struct vr_error *vr_type_member_name(struct vr_kernel *k, const char *type, uint64_t offset,
				     char **ret)
{
	struct answer ans;
	struct vr_error *err = ask(k, &q_member_at, &(struct query){.type = type, .offset = offset}, &ans);
	if (!err)
		*ret = ans.name;
	return err;
}

struct vr_error *vr_type_enum_value(struct vr_kernel *k, const char *name, int64_t *ret)
{
	struct answer ans;
	struct vr_error *err = ask(k, &q_enum, &(struct query){.type = name}, &ans);
	if (!err)
		*ret = (int64_t)ans.a;
	return err;
}

struct vr_error *vr_kernel_enum_value(struct vr_kernel *k, const char *name, int64_t *ret)
{
	return vr_type_enum_value(k, name, ret);
}

struct vr_error *vr_types_restrict(struct vr_kernel *k, unsigned sources)
{
	struct vr_types *t;
	struct vr_error *err = types_get(k, &t);
	if (!err)
		t->sources = sources;
	return err;
}

struct vr_error *vr_kernel_member_at(struct vr_kernel *k, const char *type, uint64_t offset,
				     char **ret)
{
	return vr_type_member_name(k, type, offset, ret);
}

bool vr_member(struct vr_kernel *k, const char *type, const char *member, struct vr_member *ret)
{
	return !vr_kernel_absorb(k, vr_type_member(k, type, member, ret), VR_ERRS_LAYOUT);
}

bool vr_member_off(struct vr_kernel *k, const char *type, const char *member, uint64_t *ret)
{
	struct vr_member m = {0};
	if (!vr_member(k, type, member, &m))
		return false;
	*ret = m.offset;
	return true;
}
