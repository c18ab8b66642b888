/* Source lines and inline chains from DWARF (libdw), for the kernel image
 * and for modules whose debug files can be found.
 *
 * Nothing is indexed up front: a lookup finds its compile unit through
 * .debug_aranges and reads that unit alone (dwarf_units.c): its line table
 * for the address, and its scopes. A 6.1 vmlinux carries ~160 MB of
 * .debug_info, so a whole-tree pass would cost seconds and hundreds of MB;
 * libdw's own address lookup (dwarf_addrdie) reads every unit's header.
 * With vr_open_options.whole_dwarf (tests), and for a vmlinux that cannot
 * be read a unit at a time, libdw's whole-file calls answer instead; the
 * answers are the same.
 *
 * Frame convention (the pairs addr2line -f -i prints): every function in
 * the chain comes with the location inside it. f->inlined[0] is the
 * innermost inlined function with the line-table location of the address;
 * each next entry is its caller with the call site (DW_AT_call_file/line);
 * f->file and f->line are the location inside the out-of-line function
 * (f->symbol), i.e. the call site of the outermost inlined function, or the
 * line-table location when nothing is inlined there.
 *
 * Modules: a module's debug file (NAME.ko, NAME.ko.debug; '-' and '_' are
 * the same in module names) is looked for under each --modules directory
 * and /usr/lib/debug/lib/modules/RELEASE. It is reported to libdwfl as a
 * module at its runtime text address, and libdwfl applies the .ko's
 * relocations to its DWARF with the section addresses we give it;
 * its executable sections are placed where the kernel's module loader puts
 * them (kernel/module/main.c layout_sections(): SHF_EXECINSTR sections,
 * except .init*, in ELF order, each aligned, from the start of the module's
 * text). Other sections are not placed, so only addresses in the module's
 * core text resolve. Modules are matched by name, and by srcversion
 * when both the file and the loaded module carry one. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debuginfo.h"
#include "dwarf.h"
#include "dwarf_lines.h"
#include "dwarf_scan.h"
#include "dwarf_units.h"
#include "internal.h"

#define DWARF_MAX_SCOPES 64   /* inline nesting depth we report */
#define DWARF_MAX_MODULES 4096
#define DWARF_MAX_DIR_ENTRIES 200000
#define DWARF_MAX_DIR_DEPTH 12

struct dwarf_module {
	char *name;   /* normalized: '-' -> '_' */
	char *path;   /* debug file, NULL when none was found */
	Dwfl *dwfl;
	Dwfl_Module *mod;
	uint64_t text_base;
	bool tried;
	char *reason; /* why mod is NULL */
	/* Section placement computed from the .ko's headers. */
	struct {
		char *name;
		uint64_t addr;
	} *secs;
	size_t n_secs;
};

struct ko_file {
	char *name; /* normalized module name */
	char *path;
};

struct vr_dwarf {
	Dwarf *dbg;          /* vmlinux */
	bool tried;
	char *reason;        /* why dbg is NULL */
	struct vr_dwarf_units *units; /* the vmlinux a unit at a time, NULL: whole-file */
	struct dwarf_module **mods; /* each allocated alone: libdwfl keeps pointers */
	size_t n_mods, cap_mods;
	struct ko_file *kos; /* debug files found under the module dirs */
	size_t n_kos, cap_kos;
	size_t dir_budget;   /* directory entries the walks may still read */
	bool user_listed;    /* the --modules directories (at open) */
	bool kos_listed;     /* and the system's debug directory (lazily) */
	struct vr_error *kos_short; /* why the list of debug files stopped short */
	struct src_cached *cache; /* vmlinux lookups by address */
	size_t n_cache, cap_cache, evict;
};

static void cache_free(struct vr_dwarf *d);

struct vr_error *vr_dwarf_error(const char *what)
{
	return vr_error_create(VR_ERR_FORMAT, "%s: %s", what, dwarf_errmsg(-1));
}

void vr_dwarf_destroy(struct vr_dwarf *d)
{
	if (!d)
		return;
	vr_dwarf_units_destroy(d->units);
	vr_error_destroy(d->kos_short);
	if (d->dbg)
		dwarf_end(d->dbg);
	for (size_t i = 0; i < d->n_mods; i++) {
		struct dwarf_module *m = d->mods[i];
		if (m->dwfl)
			dwfl_end(m->dwfl);
		for (size_t j = 0; j < m->n_secs; j++)
			free(m->secs[j].name);
		free(m->secs);
		free(m->name);
		free(m->path);
		free(m->reason);
		free(m);
	}
	for (size_t i = 0; i < d->n_kos; i++) {
		free(d->kos[i].name);
		free(d->kos[i].path);
	}
	cache_free(d);
	free(d->kos);
	free(d->mods);
	free(d->reason);
	free(d);
}

static struct vr_error *dwarf_state(struct vr_kernel *k, struct vr_dwarf **ret)
{
	if (!k->dwarf) {
		k->dwarf = calloc(1, sizeof(*k->dwarf));
		if (!k->dwarf)
			return &vr_error_oom;
	}
	*ret = k->dwarf;
	return NULL;
}

struct vr_error *vr_dwarf_vmlinux(struct vr_kernel *k, Dwarf **ret)
{
	struct vr_dwarf *d;
	struct vr_error *err = dwarf_state(k, &d);
	if (err)
		return err;
	if (!d->tried) {
		d->tried = true;
		if (!k->vmlinux_elf) {
			d->reason = vr_strdup("no vmlinux in use");
		} else {
			/* libdw decompresses SHF_COMPRESSED (and .zdebug)
			 * sections itself. */
			d->dbg = dwarf_begin_elf(k->vmlinux_elf, DWARF_C_READ, NULL);
			if (!d->dbg)
				d->reason = vr_asprintf("%s: no DWARF: %s", k->vmlinux_path,
							dwarf_errmsg(-1));
			/* One that cannot be read a unit at a time is read
			 * whole. */
			if (d->dbg && !k->whole_dwarf && k->vmlinux_fd >= 0) {
				err = vr_dwarf_units_create(k->vmlinux_elf, k->vmlinux_fd, &d->units);
				if (err && !vr_error_catch(&err, VR_ERR_FORMAT, VR_ERR_UNSUPPORTED, VR_ERR_IO))
					return err; /* out of memory: no answer this time */
			}
		}
	}
	if (!d->dbg)
		return vr_error_create(VR_ERR_NOT_FOUND, "%s",
				       d->reason ? d->reason : "no DWARF");
	*ret = d->dbg;
	return NULL;
}

/* ---- file names ---- */

/* Path relative to the build directory: "kernel/sched/core.c" rather than
 * "/build/linux-x/debian/build/build_amd64_none_cloud-amd64/kernel/sched/core.c". */
static char *trim_path(const char *path, const char *comp_dir)
{
	if (!path)
		return NULL;
	if (comp_dir && *comp_dir) {
		size_t n = strlen(comp_dir);
		while (n > 1 && comp_dir[n - 1] == '/')
			n--;
		if (strncmp(path, comp_dir, n) == 0 && path[n] == '/')
			path += n + 1;
	}
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	if (path[0] == '/') {
		/* Assembly units often name their source by the absolute
		 * path of the source tree ("/build/reproducible-path/
		 * linux-6.1.192/arch/x86/kernel/head_64.S"): keep the part
		 * from the kernel's top-level directory on. */
		static const char *const top[] = {
			"/arch/", "/block/", "/certs/", "/crypto/", "/drivers/", "/fs/",
			"/include/", "/init/", "/io_uring/", "/ipc/", "/kernel/", "/lib/",
			"/mm/", "/net/", "/security/", "/sound/", "/virt/",
		};
		const char *best = NULL;
		for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
			const char *p = strstr(path, top[i]);
			if (p && (!best || p < best))
				best = p;
		}
		if (best)
			path = best + 1;
	}
	return vr_strdup(path);
}

static const char *cu_comp_dir(Dwarf_Die *cu)
{
	Dwarf_Attribute a;
	return dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &a));
}

/* File name of DW_AT_call_file of an inlined_subroutine (*ret NULL when it
 * names none); unit, when not NULL, is cu read alone. Fails only when out
 * of memory. */
static struct vr_error *call_file(struct vr_dwarf_unit *unit, Dwarf_Die *cu, Dwarf_Die *inl, char **ret)
{
	Dwarf_Attribute a;
	Dwarf_Word idx;
	Dwarf_Files *files;
	size_t n;
	*ret = NULL;
	if (!dwarf_attr(inl, DW_AT_call_file, &a) || dwarf_formudata(&a, &idx) != 0)
		return NULL;
	const char *src;
	char *raw = NULL;
	if (unit) {
		struct vr_error *err = vr_dwarf_unit_file(unit, idx, &raw);
		if (err)
			return err;
		src = raw;
	} else {
		src = dwarf_getsrcfiles(cu, &files, &n) == 0 && idx < n ? dwarf_filesrc(files, idx, NULL, NULL)
									: NULL;
	}
	if (!src)
		return NULL;
	*ret = trim_path(src, cu_comp_dir(cu));
	free(raw);
	return *ret ? NULL : &vr_error_oom;
}

static int call_line(Dwarf_Die *inl)
{
	Dwarf_Attribute a;
	Dwarf_Word line;
	if (!dwarf_attr(inl, DW_AT_call_line, &a) || dwarf_formudata(&a, &line) != 0 ||
	    line > INT32_MAX)
		return 0;
	return (int)line;
}

/* ---- lookup in one compile unit ---- */

struct chain_entry {
	const char *name; /* owned by libdw */
	char *file;
	int line;
};

static void set_str(char **dst, char *src)
{
	free(*dst);
	*dst = src;
}

/* What a lookup found, applied to a frame by src_apply(). chain false:
 * only the line table's file:line (no function scope covers the address);
 * chain true: file:line in the out-of-line function and the inline chain
 * (which replaces the frame's). Kept per address in a cache, as the same
 * return addresses come up in several traces. */
struct src_result {
	char *file;
	int line;
	bool chain;
	struct vr_inline *inl;
	size_t ni;
};

static void src_result_free(struct src_result *r)
{
	for (size_t i = 0; i < r->ni; i++) {
		free(r->inl[i].symbol);
		free(r->inl[i].file);
	}
	free(r->inl);
	free(r->file);
	*r = (struct src_result){ 0 };
}

static struct vr_error *src_apply(const struct src_result *r, struct vr_frame *f)
{
	char *file = NULL;
	if (r->file && !(file = vr_strdup(r->file)))
		return &vr_error_oom;
	struct vr_inline *inl = NULL;
	if (r->chain && r->ni) {
		inl = calloc(r->ni, sizeof(*inl));
		bool oom = !inl;
		for (size_t i = 0; !oom && i < r->ni; i++) {
			inl[i].line = r->inl[i].line;
			inl[i].symbol = vr_strdup(r->inl[i].symbol);
			if (r->inl[i].file)
				inl[i].file = vr_strdup(r->inl[i].file);
			oom = !inl[i].symbol || (r->inl[i].file && !inl[i].file);
		}
		if (oom) {
			for (size_t i = 0; inl && i < r->ni; i++) {
				free(inl[i].symbol);
				free(inl[i].file);
			}
			free(inl);
			free(file);
			return &vr_error_oom;
		}
	}
	if (file)
		set_str(&f->file, file);
	if (r->line)
		f->line = r->line;
	if (!r->chain)
		return NULL;
	/* Replace any previous chain. */
	for (size_t i = 0; i < f->n_inlined; i++) {
		free(f->inlined[i].symbol);
		free(f->inlined[i].file);
	}
	free(f->inlined);
	f->inlined = inl;
	f->n_inlined = r->ni;
	return NULL;
}

/* The DIEs libdw's scope walk descends into (libdw/libdw_visit_scopes.c
 * may_have_scopes): the result must be the one dwarf_getscopes() gives. */
static bool may_have_scopes(int tag)
{
	switch (tag) {
	case DW_TAG_compile_unit:
	case DW_TAG_module:
	case DW_TAG_lexical_block:
	case DW_TAG_with_stmt:
	case DW_TAG_catch_block:
	case DW_TAG_try_block:
	case DW_TAG_entry_point:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_subprogram:
	case DW_TAG_namespace:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
		return true;
	default:
		return false;
	}
}

#define DWARF_MAX_DEPTH 256  /* DIE nesting followed; deeper is corrupt */
#define DWARF_MAX_IMPORTS 16 /* nested DW_TAG_imported_unit */

struct scope_walk {
	Dwarf_Addr pc;
	Dwarf_Die path[DWARF_MAX_DEPTH]; /* outermost first */
	int n;
	const void *imports[DWARF_MAX_IMPORTS];
	int n_imports;
};

/* The path from the unit to the innermost DIE containing pc, found in one
 * descent: at each level the first child whose ranges hold pc, as the
 * first (innermost) match of dwarf_getscopes()'s depth-first walk is.
 * dwarf_getscopes() and dwarf_getscopes_die() each walk the whole unit
 * again (for the abstract origin, and for every caller of an inlined
 * instance); the physical path already holds every caller. Imported units
 * are walked in place, as libdw does. 1 found, 0 not, -1 bad DWARF. */
static int walk_siblings(struct scope_walk *w, Dwarf_Die die, int depth);

/* die holds pc: it goes on the path at depth, and the walk goes on among
 * its children. */
static int walk_into(struct scope_walk *w, Dwarf_Die die, int tag, int depth)
{
	if (depth >= DWARF_MAX_DEPTH)
		return -1;
	w->path[depth] = die;
	w->n = depth + 1;
	Dwarf_Die child;
	if (may_have_scopes(tag) && dwarf_haschildren(&die) && dwarf_child(&die, &child) == 0)
		return walk_siblings(w, child, depth + 1) < 0 ? -1 : 1;
	return 1;
}

static int walk_siblings(struct scope_walk *w, Dwarf_Die die, int depth)
{
	do {
		int tag = dwarf_tag(&die);
		if (tag == DW_TAG_imported_unit) {
			Dwarf_Attribute a;
			Dwarf_Die unit, child;
			if (dwarf_formref_die(dwarf_attr(&die, DW_AT_import, &a), &unit) &&
			    dwarf_tag(&unit) != DW_TAG_compile_unit &&
			    dwarf_child(&unit, &child) == 0) {
				for (int i = 0; i < w->n_imports; i++)
					if (w->imports[i] == die.addr)
						return -1;
				if (w->n_imports >= DWARF_MAX_IMPORTS)
					return -1;
				w->imports[w->n_imports++] = die.addr;
				int r = walk_siblings(w, child, depth);
				w->n_imports--;
				if (r)
					return r;
			}
			continue;
		}
		if (dwarf_haspc(&die, w->pc) <= 0)
			continue;
		return walk_into(w, die, tag, depth);
	} while (dwarf_siblingof(&die, &die) == 0);
	return 0;
}

/* The walk from the unit's DIE cu: its children are found through the
 * unit's index when it has one. */
static int walk_unit(struct scope_walk *w, struct vr_dwarf_unit *unit, Dwarf_Die *cu)
{
	Dwarf_Die die;
	int r = unit ? vr_dwarf_unit_scope(unit, w->pc, &die) : -1;
	if (r == 0)
		return 0;
	if (r > 0)
		return walk_into(w, die, dwarf_tag(&die), 0);
	if (dwarf_child(cu, &die) != 0)
		return 0;
	return walk_siblings(w, die, 0);
}

/* dwarf_getscopes() gives nothing when the innermost inlined instance on
 * the path has no abstract origin in its unit; keep that answer. */
static bool origin_ok(Dwarf_Die *cu, Dwarf_Die *inl)
{
	Dwarf_Attribute a;
	Dwarf_Die origin, ocu;
	if (!dwarf_formref_die(dwarf_attr(inl, DW_AT_abstract_origin, &a), &origin))
		return false;
	if (!dwarf_diecu(&origin, &ocu, NULL, NULL))
		return false;
	return dwarf_dieoffset(&ocu) == dwarf_dieoffset(cu) ||
	       dwarf_tag(&ocu) == DW_TAG_partial_unit;
}

/* Looks pc (the address as the DWARF has it) up in the unit cu; unit,
 * when not NULL, is cu read alone (dwarf_units.c). */
static struct vr_error *source_in_cu(struct vr_dwarf_unit *unit, Dwarf_Die *cu, Dwarf_Addr pc,
				     struct src_result *res)
{
	char *file = NULL;
	int line = 0;
	if (unit) {
		char *raw = NULL;
		bool found;
		int l;
		struct vr_error *err = vr_dwarf_unit_line(unit, pc, &found, &raw, &l);
		if (err)
			return err;
		if (found) {
			file = trim_path(raw, cu_comp_dir(cu));
			if (l > 0)
				line = l;
		}
		bool lost = raw && !file;
		free(raw);
		if (lost)
			return &vr_error_oom;
	} else {
		Dwarf_Line *dl = dwarf_getsrc_die(cu, pc);
		if (dl) {
			int l;
			const char *src = dwarf_linesrc(dl, NULL, NULL);
			if (src && !(file = trim_path(src, cu_comp_dir(cu))))
				return &vr_error_oom;
			if (dwarf_lineno(dl, &l) == 0 && l > 0)
				line = l;
		}
	}

	/* The functions around pc, innermost first: each inlined instance's
	 * caller is the next function-like DIE out on the path (as
	 * eu-addr2line -i finds it with dwarf_getscopes_die()). */
	struct scope_walk *w = malloc(sizeof(*w));
	if (!w) {
		free(file);
		return &vr_error_oom;
	}
	w->pc = pc;
	w->n = 0;
	w->n_imports = 0;
	int fn = -1;
	if (walk_unit(w, unit, cu) > 0) {
		for (int i = w->n - 1; i >= 0; i--) {
			int tag = dwarf_tag(&w->path[i]);
			if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram) {
				fn = i;
				break;
			}
		}
		for (int i = w->n - 1; fn >= 0 && i >= 0; i--)
			if (dwarf_tag(&w->path[i]) == DW_TAG_inlined_subroutine) {
				if (!origin_ok(cu, &w->path[i]))
					fn = -1;
				break;
			}
	}

	struct chain_entry chain[DWARF_MAX_SCOPES];
	size_t nc = 0;
	/* Each function gets the location in it: the line table for the
	 * innermost, then the call site recorded on the inlined instance
	 * just inside it. */
	char *loc_file = file;
	int loc_line = line;
	file = NULL;
	struct vr_error *err = NULL;
	while (!err && fn >= 0 && nc < DWARF_MAX_SCOPES) {
		Dwarf_Die *d = &w->path[fn];
		int tag = dwarf_tag(d);
		chain[nc++] = (struct chain_entry){ dwarf_diename(d), loc_file, loc_line };
		loc_file = NULL;
		loc_line = 0;
		if (tag != DW_TAG_inlined_subroutine)
			break;
		err = call_file(unit, cu, d, &loc_file);
		loc_line = call_line(d);
		int outer = -1;
		for (int j = fn - 1; j >= 0; j--) {
			int t = dwarf_tag(&w->path[j]);
			if (t == DW_TAG_inlined_subroutine || t == DW_TAG_subprogram) {
				outer = j;
				break;
			}
		}
		fn = outer;
	}

	if (err) {
		for (size_t i = 0; i < nc; i++)
			free(chain[i].file);
		free(w);
		return err;
	}
	if (nc == 0) {
		/* No function scope (assembly): the line table is all. */
		free(w);
		*res = (struct src_result){ .file = loc_file, .line = loc_line };
		return NULL;
	}
	free(loc_file); /* a call site beyond the last scope kept */

	size_t ni = nc - 1;
	struct vr_inline *inl = ni ? calloc(ni, sizeof(*inl)) : NULL;
	if (ni && !inl)
		err = &vr_error_oom;
	for (size_t i = 0; !err && i < ni; i++) {
		inl[i].symbol = vr_strdup(chain[i].name ? chain[i].name : "??");
		inl[i].file = chain[i].file;
		inl[i].line = chain[i].line;
		chain[i].file = NULL;
		if (!inl[i].symbol)
			err = &vr_error_oom;
	}
	free(w); /* chain[].name points into libdw's data, not into w */
	if (err) {
		for (size_t i = 0; inl && i < ni; i++) {
			free(inl[i].symbol);
			free(inl[i].file);
		}
		free(inl);
		for (size_t i = 0; i < nc; i++)
			free(chain[i].file);
		return err;
	}
	*res = (struct src_result){ .file = chain[nc - 1].file, .line = chain[nc - 1].line,
				    .chain = true, .inl = inl, .ni = ni };
	return NULL;
}

#define DWARF_MAX_CACHE 4096 /* addresses whose lookups are kept */

struct src_cached {
	Dwarf_Addr pc;
	bool found; /* false: no unit covers pc */
	struct src_result r;
};

static void cache_free(struct vr_dwarf *d)
{
	for (size_t i = 0; i < d->n_cache; i++)
		src_result_free(&d->cache[i].r);
	free(d->cache);
}

/* The answers found so far for a vmlinux, kept with its debuginfo
 * (product VR_DEBUGINFO_DWARF) for every dump of the file: looked up and
 * added under the debuginfo's lock. An entry, once added, neither changes
 * nor goes before the debuginfo does, so it is read without the lock. */
#define DWARF_MAX_SHARED (1u << 16)

struct answers {
	struct src_cached **slots; /* open addressing by pc */
	size_t mask, n;
};

static void answers_free(void *p)
{
	struct answers *a = p;
	for (size_t i = 0; a->slots && i <= a->mask; i++)
		if (a->slots[i]) {
			src_result_free(&a->slots[i]->r);
			free(a->slots[i]);
		}
	free(a->slots);
	free(a);
}

static struct vr_error *answers_build(struct vr_debuginfo *di, void **ret)
{
	struct answers *a = calloc(1, sizeof(*a));
	if (!a)
		return &vr_error_oom;
	*ret = a;
	return NULL;
}

static size_t answer_slot(const struct answers *a, Dwarf_Addr pc)
{
	uint64_t h = pc * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(h >> 32) & a->mask;
	while (a->slots[i] && a->slots[i]->pc != pc)
		i = (i + 1) & a->mask;
	return i;
}

static const struct src_cached *answers_find(const struct answers *a, Dwarf_Addr pc)
{
	return a->slots ? a->slots[answer_slot(a, pc)] : NULL;
}

/* Adds c (taken: moved into an entry) unless pc has an answer already;
 * *ret the entry that holds pc's answer, NULL when it could not be kept. */
static void answers_add(struct answers *a, struct src_cached *c, const struct src_cached **ret)
{
	*ret = answers_find(a, c->pc);
	if (*ret || a->n >= DWARF_MAX_SHARED)
		return;
	if (!a->slots || 2 * (a->n + 1) > a->mask + 1) {
		size_t cap = a->slots ? 2 * (a->mask + 1) : 64;
		struct answers b = { calloc(cap, sizeof(*b.slots)), cap - 1, a->n };
		if (!b.slots)
			return;
		for (size_t i = 0; a->slots && i <= a->mask; i++)
			if (a->slots[i])
				b.slots[answer_slot(&b, a->slots[i]->pc)] = a->slots[i];
		free(a->slots);
		*a = b;
	}
	struct src_cached *e = malloc(sizeof(*e));
	if (!e)
		return;
	*e = *c;
	*c = (struct src_cached){ 0 };
	a->slots[answer_slot(a, e->pc)] = e;
	a->n++;
	*ret = e;
}

/* The answers shared through the debuginfo (NULL without one). */
static struct vr_error *shared_answers(struct vr_kernel *k, struct answers **ret)
{
	*ret = NULL;
	if (!k->debuginfo)
		return NULL;
	void *p;
	struct vr_error *err = vr_debuginfo_product(k->debuginfo, VR_DEBUGINFO_DWARF, answers_build, answers_free,
						   &p);
	if (!err)
		*ret = p;
	return err;
}

/* pc's answer if one is kept: true with *ret (NULL: no unit covers pc). */
static bool cached(struct vr_kernel *k, struct vr_dwarf *d, struct answers *shared, Dwarf_Addr pc,
		   struct src_result **ret)
{
	if (shared) {
		vr_debuginfo_lock(k->debuginfo);
		const struct src_cached *e = answers_find(shared, pc);
		vr_debuginfo_unlock(k->debuginfo);
		if (e) {
			*ret = e->found ? (struct src_result *)&e->r : NULL;
			return true;
		}
	}
	for (size_t i = 0; i < d->n_cache; i++)
		if (d->cache[i].pc == pc) {
			*ret = d->cache[i].found ? &d->cache[i].r : NULL;
			return true;
		}
	return false;
}

/* Keeps c (taken), the answer just found for c->pc. */
static struct vr_error *keep(struct vr_kernel *k, struct vr_dwarf *d, struct answers *shared,
			     struct src_cached *c, struct src_result **ret)
{
	if (shared) {
		const struct src_cached *e;
		vr_debuginfo_lock(k->debuginfo);
		answers_add(shared, c, &e);
		vr_debuginfo_unlock(k->debuginfo);
		if (e) {
			src_result_free(&c->r); /* ours, unless it went into the entry */
			*ret = e->found ? (struct src_result *)&e->r : NULL;
			return NULL;
		}
	}
	size_t slot;
	struct vr_error *err = NULL;
	if (d->n_cache < DWARF_MAX_CACHE &&
	    !(err = vr_grow(&d->cache, &d->cap_cache, d->n_cache + 1, sizeof(*d->cache), DWARF_MAX_CACHE))) {
		slot = d->n_cache++;
	} else if (d->n_cache) {
		/* A cache that cannot grow (out of memory) still holds the
		 * answer: it replaces an older one, which is asked again. */
		vr_error_destroy(err);
		/* Full: replace entries in turn. */
		slot = d->evict++ % d->n_cache;
		src_result_free(&d->cache[slot].r);
	} else {
		src_result_free(&c->r);
		return err ? err : &vr_error_oom;
	}
	d->cache[slot] = *c;
	*ret = c->found ? &d->cache[slot].r : NULL;
	return NULL;
}

/* The vmlinux's answer for pc, *ret NULL when no unit covers it: from the
 * answers shared through the debuginfo, else the kernel's own cache. */
static struct vr_error *vmlinux_lookup(struct vr_kernel *k, struct vr_dwarf *d, Dwarf *dbg, Dwarf_Addr pc,
				       struct src_result **ret)
{
	struct answers *shared;
	struct vr_error *err = shared_answers(k, &shared);
	if (err)
		return err;
	if (cached(k, d, shared, pc, ret))
		return NULL;
	struct src_cached c = { .pc = pc };
	if (d->units) {
		struct vr_dwarf_unit *unit;
		err = vr_dwarf_units_find(d->units, dbg, pc, &unit);
		if (!err && unit)
			err = source_in_cu(unit, vr_dwarf_unit_die(unit), pc, &c.r);
		if (err)
			return err;
		c.found = unit != NULL;
	} else {
		Dwarf_Die cu;
		if (dwarf_addrdie(dbg, pc, &cu)) {
			err = source_in_cu(NULL, &cu, pc, &c.r);
			if (err)
				return err;
			c.found = true;
		}
	}
	return keep(k, d, shared, &c, ret);
}

/* ---- ahead, on two CPUs ---- */

#define PREFETCH_MAX 512 /* addresses of one batch */

struct prefetch_item {
	Dwarf_Addr pc;
	struct vr_dwarf_unit *unit;
	int group;            /* 0 or 1: the CPU that reads its unit */
	struct vr_error *err;
	struct src_result r;
};

struct prefetch_group {
	struct prefetch_item *items;
	size_t n;
	int group;
};

static void *prefetch_work(void *arg)
{
	struct prefetch_group *g = arg;
	for (size_t i = 0; i < g->n; i++) {
		struct prefetch_item *it = &g->items[i];
		if (it->group == g->group && it->unit)
			it->err = source_in_cu(it->unit, vr_dwarf_unit_die(it->unit), it->pc, &it->r);
	}
	return NULL;
}

/* Answers computed ahead, on two CPUs: a cache fill. What it cannot do
 * (no DWARF, no memory for an item) is left for vr_dwarf_source() to do
 * when the answer is asked, and to fail there with its error: nothing is
 * lost here, so nothing is recorded. */
void vr_dwarf_prefetch(struct vr_kernel *k, const uint64_t *addrs, size_t n)
{
	Dwarf *dbg;
	struct answers *shared;
	if (n < 2 || n > PREFETCH_MAX)
		return;
	struct vr_error *err = vr_dwarf_vmlinux(k, &dbg);
	if (!err && k->dwarf->units)
		err = shared_answers(k, &shared);
	if (err || !k->dwarf->units) {
		vr_error_destroy(err);
		return;
	}
	struct vr_dwarf *d = k->dwarf;
	struct prefetch_item *items = calloc(n, sizeof(*items));
	if (!items)
		return;
	/* On this CPU: the units of the addresses without an answer yet, one
	 * item per address and unit. A unit reads alone or not at all here:
	 * the whole file's handle is for one CPU at a time. */
	size_t m = 0, units = 0;
	for (size_t i = 0; i < n; i++) {
		Dwarf_Addr pc = addrs[i] - k->layout.kaslr_offset;
		struct src_result *r;
		bool dup = false;
		for (size_t j = 0; j < m && !dup; j++)
			dup = items[j].pc == pc;
		if (dup || cached(k, d, shared, pc, &r))
			continue;
		struct vr_dwarf_unit *unit = NULL;
		err = vr_dwarf_units_find(d->units, dbg, pc, &unit);
		bool failed = err != NULL;
		vr_error_destroy(err); /* asked again, and answered, by vr_dwarf_source() */
		if (failed || !unit || !vr_dwarf_unit_alone(unit))
			continue;
		int group = -1;
		for (size_t j = 0; j < m && group < 0; j++)
			if (items[j].unit == unit)
				group = items[j].group;
		if (group < 0)
			group = (int)(units++ % 2);
		items[m++] = (struct prefetch_item){ .pc = pc, .unit = unit, .group = group };
	}
	/* Opening a unit may close the least used: every one found must be
	 * open still. */
	bool ok = units >= 2;
	for (size_t j = 0; ok && j < m; j++)
		ok = vr_dwarf_unit_open(items[j].unit);
	if (ok) {
		struct prefetch_group g1 = { items, m, 1 }, g0 = { items, m, 0 };
		pthread_t thread;
		bool threaded = pthread_create(&thread, NULL, prefetch_work, &g1) == 0;
		prefetch_work(&g0);
		if (threaded)
			pthread_join(thread, NULL);
		else
			prefetch_work(&g1);
	}
	for (size_t j = 0; j < m; j++) {
		struct prefetch_item *it = &items[j];
		struct src_result *r;
		if (ok && !it->err) {
			struct src_cached c = { .pc = it->pc, .found = true, .r = it->r };
			vr_error_destroy(keep(k, d, shared, &c, &r)); /* not kept: asked again */
		} else {
			src_result_free(&it->r);
		}
		vr_error_destroy(it->err);
	}
	free(items);
}

static struct vr_error *source_in_cu_frame(Dwarf_Die *cu, Dwarf_Addr pc, struct vr_frame *f)
{
	struct src_result r;
	struct vr_error *err = source_in_cu(NULL, cu, pc, &r);
	if (err)
		return err;
	err = src_apply(&r, f);
	src_result_free(&r);
	return err;
}

/* ---- modules ---- */

static char *normalize_module_name(const char *name, size_t len)
{
	char *s = vr_strndup(name, len);
	for (char *p = s; p && *p; p++)
		if (*p == '-')
			*p = '_';
	return s;
}

/* Records every NAME.ko / NAME.ko.debug under dir (bounded walk). Returns
 * 0, or the errno of opening dir itself. */
static int list_kos(struct vr_dwarf *d, const char *dir, int depth, size_t *budget)
{
	if (depth > DWARF_MAX_DIR_DEPTH)
		return 0;
	DIR *dh = opendir(dir);
	if (!dh)
		return errno ? errno : EIO;
	struct dirent *de;
	while ((de = readdir(dh)) && *budget > 0) {
		(*budget)--;
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *path = vr_asprintf("%s/%s", dir, de->d_name);
		if (!path) {
			vr_error_keep(&d->kos_short, &vr_error_oom);
			break;
		}
		struct stat st;
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			list_kos(d, path, depth + 1, budget);
			continue;
		}
		/* A symlink to a debug file counts (debug trees are often links
		 * into a build); links to directories are not followed, so a
		 * loop cannot make the walk endless. */
		if (S_ISLNK(st.st_mode) && stat(path, &st) != 0)
			continue;
		if (!S_ISREG(st.st_mode))
			continue;
		size_t len = strlen(de->d_name);
		size_t base;
		if (len > 9 && strcmp(de->d_name + len - 9, ".ko.debug") == 0)
			base = len - 9;
		else if (len > 3 && strcmp(de->d_name + len - 3, ".ko") == 0)
			base = len - 3;
		else
			continue;
		struct vr_error *err = vr_grow(&d->kos, &d->cap_kos, d->n_kos + 1, sizeof(*d->kos),
					       DWARF_MAX_MODULES * 4);
		if (err) {
			vr_error_keep(&d->kos_short, err); /* LIMIT: more files than modules */
			break;
		}
		char *name = normalize_module_name(de->d_name, base);
		char *p = vr_strdup(path);
		if (!name || !p) {
			free(name);
			free(p);
			vr_error_keep(&d->kos_short, &vr_error_oom);
			break;
		}
		d->kos[d->n_kos++] = (struct ko_file){ name, p };
	}
	closedir(dh);
	return 0;
}

/* The --modules directories are the user's choice: each is walked once,
 * first, and one that cannot be read or holds no debug file is a
 * warning, whether or not a module's debug info is needed later. */
static void list_user_dirs(struct vr_kernel *k, struct vr_dwarf *d)
{
	if (d->user_listed)
		return;
	d->user_listed = true;
	d->dir_budget = DWARF_MAX_DIR_ENTRIES;
	for (size_t i = 0; i < k->n_module_dirs; i++) {
		const char *dir = k->module_dirs[i];
		size_t before = d->n_kos;
		struct stat st;
		int e = stat(dir, &st) != 0 ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
		if (!e)
			e = list_kos(d, dir, 0, &d->dir_budget);
		if (e)
			vr_diag_warn(k->diag, "--modules %s: %s", dir, strerror(e));
		else if (d->n_kos == before)
			vr_diag_warn(k->diag, "--modules %s: no module debug file (NAME.ko or NAME.ko.debug) in it",
				     dir);
	}
	if (d->dir_budget == 0)
		vr_diag_warn(k->diag, "--modules: the search stopped after %u directory entries",
			     DWARF_MAX_DIR_ENTRIES);
	if (d->kos_short && !vr_error_is_fatal(d->kos_short))
		vr_diag_warn(k->diag, "--modules: the search stopped short: %s", d->kos_short->message);
}

struct vr_error *vr_dwarf_list_module_dirs(struct vr_kernel *k)
{
	struct vr_dwarf *d;
	struct vr_error *err = dwarf_state(k, &d);
	if (err)
		return err;
	list_user_dirs(k, d);
	return vr_error_is_fatal(d->kos_short) ? &vr_error_oom : NULL;
}

static const char *find_ko(struct vr_kernel *k, struct vr_dwarf *d, const char *name)
{
	if (!d->kos_listed) {
		d->kos_listed = true;
		list_user_dirs(k, d);
		const char *rel = k->vmcoreinfo ? vr_vmcoreinfo_get(k->vmcoreinfo, "OSRELEASE") : NULL;
		if (rel && *rel && !strchr(rel, '/')) {
			_cleanup_free_ char *dir = vr_asprintf("/usr/lib/debug/lib/modules/%s", rel);
			/* the system's debug directory may well be absent */
			if (dir)
				list_kos(d, dir, 0, &d->dir_budget);
			else
				vr_error_keep(&d->kos_short, &vr_error_oom);
		}
		/* the step that asked for a module's debug file ends short */
		if (vr_error_is_fatal(d->kos_short))
			vr_error_keep(&k->fatal, &vr_error_oom);
	}
	for (size_t i = 0; i < d->n_kos; i++)
		if (strcmp(d->kos[i].name, name) == 0)
			return d->kos[i].path;
	return NULL;
}

static int module_section_address(Dwfl_Module *mod, void **userdata, const char *modname,
				  Dwarf_Addr base, const char *secname, GElf_Word shndx,
				  const GElf_Shdr *shdr, Dwarf_Addr *addr)
{
	struct dwarf_module *m = *userdata;
	*addr = (Dwarf_Addr)-1;
	if (!m)
		return 0;
	for (size_t i = 0; i < m->n_secs; i++)
		if (strcmp(m->secs[i].name, secname) == 0) {
			*addr = m->secs[i].addr;
			break;
		}
	return 0;
}

static int module_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
				 Dwarf_Addr base, const char *file_name, const char *debuglink,
				 GElf_Word crc, char **ret)
{
	return -1; /* the file given is the debug file */
}

static int module_find_elf(Dwfl_Module *mod, void **userdata, const char *modname,
			   Dwarf_Addr base, char **file_name, Elf **elfp)
{
	struct dwarf_module *m = *userdata;
	if (!m || !m->path)
		return -1;
	*file_name = vr_strdup(m->path);
	*elfp = NULL;
	return open(m->path, O_RDONLY | O_CLOEXEC);
}

/* Reported with dwfl_report_module() rather than dwfl_report_offline():
 * only then does libdwfl ask section_address where each section was
 * loaded (an offline report lays the sections out on its own). */
static const Dwfl_Callbacks module_callbacks = {
	.find_elf = module_find_elf,
	.find_debuginfo = module_find_debuginfo,
	.section_address = module_section_address,
};

/* The KEY= entry of a .ko's .modinfo (NUL-separated key=value strings,
 * include/linux/moduleparam.h __MODULE_INFO), or NULL. */
static char *modinfo_get(Elf *elf, size_t shstrndx, const char *key)
{
	size_t kl = strlen(key);
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".modinfo") != 0)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			return NULL;
		const char *p = d->d_buf, *end = p + d->d_size;
		while (p < end) {
			size_t n = strnlen(p, (size_t)(end - p));
			if (n > kl && strncmp(p, key, kl) == 0)
				return vr_strndup(p + kl, n - kl);
			p += n + 1;
		}
		return NULL;
	}
	return NULL;
}

/* Places the .ko's core executable sections as layout_sections() does,
 * after checking that the file is the loaded module's build: its
 * srcversion (a hash of the module's sources, kept in .modinfo and
 * struct module) must be the loaded module's when both are known. The
 * loaded module's build ID is not at hand, so this is the check there is. */
static struct vr_error *module_layout(struct dwarf_module *m, const struct vr_module *vm,
				      const char *release)
{
	int fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vr_error_create(VR_ERR_IO, "opening %s: %m", m->path);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	struct vr_error *err = NULL;
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) < 0) {
		err = vr_error_create(VR_ERR_FORMAT, "reading %s: %s", m->path, elf_errmsg(-1));
		goto out;
	}
	/* The same sources built for another kernel have the same srcversion:
	 * the vermagic (include/linux/vermagic.h: the release first) tells. */
	if (release) {
		_cleanup_free_ char *vm_magic = modinfo_get(elf, shstrndx, "vermagic=");
		size_t rl = strlen(release);
		if (vm_magic && (strncmp(vm_magic, release, rl) != 0 || (vm_magic[rl] != ' ' && vm_magic[rl]))) {
			err = vr_error_create(VR_ERR_NOT_FOUND,
					      "%s was built for another kernel (vermagic %s, the dump's release %s)",
					      m->path, vm_magic, release);
			goto out;
		}
	}
	if (vm->srcversion && *vm->srcversion) {
		_cleanup_free_ char *sv = modinfo_get(elf, shstrndx, "srcversion=");
		if (sv && strcmp(sv, vm->srcversion) != 0) {
			err = vr_error_create(VR_ERR_NOT_FOUND,
					      "%s is another build of module %s: srcversion %s, the loaded module's %s",
					      m->path, vm->name, sv, vm->srcversion);
			goto out;
		}
	}
	uint64_t off = 0;
	Elf_Scn *scn = NULL;
	size_t cap = 0;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		if ((sh.sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) != (SHF_ALLOC | SHF_EXECINSTR))
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strncmp(name, ".init", 5) == 0)
			continue;
		uint64_t align = sh.sh_addralign ? sh.sh_addralign : 1;
		if (align & (align - 1) || align > (1u << 20) || sh.sh_size > (1ull << 32)) {
			err = vr_error_create(VR_ERR_FORMAT, "%s: section %s has a bad size or alignment",
					      m->path, name);
			goto out;
		}
		off = (off + align - 1) & ~(align - 1);
		if ((err = vr_grow(&m->secs, &cap, m->n_secs + 1, sizeof(*m->secs), 1024)))
			goto out;
		char *n = vr_strdup(name);
		if (!n) {
			err = &vr_error_oom;
			goto out;
		}
		m->secs[m->n_secs].name = n;
		m->secs[m->n_secs].addr = m->text_base + off;
		m->n_secs++;
		off += sh.sh_size;
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}

static struct vr_error *module_open_new(struct vr_kernel *k, struct vr_dwarf *d,
					const struct vr_module *vm, struct dwarf_module **ret);

/* The module's debug state, opened once; a failure is remembered with its
 * reason. */
static struct vr_error *module_open(struct vr_kernel *k, struct vr_dwarf *d,
				    const struct vr_module *vm, struct dwarf_module **ret)
{
	struct dwarf_module *m = NULL;
	size_t before = d->n_mods;
	struct vr_error *err = module_open_new(k, d, vm, &m);
	if (err && m && d->n_mods > before && !m->reason && err->code != VR_ERR_NOMEM)
		m->reason = vr_strdup(err->message);
	if (!err)
		*ret = m;
	return err;
}

static struct vr_error *module_open_new(struct vr_kernel *k, struct vr_dwarf *d,
					const struct vr_module *vm, struct dwarf_module **ret)
{
	_cleanup_free_ char *name = normalize_module_name(vm->name, strlen(vm->name));
	if (!name)
		return &vr_error_oom;
	uint64_t base = vm->text_base ? vm->text_base : vm->base;
	for (size_t i = 0; i < d->n_mods; i++)
		if (strcmp(d->mods[i]->name, name) == 0 && d->mods[i]->text_base == base) {
			*ret = d->mods[i];
			if (d->mods[i]->mod)
				return NULL;
			return vr_error_create(VR_ERR_NOT_FOUND, "%s",
					       d->mods[i]->reason ? d->mods[i]->reason
								  : "no debug info for the module");
		}
	struct vr_error *err = vr_grow(&d->mods, &d->cap_mods, d->n_mods + 1, sizeof(*d->mods),
				       DWARF_MAX_MODULES);
	if (err)
		return err;
	struct dwarf_module *m = calloc(1, sizeof(*m));
	if (!m)
		return &vr_error_oom;
	d->mods[d->n_mods++] = m;
	m->name = name;
	name = NULL;
	m->text_base = base;
	m->tried = true;
	*ret = m;
	const char *path = find_ko(k, d, m->name);
	if (!path)
		return vr_error_create(VR_ERR_NOT_FOUND, "no debug file for module %s", vm->name);
	if (!(m->path = vr_strdup(path)))
		return &vr_error_oom;
	const char *release = k->vmcoreinfo ? vr_vmcoreinfo_get(k->vmcoreinfo, "OSRELEASE") : NULL;
	if ((err = module_layout(m, vm, release))) {
		/* A debug file found but refused is worth saying once. */
		if (err->code == VR_ERR_NOT_FOUND && k->diag)
			vr_diag_warn(k->diag, "module debug file not used: %s", err->message);
		return err;
	}
	m->dwfl = dwfl_begin(&module_callbacks);
	if (!m->dwfl)
		return vr_error_create(VR_ERR_FORMAT, "libdwfl: %s", dwfl_errmsg(-1));
	uint64_t end = m->text_base;
	for (size_t i = 0; i < m->n_secs; i++)
		if (m->secs[i].addr >= end)
			end = m->secs[i].addr + 1;
	uint64_t size = vm->text_size ? vm->text_size : vm->size;
	if (m->text_base + size > end)
		end = m->text_base + size;
	dwfl_report_begin(m->dwfl);
	Dwfl_Module *mod = dwfl_report_module(m->dwfl, m->name, m->text_base, end);
	dwfl_report_end(m->dwfl, NULL, NULL);
	if (!mod)
		return vr_error_create(VR_ERR_FORMAT, "reporting %s: %s", m->path, dwfl_errmsg(-1));
	void **ud;
	dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
	*ud = m;
	Dwarf_Addr bias;
	if (!dwfl_module_getdwarf(mod, &bias))
		return vr_error_create(VR_ERR_FORMAT, "reading DWARF of %s: %s", m->path,
				       dwfl_errmsg(-1));
	m->mod = mod;
	return NULL;
}

static const struct vr_module *module_of(struct vr_kernel *k, uint64_t addr)
{
	if (!k->facts)
		return NULL;
	for (size_t i = 0; i < k->facts->n_modules; i++) {
		const struct vr_module *m = &k->facts->modules[i];
		if (!m->name)
			continue;
		uint64_t base = m->text_size ? m->text_base : m->base;
		uint64_t size = m->text_size ? m->text_size : m->size;
		if (addr >= base && addr - base < size)
			return m;
	}
	return NULL;
}

static struct vr_error *module_source(struct vr_kernel *k, uint64_t addr, struct vr_frame *f)
{
	const struct vr_module *vm = module_of(k, addr);
	if (!vm)
		return vr_error_create(VR_ERR_NOT_FOUND, "0x%llx is in no known module",
				       (unsigned long long)addr);
	struct vr_dwarf *d;
	struct dwarf_module *m;
	struct vr_error *err = dwarf_state(k, &d);
	if (!err)
		err = module_open(k, d, vm, &m);
	if (err)
		return err;
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(m->mod, addr, &bias);
	if (!cu)
		return vr_error_create(VR_ERR_NOT_FOUND, "%s: no DWARF covers 0x%llx", m->path,
				       (unsigned long long)addr);
	return source_in_cu_frame(cu, addr - bias, f);
}

/* ---- public ---- */

bool vr_dwarf_units_read(struct vr_kernel *k, size_t *ret_units, uint64_t *ret_bytes, uint64_t *ret_info)
{
	if (!k->dwarf || !k->dwarf->units)
		return false;
	vr_dwarf_units_stats(k->dwarf->units, ret_units, ret_bytes, ret_info);
	return true;
}

struct vr_error *vr_dwarf_source(struct vr_kernel *k, uint64_t addr, struct vr_frame *f)
{
	Dwarf *dbg;
	struct vr_error *err = vr_dwarf_vmlinux(k, &dbg);
	if (!err) {
		/* The vmlinux is linked at its unrandomized address. */
		Dwarf_Addr pc = addr - k->layout.kaslr_offset;
		struct src_result *r;
		if ((err = vmlinux_lookup(k, k->dwarf, dbg, pc, &r)))
			return err;
		if (r)
			return src_apply(r, f);
	}
	if (err && err->code == VR_ERR_NOMEM)
		return err;
	struct vr_error *merr = module_source(k, addr, f);
	if (!merr) {
		vr_error_destroy(err);
		return NULL;
	}
	if (err) {
		merr = vr_error_wrap(merr, "%s", err->message);
		vr_error_destroy(err);
	}
	return vr_error_wrap(merr, "source of 0x%llx", (unsigned long long)addr);
}

struct vr_error *vr_kernel_source_line(struct vr_kernel *k, uint64_t addr, char **ret_file,
				       int *ret_line)
{
	/* The line table's own answer: the innermost location, as addr2line
	 * prints without -i. */
	struct vr_frame f = { .address = addr };
	struct vr_error *err = vr_dwarf_source(k, addr, &f);
	if (err) {
		vr_frame_deinit(&f);
		return err;
	}
	char *file;
	int line;
	if (f.n_inlined) {
		file = f.inlined[0].file;
		line = f.inlined[0].line;
		f.inlined[0].file = NULL;
	} else {
		file = f.file;
		line = f.line;
		f.file = NULL;
	}
	vr_frame_deinit(&f);
	*ret_file = file;
	*ret_line = line;
	return NULL;
}

/* ---- the struct member behind a register ---- */

/* Follow typedefs and qualifiers. */
static bool peel(Dwarf_Die *die)
{
	for (int i = 0; i < 16; i++) {
		int tag = dwarf_tag(die);
		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type &&
		    tag != DW_TAG_restrict_type && tag != DW_TAG_atomic_type)
			return true;
		Dwarf_Attribute a;
		if (!dwarf_attr_integrate(die, DW_AT_type, &a) || !dwarf_formref_die(&a, die))
			return false;
	}
	return false;
}

bool vr_dwarf_member_location(Dwarf_Attribute *attr, Dwarf_Word *ret)
{
	if (dwarf_formudata(attr, ret) == 0)
		return true;
	/* A block: the offset is what the expression adds to the
	 * structure's address pushed before it (DWARF 2, section 5.6.6). */
	Dwarf_Op *ops;
	size_t n;
	if (dwarf_getlocation(attr, &ops, &n) != 0 || n != 1)
		return false;
	if (ops[0].atom != DW_OP_plus_uconst && ops[0].atom != DW_OP_constu)
		return false;
	*ret = ops[0].number;
	return true;
}

/* The dotted path of the member of struct/union die that holds byte off. */
static bool member_path(Dwarf_Die *die, uint64_t off, int depth, char *buf, size_t len)
{
	Dwarf_Die m;
	if (depth > 8 || dwarf_child(die, &m) != 0)
		return false;
	int guard = 0;
	do {
		if (dwarf_tag(&m) != DW_TAG_member)
			continue;
		Dwarf_Attribute a;
		Dwarf_Word loc = 0;
		if (dwarf_attr(&m, DW_AT_data_member_location, &a) && !vr_dwarf_member_location(&a, &loc))
			continue;
		Dwarf_Die t;
		if (!dwarf_attr_integrate(&m, DW_AT_type, &a) || !dwarf_formref_die(&a, &t) || !peel(&t))
			continue;
		Dwarf_Word size = 0;
		if (dwarf_aggregate_size(&t, &size) != 0)
			size = dwarf_tag(&t) == DW_TAG_pointer_type ? 8 : 0;
		if (off < loc || off >= loc + size)
			continue;
		const char *name = dwarf_diename(&m);
		size_t used = strlen(buf);
		if (name)
			snprintf(buf + used, len - used, "%s%s", used ? "." : "", name);
		int tag = dwarf_tag(&t);
		if (tag == DW_TAG_structure_type || tag == DW_TAG_union_type)
			member_path(&t, off - loc, depth + 1, buf, len);
		return true;
	} while (++guard < 10000 && dwarf_siblingof(&m, &m) == 0);
	return false;
}

/* In the scopes around pc (innermost first), the variable or parameter
 * that lives in DWARF register regno at pc; its type into *type. */
static bool variable_in_register(Dwarf_Die *scopes, int n, Dwarf_Addr pc, int regno,
				 Dwarf_Die *type, const char **name)
{
	for (int s = 0; s < n; s++) {
		Dwarf_Die v;
		if (dwarf_child(&scopes[s], &v) != 0)
			continue;
		int guard = 0;
		do {
			int tag = dwarf_tag(&v);
			if (tag != DW_TAG_variable && tag != DW_TAG_formal_parameter)
				continue;
			Dwarf_Attribute a;
			if (!dwarf_attr(&v, DW_AT_location, &a))
				continue;
			Dwarf_Op *expr;
			size_t len;
			if (dwarf_getlocation_addr(&a, pc, &expr, &len, 1) != 1 || len != 1)
				continue;
			bool hit = (expr[0].atom >= DW_OP_reg0 && expr[0].atom <= DW_OP_reg31 &&
				    (int)(expr[0].atom - DW_OP_reg0) == regno) ||
				   (expr[0].atom == DW_OP_regx && expr[0].number == (Dwarf_Word)regno);
			if (!hit)
				continue;
			Dwarf_Attribute ta;
			if (!dwarf_attr_integrate(&v, DW_AT_type, &ta) || !dwarf_formref_die(&ta, type))
				continue;
			*name = dwarf_diename(&v);
			return true;
		} while (++guard < 10000 && dwarf_siblingof(&v, &v) == 0);
	}
	return false;
}

struct vr_error *vr_kernel_register_member(struct vr_kernel *k, uint64_t pc, int reg, int64_t disp,
					   char **ret)
{
	int regno = k->arch && k->arch->dwarf_regno ? k->arch->dwarf_regno(reg) : -1;
	if (regno < 0 || disp < 0)
		return vr_error_create(VR_ERR_NOT_FOUND, "no DWARF register for this access");
	Dwarf_Die cu_mem, *cu = NULL;
	Dwarf_Addr rel = 0;
	Dwarf *dbg;
	struct vr_error *err = vr_dwarf_vmlinux(k, &dbg);
	if (!err && k->dwarf->units) {
		struct vr_dwarf_unit *unit;
		err = vr_dwarf_units_find(k->dwarf->units, dbg, pc - k->layout.kaslr_offset, &unit);
		if (err && err->code == VR_ERR_NOMEM)
			return err;
		if (!err && unit) {
			cu_mem = *vr_dwarf_unit_die(unit);
			cu = &cu_mem;
			rel = pc - k->layout.kaslr_offset;
		}
	} else if (!err && dwarf_addrdie(dbg, pc - k->layout.kaslr_offset, &cu_mem)) {
		cu = &cu_mem;
		rel = pc - k->layout.kaslr_offset;
	}
	vr_error_destroy(err);
	if (!cu) {
		const struct vr_module *vm = module_of(k, pc);
		struct vr_dwarf *d;
		struct dwarf_module *m;
		if (!vm)
			return vr_error_create(VR_ERR_NOT_FOUND, "no debug info covers 0x%llx",
					       (unsigned long long)pc);
		if ((err = dwarf_state(k, &d)) || (err = module_open(k, d, vm, &m)))
			return err;
		Dwarf_Addr bias;
		cu = dwfl_module_addrdie(m->mod, pc, &bias);
		if (!cu)
			return vr_error_create(VR_ERR_NOT_FOUND, "%s: no DWARF covers 0x%llx", m->path,
					       (unsigned long long)pc);
		rel = pc - bias;
	}
	Dwarf_Die *scopes = NULL;
	int n = dwarf_getscopes(cu, rel, &scopes);
	if (n <= 0) {
		free(scopes);
		return vr_error_create(VR_ERR_NOT_FOUND, "no function scope at 0x%llx", (unsigned long long)pc);
	}
	Dwarf_Die type;
	const char *var = NULL;
	bool found = variable_in_register(scopes, n, rel, regno, &type, &var);
	free(scopes);
	if (!found)
		return vr_error_create(VR_ERR_NOT_FOUND, "no variable lives in that register at 0x%llx",
				       (unsigned long long)pc);
	/* A pointer to a struct or union: name the member at disp. */
	if (!peel(&type) || dwarf_tag(&type) != DW_TAG_pointer_type)
		return vr_error_create(VR_ERR_NOT_FOUND, "%s is not a pointer", var ? var : "the variable");
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(&type, DW_AT_type, &a) || !dwarf_formref_die(&a, &type) || !peel(&type))
		return vr_error_create(VR_ERR_NOT_FOUND, "%s points to an unknown type", var ? var : "the variable");
	int tag = dwarf_tag(&type);
	if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type)
		return vr_error_create(VR_ERR_NOT_FOUND, "%s does not point to a struct", var ? var : "the variable");
	char path[256] = "";
	if (!member_path(&type, (uint64_t)disp, 0, path, sizeof(path)) || !path[0])
		return vr_error_create(VR_ERR_NOT_FOUND, "no member at offset 0x%llx", (unsigned long long)disp);
	const char *sname = dwarf_diename(&type);
	*ret = vr_asprintf("%s %s.%s", tag == DW_TAG_union_type ? "union" : "struct",
			   sname ? sname : "(anonymous)", path);
	return *ret ? NULL : &vr_error_oom;
}
