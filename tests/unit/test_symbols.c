/* Symbol tables: a small vmlinux written with libelf (KASLR relocation,
 * nm letters, aliases, per-CPU and absolute symbols), module tables,
 * symbolization of return addresses, and the kallsyms decoder over tables
 * built in memory (big symbols, absolute per-CPU offsets). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/internal.h"
#include "engine/kallsyms.h"
#include "engine/x86_64.h"


#include "check.h"

/* ---- a tiny vmlinux ---- */

struct tsym {
	const char *name;
	uint64_t value, size;
	int bind, type, shndx; /* shndx: section number below, or SHN_ABS */
};

enum { S_TEXT = 1, S_DATA, S_BSS, S_PERCPU, S_SYMTAB, S_STRTAB, S_SHSTRTAB, S_N };

static const struct tsym tsyms[] = {
	{"_text", 0xffffffff81000000, 0, STB_GLOBAL, STT_NOTYPE, S_TEXT},
	{"startup_64", 0xffffffff81000000, 0x40, STB_GLOBAL, STT_FUNC, S_TEXT},
	{"_stext", 0xffffffff81000000, 0, STB_GLOBAL, STT_NOTYPE, S_TEXT},
	{"fill_buf.constprop.0", 0xffffffff81000100, 0x80, STB_LOCAL, STT_FUNC, S_TEXT},
	{"do_thing", 0xffffffff81000200, 0x100, STB_GLOBAL, STT_FUNC, S_TEXT},
	{"do_thing.cold", 0xffffffff81000400, 0x20, STB_LOCAL, STT_FUNC, S_TEXT},
	{"weak_fn", 0xffffffff81000500, 0x10, STB_WEAK, STT_FUNC, S_TEXT},
	{"entry_label", 0xffffffff81000600, 0, STB_GLOBAL, STT_NOTYPE, S_TEXT},
	{"counter", 0xffffffff82000000, 8, STB_LOCAL, STT_OBJECT, S_DATA},
	{"counter", 0xffffffff82000010, 8, STB_GLOBAL, STT_OBJECT, S_DATA},
	{"big_buffer", 0xffffffff83000000, 0x1000, STB_GLOBAL, STT_OBJECT, S_BSS},
	{"runqueues", 0x31980, 0x1000, STB_GLOBAL, STT_OBJECT, S_PERCPU},
	{"L4_PAGE_OFFSET", 0x111, 0, STB_LOCAL, STT_NOTYPE, SHN_ABS},
	{"_end", 0xffffffff83001000, 0, STB_GLOBAL, STT_NOTYPE, S_BSS},
};
#define NTSYMS (sizeof(tsyms) / sizeof(tsyms[0]))

static Elf_Scn *add_section(Elf *e, const char *shstr, const char *name, uint32_t type, uint64_t flags,
			    uint64_t addr, void *buf, size_t size, size_t entsize)
{
	Elf_Scn *scn = elf_newscn(e);
	Elf_Data *d = elf_newdata(scn);
	d->d_buf = buf;
	d->d_size = size;
	d->d_type = type == SHT_SYMTAB ? ELF_T_SYM : ELF_T_BYTE;
	d->d_align = 8;
	GElf_Shdr sh;
	gelf_getshdr(scn, &sh);
	sh.sh_name = (uint32_t)(strstr(shstr + 1, name) - shstr);
	sh.sh_type = type;
	sh.sh_flags = flags;
	sh.sh_addr = addr;
	sh.sh_entsize = entsize;
	gelf_update_shdr(scn, &sh);
	return scn;
}

static char shstr[] = "\0.text\0.data\0.bss\0.data..percpu\0.symtab\0.strtab\0.shstrtab";

/* Writes the ELF to fd; returns false on a libelf failure. */
static bool write_vmlinux(int fd)
{
	static char strtab[1024];
	static Elf64_Sym syms[NTSYMS + 1];
	static uint8_t text[16];
	size_t slen = 1;
	for (size_t i = 0; i < NTSYMS; i++) {
		const struct tsym *t = &tsyms[i];
		syms[i + 1] = (Elf64_Sym){
			.st_name = (uint32_t)slen,
			.st_info = (unsigned char)ELF64_ST_INFO(t->bind, t->type),
			.st_shndx = (uint16_t)t->shndx,
			.st_value = t->value,
			.st_size = t->size,
		};
		strcpy(strtab + slen, t->name);
		slen += strlen(t->name) + 1;
	}
	Elf *e = elf_begin(fd, ELF_C_WRITE, NULL);
	if (!e)
		return false;
	Elf64_Ehdr *eh = elf64_newehdr(e);
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_machine = EM_X86_64;
	eh->e_type = ET_EXEC;
	add_section(e, shstr, ".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 0xffffffff81000000, text,
		    sizeof(text), 0);
	add_section(e, shstr, ".data", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 0xffffffff82000000, text,
		    sizeof(text), 0);
	add_section(e, shstr, ".bss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE, 0xffffffff83000000, NULL, 0x2000, 0);
	add_section(e, shstr, ".data..percpu", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 0, text, sizeof(text), 0);
	Elf_Scn *symscn = add_section(e, shstr, ".symtab", SHT_SYMTAB, 0, 0, syms, sizeof(syms), sizeof(Elf64_Sym));
	add_section(e, shstr, ".strtab", SHT_STRTAB, 0, 0, strtab, slen, 0);
	Elf_Scn *shs = add_section(e, shstr, ".shstrtab", SHT_STRTAB, 0, 0, shstr, sizeof(shstr), 0);
	GElf_Shdr sh;
	gelf_getshdr(symscn, &sh);
	sh.sh_link = S_STRTAB;
	sh.sh_info = 1;
	gelf_update_shdr(symscn, &sh);
	eh->e_shstrndx = (uint16_t)elf_ndxscn(shs);
	bool ok = elf_update(e, ELF_C_WRITE) >= 0;
	elf_end(e);
	return ok;
}

static void expect_addr(struct vr_kernel *k, uint64_t addr, const char *name, uint64_t symaddr)
{
	struct vr_symbol s;
	bool found = vr_symbols_lookup_addr(k, addr, &s);
	if (!name) {
		CHECK(!found, "0x%" PRIx64 ": expected no symbol, got %s", addr, found ? s.name : "");
		return;
	}
	CHECK(found, "0x%" PRIx64 ": expected %s, got nothing", addr, name);
	if (found)
		CHECK(!strcmp(s.name, name) && s.address == symaddr, "0x%" PRIx64 ": expected %s@0x%" PRIx64
		      ", got %s@0x%" PRIx64, addr, name, symaddr, s.name, s.address);
}

static void test_vmlinux(void)
{
	char path[] = "/tmp/vr-test-symbols-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0, "mkstemp");
	if (fd < 0)
		return;
	elf_version(EV_CURRENT);
	bool ok = write_vmlinux(fd);
	CHECK(ok, "writing the test ELF: %s", elf_errmsg(-1));
	Elf *e = ok ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	CHECK(e, "reopening the test ELF");
	if (!e) {
		close(fd);
		unlink(path);
		return;
	}
	const uint64_t kaslr = 0x1e000000;
	struct vr_kernel k = {0};
	k.vmlinux_elf = e;
	k.arch = &vr_arch_x86_64;
	k.layout.kaslr_offset = kaslr;
	struct vr_error *err = vr_symbols_load_kernel(&k);
	CHECK(!err, "loading: %s", err ? err->message : "");
	vr_error_destroy(err);

	uint64_t a = 0;
	CHECK(vr_symbols_lookup_name(&k, "do_thing", &a) && a == 0xffffffff81000200 + kaslr, "do_thing by name");
	CHECK(vr_symbols_lookup_name(&k, "runqueues", &a) && a == 0x31980, "per-cpu not relocated: 0x%" PRIx64, a);
	CHECK(vr_symbols_lookup_name(&k, "L4_PAGE_OFFSET", &a) && a == 0x111, "absolute by name");
	CHECK(vr_symbols_lookup_name(&k, "counter", &a) && a == 0xffffffff82000010 + kaslr,
	      "global wins a shared name: 0x%" PRIx64, a);
	CHECK(!vr_symbols_lookup_name(&k, "nothing", &a), "unknown name found");
	err = vr_kernel_symbol_address(&k, "nothing", &a);
	CHECK(err && err->code == VR_ERR_NOT_FOUND, "unknown name not NOT_FOUND");
	vr_error_destroy(err);

	/* Aliases at one address: the sized function wins over markers. */
	expect_addr(&k, 0xffffffff81000000 + kaslr, "startup_64", 0xffffffff81000000 + kaslr);
	expect_addr(&k, 0xffffffff81000123 + kaslr, "fill_buf.constprop.0", 0xffffffff81000100 + kaslr);
	/* Past the end of a sized function, in padding: no symbol. */
	expect_addr(&k, 0xffffffff81000190 + kaslr, NULL, 0);
	expect_addr(&k, 0xffffffff81000410 + kaslr, "do_thing.cold", 0xffffffff81000400 + kaslr);
	/* A size-0 label covers up to the next symbol. */
	expect_addr(&k, 0xffffffff81000677 + kaslr, "entry_label", 0xffffffff81000600 + kaslr);
	/* Not relocated: the link-time address is not the kernel's. */
	expect_addr(&k, 0xffffffff81000200, NULL, 0);
	/* Per-CPU offsets and absolute values never answer addresses. */
	expect_addr(&k, 0x31990, NULL, 0);
	expect_addr(&k, 0x111, NULL, 0);
	expect_addr(&k, 0xffffffff83001000 + kaslr, "_end", 0xffffffff83001000 + kaslr);
	expect_addr(&k, 0xffffffff83001001 + kaslr, NULL, 0);

	/* nm letters. */
	struct vr_symbol s;
	if (vr_symbols_lookup_addr(&k, 0xffffffff81000200 + kaslr, &s))
		CHECK(s.type == 'T' && s.size == 0x100 && !s.module, "do_thing: type %c size 0x%" PRIx64, s.type, s.size);
	if (vr_symbols_lookup_addr(&k, 0xffffffff81000100 + kaslr, &s))
		CHECK(s.type == 't', "local function type %c", s.type);
	if (vr_symbols_lookup_addr(&k, 0xffffffff81000500 + kaslr, &s))
		CHECK(s.type == 'W', "weak function type %c", s.type);
	if (vr_symbols_lookup_addr(&k, 0xffffffff82000000 + kaslr, &s))
		CHECK(s.type == 'd', "local data type %c", s.type);
	if (vr_symbols_lookup_addr(&k, 0xffffffff83000000 + kaslr, &s))
		CHECK(s.type == 'B', "bss type %c", s.type);

	/* A label without a size gets the distance to the next symbol. */
	if (vr_symbols_lookup_addr(&k, 0xffffffff81000677 + kaslr, &s))
		CHECK(s.size == 0xfffa00, "label size 0x%" PRIx64, s.size);

	/* Module symbols live beside the kernel's. */
	const struct vr_symbol msyms[] = {
		{"mod_init", 0xffffffffc0001000, 0x40, NULL, 't'},
		{"mod_oops", 0xffffffffc0001040, 0x30, NULL, 'T'},
		{"do_thing", 0xffffffffc0002000, 0x10, NULL, 't'},
		{"__crc_x", 0x12345678, 0, NULL, 'A'},
	};
	err = vr_symbols_add_module(&k, "buggy", msyms, 4);
	CHECK(!err, "add module: %s", err ? err->message : "");
	vr_error_destroy(err);
	expect_addr(&k, 0xffffffffc0001050, "mod_oops", 0xffffffffc0001040);
	expect_addr(&k, 0xffffffffc0001070, NULL, 0);
	if (vr_symbols_lookup_addr(&k, 0xffffffffc0001041, &s))
		CHECK(s.module && !strcmp(s.module, "buggy"), "module name");
	CHECK(vr_symbols_lookup_name(&k, "do_thing", &a) && a == 0xffffffff81000200 + kaslr,
	      "kernel first for names");
	CHECK(vr_symbols_lookup_name(&k, "mod_init", &a) && a == 0xffffffffc0001000, "module name lookup");

	/* A return address just past a call that ends its function belongs to
	 * that function; the offset is the address's own. */
	struct vr_frame f = {.address = 0xffffffff81000180 + kaslr};
	vr_kernel_symbolize(&k, &f, true);
	CHECK(f.symbol && !strcmp(f.symbol, "fill_buf.constprop.0") && f.offset == 0x80 && f.size == 0x80,
	      "return address: %s+0x%" PRIx64 "/0x%" PRIx64, f.symbol ? f.symbol : "(null)", f.offset, f.size);
	vr_frame_deinit(&f);
	struct vr_frame g = {.address = 0xffffffffc0001045};
	vr_kernel_symbolize(&k, &g, false);
	CHECK(g.symbol && !strcmp(g.symbol, "mod_oops") && g.offset == 5 && g.module && !strcmp(g.module, "buggy"),
	      "module frame: %s [%s]", g.symbol ? g.symbol : "(null)", g.module ? g.module : "(null)");
	vr_frame_deinit(&g);

	vr_symtab_destroy(k.symtab);
	vr_dwarf_destroy(k.dwarf);
	elf_end(e);
	close(fd);
	unlink(path);
}

/* ---- kallsyms tables in memory ---- */

#define KBASE 0xffffffff82000000ull
static uint8_t kmem[0x40000];

static struct vr_error *kread(void *arg, uint64_t vaddr, void *buf, size_t len)
{
	(void)arg;
	if (vaddr < KBASE || vaddr - KBASE > sizeof(kmem) || len > sizeof(kmem) - (vaddr - KBASE))
		return vr_error_create(VR_ERR_FAULT, "0x%" PRIx64 ": not mapped", vaddr);
	memcpy(buf, kmem + (vaddr - KBASE), len);
	return NULL;
}

static void put32(size_t off, uint32_t v)
{
	memcpy(kmem + off, &v, 4);
}

static void put64(size_t off, uint64_t v)
{
	memcpy(kmem + off, &v, 8);
}

enum {
	O_NUM = 0,
	O_INDEX = 0x100,
	O_TOKENS = 0x400,
	O_NAMES = 0x1000,
	O_OFFSETS = 0x8000,
	O_BASE = 0x9000,
	O_RELOFFSETS = 0xa000, /* without ABSOLUTE_PERCPU */
	O_ADDRESSES = 0xb000,  /* without BASE_RELATIVE */
};

static void test_kallsyms(void)
{
	memset(kmem, 0, sizeof(kmem));
	/* Tokens: printable characters stand for themselves; 1..3 are
	 * multi-character tokens as scripts/kallsyms.c builds. */
	const char *multi[4] = {NULL, "_do", "constprop", "start"};
	size_t tpos = 0;
	uint16_t index[256];
	for (int i = 0; i < 256; i++) {
		char tok[16] = "";
		if (i >= 1 && i <= 3)
			strcpy(tok, multi[i]);
		else if (i >= 0x20 && i < 0x7f)
			tok[0] = (char)i;
		index[i] = (uint16_t)tpos;
		memcpy(kmem + O_TOKENS + tpos, tok, strlen(tok) + 1);
		tpos += strlen(tok) + 1;
	}
	memcpy(kmem + O_INDEX, index, sizeof(index));

	char big[220];
	memset(big, 'x', sizeof(big) - 1);
	big[0] = 't';
	big[sizeof(big) - 1] = '\0';
	const uint64_t base = 0xffffffff9e000000ull;
	struct {
		const char *name; /* with type letter */
		uint64_t addr;
	} in[] = {
		{"Dfixed_percpu_data", 0},
		{"Drunqueues", 0x31980},
		{"T_stext", base},
		{"Tstartup_64", base},
		{"tfoo.constprop.0", base + 0x100},
		{"T_do_bar", base + 0x180},
		{big, base + 0x200},
		{"B_end", base + 0x1000},
	};
	size_t n = sizeof(in) / sizeof(in[0]);
	put32(O_NUM, (uint32_t)n);
	put64(O_BASE, base);
	size_t pos = O_NAMES;
	for (size_t i = 0; i < n; i++) {
		uint8_t toks[256];
		size_t nt = 0;
		for (const char *p = in[i].name; *p;) {
			int hit = 0;
			for (int m = 1; m <= 3 && !hit; m++)
				if (!strncmp(p, multi[m], strlen(multi[m]))) {
					toks[nt++] = (uint8_t)m;
					p += strlen(multi[m]);
					hit = 1;
				}
			if (!hit)
				toks[nt++] = (uint8_t)*p++;
		}
		if (nt > 127) { /* "big" symbol: two length bytes */
			kmem[pos++] = (uint8_t)(0x80 | (nt & 0x7f));
			kmem[pos++] = (uint8_t)(nt >> 7);
		} else
			kmem[pos++] = (uint8_t)nt;
		memcpy(kmem + pos, toks, nt);
		pos += nt;
		/* ABSOLUTE_PERCPU: per-CPU values as is, others base - 1 - off. */
		int32_t off = in[i].addr < 0x100000 ? (int32_t)in[i].addr : (int32_t)(-1 - (int64_t)(in[i].addr - base));
		put32(O_OFFSETS + 4 * i, (uint32_t)off);
		put64(O_ADDRESSES + 8 * i, in[i].addr);
		/* Plain relative offsets cannot express per-CPU values below the
		 * base: those kernels have them relative too; use the base. */
		put32(O_RELOFFSETS + 4 * i, in[i].addr < 0x100000 ? 0 : (uint32_t)(in[i].addr - base));
	}

	struct vr_kallsyms_tables t = {
		.num_syms = KBASE + O_NUM,
		.names = KBASE + O_NAMES,
		.token_table = KBASE + O_TOKENS,
		.token_index = KBASE + O_INDEX,
		.offsets = KBASE + O_OFFSETS,
		.relative_base = KBASE + O_BASE,
	};
	struct vr_kallsyms ks;
	struct vr_error *err = vr_kallsyms_read(&t, kread, NULL, &ks);
	CHECK(!err, "kallsyms: %s", err ? err->message : "");
	if (err) {
		vr_error_destroy(err);
		return;
	}
	CHECK(ks.n == n, "kallsyms: %zu symbols", ks.n);
	for (size_t i = 0; i < ks.n && i < n; i++) {
		const char *name = ks.names + ks.syms[i].name;
		CHECK(ks.syms[i].type == in[i].name[0] && !strcmp(name, in[i].name + 1) &&
			      ks.syms[i].address == in[i].addr,
		      "kallsyms %zu: %c %s 0x%" PRIx64, i, ks.syms[i].type, name, ks.syms[i].address);
	}
	vr_kallsyms_deinit(&ks);

	/* Older layouts: offsets relative to the base only, and absolute
	 * addresses (no CONFIG_KALLSYMS_BASE_RELATIVE). */
	for (int layout = 0; layout < 2; layout++) {
		struct vr_kallsyms_tables t2 = t;
		if (layout == 0)
			t2.offsets = KBASE + O_RELOFFSETS;
		else
			t2.offsets = t2.relative_base = 0, t2.addresses = KBASE + O_ADDRESSES;
		err = vr_kallsyms_read(&t2, kread, NULL, &ks);
		CHECK(!err, "kallsyms layout %d: %s", layout, err ? err->message : "");
		if (err) {
			vr_error_destroy(err);
			continue;
		}
		for (size_t i = 0; i < ks.n && i < n; i++) {
			uint64_t want = layout == 0 && in[i].addr < 0x100000 ? base : in[i].addr;
			CHECK(ks.syms[i].address == want, "layout %d symbol %zu at 0x%" PRIx64, layout, i,
			      ks.syms[i].address);
		}
		vr_kallsyms_deinit(&ks);
	}

	/* Hostile: a symbol count beyond any kernel's. */
	put32(O_NUM, 0xffffffff);
	err = vr_kallsyms_read(&t, kread, NULL, &ks);
	CHECK(err && err->code == VR_ERR_LIMIT, "huge count accepted");
	vr_error_destroy(err);
	/* Hostile: names that run off the mapped memory. */
	put32(O_NUM, 100000);
	err = vr_kallsyms_read(&t, kread, NULL, &ks);
	CHECK(err, "runaway names accepted");
	vr_error_destroy(err);
}

/* ---- kallsyms tables found by their content ---- */

static size_t align8(size_t x)
{
	return (x + 7) & ~(size_t)7;
}

static size_t align4(size_t x)
{
	return (x + 3) & ~(size_t)3;
}

enum layout { BEFORE_6_4, SINCE_6_4, SINCE_7_0 };

/* Lays out N symbols "tsym_<i>" (the first is _stext at KBASE) as
 * scripts/kallsyms.c does in each layout, starting at kmem offset at;
 * returns the address table's offset. Tokens are single characters. */
static size_t lay_out_kallsyms(size_t at, size_t n, enum layout layout)
{
	bool new_order = layout != BEFORE_6_4, pc_relative = layout == SINCE_7_0;
	size_t (*align)(size_t) = pc_relative ? align4 : align8;
	memset(kmem, 0, sizeof(kmem));
	uint8_t names[16384];
	uint32_t markers[64];
	size_t nlen = 0;
	for (size_t i = 0; i < n; i++) {
		char name[32];
		if (i == 0)
			snprintf(name, sizeof(name), "T_stext");
		else
			snprintf(name, sizeof(name), "tsym_%zu", i);
		if (i % 256 == 0)
			markers[i / 256] = (uint32_t)nlen;
		names[nlen++] = (uint8_t)strlen(name);
		memcpy(names + nlen, name, strlen(name));
		nlen += strlen(name);
	}
	size_t nmarkers = (n + 255) / 256;
	char tokens[1024];
	uint16_t index[256];
	size_t tlen = 0;
	for (int i = 0; i < 256; i++) {
		index[i] = (uint16_t)tlen;
		/* Token i is character i where printable, else "~" and a letter. */
		if (i >= 0x20 && i < 0x7f)
			tokens[tlen++] = (char)i;
		else
			tokens[tlen++] = '~', tokens[tlen++] = (char)('a' + i % 26);
		tokens[tlen++] = '\0';
	}
	size_t pos = at, offsets = 0;
#define PUT(bytes, len) (memcpy(kmem + pos, (bytes), (len)), pos = align(pos + (len)))
	if (!new_order) {
		offsets = pos;
		pos = align8(pos + 4 * n);
		put64(pos, KBASE);
		pos += 8;
	}
	put32(pos, (uint32_t)n);
	pos += pc_relative ? 4 : 8;
	PUT(names, nlen);
	PUT(markers, 4 * nmarkers);
	PUT(tokens, tlen);
	PUT(index, sizeof(index));
	if (new_order) {
		offsets = pos;
		pos = align8(pos + 4 * n);
		if (!pc_relative)
			put64(pos, KBASE);
	}
#undef PUT
	for (size_t i = 0; i < n; i++) {
		uint64_t addr = KBASE + 0x10 * i;
		put32(offsets + 4 * i, pc_relative ? (uint32_t)(addr - (KBASE + offsets + 4 * i)) : (uint32_t)(0x10 * i));
	}
	return offsets;
}

static void test_kallsyms_search(void)
{
	for (int order = BEFORE_6_4; order <= SINCE_7_0; order++) {
		size_t n = 700;
		lay_out_kallsyms(0x3000 + 8 * (size_t)order, n, (enum layout)order);
		struct vr_kallsyms_tables t;
		struct vr_kallsyms ks;
		struct vr_error *err = vr_kallsyms_search(kread, NULL, KBASE, VR_X86_64_START_KERNEL_MAP, &t, &ks);
		CHECK(!err, "kallsyms search, order %d: %s", order, err ? err->message : "");
		if (err) {
			vr_error_destroy(err);
			continue;
		}
		size_t names = order == SINCE_7_0 ? 4 : order == SINCE_6_4 ? 8 : align8(4 * n) + 16;
		CHECK(ks.n == n && t.names == KBASE + 0x3000 + 8 * (size_t)order + names &&
			      t.pc_relative == (order == SINCE_7_0),
		      "order %d: %zu symbols, names at 0x%" PRIx64, order, ks.n, t.names);
		for (size_t i = 1; i < ks.n; i += 97) {
			char want[32];
			snprintf(want, sizeof(want), "sym_%zu", i);
			CHECK(!strcmp(ks.names + ks.syms[i].name, want) && ks.syms[i].address == KBASE + 0x10 * i &&
				      ks.syms[i].type == 't',
			      "order %d symbol %zu: %s at 0x%" PRIx64, order, i, ks.names + ks.syms[i].name,
			      ks.syms[i].address);
		}
		vr_kallsyms_deinit(&ks);

		/* The same tables, but VMCOREINFO's _stext elsewhere: not the
		 * kernel's, so not taken. */
		err = vr_kallsyms_search(kread, NULL, KBASE + 0x100, VR_X86_64_START_KERNEL_MAP, &t, &ks);
		CHECK(err && err->code == VR_ERR_NOT_FOUND, "order %d: tables taken for another _stext", order);
		vr_error_destroy(err);
	}

	/* A marker out of order: no tables, no crash. */
	size_t n = 600;
	lay_out_kallsyms(0x3000, n, BEFORE_6_4);
	for (size_t o = 0; o + 4 <= sizeof(kmem); o += 4) {
		uint32_t v;
		memcpy(&v, kmem + o, 4);
		if (v == 0 && o >= 4) {
			uint32_t next;
			memcpy(&next, kmem + o + 4, 4);
			/* the first marker is 0, the second the bytes of 256 names */
			if (next > 256 * 2 && next < 256 * 20) {
				put32(o + 4, 0xfffffff0);
				break;
			}
		}
	}
	struct vr_kallsyms_tables t;
	struct vr_kallsyms ks;
	struct vr_error *err = vr_kallsyms_search(kread, NULL, KBASE, VR_X86_64_START_KERNEL_MAP, &t, &ks);
	CHECK(err && err->code == VR_ERR_NOT_FOUND, "broken markers accepted");
	vr_error_destroy(err);
}

int main(void)
{
	test_vmlinux();
	test_kallsyms();
	test_kallsyms_search();
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures != 0;
}
