/* Symbol tables of the kernel and its modules: sorted once by address for
 * O(log n) address lookups, hashed by name for O(1) name lookups.
 *
 * The kernel's table comes from the vmlinux's .symtab (relocated by the
 * KASLR offset) when a vmlinux is in use, else from the kallsyms tables in
 * the dump's memory (kallsyms.c). Each module adds its own table. */
#define _GNU_SOURCE
#include "debuginfo.h"
#include "internal.h"
#include "kallsyms.h"

#include <ctype.h>
#include <gelf.h>
#include <pthread.h>
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
	uint64_t addr;      /* as the source gives it; the vmlinux's are its link
			     * addresses, moved by the table's shift */
	uint64_t size;      /* 0 unknown */
	uint32_t name;      /* offset into the table's strings */
	uint32_t hash;      /* of the name (table_build() computes it) */
	uint16_t prio;      /* lower wins among symbols at one address (PRIO_ELF: from
			     * the ELF symbol's fields, computed when a tie needs it) */
	uint16_t shndx;     /* the ELF symbol's section */
	uint8_t st_info;    /* the ELF symbol's, for PRIO_ELF */
	char type;          /* nm letter */
	bool addressable;   /* may answer an address lookup */
};
/* The order among symbols is (address, addressable first, prio, then in a
 * vmlinux's table the name, as nm -n lists them, else the position in the
 * source table). */

#define PRIO_ELF UINT16_MAX

struct table {
	char *module;       /* NULL: the kernel */
	struct sym *syms;   /* in the source's order */
	size_t n;
	const char *strings;
	char *strings_owned;
	size_t strings_len;
	uint32_t *by_addr;  /* best addressable symbol at each distinct address, sorted */
	size_t n_by_addr;
	uint32_t *hash;     /* open addressing, index + 1, 0 empty */
	size_t hash_mask;
	uint64_t lo, hi;    /* addresses the table can answer: [lo, hi) */
	uint64_t image_min; /* the kernel's: struct vr_arch.image_min, the shift applies above */
	bool name_ties;     /* equal-priority symbols at one address: the first by name wins */
};

struct vr_symtab {
	const struct table *kernel; /* kernel_own, or the vmlinux's (shared) */
	struct table kernel_own;
	bool have_kernel;
	/* Added to the kernel table's addresses at or above
	 * the image's base (per-CPU offsets and absolute values stay):
	 * the KASLR offset for the vmlinux's table. */
	uint64_t kernel_shift;
	struct table *modules;
	size_t n_modules, cap_modules;
};

static void table_deinit(struct table *t)
{
	free(t->module);
	free(t->syms);
	free(t->strings_owned);
	free(t->by_addr);
	free(t->hash);
	memset(t, 0, sizeof(*t));
}

void vr_symtab_destroy(struct vr_symtab *st)
{
	if (!st)
		return;
	table_deinit(&st->kernel_own);
	for (size_t i = 0; i < st->n_modules; i++)
		table_deinit(&st->modules[i]);
	free(st->modules);
	free(st);
}

/* The hash of the NUL-terminated name at s (end: the end of the memory s may
 * be read to), eight bytes at a time: a pass over 100k names is part of
 * every report. */
static uint64_t mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0x9e3779b97f4a7c15ull;
	return h ^ h >> 29;
}

static uint32_t name_hash_in(const char *s, const char *end)
{
	uint64_t h = 0x243f6a8885a308d3ull;
	for (;;) {
		uint64_t w = 0;
		if (end - s >= 8) {
			memcpy(&w, s, 8);
			uint64_t z = (w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull;
			if (z) {
				/* The lowest flagged byte is the first NUL; later
				 * bytes do not count. */
				unsigned nb = (unsigned)__builtin_ctzll(z) / 8;
				w = nb ? w & (~0ull >> (64 - 8 * nb)) : 0;
				return (uint32_t)mix(h, w);
			}
		} else {
			for (unsigned i = 0; i < 8; i++) {
				if (s + i >= end || !s[i])
					return (uint32_t)mix(h, w);
				w |= (uint64_t)(uint8_t)s[i] << (8 * i);
			}
		}
		h = mix(h, w);
		s += 8;
	}
}

static uint32_t name_hash(const char *s)
{
	return name_hash_in(s, s + strlen(s) + 1);
}

static bool is_global(char type)
{
	return isupper((unsigned char)type);
}

static uint32_t elf_prio(int bind, const char *name);

static uint32_t sym_prio(const struct table *t, const struct sym *s)
{
	if (s->prio != PRIO_ELF)
		return s->prio;
	return elf_prio(GELF_ST_BIND(s->st_info), t->strings + s->name);
}

/* x before y in the order above (their indexes are their positions) */
static bool sym_before(const struct table *t, uint32_t x, uint32_t y)
{
	const struct sym *a = &t->syms[x], *b = &t->syms[y];
	if (a->addr != b->addr)
		return a->addr < b->addr;
	if (a->addressable != b->addressable)
		return a->addressable;
	uint32_t pa = sym_prio(t, a), pb = sym_prio(t, b);
	if (pa != pb)
		return pa < pb;
	return x < y;
}

static int tie_cmp(const void *x, const void *y, void *arg)
{
	const struct table *t = arg;
	const uint32_t *a = x, *b = y; /* prio, then name (name_ties), then position */
	if (a[0] != b[0])
		return a[0] < b[0] ? -1 : 1;
	if (t->name_ties) {
		int c = strcmp(t->strings + t->syms[a[1]].name, t->strings + t->syms[b[1]].name);
		if (c)
			return c;
	}
	return a[1] < b[1] ? -1 : a[1] > b[1];
}

/* The addressable symbols in order: a stable radix sort by address, a byte
 * at a time over the bytes in which their addresses differ, then each run
 * at one address put in order by prio (read only where symbols share an
 * address). */
static struct vr_error *sort_addressable(struct table *t, uint32_t **ret, size_t *ret_n)
{
	size_t n = 0;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->syms[i].addressable) {
			n++;
			if (t->syms[i].addr < lo)
				lo = t->syms[i].addr;
			if (t->syms[i].addr > hi)
				hi = t->syms[i].addr;
		}
	uint32_t *a = malloc((n ? n : 1) * sizeof(*a)), *b = malloc((n ? n : 1) * sizeof(*b));
	if (!a || !b) {
		free(a);
		free(b);
		return &vr_error_oom;
	}
	n = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->syms[i].addressable)
			a[n++] = (uint32_t)i;
	int bytes = 0;
	for (uint64_t r = n ? hi - lo : 0; r; r >>= 8)
		bytes++;
	/* kallsyms comes sorted: nothing to do but the ties. */
	bool sorted = true;
	for (size_t i = 1; i < n && sorted; i++)
		sorted = t->syms[a[i - 1]].addr <= t->syms[a[i]].addr;
	if (sorted)
		bytes = 0;
	if (bytes && bytes <= 4) {
		/* (address - lo, position) packed in one word: the passes run
		 * over one array. */
		uint64_t *ka = malloc((n ? n : 1) * sizeof(*ka)), *kb = malloc((n ? n : 1) * sizeof(*kb));
		if (!ka || !kb) {
			free(ka);
			free(kb);
			free(a);
			free(b);
			return &vr_error_oom;
		}
		for (size_t i = 0; i < n; i++)
			ka[i] = (t->syms[a[i]].addr - lo) << 32 | a[i];
		for (int pass = 0; pass < bytes; pass++) {
			size_t count[256] = { 0 };
			int shift = 32 + pass * 8;
			for (size_t i = 0; i < n; i++)
				count[ka[i] >> shift & 0xff]++;
			size_t pos = 0;
			for (int d = 0; d < 256; d++) {
				size_t c = count[d];
				count[d] = pos;
				pos += c;
			}
			for (size_t i = 0; i < n; i++)
				kb[count[ka[i] >> shift & 0xff]++] = ka[i];
			uint64_t *tmp = ka;
			ka = kb;
			kb = tmp;
		}
		for (size_t i = 0; i < n; i++)
			a[i] = (uint32_t)ka[i];
		free(ka);
		free(kb);
		bytes = 0;
	}
	for (int pass = 0; pass < bytes; pass++) {
		size_t count[256] = { 0 };
		int shift = pass * 8;
		for (size_t i = 0; i < n; i++)
			count[(t->syms[a[i]].addr - lo) >> shift & 0xff]++;
		size_t pos = 0;
		for (int d = 0; d < 256; d++) {
			size_t c = count[d];
			count[d] = pos;
			pos += c;
		}
		for (size_t i = 0; i < n; i++)
			b[count[(t->syms[a[i]].addr - lo) >> shift & 0xff]++] = a[i];
		uint32_t *tmp = a;
		a = b;
		b = tmp;
	}
	free(b);
	/* Runs at one address: by (addressable: all are here, prio, name or
	 * position),
	 * with each prio computed once (a run may be long: the markers of
	 * empty sections all sit at one address). */
	struct tie {
		uint32_t prio, idx;
	} *ties = NULL;
	size_t cap_ties = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && t->syms[a[j]].addr == t->syms[a[i]].addr)
			j++;
		if (j - i > 1) {
			struct vr_error *err = vr_grow(&ties, &cap_ties, j - i, sizeof(*ties), SIZE_MAX / sizeof(*ties));
			if (err) {
				free(ties);
				free(a);
				return err;
			}
			for (size_t x = i; x < j; x++)
				ties[x - i] = (struct tie){ sym_prio(t, &t->syms[a[x]]), a[x] };
			qsort_r(ties, j - i, sizeof(*ties), tie_cmp, t);
			for (size_t x = i; x < j; x++)
				a[x] = ties[x - i].idx;
		}
		i = j;
	}
	free(ties);
	*ret = a;
	*ret_n = n;
	return NULL;
}

/* Builds the address index and the name hash, and derives missing sizes
 * from the next symbol. */
struct sort_job {
	struct table *t;
	uint32_t *sorted;
	size_t n_sorted;
	struct vr_error *err;
};

static void *sort_thread(void *arg)
{
	struct sort_job *j = arg;
	j->err = sort_addressable(j->t, &j->sorted, &j->n_sorted);
	return NULL;
}

/* Tables this large sort on a thread of their own while the name hash is
 * built (a vmlinux has 100k symbols; a module, hundreds). */
#define THREADED_SYMS 20000

static struct vr_error *table_build(struct table *t)
{
	/* The sort reads addresses and prios (from the sizes as the source
	 * gave them); the hash, names and the same prios. Neither writes what
	 * the other reads: the sizes derived from the sort come after both. */
	struct sort_job job = { .t = t };
	pthread_t thread;
	bool threaded = t->n >= THREADED_SYMS && pthread_create(&thread, NULL, sort_thread, &job) == 0;

	struct vr_error *err = NULL;
	size_t cap = 16;
	while (cap < 2 * t->n)
		cap <<= 1;
	t->hash = calloc(cap, sizeof(*t->hash));
	if (!t->hash)
		err = &vr_error_oom;
	t->hash_mask = cap - 1;
	/* Every table's names end in a NUL within strings_len bytes. */
	const char *strings_end = t->strings + t->strings_len;
	for (size_t i = 0; !err && i < t->n; i++) {
		struct sym *s = &t->syms[i];
		const char *name = t->strings + s->name;
		s->hash = name_hash_in(name, strings_end);
		size_t h = s->hash & t->hash_mask;
		for (;;) {
			uint32_t e = t->hash[h];
			if (!e) {
				t->hash[h] = (uint32_t)i + 1;
				break;
			}
			const struct sym *o = &t->syms[e - 1];
			if (o->hash == s->hash && !strcmp(t->strings + o->name, name)) {
				/* Several static symbols may share a name: a global
				 * one wins, else the first in order. */
				bool g = is_global(s->type), og = is_global(o->type);
				if ((g && !og) || (g == og && sym_before(t, (uint32_t)i, e - 1)))
					t->hash[h] = (uint32_t)i + 1;
				break;
			}
			h = (h + 1) & t->hash_mask;
		}
	}

	if (threaded)
		pthread_join(thread, NULL);
	else
		sort_thread(&job);
	if (err || job.err) {
		free(job.sorted);
		if (err) {
			vr_error_destroy(job.err);
			return err;
		}
		return job.err;
	}
	t->by_addr = job.sorted;
	t->n_by_addr = 0;
	for (size_t i = 0; i < job.n_sorted; i++) {
		/* Sorted with the preferred symbol first at each address. */
		if (t->n_by_addr && t->syms[t->by_addr[t->n_by_addr - 1]].addr == t->syms[job.sorted[i]].addr)
			continue;
		t->by_addr[t->n_by_addr++] = job.sorted[i];
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
		if (t->syms[t->by_addr[mid]].addr <= addr)
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

/* The address of s where the table's symbols are moved by shift. */
static uint64_t shifted(const struct table *t, const struct sym *s, uint64_t shift)
{
	return s->addr >= t->image_min ? s->addr + shift : s->addr;
}

static void fill_symbol(const struct table *t, const struct sym *s, uint64_t shift, struct vr_symbol *ret)
{
	ret->name = t->strings + s->name;
	ret->address = shifted(t, s, shift);
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
static uint32_t elf_prio(int bind, const char *name)
{
	size_t len = strlen(name), us = 0;
	while (us < len && name[us] == '_')
		us++;
	return (uint32_t)(bind == STB_WEAK) << 10 | (uint32_t)linker_marker(name, len) << 9 |
	       (uint32_t)(us > 255 ? 255 : us);
}

static struct vr_error *elf_err(const char *what)
{
	return vr_error_create(VR_ERR_FORMAT, "%s: %s", what, elf_errmsg(-1));
}

/* The sections load_vmlinux() reads, found through libelf (which is not
 * for concurrent use: a debuginfo's builds hold its lock for this part). */
struct symtab_src {
	struct secinfo *secs;
	size_t shnum;
	Elf_Data *symdata, *strdata;
	size_t n;
	bool native;
};

static struct vr_error *symtab_sections(Elf *elf, struct symtab_src *src)
{
	size_t shnum = 0;
	if (elf_getshdrnum(elf, &shnum) < 0)
		return elf_err("reading section headers");
	if (shnum > (1u << 20))
		return vr_error_create(VR_ERR_LIMIT, "%zu sections", shnum);
	struct secinfo *secs = calloc(shnum ? shnum : 1, sizeof(*secs));
	if (!secs)
		return &vr_error_oom;
	src->secs = secs;
	src->shnum = shnum;

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
	src->symdata = symdata;
	src->strdata = strdata;
	src->n = n;
	/* libelf's native array when it is one (an ELF64 file on this
	 * host): a gelf_getsym() call per symbol costs more than the rest. */
	src->native = gelf_getclass(elf) == ELFCLASS64 && symdata->d_type == ELF_T_SYM && symdata->d_buf &&
		      symdata->d_size / sizeof(Elf64_Sym) >= n;
	return NULL;
}

/* The vmlinux's table from its sections; di, when not NULL, is the
 * debuginfo whose Elf this is (its lock guards the libelf part). */
static struct vr_error *load_vmlinux(Elf *elf, struct vr_debuginfo *di, struct table *t)
{
	struct symtab_src src = { 0 };
	if (di)
		vr_debuginfo_lock(di);
	struct vr_error *err = symtab_sections(elf, &src);
	GElf_Ehdr eh;
	const struct vr_arch *arch = gelf_getehdr(elf, &eh) ? vr_arch_by_machine(eh.e_machine) : NULL;
	if (di)
		vr_debuginfo_unlock(di);
	if (!err && !arch)
		err = vr_error_create(VR_ERR_UNSUPPORTED, "the vmlinux's ELF machine is no architecture vmreport reads");
	if (!err)
		t->image_min = arch->image_min;
	_cleanup_free_ struct secinfo *secs = src.secs;
	if (err)
		return err;
	size_t shnum = src.shnum, n = src.n;
	Elf_Data *symdata = src.symdata, *strdata = src.strdata;

	/* Names point into the string table where it ends in a NUL, as it
	 * does; else into a copy that does. */
	t->syms = malloc((n ? n : 1) * sizeof(*t->syms));
	if (!t->syms)
		return &vr_error_oom;
	t->strings_len = strdata->d_size;
	if (strdata->d_size && ((const char *)strdata->d_buf)[strdata->d_size - 1] == '\0') {
		t->strings = strdata->d_buf;
	} else {
		if (!(t->strings_owned = malloc(strdata->d_size + 1)))
			return &vr_error_oom;
		memcpy(t->strings_owned, strdata->d_buf, strdata->d_size);
		t->strings_owned[strdata->d_size] = '\0';
		t->strings = t->strings_owned;
	}
	t->n = 0;
	bool native = src.native;
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
		bool alloc = s.st_shndx == SHN_ABS || s.st_shndx >= shnum ||
			     (secs[s.st_shndx].flags & SHF_ALLOC);
		if (!alloc)
			continue;
		/* The image is linked at __START_KERNEL_map and moved by KASLR
		 * (the symtab's shift); per-CPU symbols are offsets from 0 and
		 * stay. */
		struct sym *d = &t->syms[t->n];
		d->addr = s.st_value;
		d->size = s.st_size;
		d->name = s.st_name;
		d->type = nm_type(&s, secs, shnum);
		d->prio = PRIO_ELF;
		d->shndx = s.st_shndx;
		d->st_info = s.st_info;
		d->addressable = s.st_shndx != SHN_ABS && s.st_value >= t->image_min;
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
	t->image_min = k->arch->image_min;
	struct vr_error *err = vr_kallsyms_load(k->vmcoreinfo, kallsyms_read_mem, k, k->arch->image_min, &ks);
	if (err)
		return vr_error_wrap(err, "kallsyms");
	/* The dump's BTF parses on another CPU while the table is built. */
	uint64_t btf_start = 0, btf_stop = 0;
	for (size_t i = 0; i < ks.n && !(btf_start && btf_stop); i++) {
		const char *name = ks.names + ks.syms[i].name;
		if (name[0] != '_' || name[1] != '_')
			continue;
		if (!btf_start && !strcmp(name, "__start_BTF"))
			btf_start = ks.syms[i].address;
		else if (!btf_stop && !strcmp(name, "__stop_BTF"))
			btf_stop = ks.syms[i].address;
	}
	if (btf_start && btf_stop)
		vr_types_prefetch_memory_btf(k, btf_start, btf_stop);
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
			/* The kernel answers %pS only within its image
			 * (is_ksym_addr); absolute and per-CPU values are not
			 * code or data addresses. */
			.addressable = type != 'a' && type != 'A' &&
				       ks.syms[i].address >= t->image_min,
		};
	}
	t->n = ks.n;
	t->strings = t->strings_owned = ks.names;
	t->strings_len = ks.names_len;
	free(ks.syms);
	return table_build(t);
}

/* What only the symbols name completes the address space (x86-64: the
 * variables that hold the randomised memory layout, page_offset_base, ...,
 * which VMCOREINFO does not give in 6.1). */
static void refine_layout(struct vr_kernel *k)
{
	if (k->arch && k->arch->refine && k->dump && vr_dump_has_memory(k->dump)) {
		struct vr_error *err = k->arch->refine(k);
		if (err && k->diag)
			vr_diag_warn(k->diag, "address translation: %s", err->message);
		vr_error_destroy(err);
	}
}

/* The vmlinux's table, a product of its debuginfo: built once, read by
 * every dump of the file, with link-time addresses. */
static void vmlinux_table_free(void *p)
{
	table_deinit(p);
	free(p);
}

static struct vr_error *vmlinux_table_build(struct vr_debuginfo *di, void **ret)
{
	struct table *t = calloc(1, sizeof(*t));
	if (!t)
		return &vr_error_oom;
	struct vr_error *err = load_vmlinux(vr_debuginfo_elf(di), di, t);
	if (err) {
		vmlinux_table_free(t);
		return err;
	}
	*ret = t;
	return NULL;
}

static struct vr_error *vmlinux_table(struct vr_debuginfo *di, const struct table **ret)
{
	void *p;
	struct vr_error *err = vr_debuginfo_product(di, VR_DEBUGINFO_SYMBOLS, vmlinux_table_build,
						   vmlinux_table_free, &p);
	if (!err)
		*ret = p;
	return err;
}

struct vr_error *vr_symbols_vmlinux_symbol(struct vr_debuginfo *di, const char *name, uint64_t *ret_value,
					   unsigned *ret_shndx)
{
	const struct table *t = NULL;
	struct vr_error *err = vmlinux_table(di, &t);
	if (err)
		return err;
	const struct sym *s = t ? table_by_name(t, name) : NULL;
	if (!s)
		return vr_error_create(VR_ERR_NOT_FOUND, "no symbol %s in the vmlinux", name);
	*ret_value = s->addr;
	*ret_shndx = s->shndx;
	return NULL;
}

struct vr_error *vr_symbols_load_kernel(struct vr_kernel *k)
{
	struct vr_symtab *st = symtab_get(k);
	if (!st)
		return &vr_error_oom;
	table_deinit(&st->kernel_own);
	st->kernel = NULL;
	st->have_kernel = false;

	struct vr_error *elf_error = NULL;
	st->kernel_shift = 0;
	if (k->vmlinux_elf) {
		/* A kernel put together by hand (tests) may have no debuginfo:
		 * its own table then. */
		if (k->debuginfo) {
			elf_error = vmlinux_table(k->debuginfo, &st->kernel);
		} else {
			elf_error = load_vmlinux(k->vmlinux_elf, NULL, &st->kernel_own);
			if (!elf_error)
				st->kernel = &st->kernel_own;
		}
		if (!elf_error) {
			st->have_kernel = true;
			st->kernel_shift = k->layout.kaslr_offset;
			refine_layout(k);
			return NULL;
		}
		st->kernel = NULL;
		table_deinit(&st->kernel_own);
		elf_error = vr_error_wrap(elf_error, "%s", k->vmlinux_path ? k->vmlinux_path : "vmlinux");
	}
	struct vr_error *err = NULL;
	if (!k->dump || !vr_dump_has_memory(k->dump))
		err = vr_error_create(VR_ERR_UNSUPPORTED, "the input holds no memory to read kallsyms from");
	else
		err = load_kallsyms(k, &st->kernel_own);
	if (!err) {
		st->kernel = &st->kernel_own;
		st->have_kernel = true;
		refine_layout(k);
		/* The vmlinux's failure is still worth a warning; the step
		 * itself succeeded. */
		if (elf_error && k->diag)
			vr_diag_warn(k->diag, "kernel symbols: %s: using kallsyms instead", elf_error->message);
		vr_error_destroy(elf_error);
		return NULL;
	}
	table_deinit(&st->kernel_own);
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
	t.strings = t.strings_owned = malloc(strings + 1);
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
		memcpy(t.strings_owned + t.strings_len, s->name, len + 1);
		char type = s->type ? s->type : '?';
		t.syms[t.n] = (struct sym){
			.addr = s->address,
			.size = s->size,
			.name = (uint32_t)t.strings_len,
			.type = type,
			.prio = s->size == 0,
			.addressable = s->address != 0 && type != 'a' && type != 'A' && type != 'U' &&
				       type != 'u' && type != 'w',
		};
		t.strings_len += len + 1;
		t.n++;
	}
	t.strings_owned[t.strings_len] = '\0';
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
	/* The kernel table's addressable symbols all lie at or above
	 * the image's base, where the shift applies. */
	uint64_t shift = st->kernel_shift;
	const struct sym *s = st->have_kernel && addr >= shift ? table_by_addr(st->kernel, addr - shift)
							       : NULL;
	if (s) {
		fill_symbol(st->kernel, s, shift, ret);
		return true;
	}
	for (size_t i = 0; i < st->n_modules; i++) {
		s = table_by_addr(&st->modules[i], addr);
		if (s) {
			fill_symbol(&st->modules[i], s, 0, ret);
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
	const struct sym *s = st->have_kernel ? table_by_name(st->kernel, name) : NULL;
	if (s) {
		*ret = shifted(st->kernel, s, st->kernel_shift);
		return true;
	}
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
		const struct sym *s = table_by_name(st->kernel, name);
		if (s) {
			fill_symbol(st->kernel, s, st->kernel_shift, ret);
			return NULL;
		}
	}
	for (size_t i = 0; i < st->n_modules; i++) {
		const struct sym *s = table_by_name(&st->modules[i], name);
		if (s) {
			fill_symbol(&st->modules[i], s, 0, ret);
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
	/* Source lines describe the call instruction too; a frame without
	 * them is a frame without them, but out of memory ends the step. */
	vr_kernel_absorb(k, vr_dwarf_source(k, look, f), VR_ERRS_LAYOUT, VR_ERR_IO);
}

bool vr_sym(struct vr_kernel *k, const char *name, uint64_t *ret)
{
	if (k->vmcoreinfo && vr_vmcoreinfo_symbol(k->vmcoreinfo, name, ret))
		return true;
	return vr_symbols_lookup_name(k, name, ret);
}
