/* The dump-format table and what its members share (engine-private; only
 * dump.c and format_*.c include this).
 *
 * A dump is one or more input files ("sources"). A source is read through
 * vr_source_pread(). Before the formats are probed, each source goes
 * through the source layers (vr_source_layers[] in dump.c): a layer that
 * recognises the file sets up how its content is read, and the formats
 * then read that content and never know the difference. makedumpfile's
 * flattened format is such a layer (its records index the content in
 * place), as libkdumpfile sets up its flattened map before probing.
 *
 * Forms and where they live:
 *   format_flattened.c  source layer: "makedumpfile" signature; the dump
 *                        inside is kdump or ELF, form "flattened"
 *   format_diskdump.c   "KDUMP   " signature, forms "kdump", "qemu-kdump",
 *                        and "split" (several files of one --split dump:
 *                        the one format that opens several files)
 *   format_elf.c        ELF64 ET_CORE, forms "elf" and "qemu-elf"
 *   format_text.c       kernel log text, form "text"; probed last
 *
 * How to add a format:
 *   1. Write engine/format_NAME.c defining `const struct vr_format
 *      vr_format_NAME` with open, close and, when the form holds memory,
 *      read and present (vtop only when it can map virtual addresses).
 *   2. open() must look at the content only (the head bytes and
 *      vr_source_pread), return VR_FORMAT_NOT_MINE without side effects
 *      when the content is not its form, and otherwise either succeed or
 *      return a real error naming the file and offset.
 *   3. Add it to vr_formats[] in dump.c at the right place in the probe
 *      order (most specific signature first; heuristics such as text last);
 *      set multi_file when its open() takes the parts of a split dump.
 *   4. Let vr-mkdump (tests/fixtures/) write it, add fixtures and
 *      corruption cases to tests/fixtures/formats_*.sh, a fuzz target in
 *      tests/fuzz/ and a seed corpus.
 */
#ifndef VR_FORMAT_H
#define VR_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dump.h"
#include "error.h"

struct vr_page_cache;

/* One extent of a flattened file: logical [off, off+len) is at file
 * position pos. Extents are sorted and do not overlap. */
struct vr_flat_extent {
	uint64_t off, len, pos;
};

struct vr_source {
	char *path;
	int fd;
	uint64_t file_size; /* the file as it is on disk */
	uint64_t size;      /* the content seen by parsers (reconstructed if flattened) */
	struct vr_flat_extent *ext; /* non-NULL when the file is flattened */
	size_t n_ext;
	char *damage;               /* what reading it had to skip, NULL when nothing */
	bool truncated;             /* flattened: the file ends before its end record */
	uint64_t *bytes_read;       /* where reads are counted (the dump's), or NULL */
};

/* Reads len bytes of content at off. A read past the content's end is a
 * VR_ERR_FORMAT error "reading WHAT: short read at offset 0x..: unexpected
 * end of file" (the caller adds the file name). Holes of a flattened file
 * read as zeros, as they would in the file makedumpfile -R rebuilds. */
struct vr_error *vr_source_pread(const struct vr_source *s, void *buf, size_t len, uint64_t off,
				 const char *what);

struct vr_dump {
	const struct vr_format *fmt; /* serves reads (the inner form of a flattened file) */
	struct vr_source *src;
	size_t n_src;
	struct vr_dump_info info;
	char *vmcoreinfo;            /* NUL-terminated, NULL if none */
	size_t vmcoreinfo_len;
	struct vr_dump_cpu *cpus;
	size_t n_cpus;
	char *text;                  /* form "text" */
	size_t text_len;
	void *priv;                  /* the format's state */
	struct vr_page_cache *cache; /* decompressed pages, for forms that need it */
	uint64_t bytes_read;         /* from its files, so far */
};

/* The "not mine" answer of a probe; never leaves the probe loop in dump.c. */
extern struct vr_error vr_format_not_mine;
#define VR_FORMAT_NOT_MINE (&vr_format_not_mine)

/* Bytes of the first file handed to every probe. */
#define VR_PROBE_HEAD 4096

struct vr_format {
	const char *name;
	/* Whether open() takes several files as the parts of one dump
	 * (d->n_src > 1); the others are probed with one file only. */
	bool multi_file;
	/* Recognise d->src[0] (all d->src for a split dump) from head, the
	 * first head_len bytes of its content, and set up d->priv, d->info,
	 * d->cpus, d->vmcoreinfo or d->text. Returns VR_FORMAT_NOT_MINE when
	 * the content is not this form. On error the caller calls close(). */
	struct vr_error *(*open)(struct vr_dump *d, const uint8_t *head, size_t head_len);
	/* Frees d->priv; may be called after a failed open. */
	void (*close)(struct vr_dump *d);
	/* Reads len bytes at paddr, a range inside one page. NULL when the
	 * form holds no memory. VR_ERR_NOT_PRESENT for pages not in the dump. */
	struct vr_error *(*read)(struct vr_dump *d, uint64_t paddr, void *buf, size_t len);
	/* Whether page pfn is held (no decompression). NULL with read. */
	bool (*present)(struct vr_dump *d, uint64_t pfn);
	/* What became of page pfn (dump.h vr_dump_page_state()); NULL: held
	 * when present() says so, else absent. */
	enum vr_page_state (*page_state)(struct vr_dump *d, uint64_t pfn);
	/* Virtual to physical through the dump's own map; may be NULL. */
	struct vr_error *(*vtop)(const struct vr_dump *d, uint64_t vaddr, uint64_t *ret);
};

extern const struct vr_format vr_format_diskdump;
extern const struct vr_format vr_format_elf;
extern const struct vr_format vr_format_text;

/* A way a file's content is stored, under the formats.
 *
 * How to add a layer: write its open() in its own file, defining `const
 * struct vr_source_layer vr_layer_NAME`, and add it to vr_source_layers[]
 * in dump.c. */
struct vr_source_layer {
	const char *name;
	/* The form a dump read through this layer is reported as, unless the
	 * format names a more specific one ("qemu-..."). */
	const char *form;
	/* Recognise s by its own bytes (vr_source_pread() still reads the
	 * file as it is) and set up s->ext, s->size, s->damage, s->truncated
	 * so that the formats read the content. VR_FORMAT_NOT_MINE without
	 * side effects when the file is not this layer's. Only dumps that
	 * hold memory are inside a layer: the text format is not probed. */
	struct vr_error *(*open)(struct vr_source *s);
};

extern const struct vr_source_layer vr_layer_flattened;

/* Limits on what input may make us allocate. */
#define VR_MAX_NOTES_BYTES (16u << 20)
#define VR_MAX_VMCOREINFO_BYTES (1u << 20)
#define VR_MAX_TEXT_BYTES (512ull << 20)

#endif
