/* Opening a dump: sources, the probe loop over the format table, and the
 * form-independent reading of physical memory. */
#define _GNU_SOURCE
#include "dump.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "format.h"
#include "page_cache.h"

struct vr_error vr_format_not_mine = {
	.code = VR_ERR_UNSUPPORTED,
	.is_static = true,
	.message = (char *)"not this format",
};

/* How a file's content can be stored, tried on every file first. */
static const struct vr_source_layer *const vr_source_layers[] = {
	&vr_layer_flattened,
};

/* Probe order: signatures first, the text heuristic last. */
static const struct vr_format *const vr_formats[] = {
	&vr_format_diskdump,
	&vr_format_elf,
	&vr_format_text,
};

static struct vr_error *pread_full(int fd, void *buf, size_t len, uint64_t off, const char *what)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return vr_error_create(VR_ERR_IO, "reading %s at offset 0x%" PRIx64 ": %s", what,
					       off, strerror(errno));
		}
		if (n == 0)
			return vr_error_create(VR_ERR_FORMAT,
					       "reading %s: short read at offset 0x%" PRIx64
					       ": unexpected end of file",
					       what, off);
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return NULL;
}

struct vr_error *vr_source_pread(const struct vr_source *s, void *buf, size_t len, uint64_t off,
				 const char *what)
{
	if (off > s->size || len > s->size - off)
		return vr_error_create(VR_ERR_FORMAT,
				       "reading %s: short read at offset 0x%" PRIx64
				       ": unexpected end of file",
				       what, off > s->size ? off : s->size);
	if (s->bytes_read)
		*s->bytes_read += len;
	if (!s->ext)
		return pread_full(s->fd, buf, len, off, what);
	/* flattened: find the first extent ending after off */
	uint8_t *p = buf;
	size_t lo = 0, hi = s->n_ext;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->ext[mid].off + s->ext[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; len; i++) {
		if (i >= s->n_ext || s->ext[i].off >= off + len) {
			memset(p, 0, len); /* a hole */
			break;
		}
		const struct vr_flat_extent *e = &s->ext[i];
		if (e->off > off) {
			size_t gap = (size_t)(e->off - off);
			memset(p, 0, gap);
			p += gap;
			off += gap;
			len -= gap;
		}
		uint64_t in = off - e->off;
		size_t n = (size_t)(e->len - in < len ? e->len - in : len);
		struct vr_error *err = pread_full(s->fd, p, n, e->pos + in, what);
		if (err)
			return err;
		p += n;
		off += n;
		len -= n;
	}
	return NULL;
}

static void source_deinit(struct vr_source *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	free(s->ext);
	free(s->damage);
}

static struct vr_error *source_open(const char *path, struct vr_source *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->path = vr_strdup(path);
	if (!s->path)
		return &vr_error_oom;
	/* Read-only: nothing is ever written to a dump. */
	uint64_t size;
	struct vr_error *err = vr_file_open(path, &s->fd, &size);
	if (err)
		return err;
	s->file_size = s->size = size;
	return NULL;
}

void vr_dump_destroy(struct vr_dump *d)
{
	if (!d)
		return;
	if (d->fmt && d->fmt->close)
		d->fmt->close(d);
	for (size_t i = 0; i < d->n_src; i++)
		source_deinit(&d->src[i]);
	free(d->src);
	free(d->vmcoreinfo);
	free(d->cpus);
	free(d->text);
	vr_page_cache_destroy(d->cache);
	free(d);
}

static void describe_head(char *out, size_t outlen, const uint8_t *head, size_t n)
{
	size_t pos = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && i < 8 && pos + 4 < outlen; i++)
		pos += (size_t)snprintf(out + pos, outlen - pos, "%s%02x", i ? " " : "", head[i]);
}

/* The source layers of every file: the layer of the first, or NULL. */
static struct vr_error *open_layers(struct vr_dump *d, const struct vr_source_layer **ret)
{
	*ret = NULL;
	for (size_t i = 0; i < d->n_src; i++) {
		struct vr_source *s = &d->src[i];
		for (size_t j = 0; j < sizeof(vr_source_layers) / sizeof(vr_source_layers[0]); j++) {
			struct vr_error *err = vr_source_layers[j]->open(s);
			if (err == VR_FORMAT_NOT_MINE)
				continue;
			if (err)
				return err;
			if (i == 0)
				*ret = vr_source_layers[j];
			if (!d->info.damage)
				d->info.damage = s->damage;
			d->info.incomplete |= s->truncated;
			break;
		}
	}
	return NULL;
}

static struct vr_error *probe(struct vr_dump *d)
{
	const struct vr_source_layer *layer;
	struct vr_error *err = open_layers(d, &layer);
	if (err)
		return err;
	struct vr_source *s = &d->src[0];
	uint8_t head[VR_PROBE_HEAD];
	size_t n = s->size < sizeof(head) ? (size_t)s->size : sizeof(head);
	err = vr_source_pread(s, head, n, 0, layer ? "the header of the content" : "the file header");
	if (err)
		return vr_error_wrap(err, "%s", s->path);
	if (n == 0 && !layer)
		return vr_error_create(VR_ERR_FORMAT,
				       "%s: not a crash dump or kernel log (empty file)", s->path);
	for (size_t i = 0; i < sizeof(vr_formats) / sizeof(vr_formats[0]); i++) {
		const struct vr_format *f = vr_formats[i];
		if ((d->n_src > 1 && !f->multi_file) || (layer && !f->read))
			continue;
		d->fmt = f;
		err = f->open(d, head, n);
		if (err == VR_FORMAT_NOT_MINE) {
			d->fmt = NULL;
			continue;
		}
		if (!err && layer && d->n_src == 1 && strncmp(d->info.form, "qemu-", 5) != 0)
			d->info.form = layer->form;
		return err; /* success, or a real error: close() runs in destroy */
	}
	d->fmt = NULL;
	char sig[64];
	describe_head(sig, sizeof(sig), head, n);
	if (layer)
		return vr_error_create(VR_ERR_FORMAT,
				       "%s: %s file holds neither a kdump-compressed nor an ELF dump "
				       "(offset 0 of its content: unknown signature %s)",
				       s->path, layer->name, sig);
	if (d->n_src > 1)
		return vr_error_create(VR_ERR_FORMAT, "%s: offset 0: not a kdump-compressed part of a split dump "
				       "(unknown signature %s)", s->path, sig);
	return vr_error_create(VR_ERR_FORMAT,
			       "%s: not a crash dump or kernel log (offset 0: unknown signature %s)",
			       s->path, sig);
}

struct vr_error *vr_dump_open(const char *const *paths, size_t n_paths, struct vr_dump **ret)
{
	if (n_paths == 0 || !paths)
		return vr_error_create(VR_ERR_USAGE, "no dump file given");
	if (n_paths > 1024)
		return vr_error_create(VR_ERR_LIMIT, "more than 1024 parts of a split dump");
	struct vr_dump *d = calloc(1, sizeof(*d));
	if (!d)
		return &vr_error_oom;
	d->src = calloc(n_paths, sizeof(*d->src));
	if (!d->src) {
		free(d);
		return &vr_error_oom;
	}
	d->info.form = "unknown";
	d->info.compression = "none";
	d->info.dump_level = -1;
	d->info.dump_time = -1;

	struct vr_error *err = NULL;
	for (size_t i = 0; i < n_paths; i++) {
		err = source_open(paths[i], &d->src[i]);
		d->src[i].bytes_read = &d->bytes_read;
		d->n_src = i + 1;
		if (err)
			goto fail;
		d->info.size_bytes += d->src[i].file_size;
	}
	err = probe(d);
	if (err)
		goto fail;
	*ret = d;
	return NULL;
fail:
	vr_dump_destroy(d);
	return err;
}

const struct vr_dump_info *vr_dump_get_info(const struct vr_dump *d)
{
	return &d->info;
}

bool vr_dump_has_memory(const struct vr_dump *d)
{
	return d->fmt && d->fmt->read;
}

struct vr_error *vr_dump_read_phys(struct vr_dump *d, uint64_t paddr, void *buf, size_t len)
{
	if (!vr_dump_has_memory(d))
		return vr_error_create(VR_ERR_UNSUPPORTED, "%s: a %s input holds no memory",
				       d->src[0].path, d->info.form);
	if (len && paddr + len - 1 < paddr)
		return vr_error_create(VR_ERR_FAULT, "physical range 0x%" PRIx64 "+0x%zx wraps",
				       paddr, len);
	uint8_t *p = buf;
	while (len) {
		size_t in = (size_t)(paddr % VR_PAGE_SIZE);
		size_t n = VR_PAGE_SIZE - in < len ? VR_PAGE_SIZE - in : len;
		struct vr_error *err = d->fmt->read(d, paddr, p, n);
		if (err)
			return err;
		p += n;
		paddr += n;
		len -= n;
	}
	return NULL;
}

enum vr_page_state vr_dump_page_state(struct vr_dump *d, uint64_t paddr)
{
	if (!vr_dump_has_memory(d))
		return VR_PAGE_ABSENT;
	if (d->fmt->page_state)
		return d->fmt->page_state(d, paddr / VR_PAGE_SIZE);
	return d->fmt->present(d, paddr / VR_PAGE_SIZE) ? VR_PAGE_PRESENT : VR_PAGE_ABSENT;
}

bool vr_dump_page_present(struct vr_dump *d, uint64_t paddr)
{
	return vr_dump_has_memory(d) && d->fmt->present(d, paddr / VR_PAGE_SIZE);
}

struct vr_error *vr_dump_elf_vtop(const struct vr_dump *d, uint64_t vaddr, uint64_t *ret)
{
	if (!d->fmt || !d->fmt->vtop)
		return vr_error_create(VR_ERR_NOT_FOUND,
				       "the %s form has no virtual address map", d->info.form);
	return d->fmt->vtop(d, vaddr, ret);
}

const char *vr_dump_vmcoreinfo(const struct vr_dump *d, size_t *ret_len)
{
	if (ret_len)
		*ret_len = d->vmcoreinfo ? d->vmcoreinfo_len : 0;
	return d->vmcoreinfo;
}

size_t vr_dump_n_cpus(const struct vr_dump *d)
{
	return d->n_cpus;
}

const struct vr_dump_cpu *vr_dump_cpu(const struct vr_dump *d, size_t i)
{
	return i < d->n_cpus ? &d->cpus[i] : NULL;
}

const char *vr_dump_text(const struct vr_dump *d, size_t *ret_len)
{
	if (ret_len)
		*ret_len = d->text ? d->text_len : 0;
	return d->text;
}

uint64_t vr_dump_bytes_read(const struct vr_dump *d)
{
	return d->bytes_read;
}

const char *vr_dump_path(const struct vr_dump *d)
{
	return d->src[0].path;
}

void vr_dump_describe(const struct vr_dump *d, FILE *f)
{
	const struct vr_dump_info *in = &d->info;
	fprintf(f, "path: %s\n", d->src[0].path);
	if (d->n_src > 1)
		fprintf(f, "parts: %zu\n", d->n_src);
	fprintf(f, "form: %s\n", in->form);
	fprintf(f, "compression: %s\n", in->compression);
	fprintf(f, "dump_level: %d\n", in->dump_level);
	fprintf(f, "incomplete: %s\n", in->incomplete ? "yes" : "no");
	if (in->damage)
		fprintf(f, "damage: %s\n", in->damage);
	fprintf(f, "size_bytes: %" PRIu64 "\n", in->size_bytes);
	fprintf(f, "max_pfn: %" PRIu64 "\n", in->max_pfn);
	fprintf(f, "pages: %" PRIu64 "/%" PRIu64 "\n", in->pages_present, in->pages_total);
	fprintf(f, "cpus: %zu\n", d->n_cpus);
	for (size_t i = 0; i < d->n_cpus; i++) {
		fprintf(f, "cpu %zu: pid %d prstatus %zu bytes", i, d->cpus[i].pid, d->cpus[i].prstatus_len);
		if (d->cpus[i].qemu_len)
			fprintf(f, " qemu %zu bytes", d->cpus[i].qemu_len);
		fputc('\n', f);
	}
	fprintf(f, "vmcoreinfo: %zu bytes\n", d->vmcoreinfo ? d->vmcoreinfo_len : 0);
	if (in->release[0])
		fprintf(f, "release: %s\n", in->release);
	if (d->text)
		fprintf(f, "text: %zu bytes\n", d->text_len);
}
