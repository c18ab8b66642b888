/* Symbol tables of the kernel and its modules: sorted once by address for
 * O(log n) address lookups, hashed by name for O(1) name lookups.
 *
 * The kernel's table comes from the vmlinux's .symtab (relocated by the
 * KASLR offset) when a vmlinux is in use, else from the kallsyms tables in
 * the dump's memory (kallsyms.c). Each module adds its own table. */
#define _GNU_SOURCE
#include "internal.h"
#include "kallsyms.h"
#include "x86_64.h"

#include <ctype.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <string.h>

#define MAX_SYMS (1u << 22)
#define MAX_MODULES 8192
#define MAX_STRINGS (256u << 20)
/* Where a symbol has no size, the distance to the next symbol stands in for
 * one (as in kallsyms_lookup_size_offset), unless it is implausibly large. */
#define MAX_DERIVED_SIZE (16u << 20)

struct sym {
	uint64_t addr;
	uint64_t size;      /* 0 unknown */
	uint32_t name;      /* offset into the table's strings */
	uint32_t prio;      /* lower wins among symbols at one address */
	uint32_t order;     /* position in the source table: stable ties */
	uint32_t hash;      /* of the name, computed while reading it */
	char type;          /* nm letter */
	bool addressable;   /* may answer an address lookup */
};

struct table {
	char *module;       /* NULL: the kernel */
	struct sym *syms;   /* sorted by address */
	size_t n;
	char *strings;
	size_t strings_len;
	uint32_t *by_addr;  /* best addressable symbol at each distinct address */
	uint64_t *keys;     /* their addresses: the binary search stays in one array */
	size_t n_by_addr;
	uint32_t *hash;     /* open addressing, index + 1, 0 empty */
	size_t hash_mask;
	uint64_t lo, hi;    /* addresses the table can answer: [lo, hi) */
	bool name_ties;     /* equal-priority symbols at one address: the first by name wins */
};

struct vr_symtab {
	struct table kernel;
	bool have_kernel;
	struct table *modules;
	size_t n_modules, cap_modules;
};

static void table_deinit(struct table *t)
{
	free(t->module);
	free(t->syms);
	free(t->strings);
	free(t->by_addr);
	free(t->keys);
	free(t->hash);
	memset(t, 0, sizeof(*t));
}

void vr_symtab_destroy(struct vr_symtab *st)
{
	if (!st)
		return;
	table_deinit(&st->kernel);
	for (size_t i = 0; i < st->n_modules; i++)
		table_deinit(&st->modules[i]);
	free(st->modules);
	free(st);
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->addressable != y->addressable)
		return x->addressable ? -1 : 1;
	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static uint32_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return (uint32_t)(h ^ h >> 32);
}

static bool is_global(char type)
{
	return isupper((unsigned char)type);
}

/* Sorts the symbols, builds the address index and the name hash, and
 * derives missing sizes from the next symbol. */
struct sort_key {
	uint64_t addr;
	uint32_t tie;  /* not addressable, then prio: sym_cmp's order */
	uint32_t idx;
};

/* Puts the symbols in sym_cmp's order with a stable radix sort of
 * (address, tie) keys, a byte at a time, skipping bytes all keys share:
 * ~100k symbols sort in a few passes instead of n log n calls of sym_cmp.
 * order (the last key of sym_cmp) is the position in the table, so a
 * stable sort gives sym_cmp's order exactly; elsewhere qsort does. */
static struct vr_error *sort_syms(struct table *t)
{
	bool in_order = true;
	for (size_t i = 0; i < t->n && in_order; i++)
		in_order = t->syms[i].order == i && t->syms[i].prio < (1u << 16);
	if (!in_order || t->n < 64) {
		qsort(t->syms, t->n, sizeof(*t->syms), sym_cmp);
		return NULL;
	}
	struct sort_key *a = malloc(t->n * sizeof(*a)), *b = malloc(t->n * sizeof(*b));
	struct sym *out = malloc(t->n * sizeof(*out));
	if (!a || !b || !out) {
		free(a);
		free(b);
		free(out);
		return &vr_error_oom;
	}
	for (size_t i = 0; i < t->n; i++)
		a[i] = (struct sort_key){ t->syms[i].addr,
					  (uint32_t)!t->syms[i].addressable << 16 | t->syms[i].prio,
					  (uint32_t)i };
	/* Least significant first: the tie's three bytes, then the address's eight. */
	for (int pass = 0; pass < 11; pass++) {
		size_t count[256] = { 0 };
		int shift = pass < 3 ? pass * 8 : (pass - 3) * 8;
		for (size_t i = 0; i < t->n; i++)
			count[(pass < 3 ? a[i].tie >> shift : a[i].addr >> shift) & 0xff]++;
		bool trivial = false;
		for (int d = 0; d < 256; d++)
			if (count[d] == t->n)
				trivial = true;
		if (trivial)
			continue;
		size_t pos = 0;
		for (int d = 0; d < 256; d++) {
			size_t c = count[d];
			count[d] = pos;
			pos += c;
		}
		for (size_t i = 0; i < t->n; i++)
			b[count[(pass < 3 ? a[i].tie >> shift : a[i].addr >> shift) & 0xff]++] = a[i];
		struct sort_key *tmp = a;
		a = b;
		b = tmp;
	}
	for (size_t i = 0; i < t->n; i++)
		out[i] = t->syms[a[i].idx];
	free(a);
	free(b);
	free(t->syms);
	t->syms = out;
	return NULL;
}

static struct vr_error *table_build(struct table *t)
{
	struct vr_error *err = sort_syms(t);
	if (err)
		return err;

	t->by_addr = malloc((t->n ? t->n : 1) * sizeof(*t->by_addr));
	size_t cap = 16;
	while (cap < 2 * t->n)
		cap <<= 1;
	t->hash = calloc(cap, sizeof(*t->hash));
	if (!t->by_addr || !t->hash)
		return &vr_error_oom;
	t->hash_mask = cap - 1;

	t->n_by_addr = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct sym *s = &t->syms[i];
		if (!s->addressable)
			continue;
		/* Sorted with the preferred symbol first at each address. */
		if (t->n_by_addr && t->syms[t->by_addr[t->n_by_addr - 1]].addr == s->addr) {
			uint32_t *best = &t->by_addr[t->n_by_addr - 1];
			const struct sym *b = &t->syms[*best];
			if (t->name_ties && s->prio == b->prio &&
			    strcmp(t->strings + s->name, t->strings + b->name) < 0)
				*best = (uint32_t)i;
			continue;
		}
		t->by_addr[t->n_by_addr++] = (uint32_t)i;
	}
	/* kallsyms has no sizes, and assembler labels have none: the distance
	 * to the next symbol stands in, as in the kernel's %pS. */
	for (size_t j = 0; j < t->n_by_addr; j++) {
		struct sym *s = &t->syms[t->by_addr[j]];
		if (s->size)
			continue;
		uint64_t d = j + 1 < t->n_by_addr ? t->syms[t->by_addr[j + 1]].addr - s->addr : 0;
		s->size = d <= MAX_DERIVED_SIZE ? d : 0;
	}
	t->keys = malloc((t->n_by_addr ? t->n_by_addr : 1) * sizeof(*t->keys));
	if (!t->keys)
		return &vr_error_oom;
	for (size_t j = 0; j < t->n_by_addr; j++)
		t->keys[j] = t->syms[t->by_addr[j]].addr;
	t->lo = UINT64_MAX;
	t->hi = 0;
	for (size_t j = 0; j < t->n_by_addr; j++) {
		const struct sym *s = &t->syms[t->by_addr[j]];
		uint64_t end = s->addr + (s->size ? s->size : 1);
		if (end < s->addr)
			end = UINT64_MAX;
		if (s->addr < t->lo)
			t->lo = s->addr;
		if (end > t->hi)
			t->hi = end;
	}

	for (size_t i = 0; i < t->n; i++) {
		const char *name = t->strings + t->syms[i].name;
		size_t h = t->syms[i].hash & t->hash_mask;
		for (;;) {
			uint32_t e = t->hash[h];
			if (!e) {
				t->hash[h] = (uint32_t)i + 1;
				break;
			}
			const struct sym *o = &t->syms[e - 1];
			if (o->hash == t->syms[i].hash && !strcmp(t->strings + o->name, name)) {
				/* Several static symbols may share a name: a global
				 * one wins, else the first by address. */
				if (is_global(t->syms[i].type) && !is_global(o->type))
					t->hash[h] = (uint32_t)i + 1;
				break;
			}
			h = (h + 1) & t->hash_mask;
		}
	}
	return NULL;
}

static const struct sym *table_by_name(const struct table *t, const char *name)
{
	if (!t->hash)
		return NULL;
	uint32_t hash = name_hash(name);
	size_t h = hash & t->hash_mask;
	for (;;) {
		uint32_t e = t->hash[h];
		if (!e)
			return NULL;
		if (t->syms[e - 1].hash == hash && !strcmp(t->strings + t->syms[e - 1].name, name))
			return &t->syms[e - 1];
		h = (h + 1) & t->hash_mask;
	}
}

static const struct sym *table_by_addr(const struct table *t, uint64_t addr)
{
	if (!t->n_by_addr || addr < t->lo || addr >= t->hi)
		return NULL;
	size_t lo = 0, hi = t->n_by_addr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->keys[mid] <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	size_t i = lo - 1;
	const struct sym *s = &t->syms[t->by_addr[i]];
	if (!s->size || addr - s->addr < s->size)
		return s;
	/* s ends before addr: a larger symbol starting a little earlier may
	 * still enclose it (a function with an inner sized object). */
	for (size_t j = i; j-- > 0 && i - j <= 8;) {
		const struct sym *c = &t->syms[t->by_addr[j]];
		if (c->size && addr - c->addr < c->size)
			return c;
	}
	return NULL;
}

static void fill_symbol(const struct table *t, const struct sym *s, struct vr_symbol *ret)
{
	ret->name = t->strings + s->name;
	ret->address = s->addr;
	ret->size = s->size;
	ret->module = t->module;
	ret->type = s->type;
}

static struct vr_symtab *symtab_get(struct vr_kernel *k)
{
	if (!k->symtab)
		k->symtab = calloc(1, sizeof(*k->symtab));
	return k->symtab;
}

/* ---- vmlinux ---- */

struct secinfo {
	uint64_t flags;
	uint32_t type;
};

/* The letter nm(1) prints: from the section's flags, upper case when
 * global; kallsyms inherits these letters (scripts/kallsyms.c reads nm). */
static char nm_type(const GElf_Sym *s, const struct secinfo *secs, size_t shnum)
{
	int bind = GELF_ST_BIND(s->st_info);
	char c;
	if (s->st_shndx == SHN_ABS)
		c = 'a';
	else if (s->st_shndx == SHN_COMMON)
		c = 'c';
	else if (s->st_shndx != SHN_UNDEF && s->st_shndx < shnum) {
		const struct secinfo *sec = &secs[s->st_shndx];
		if (sec->flags & SHF_EXECINSTR)
			c = 't';
		else if (sec->type == SHT_NOBITS)
			c = 'b';
		else if (sec->flags & SHF_WRITE)
			c = 'd';
		else if (sec->flags & SHF_ALLOC)
			c = 'r';
		else
			c = 'n';
	} else
		c = '?';
	if (bind == STB_WEAK)
		return GELF_ST_TYPE(s->st_info) == STT_OBJECT ? 'V' : 'W';
	if (bind == STB_GLOBAL)
		c = (char)toupper((unsigned char)c);
	return c;
}

/* Names the linker script provides (markers around sections) lose ties to
 * real symbols, as in scripts/kallsyms.c's compare_symbols. */
static bool linker_marker(const char *name, size_t len)
{
	if ((len >= 6 && !memcmp(name + len - 6, "_start", 6)) ||
	    (len >= 4 && !memcmp(name + len - 4, "_end", 4)))
		return true;
	/* Every other marker starts with '_': most names are done here. */
	if (name[0] != '_')
		return false;
	return (len >= 8 && !memcmp(name, "__start_", 8)) || (len >= 7 && !memcmp(name, "__stop_", 7)) ||
	       !strcmp(name, "_stext") || !strcmp(name, "_text") || !strcmp(name, "_etext") ||
	       !strcmp(name, "_sdata") || !strcmp(name, "_edata");
}

/* Which of several symbols at one address names it: the one the kernel
 * itself prints (%pS), kallsyms' first. scripts/kallsyms.c's
 * compare_symbols orders them weak last, then linker-script markers, then
 * by the number of leading underscores, then as nm -n listed them: by name
 * (table_build breaks the remaining ties by name). Sizes and types play no
 * part, so a sized function loses to an alias label that sorts first
 * (5.10's asm_call_irq_on_stack and asm_call_on_stack). */
static uint32_t elf_prio(const GElf_Sym *s, const char *name)
{
	size_t len = strlen(name), us = 0;
	while (us < len && name[us] == '_')
		us++;
	return (uint32_t)(GELF_ST_BIND(s->st_info) == STB_WEAK) << 10 | (uint32_t)linker_marker(name, len) << 9 |
	       (uint32_t)(us > 255 ? 255 : us);
}

static struct vr_error *elf_err(const char *what)
{
	return vr_error_create(VR_ERR_FORMAT, "%s: %s", what, elf_errmsg(-1));
}

static struct vr_error *load_vmlinux(struct vr_kernel *k, struct table *t)
{
	Elf *elf = k->vmlinux_elf;
	size_t shnum = 0;
	if (elf_getshdrnum(elf, &shnum) < 0)
		return elf_err("reading section headers");
	if (shnum > (1u << 20))
		return vr_error_create(VR_ERR_LIMIT, "%zu sections", shnum);
	_cleanup_free_ struct secinfo *secs = calloc(shnum ? shnum : 1, sizeof(*secs));
	if (!secs)
		return &vr_error_oom;

	Elf_Scn *symscn = NULL, *dynscn = NULL;
	GElf_Shdr symsh = {0}, dynsh = {0};
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			return elf_err("reading a section header");
		size_t idx = elf_ndxscn(scn);
		if (idx < shnum)
			secs[idx] = (struct secinfo){sh.sh_flags, sh.sh_type};
		if (sh.sh_type == SHT_SYMTAB && !symscn) {
			symscn = scn;
			symsh = sh;
		} else if (sh.sh_type == SHT_DYNSYM && !dynscn) {
			dynscn = scn;
			dynsh = sh;
		}
	}
	if (!symscn) {
		symscn = dynscn;
		symsh = dynsh;
	}
	if (!symscn)
		return vr_error_create(VR_ERR_NOT_FOUND, "the vmlinux has no .symtab or .dynsym");

	Elf_Scn *strscn = elf_getscn(elf, symsh.sh_link);
	Elf_Data *strdata = strscn ? elf_getdata(strscn, NULL) : NULL;
	Elf_Data *symdata = elf_getdata(symscn, NULL);
	if (!strdata || !symdata)
		return elf_err("reading the symbol table");
	size_t entsize = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
	if (!entsize)
		return elf_err("symbol size");
	size_t n = symdata->d_size / entsize;
	if (n > MAX_SYMS)
		return vr_error_create(VR_ERR_LIMIT, "%zu symbols (limit %u)", n, MAX_SYMS);
	if (strdata->d_size > MAX_STRINGS || !strdata->d_buf)
		return vr_error_create(VR_ERR_LIMIT, "string table of %zu bytes", (size_t)strdata->d_size);

	/* One copy of the string table; names point into it. */
	t->strings = malloc(strdata->d_size + 1);
	t->syms = malloc((n ? n : 1) * sizeof(*t->syms));
	if (!t->strings || !t->syms)
		return &vr_error_oom;
	memcpy(t->strings, strdata->d_buf, strdata->d_size);
	t->strings[strdata->d_size] = '\0';
	t->strings_len = strdata->d_size;

	uint64_t kaslr = k->x86.kaslr_offset;
	t->n = 0;
	/* libelf's native array when it is one (an ELF64 file on this
	 * host): a gelf_getsym() call per symbol costs more than the rest. */
	bool native = gelf_getclass(elf) == ELFCLASS64 && symdata->d_type == ELF_T_SYM &&
		      symdata->d_buf && symdata->d_size / sizeof(Elf64_Sym) >= n;
	for (size_t i = 1; i < n; i++) {
		GElf_Sym s;
		if (native)
			s = ((const Elf64_Sym *)symdata->d_buf)[i];
		else if (!gelf_getsym(symdata, (int)i, &s))
			return elf_err("reading a symbol");
		int type = GELF_ST_TYPE(s.st_info);
		if (type == STT_SECTION || type == STT_FILE || s.st_shndx == SHN_UNDEF)
			continue;
		if (s.st_name == 0 || s.st_name >= t->strings_len)
			continue;
		const char *name = t->strings + s.st_name;
		uint64_t addr = s.st_value;
		/* The image is linked at __START_KERNEL_map and moved by KASLR;
		 * per-CPU symbols are offsets from 0 and stay. */
		if (addr >= VR_X86_64_START_KERNEL_MAP)
			addr += kaslr;
		bool alloc = s.st_shndx == SHN_ABS || s.st_shndx >= shnum ||
			     (secs[s.st_shndx].flags & SHF_ALLOC);
		if (!alloc)
			continue;
		struct sym *d = &t->syms[t->n];
		d->addr = addr;
		d->size = s.st_size;
		d->name = s.st_name;
		d->type = nm_type(&s, secs, shnum);
		d->prio = elf_prio(&s, name);
		d->order = (uint32_t)t->n;
		d->hash = name_hash(name);
		d->addressable = s.st_shndx != SHN_ABS && addr >= VR_X86_64_START_KERNEL_MAP;
		t->n++;
	}
	t->name_ties = true;
	return table_build(t);
}

/* ---- kallsyms ---- */

static struct vr_error *kallsyms_read_mem(void *arg, uint64_t vaddr, void *buf, size_t len)
{
	return vr_kernel_read(arg, vaddr, buf, len);
}

static struct vr_error *load_kallsyms(struct vr_kernel *k, struct table *t)
{
	struct vr_kallsyms ks;
	struct vr_error *err = vr_kallsyms_load(k->vmcoreinfo, kallsyms_read_mem, k, &ks);
	if (err)
		return vr_error_wrap(err, "kallsyms");
	t->syms = malloc((ks.n ? ks.n : 1) * sizeof(*t->syms));
	if (!t->syms) {
		vr_kallsyms_deinit(&ks);
		return &vr_error_oom;
	}
	for (size_t i = 0; i < ks.n; i++) {
		char type = ks.syms[i].type;
		t->syms[i] = (struct sym){
			.addr = ks.syms[i].address,
			.name = ks.syms[i].name,
			.type = type,
			.order = (uint32_t)i,
			.hash = name_hash(ks.names + ks.syms[i].name),
			/* The kernel answers %pS only within its image
			 * (is_ksym_addr); absolute and per-CPU values are not
			 * code or data addresses. */
			.addressable = type != 'a' && type != 'A' &&
				       ks.syms[i].address >= VR_X86_64_START_KERNEL_MAP,
		};
	}
	t->n = ks.n;
	t->strings = ks.names;
	t->strings_len = ks.names_len;
	free(ks.syms);
	return table_build(t);
}

/* The symbols name the variables that hold the randomised memory layout
 * (page_offset_base, ...), which VMCOREINFO does not give in 6.1. */
static void refine_layout(struct vr_kernel *k)
{
	if (k->arch == &vr_arch_x86_64 && k->dump && vr_dump_has_memory(k->dump)) {
		struct vr_error *err = vr_x86_64_refine(k);
		if (err && k->diag)
			vr_diag_warn(k->diag, "address translation: %s", err->message);
		vr_error_destroy(err);
	}
}

struct vr_error *vr_symbols_load_kernel(struct vr_kernel *k)
{
	struct vr_symtab *st = symtab_get(k);
	if (!st)
		return &vr_error_oom;
	table_deinit(&st->kernel);
	st->have_kernel = false;

	struct vr_error *elf_error = NULL;
	if (k->vmlinux_elf) {
		elf_error = load_vmlinux(k, &st->kernel);
		if (!elf_error) {
			st->have_kernel = true;
			refine_layout(k);
			return NULL;
		}
		elf_error = vr_error_wrap(elf_error, "%s", k->vmlinux_path ? k->vmlinux_path : "vmlinux");
		table_deinit(&st->kernel);
	}
	struct vr_error *err = NULL;
	if (!k->dump || !vr_dump_has_memory(k->dump))
		err = vr_error_create(VR_ERR_UNSUPPORTED, "the input holds no memory to read kallsyms from");
	else
		err = load_kallsyms(k, &st->kernel);
	if (!err) {
		st->have_kernel = true;
		refine_layout(k);
		/* The vmlinux's failure is still worth a warning; the step
		 * itself succeeded. */
		if (elf_error && k->diag)
			vr_diag_warn(k->diag, "kernel symbols: %s: using kallsyms instead", elf_error->message);
		vr_error_destroy(elf_error);
		return NULL;
	}
	table_deinit(&st->kernel);
	if (elf_error) {
		err = vr_error_wrap(err, "%s; kallsyms", elf_error->message);
		vr_error_destroy(elf_error);
	}
	return err;
}

struct vr_error *vr_symbols_add_module(struct vr_kernel *k, const char *module,
				       const struct vr_symbol *syms, size_t n)
{
	struct vr_symtab *st = symtab_get(k);
	if (!st)
		return &vr_error_oom;
	if (n > MAX_SYMS)
		return vr_error_create(VR_ERR_LIMIT, "module %s: %zu symbols (limit %u)", module, n, MAX_SYMS);
	struct vr_error *err =
		vr_grow(&st->modules, &st->cap_modules, st->n_modules + 1, sizeof(*st->modules), MAX_MODULES);
	if (err)
		return vr_error_wrap(err, "module %s", module);

	struct table t = {0};
	size_t strings = 0;
	for (size_t i = 0; i < n; i++)
		strings += syms[i].name ? strlen(syms[i].name) + 1 : 0;
	if (strings > MAX_STRINGS)
		return vr_error_create(VR_ERR_LIMIT, "module %s: symbol names too long", module);
	t.module = vr_strdup(module ? module : "");
	t.strings = malloc(strings + 1);
	t.syms = malloc((n ? n : 1) * sizeof(*t.syms));
	if (!t.module || !t.strings || !t.syms) {
		table_deinit(&t);
		return &vr_error_oom;
	}
	for (size_t i = 0; i < n; i++) {
		const struct vr_symbol *s = &syms[i];
		if (!s->name || !s->name[0])
			continue;
		size_t len = strlen(s->name);
		memcpy(t.strings + t.strings_len, s->name, len + 1);
		char type = s->type ? s->type : '?';
		t.syms[t.n] = (struct sym){
			.addr = s->address,
			.size = s->size,
			.name = (uint32_t)t.strings_len,
			.type = type,
			.order = (uint32_t)t.n,
			.hash = name_hash(s->name),
			.prio = s->size == 0,
			.addressable = s->address != 0 && type != 'a' && type != 'A' && type != 'U' &&
				       type != 'u' && type != 'w',
		};
		t.strings_len += len + 1;
		t.n++;
	}
	t.strings[t.strings_len] = '\0';
	err = table_build(&t);
	if (err) {
		table_deinit(&t);
		return err;
	}
	st->modules[st->n_modules++] = t;
	return NULL;
}

bool vr_symbols_lookup_addr(struct vr_kernel *k, uint64_t addr, struct vr_symbol *ret)
{
	const struct vr_symtab *st = k ? k->symtab : NULL;
	if (!st)
		return false;
	const struct sym *s = st->have_kernel ? table_by_addr(&st->kernel, addr) : NULL;
	if (s) {
		fill_symbol(&st->kernel, s, ret);
		return true;
	}
	for (size_t i = 0; i < st->n_modules; i++) {
		s = table_by_addr(&st->modules[i], addr);
		if (s) {
			fill_symbol(&st->modules[i], s, ret);
			return true;
		}
	}
	return false;
}

bool vr_symbols_lookup_name(struct vr_kernel *k, const char *name, uint64_t *ret)
{
	const struct vr_symtab *st = k ? k->symtab : NULL;
	if (!st || !name)
		return false;
	const struct sym *s = st->have_kernel ? table_by_name(&st->kernel, name) : NULL;
	for (size_t i = 0; !s && i < st->n_modules; i++)
		s = table_by_name(&st->modules[i], name);
	if (!s)
		return false;
	*ret = s->addr;
	return true;
}

bool vr_kernel_symbol_at(struct vr_kernel *k, uint64_t addr, struct vr_symbol *ret)
{
	return vr_symbols_lookup_addr(k, addr, ret);
}

struct vr_error *vr_kernel_symbol_lookup(struct vr_kernel *k, const char *name, struct vr_symbol *ret)
{
	const struct vr_symtab *st = k ? k->symtab : NULL;
	if (!st || !name)
		return vr_error_create(VR_ERR_NOT_FOUND, "symbol %s: no symbol table", name ? name : "?");
	if (st->have_kernel) {
		const struct sym *s = table_by_name(&st->kernel, name);
		if (s) {
			fill_symbol(&st->kernel, s, ret);
			return NULL;
		}
	}
	for (size_t i = 0; i < st->n_modules; i++) {
		const struct sym *s = table_by_name(&st->modules[i], name);
		if (s) {
			fill_symbol(&st->modules[i], s, ret);
			return NULL;
		}
	}
	return vr_error_create(VR_ERR_NOT_FOUND, "symbol %s not found", name);
}

struct vr_error *vr_kernel_symbol_address(struct vr_kernel *k, const char *name, uint64_t *ret)
{
	if (vr_symbols_lookup_name(k, name, ret))
		return NULL;
	/* VMCOREINFO names a few symbols even when no table could be loaded. */
	if (k && k->vmcoreinfo && vr_vmcoreinfo_symbol(k->vmcoreinfo, name, ret))
		return NULL;
	if (!k || !k->symtab || !k->symtab->have_kernel)
		return vr_error_create(VR_ERR_NOT_FOUND, "symbol %s: no kernel symbol table", name);
	return vr_error_create(VR_ERR_NOT_FOUND, "symbol %s not found", name);
}

void vr_kernel_symbolize(struct vr_kernel *k, struct vr_frame *f, bool is_return_address)
{
	uint64_t addr = f->address;
	/* A return address may be the first byte after a call that ends its
	 * function (noreturn callees): look up the call itself, but report the
	 * offset of the address as the kernel's %pB does. */
	uint64_t look = is_return_address && addr ? addr - 1 : addr;
	struct vr_symbol s;
	if (vr_symbols_lookup_addr(k, look, &s)) {
		char *name = vr_strdup(s.name);
		char *module = s.module ? vr_strdup(s.module) : NULL;
		if (name && (!s.module || module)) {
			free(f->symbol);
			f->symbol = name;
			free(f->module);
			f->module = module;
			f->offset = addr - s.address;
			f->size = s.size;
		} else {
			free(name);
			free(module);
		}
	}
	/* Source lines describe the call instruction too. */
	vr_error_catch(vr_dwarf_source(k, look, f));
}

bool vr_sym(struct vr_kernel *k, const char *name, uint64_t *ret)
{
	if (k->vmcoreinfo && vr_vmcoreinfo_symbol(k->vmcoreinfo, name, ret))
		return true;
	return vr_symbols_lookup_name(k, name, ret);
}
