/* Loaded modules (what crash's `mod` shows): the kernel's `modules` list,
 * each module's memory regions, state, taints, version, signature status,
 * and its in-memory symbol table, which is handed to the symbol layer so
 * that addresses inside modules resolve without any module file. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "internal.h"
#include "taint.h"

#define VR_MAX_MODULES 65536u
#define VR_MAX_MOD_SYMS (1u << 20)
#define VR_KSYM_NAME_LEN 512 /* include/linux/kallsyms.h KSYM_NAME_LEN (6.1+) */
#define VR_MODULE_NAME_LEN 56 /* MODULE_NAME_LEN: 64 - sizeof(unsigned long) */




/* Reads an unsigned integer member of 1, 2, 4 or 8 bytes (size from the
 * layout, dflt when unknown). */
static struct vr_error *rd_uint(struct vr_kernel *k, uint64_t addr, uint64_t size, uint64_t *ret)
{
	uint8_t b[8] = {0};
	if (size == 0 || size > 8)
		size = 8;
	struct vr_error *err = vr_kernel_read(k, addr, b, (size_t)size);
	if (err)
		return err;
	uint64_t v = 0;
	for (size_t i = size; i-- > 0;)
		v = v << 8 | b[i];
	*ret = v;
	return NULL;
}

/* struct module's layout, resolved once per run. */
struct mod_layout {
	uint64_t list, name, state, taints;
	struct vr_member m_state, m_taints;
	bool has_taints, has_version, has_srcversion, has_sig_ok;
	uint64_t version, srcversion, sig_ok;
	/* 6.4+ (commit ac3b43283923 "module: replace module_layout with
	 * module_memory"): mem[MOD_MEM_NUM_TYPES] */
	bool has_mem;
	uint64_t mem, mem_size, mem_base, mem_sz;
	struct vr_member m_mem_sz;
	/* 4.5 to 6.3: core_layout; older: module_core/core_size */
	bool has_core_layout, has_module_core;
	uint64_t cl_base, cl_size, cl_text_size;
	/* symbols: module.kallsyms (4.5+) or the members directly */
	bool has_kallsyms, has_direct_syms, has_typetab;
	uint64_t kallsyms, ks_symtab, ks_num, ks_strtab, ks_typetab;
	int64_t state_live, state_coming, state_going, state_unformed;
};

static bool resolve(struct vr_kernel *k, struct mod_layout *l)
{
	*l = (struct mod_layout){0};
	if (!vr_member_off(k, "module", "list", &l->list) || !vr_member_off(k, "module", "name", &l->name) ||
	    !vr_member(k, "module", "state", &l->m_state))
		return false;
	l->state = l->m_state.offset;
	/* unsigned int in 3.10, unsigned long later: read at its own size */
	l->has_taints = vr_member(k, "module", "taints", &l->m_taints);
	l->taints = l->m_taints.offset;
	l->has_version = vr_member_off(k, "module", "version", &l->version);
	l->has_srcversion = vr_member_off(k, "module", "srcversion", &l->srcversion);
	l->has_sig_ok = vr_member_off(k, "module", "sig_ok", &l->sig_ok);
	if (vr_member_off(k, "module", "mem", &l->mem) && !vr_kernel_absorb(k, vr_type_size(k, "module_memory", &l->mem_size), VR_ERRS_LAYOUT) &&
	    vr_member_off(k, "module_memory", "base", &l->mem_base) && vr_member(k, "module_memory", "size", &l->m_mem_sz)) {
		l->has_mem = true;
		l->mem_sz = l->m_mem_sz.offset;
	} else if (vr_member_off(k, "module", "core_layout.base", &l->cl_base) &&
		   vr_member_off(k, "module", "core_layout.size", &l->cl_size)) {
		l->has_core_layout = true;
		if (!vr_member_off(k, "module", "core_layout.text_size", &l->cl_text_size))
			l->cl_text_size = UINT64_MAX;
	} else if (vr_member_off(k, "module", "module_core", &l->cl_base) && vr_member_off(k, "module", "core_size", &l->cl_size)) {
		l->has_module_core = true;
		if (!vr_member_off(k, "module", "core_text_size", &l->cl_text_size))
			l->cl_text_size = UINT64_MAX;
	}
	if (vr_member_off(k, "module", "kallsyms", &l->kallsyms) && vr_member_off(k, "mod_kallsyms", "symtab", &l->ks_symtab) &&
	    vr_member_off(k, "mod_kallsyms", "num_symtab", &l->ks_num) && vr_member_off(k, "mod_kallsyms", "strtab", &l->ks_strtab)) {
		l->has_kallsyms = true;
		l->has_typetab = vr_member_off(k, "mod_kallsyms", "typetab", &l->ks_typetab);
	} else if (vr_member_off(k, "module", "symtab", &l->ks_symtab) && vr_member_off(k, "module", "num_symtab", &l->ks_num) &&
		   vr_member_off(k, "module", "strtab", &l->ks_strtab)) {
		l->has_direct_syms = true;
	}
	/* enum module_state (include/linux/module.h), unchanged since 3.x */
	static const struct { const char *name; int64_t dflt; size_t at; } states[] = {
		{"MODULE_STATE_LIVE", 0, offsetof(struct mod_layout, state_live)},
		{"MODULE_STATE_COMING", 1, offsetof(struct mod_layout, state_coming)},
		{"MODULE_STATE_GOING", 2, offsetof(struct mod_layout, state_going)},
		{"MODULE_STATE_UNFORMED", 3, offsetof(struct mod_layout, state_unformed)},
	};
	for (size_t i = 0; i < 4; i++) {
		int64_t v;
		if (vr_kernel_absorb(k, vr_type_enum_value(k, states[i].name, &v), VR_ERRS_LAYOUT))
			v = states[i].dflt;
		memcpy((char *)l + states[i].at, &v, sizeof(v));
	}
	return true;
}

static const char *state_name(const struct mod_layout *l, int64_t s)
{
	if (s == l->state_live)
		return "live";
	if (s == l->state_coming)
		return "coming";
	if (s == l->state_going)
		return "going";
	if (s == l->state_unformed)
		return "unformed";
	return "unknown";
}

/* Reads a char * member and the string it points to; NULL when the
 * pointer is NULL or unreadable. */
static char *read_str_ptr(struct vr_kernel *k, uint64_t addr)
{
	uint64_t p;
	char buf[256];
	if (vr_kernel_absorb(k, vr_read_u64(k, addr, &p), VR_ERRS_READ) || !p)
		return NULL;
	if (vr_kernel_absorb(k, vr_read_string(k, p, buf, sizeof(buf)), VR_ERRS_READ))
		return NULL;
	return vr_strdup(buf);
}

/* Elf64_Sym (include/uapi/linux/elf.h): st_name u32, st_info u8, st_other
 * u8, st_shndx u16, st_value u64, st_size u64. In a loaded module st_value
 * is the run-time address (kernel/module/kallsyms.c add_kallsyms()). */
#define ELF64_SYM_SIZE 24

static struct vr_error *read_symbols(struct vr_kernel *k, const struct mod_layout *l, uint64_t mod,
				     const char *name, size_t *ret_n)
{
	uint64_t base = mod, symtab, num, strtab, typetab = 0;
	struct vr_error *err;
	*ret_n = 0;
	if (l->has_kallsyms) {
		if ((err = vr_read_u64(k, mod + l->kallsyms, &base)))
			return vr_error_wrap(err, "reading module.kallsyms");
		if (!base)
			return vr_error_create(VR_ERR_NOT_FOUND, "no symbol table (module.kallsyms is NULL)");
	} else if (!l->has_direct_syms) {
		return vr_error_create(VR_ERR_NOT_FOUND, "the layout of module symbol tables is unknown");
	}
	uint32_t n32;
	if ((err = vr_read_u64(k, base + l->ks_symtab, &symtab)) || (err = vr_read_u32(k, base + l->ks_num, &n32)) ||
	    (err = vr_read_u64(k, base + l->ks_strtab, &strtab)) ||
	    (l->has_typetab && (err = vr_read_u64(k, base + l->ks_typetab, &typetab))))
		return vr_error_wrap(err, "reading the symbol table header at 0x%llx", (unsigned long long)base);
	num = n32;
	if (num > VR_MAX_MOD_SYMS)
		return vr_error_create(VR_ERR_LIMIT, "%llu symbols (limit %u)", (unsigned long long)num,
				       VR_MAX_MOD_SYMS);
	if (!num)
		return NULL;
	uint8_t *raw = malloc((size_t)num * ELF64_SYM_SIZE);
	char *types = typetab ? malloc((size_t)num) : NULL;
	struct vr_symbol *syms = calloc((size_t)num, sizeof(*syms));
	char **names = calloc((size_t)num, sizeof(*names));
	size_t n = 0;
	if (!raw || (typetab && !types) || !syms || !names) {
		err = &vr_error_oom;
		goto out;
	}
	if ((err = vr_kernel_read(k, symtab, raw, (size_t)num * ELF64_SYM_SIZE))) {
		err = vr_error_wrap(err, "reading %llu symbols at 0x%llx", (unsigned long long)num,
				    (unsigned long long)symtab);
		goto out;
	}
	if (types && vr_kernel_absorb(k, vr_kernel_read(k, typetab, types, (size_t)num), VR_ERRS_READ)) {
		free(types);
		types = NULL;
	}
	size_t unreadable = 0;
	for (uint64_t i = 0; i < num; i++) {
		const uint8_t *s = raw + i * ELF64_SYM_SIZE;
		uint32_t st_name = vr_le32(s);
		uint8_t st_info = s[4];
		uint64_t value = vr_le64(s + 8), size = vr_le64(s + 16);
		if (!st_name || !value)
			continue;
		char buf[VR_KSYM_NAME_LEN];
		if (vr_kernel_absorb(k, vr_read_string(k, strtab + st_name, buf, sizeof(buf)), VR_ERRS_READ)) {
			unreadable++;
			continue;
		}
		if (!buf[0])
			continue;
		if (!(names[n] = vr_strdup(buf))) {
			err = &vr_error_oom;
			goto out;
		}
		/* The nm letter: typetab[] since 5.2 (commit 1c7651f43777
		 * "kallsyms: store type information in its own array");
		 * before, the kernel overwrote st_info with it (st_size in
		 * 5.0 and 5.1, whose sizes are then meaningless). */
		char type = '?';
		if (types) {
			type = types[i];
		} else if ((st_info | 0x20) >= 'a' && (st_info | 0x20) <= 'z') {
			type = (char)st_info;
		} else if (size < 128 && (size | 0x20) >= 'a' && (size | 0x20) <= 'z') {
			type = (char)size;
			size = 0;
		}
		syms[n] = (struct vr_symbol){.name = names[n], .address = value, .size = size,
					     .module = name, .type = type};
		n++;
	}
	err = vr_symbols_add_module(k, name, syms, n);
	if (!err && unreadable)
		err = vr_error_create(VR_ERR_NOT_PRESENT, "%zu of %llu symbol names unreadable", unreadable,
				      (unsigned long long)num);
	*ret_n = n;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(syms);
	free(types);
	free(raw);
	return err;
}

static void module_regions(struct vr_kernel *k, const struct mod_layout *l, uint64_t mod, struct vr_module *m)
{
	if (l->has_mem) {
		/* enum mod_mem_type: MOD_TEXT, MOD_DATA, MOD_RODATA,
		 * MOD_RO_AFTER_INIT are the core (non-init) regions. */
		for (int t = 0; t < 4; t++) {
			uint64_t at = mod + l->mem + (uint64_t)t * l->mem_size, b = 0, sz = 0;
			if (vr_kernel_absorb(k, vr_read_u64(k, at + l->mem_base, &b), VR_ERRS_READ) ||
			    vr_kernel_absorb(k, rd_uint(k, at + l->mem_sz, l->m_mem_sz.size ? l->m_mem_sz.size : 4, &sz), VR_ERRS_READ))
				continue;
			if (t == 0) {
				m->base = m->text_base = b;
				m->text_size = sz;
			}
			m->regions[t].base = b;
			m->regions[t].size = sz;
			m->size += sz;
		}
	} else if (l->has_core_layout || l->has_module_core) {
		uint64_t b;
		uint32_t sz, ts;
		if (!vr_kernel_absorb(k, vr_read_u64(k, mod + l->cl_base, &b), VR_ERRS_READ))
			m->base = m->text_base = b;
		if (!vr_kernel_absorb(k, vr_read_u32(k, mod + l->cl_size, &sz), VR_ERRS_READ))
			m->size = sz;
		if (l->cl_text_size != UINT64_MAX && !vr_kernel_absorb(k, vr_read_u32(k, mod + l->cl_text_size, &ts), VR_ERRS_READ))
			m->text_size = ts;
		else
			m->text_size = m->size;
		m->regions[0].base = m->base;
		m->regions[0].size = m->size;
	}
}

/* Reads the module at mod (its name already read) into a new entry of
 * f->modules, its symbols into the symbol tables. A problem with its
 * symbols is counted in *problems, the first kept in *first. */
static struct vr_error *read_module(struct vr_kernel *k, const struct mod_layout *l, struct vr_facts *f,
				    size_t *cap, uint64_t mod, const char *name, bool unlisted,
				    size_t *problems, struct vr_error **first)
{
	struct vr_error *err;
	if ((err = vr_grow(&f->modules, cap, f->n_modules + 1, sizeof(*f->modules), VR_MAX_MODULES)))
		return err;
	struct vr_module *m = &f->modules[f->n_modules++];
	*m = (struct vr_module){.addr = mod, .sig_ok = -1, .unlisted = unlisted};
	if (!(m->name = vr_strdup(name)))
		return &vr_error_oom;
	uint64_t st = 0;
	if (!vr_kernel_absorb(k, rd_uint(k, mod + l->state, l->m_state.size ? l->m_state.size : 4, &st), VR_ERRS_READ))
		m->state = vr_strdup(state_name(l, (int64_t)(int32_t)st));
	uint64_t taints = 0;
	if (l->has_taints && !vr_kernel_absorb(k, rd_uint(k, mod + l->taints, l->m_taints.size, &taints), VR_ERRS_READ)) {
		m->taints = vr_taint_module_letters(taints);
		m->out_of_tree = taints >> VR_TAINT_OOT_MODULE & 1;
	}
	if (l->has_version)
		m->version = read_str_ptr(k, mod + l->version);
	if (l->has_srcversion)
		m->srcversion = read_str_ptr(k, mod + l->srcversion);
	uint8_t sig;
	if (l->has_sig_ok && !vr_kernel_absorb(k, vr_kernel_read(k, mod + l->sig_ok, &sig, 1), VR_ERRS_READ))
		m->sig_ok = sig ? 1 : 0;
	module_regions(k, l, mod, m);

	size_t nsyms;
	if ((err = read_symbols(k, l, mod, name, &nsyms))) {
		if (err == &vr_error_oom)
			return err;
		(*problems)++;
		vr_diag_warn(k->diag, "module %s: symbols: %s", name, err->message);
		if (!*first && err->code != VR_ERR_NOT_FOUND)
			*first = vr_error_wrap(err, "module %s: symbols", name);
		else
			vr_error_destroy(err);
	}
	return NULL;
}

#define MOD_TREE_MAX_NODES (8u * VR_MAX_MODULES)
#define MOD_TREE_MAX_DEPTH 96 /* a red-black tree of n nodes is at most 2 log2(n + 1) deep */

/* The modules the kernel's address tree (mod_tree, CONFIG_MODULES_TREE_LOOKUP:
 * kernel/module/tree_lookup.c, one node per memory region of a module)
 * holds that the list walk did not meet: a module that took itself off
 * the list is still found by address there, which is how the kernel
 * itself still names its functions in a backtrace. */
static struct vr_error *unlisted_modules(struct vr_kernel *k, const struct mod_layout *l, struct vr_facts *f,
					 size_t *cap, size_t *problems, struct vr_error **first)
{
	uint64_t tree, root_off, left, right, mtn_node, mtn_mod, ltn_node;
	if (!vr_sym(k, "mod_tree", &tree))
		return NULL; /* no CONFIG_MODULES_TREE_LOOKUP: the list is all there is */
	if (!vr_member_off(k, "mod_tree_root", "root.tree", &root_off) ||
	    !vr_member_off(k, "rb_node", "rb_left", &left) || !vr_member_off(k, "rb_node", "rb_right", &right) ||
	    !vr_member_off(k, "mod_tree_node", "node", &mtn_node) ||
	    !vr_member_off(k, "mod_tree_node", "mod", &mtn_mod) ||
	    !vr_member_off(k, "latch_tree_node", "node", &ltn_node))
		return vr_error_create(VR_ERR_NOT_FOUND, "the layout of the module address tree (mod_tree) is unknown");
	size_t listed = f->n_modules;
	/* tree[0] of the latch tree: both copies hold every node. */
	struct { uint64_t node; unsigned depth; } stack[MOD_TREE_MAX_DEPTH + 1];
	size_t sp = 0, visited = 0;
	uint64_t node;
	struct vr_error *err = vr_read_u64(k, tree + root_off, &node);
	if (err)
		return vr_error_wrap(err, "reading the module address tree at 0x%llx", (unsigned long long)tree);
	if (node)
		stack[sp++] = (typeof(stack[0])){node, 0};
	while (sp) {
		uint64_t n = stack[--sp].node;
		unsigned depth = stack[sp].depth;
		if (++visited > MOD_TREE_MAX_NODES || depth >= MOD_TREE_MAX_DEPTH)
			return vr_error_create(VR_ERR_FORMAT, "the module address tree is deeper or larger than a "
					       "red-black tree of %u modules can be", VR_MAX_MODULES);
		uint64_t mod, kids[2];
		uint64_t mtn = n - ltn_node - mtn_node;
		if ((err = vr_read_u64(k, mtn + mtn_mod, &mod)) || (err = vr_read_u64(k, n + left, &kids[0])) ||
		    (err = vr_read_u64(k, n + right, &kids[1])))
			return vr_error_wrap(err, "reading the module address tree node at 0x%llx",
					     (unsigned long long)n);
		for (int c = 0; c < 2; c++)
			if (kids[c])
				stack[sp++] = (typeof(stack[0])){kids[c], depth + 1};
		bool known = false;
		for (size_t i = 0; i < f->n_modules && !known; i++)
			known = f->modules[i].addr == mod;
		if (known || !mod)
			continue;
		char name[VR_MODULE_NAME_LEN + 1];
		if ((err = vr_read_string(k, mod + l->name, name, sizeof(name)))) {
			(*problems)++;
			if (!*first)
				*first = vr_error_wrap(err, "reading the module at 0x%llx of the address tree",
						       (unsigned long long)mod);
			else
				vr_error_destroy(err);
			continue;
		}
		if ((err = read_module(k, l, f, cap, mod, name, true, problems, first)))
			return err;
	}
	if (f->n_modules > listed)
		vr_diag_warn(k->diag, "modules: %zu module%s in the kernel's module address tree %s not on "
			     "the module list", f->n_modules - listed, f->n_modules - listed == 1 ? "" : "s",
			     f->n_modules - listed == 1 ? "is" : "are");
	return NULL;
}

struct vr_error *vr_collect_modules(struct vr_kernel *k, struct vr_facts *f)
{
	uint64_t head;
	struct mod_layout l;
	if (!vr_sym(k, "modules", &head))
		return vr_error_create(VR_ERR_NOT_FOUND, "the symbol `modules` is unknown");
	if (!resolve(k, &l))
		return vr_error_create(VR_ERR_NOT_FOUND, "the layout of struct module is unknown (no BTF or DWARF)");

	size_t cap = 0, problems = 0;
	struct vr_error *first = NULL, *err;
	uint64_t next, prev = head;
	if ((err = vr_read_u64(k, head, &next)))
		return vr_error_wrap(err, "reading the module list head at 0x%llx", (unsigned long long)head);
	for (size_t step = 0; next != head; step++) {
		if (step >= VR_MAX_MODULES) {
			first = first ? first : vr_error_create(VR_ERR_LIMIT, "more than %u modules", VR_MAX_MODULES);
			break;
		}
		/* Every module was reached through the list once: meeting an
		 * earlier one again is a cycle that misses the head. */
		bool cycle = false;
		for (size_t i = 0; i < f->n_modules && !cycle; i++)
			cycle = f->modules[i].addr + l.list == next;
		if (cycle) {
			first = first ? first : vr_error_create(VR_ERR_FORMAT, "the module list loops at 0x%llx",
								(unsigned long long)next);
			break;
		}
		uint64_t mod = next - l.list;
		char name[VR_MODULE_NAME_LEN + 1];
		if ((err = vr_read_u64(k, next, &next)) ||
		    (err = vr_read_string(k, mod + l.name, name, sizeof(name)))) {
			first = first ? (vr_error_destroy(err), first)
				      : vr_error_wrap(err, "reading the module after 0x%llx", (unsigned long long)prev);
			problems++;
			break; /* the rest of the list is out of reach */
		}
		prev = mod;
		if ((err = read_module(k, &l, f, &cap, mod, name, false, &problems, &first))) {
			vr_error_destroy(first);
			return err;
		}
	}
	if ((err = unlisted_modules(k, &l, f, &cap, &problems, &first))) {
		if (err == &vr_error_oom) {
			vr_error_destroy(first);
			return err;
		}
		problems++;
		if (!first)
			first = err;
		else
			vr_error_destroy(err);
	}
	if (first) {
		if (first == &vr_error_oom)
			return first;
		vr_diag_warn(k->diag, "modules: %s (%zu modules read)", first->message, f->n_modules);
		struct vr_error *p = vr_error_create(VR_ERR_NOT_PRESENT, "%zu modules read, %zu problems: %s",
						     f->n_modules, problems, first->message);
		vr_error_destroy(first);
		return p;
	}
	return NULL;
}
