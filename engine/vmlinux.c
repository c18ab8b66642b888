/* Finding the vmlinux of the crashed kernel and checking that it is that
 * kernel's.
 *
 * Evidence, strongest first:
 *   - the GNU build ID: VMCOREINFO's BUILD-ID (written since v5.9 by
 *     "kdump: append kernel build-id string to VMCOREINFO", as
 *     vmcoreinfo_append_str("BUILD-ID=%20phN") in kernel/crash_core.c) against
 *     the vmlinux's NT_GNU_BUILD_ID note;
 *   - linux_banner ("Linux version REL (builder) #N SMP ... DATE"), read from
 *     the vmlinux's .rodata and from the dump's memory at the same symbol
 *     (plus the KASLR offset): equal banners carry the same build number and
 *     date;
 *   - the release in the vmlinux's banner against VMCOREINFO's OSRELEASE.
 * A vmlinux that contradicts the dump is reported with its evidence and not
 * used: wrong symbols and layouts would make every later answer wrong. */
#define _GNU_SOURCE
#include <ctype.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debuginfo.h"
#include "file.h"
#include "internal.h"

#define BANNER_MAX 512
#define BUILD_ID_MAX 64
#define MAX_EVIDENCE 16
#define SYMTAB_MAX_SYMBOLS (8u << 20)

struct candidate {
	char *path;
	int fd;
	Elf *elf;
	struct vr_debuginfo *debuginfo;
	char build_id[2 * BUILD_ID_MAX + 1]; /* hex, "" when none */
	const char *match;
	char *evidence[MAX_EVIDENCE];
	size_t n_evidence;
	bool confirmed_by_build_id;
};

static void candidate_deinit(struct candidate *c)
{
	vr_debuginfo_put(c->debuginfo);
	if (c->elf)
		elf_end(c->elf);
	if (c->fd >= 0)
		close(c->fd);
	free(c->path);
	for (size_t i = 0; i < c->n_evidence; i++)
		free(c->evidence[i]);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void evidence(struct candidate *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void evidence(struct candidate *c, const char *fmt, ...)
{
	if (c->n_evidence >= MAX_EVIDENCE)
		return;
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s)
		c->evidence[c->n_evidence++] = s;
}

/* Copies s with anything unprintable replaced, for messages. */
static void printable(char *dst, size_t cap, const char *s)
{
	size_t i = 0;
	for (; s[i] && i + 1 < cap; i++)
		dst[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	dst[i] = 0;
	/* Drop the banner's trailing newline. */
	while (i > 0 && dst[i - 1] == '?' && s[i - 1] == '\n')
		dst[--i] = 0;
}

/* ---- reading the vmlinux ---- */

static void read_build_id(Elf *elf, char *hex)
{
	hex[0] = 0;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;
		while (off < d->d_size && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
			    memcmp((char *)d->d_buf + name_off, "GNU", 4) != 0)
				continue;
			if (nh.n_descsz == 0 || nh.n_descsz > BUILD_ID_MAX)
				continue;
			const uint8_t *p = (const uint8_t *)d->d_buf + desc_off;
			for (size_t i = 0; i < nh.n_descsz; i++)
				sprintf(hex + 2 * i, "%02x", p[i]);
			return;
		}
	}
}

/* Value and section of a symbol in .symtab, by a pass over it: for a
 * vmlinux that will not be used, whose symbol table is not worth
 * building. */
static bool elf_symbol(Elf *elf, const char *name, GElf_Sym *ret)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		size_t n = sh.sh_size / sh.sh_entsize;
		if (n > SYMTAB_MAX_SYMBOLS)
			n = SYMTAB_MAX_SYMBOLS;
		/* The names are compared in place in the string table (what
		 * elf_strptr() would return, NUL inside the section), and the
		 * symbols read from libelf's native array when it is one: a
		 * call per symbol of ~100k was most of the check's time. */
		Elf_Scn *strscn = elf_getscn(elf, sh.sh_link);
		GElf_Shdr strsh;
		Elf_Data *sd = strscn ? elf_getdata(strscn, NULL) : NULL;
		if (!sd || !sd->d_buf || !gelf_getshdr(strscn, &strsh) || strsh.sh_type != SHT_STRTAB)
			continue;
		size_t len = strlen(name);
		bool native = gelf_getclass(elf) == ELFCLASS64 && d->d_type == ELF_T_SYM && d->d_buf;
		if (native && n > d->d_size / sizeof(Elf64_Sym))
			n = d->d_size / sizeof(Elf64_Sym);
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			if (native)
				sym = ((const Elf64_Sym *)d->d_buf)[i];
			else if (!gelf_getsym(d, (int)i, &sym))
				break;
			if (sym.st_name < sd->d_size && sd->d_size - sym.st_name > len &&
			    memcmp((const char *)sd->d_buf + sym.st_name, name, len + 1) == 0) {
				*ret = sym;
				return true;
			}
		}
	}
	return false;
}

/* linux_banner as the vmlinux file holds it. */
static bool vmlinux_banner(Elf *elf, const GElf_Sym *sym, char *buf)
{
	Elf_Scn *scn = elf_getscn(elf, sym->st_shndx);
	GElf_Shdr sh;
	if (!scn || !gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
		return false;
	if (sym->st_value < sh.sh_addr || sym->st_value - sh.sh_addr >= sh.sh_size)
		return false;
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf)
		return false;
	uint64_t off = sym->st_value - sh.sh_addr;
	if (off >= d->d_size)
		return false;
	size_t n = d->d_size - off;
	if (n > BANNER_MAX - 1)
		n = BANNER_MAX - 1;
	memcpy(buf, (const char *)d->d_buf + off, n);
	buf[n] = 0;
	return strncmp(buf, "Linux version ", 14) == 0;
}

/* The release word of a banner: "Linux version REL (...". */
static void banner_release(const char *banner, char *rel, size_t cap)
{
	rel[0] = 0;
	if (strncmp(banner, "Linux version ", 14) != 0)
		return;
	const char *p = banner + 14;
	size_t n = strcspn(p, " \n");
	if (n >= cap)
		n = cap - 1;
	memcpy(rel, p, n);
	rel[n] = 0;
}

/* ---- the check ---- */

static void check(struct vr_kernel *k, struct candidate *c)
{
	const char *dump_bid = k->vmcoreinfo ? vr_vmcoreinfo_get(k->vmcoreinfo, "BUILD-ID") : NULL;
	const char *osrel = k->vmcoreinfo ? vr_vmcoreinfo_get(k->vmcoreinfo, "OSRELEASE") : NULL;
	bool contradiction = false, confirmed = false;

	if (dump_bid && *dump_bid && c->build_id[0]) {
		/* VMCOREINFO prints the 20-byte ID; compare case-insensitively
		 * and only as far as the dump's copy goes. */
		if (strcasecmp(dump_bid, c->build_id) == 0) {
			evidence(c, "build-id %s equals the dump's BUILD-ID", c->build_id);
			confirmed = c->confirmed_by_build_id = true;
		} else {
			char shown[2 * BUILD_ID_MAX + 1];
			printable(shown, sizeof(shown), dump_bid);
			evidence(c, "build-id %s differs from the dump's BUILD-ID %s", c->build_id, shown);
			contradiction = true;
		}
	} else if (!c->build_id[0]) {
		evidence(c, "the vmlinux has no GNU build-id note");
	} else if (!k->vmcoreinfo) {
		evidence(c, "the dump carries no VMCOREINFO to compare the build-id with");
	} else {
		evidence(c, "the dump has no BUILD-ID in VMCOREINFO (kernels before 5.9 do not write it)");
	}

	char banner[BANNER_MAX] = "", rel[128] = "";
	/* Through the symbol table the vmlinux's debuginfo builds, which a
	 * used vmlinux needs anyway; one the build ID rules out is searched
	 * instead. */
	GElf_Sym sym = { 0 };
	bool have_sym;
	if (contradiction || !c->debuginfo) {
		have_sym = elf_symbol(c->elf, "linux_banner", &sym);
	} else {
		uint64_t value;
		unsigned shndx;
		have_sym = !vr_kernel_absorb(k, vr_symbols_vmlinux_symbol(c->debuginfo, "linux_banner", &value, &shndx),
					     VR_ERRS_LAYOUT, VR_ERR_IO);
		if (have_sym) {
			sym.st_value = value;
			sym.st_shndx = (Elf64_Section)shndx;
		}
	}
	bool have_banner = have_sym && vmlinux_banner(c->elf, &sym, banner);
	if (have_banner)
		banner_release(banner, rel, sizeof(rel));
	if (osrel && *osrel && rel[0]) {
		char shown[128];
		printable(shown, sizeof(shown), osrel);
		if (strcmp(osrel, rel) == 0) {
			evidence(c, "release %s in the vmlinux's linux_banner equals the dump's OSRELEASE",
				 rel);
		} else {
			evidence(c, "release %s in the vmlinux's linux_banner differs from the dump's OSRELEASE %s",
				 rel, shown);
			contradiction = true;
		}
	} else if (!have_banner) {
		evidence(c, "the vmlinux holds no readable linux_banner");
	}

	if (have_sym && vr_kernel_has_memory(k) && !k->layout_ready) {
		/* Without the address space (and its KASLR offset) a read at
		 * the symbol proves nothing either way. */
		evidence(c, "linux_banner not compared: the dump's address space is not established");
	} else if (have_sym && vr_kernel_has_memory(k)) {
		/* The vmlinux is linked at the unrandomized address. */
		uint64_t addr = sym.st_value + k->layout.kaslr_offset;
		char mem[BANNER_MAX];
		struct vr_error *err = vr_read_string(k, addr, mem, sizeof(mem));
		if (err) {
			evidence(c, "linux_banner could not be read from the dump at 0x%llx: %s",
				 (unsigned long long)addr, err->message);
			vr_error_destroy(err);
		} else if (have_banner) {
			if (strcmp(mem, banner) == 0) {
				evidence(c, "linux_banner in the dump equals the vmlinux's");
				confirmed = true;
			} else if (strncmp(mem, "Linux version ", 14) != 0) {
				evidence(c, "linux_banner in the dump differs: no \"Linux version\" banner at 0x%llx",
					 (unsigned long long)addr);
				contradiction = true;
			} else {
				char a[120], b[120];
				printable(a, sizeof(a), mem);
				printable(b, sizeof(b), banner);
				evidence(c, "linux_banner in the dump differs: \"%s\" in the dump, \"%s\" in the vmlinux",
					 a, b);
				contradiction = true;
			}
		} else if (osrel && *osrel) {
			char mrel[128];
			banner_release(mem, mrel, sizeof(mrel));
			if (strcmp(mrel, osrel) != 0) {
				char a[160];
				printable(a, sizeof(a), mem);
				evidence(c, "linux_banner at the vmlinux's address does not name the dump's release: \"%s\"",
					 a);
				contradiction = true;
			}
		}
	}

	/* A matching build ID settles it; a differing one, or a banner or
	 * release that differs, rules the file out. */
	if (c->confirmed_by_build_id)
		c->match = "yes";
	else if (contradiction)
		c->match = "no";
	else if (confirmed)
		c->match = "yes";
	else
		c->match = "unknown";
}

static struct vr_error *candidate_open(struct vr_kernel *k, const char *path, struct candidate *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->path = vr_strdup(path);
	if (!c->path)
		return &vr_error_oom;
	uint64_t size;
	struct vr_error *err = vr_file_open(path, &c->fd, &size);
	if (err)
		return err;
	if (!size)
		return vr_error_create(VR_ERR_FORMAT, "%s: is an empty file, not a vmlinux", path);
	c->elf = elf_begin(c->fd, ELF_C_READ_MMAP, NULL);
	if (!c->elf || elf_kind(c->elf) != ELF_K_ELF)
		return vr_error_create(VR_ERR_FORMAT, "%s: not an ELF file, not a vmlinux", path);
	GElf_Ehdr eh;
	if (!gelf_getehdr(c->elf, &eh))
		return vr_error_create(VR_ERR_FORMAT, "%s: %s", path, elf_errmsg(-1));
	/* An input without an architecture of its own (a log that names
	 * none, or no dump at all) takes the vmlinux's. */
	if (!k->arch && !(k->arch = vr_arch_by_machine(eh.e_machine)))
		return vr_error_create(VR_ERR_UNSUPPORTED, "%s: an ELF file of machine %u, no architecture vmreport reads",
				       path, (unsigned)eh.e_machine);
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != k->arch->e_machine)
		return vr_error_create(VR_ERR_UNSUPPORTED, "%s: not an %s ELF64 file", path, k->arch->info->label);
	if (eh.e_type != ET_EXEC)
		return vr_error_create(VR_ERR_FORMAT, "%s: an ELF %s, not a vmlinux (an executable)", path,
				       eh.e_type == ET_DYN ? "shared object or program" :
				       eh.e_type == ET_REL ? "object file" :
				       eh.e_type == ET_CORE ? "core file" : "file");
	read_build_id(c->elf, c->build_id);
	return vr_debuginfo_get(k->debuginfo_cache, path, c->fd, c->build_id, &c->debuginfo);
}

/* Moves the candidate's facts into k->input; when use, the file too. */
static void adopt(struct vr_kernel *k, struct candidate *c, bool use)
{
	struct vr_input_info *in = &k->input;
	if (strcmp(c->match, "no") == 0) {
		/* Name the decisive evidence first. */
		for (size_t i = 0; i < c->n_evidence; i++)
			if (strstr(c->evidence[i], "differ")) {
				char *t = c->evidence[0];
				c->evidence[0] = c->evidence[i];
				c->evidence[i] = t;
				break;
			}
	}
	free(in->vmlinux_path);
	free(in->vmlinux_build_id);
	for (size_t i = 0; i < in->n_vmlinux_evidence; i++)
		free(in->vmlinux_evidence[i]);
	free(in->vmlinux_evidence);
	in->vmlinux_path = vr_strdup(c->path);
	in->vmlinux_build_id = c->build_id[0] ? vr_strdup(c->build_id) : NULL;
	in->vmlinux_match = c->match;
	in->n_vmlinux_evidence = 0;
	in->vmlinux_evidence = calloc(c->n_evidence ? c->n_evidence : 1, sizeof(char *));
	if (in->vmlinux_evidence) {
		for (size_t i = 0; i < c->n_evidence; i++) {
			in->vmlinux_evidence[i] = c->evidence[i];
			c->evidence[i] = NULL;
		}
		in->n_vmlinux_evidence = c->n_evidence;
	}
	if (use) {
		k->vmlinux_path = c->path;
		k->vmlinux_fd = c->fd;
		k->vmlinux_elf = c->elf;
		k->debuginfo = c->debuginfo;
		c->path = NULL;
		c->fd = -1;
		c->elf = NULL;
		c->debuginfo = NULL;
	}
}

/* A release string safe to put in a path. */
static bool release_ok(const char *rel)
{
	if (!rel || !*rel || strlen(rel) > 64 || strstr(rel, ".."))
		return false;
	for (const char *p = rel; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-_+~", *p))
			return false;
	return true;
}

static bool hex_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 4 || n > 2 * BUILD_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static void path_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

struct vr_error *vr_vmlinux_attach(struct vr_kernel *k, const char *explicit_path,
				   bool no_discovery)
{
	k->input.vmlinux_match = "unknown";
	if (explicit_path) {
		struct candidate c;
		struct vr_error *err = candidate_open(k, explicit_path, &c);
		if (err) {
			candidate_deinit(&c);
			vr_diag_warn(k->diag, "vmlinux %s not used: %s", explicit_path, err->message);
			return err;
		}
		check(k, &c);
		bool use = strcmp(c.match, "no") != 0;
		if (!use)
			vr_diag_warn(k->diag,
				     "vmlinux %s does not belong to the dump and is not used",
				     c.path);
		else if (strcmp(c.match, "unknown") == 0)
			vr_diag_warn(k->diag,
				     "vmlinux %s is used but could not be confirmed to match the dump: %s",
				     c.path, c.n_evidence ? c.evidence[0] : "no evidence either way");
		adopt(k, &c, use);
		candidate_deinit(&c);
		return NULL;
	}
	if (no_discovery) {
		vr_diag_warn(k->diag, "no vmlinux given and the search for one is off; symbols come "
				      "from kallsyms and types from in-memory BTF, without source lines");
		return NULL;
	}

	const char *rel = k->vmcoreinfo ? vr_vmcoreinfo_get(k->vmcoreinfo, "OSRELEASE") : NULL;
	if (!release_ok(rel) && k->dump) {
		const struct vr_dump_info *di = vr_dump_get_info(k->dump);
		rel = di && di->release[0] ? di->release : NULL;
	}
	if (!release_ok(rel))
		rel = NULL;
	const char *bid = k->vmcoreinfo ? vr_vmcoreinfo_get(k->vmcoreinfo, "BUILD-ID") : NULL;
	if (!hex_ok(bid))
		bid = NULL;

	char *paths[4] = { 0 };
	size_t np = 0;
	if (rel) {
		paths[np++] = vr_asprintf("/usr/lib/debug/boot/vmlinux-%s", rel);
		paths[np++] = vr_asprintf("/usr/lib/debug/lib/modules/%s/vmlinux", rel);
		paths[np++] = vr_asprintf("/boot/vmlinux-%s", rel);
	}
	if (bid) {
		paths[np] = vr_asprintf("/usr/lib/debug/.build-id/%.2s/%s.debug", bid, bid + 2);
		if (paths[np])
			path_lower(paths[np]);
		np++;
	}

	struct candidate rejected = { .fd = -1 };
	bool have_rejected = false, done = false;
	for (size_t i = 0; i < np && !done; i++) {
		struct stat st;
		if (!paths[i] || stat(paths[i], &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		struct candidate c;
		struct vr_error *err = candidate_open(k, paths[i], &c);
		if (err) {
			vr_diag_warn(k->diag, "vmlinux candidate %s: %s", paths[i], err->message);
			vr_error_destroy(err);
			candidate_deinit(&c);
			continue;
		}
		check(k, &c);
		if (strcmp(c.match, "no") == 0) {
			if (!have_rejected) {
				rejected = c;
				have_rejected = true;
			} else {
				candidate_deinit(&c);
			}
			continue;
		}
		if (strcmp(c.match, "unknown") == 0)
			vr_diag_warn(k->diag,
				     "vmlinux %s is used but could not be confirmed to match the dump: %s",
				     c.path, c.n_evidence ? c.evidence[0] : "no evidence either way");
		adopt(k, &c, true);
		candidate_deinit(&c);
		done = true;
	}
	if (!done && have_rejected) {
		vr_diag_warn(k->diag,
			     "vmlinux %s does not belong to the dump and is not used; symbols come from kallsyms and types from in-memory BTF",
			     rejected.path);
		adopt(k, &rejected, false);
	} else if (!done) {
		char looked[1024] = "";
		size_t len = 0;
		for (size_t i = 0; i < np; i++)
			if (paths[i] && len < sizeof(looked))
				len += (size_t)snprintf(looked + len, sizeof(looked) - len, "%s%s",
							len ? ", " : "", paths[i]);
		if (np)
			vr_diag_warn(k->diag,
				     "no vmlinux found (looked for %s); symbols come from kallsyms and types from in-memory BTF, without source lines",
				     looked);
		else
			vr_diag_warn(k->diag,
				     "no vmlinux looked for: the dump names neither its release nor its build ID; symbols come from kallsyms and types from in-memory BTF");
	}
	if (have_rejected)
		candidate_deinit(&rejected);
	for (size_t i = 0; i < np; i++)
		free(paths[i]);
	return NULL;
}
