/* What is read once from a vmlinux, kept with the file (see debuginfo.h).
 *
 * A dump's report needs the vmlinux's symbol table, its BTF and the source
 * lines of the addresses on its stacks. Built once per file, they serve
 * every dump of the same build in a batch: the cache hands the same
 * debuginfo to each kernel opened with the same file, and the products are
 * built by the first kernel that asks, under the debuginfo's lock. Each
 * kernel keeps its own libelf and libdw handles for the rest, as those are
 * not made for concurrent use. */
#define _GNU_SOURCE
#include "debuginfo.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel.h"

#define MAX_CACHED 256 /* distinct vmlinux files in one cache */

struct product {
	pthread_mutex_t lock; /* held while it is built */
	bool done;
	void *value;
	char *error;          /* the build's failure, NULL when it succeeded */
	enum vr_error_code code;
	vr_debuginfo_free_fn free_fn;
	bool prefetching;     /* a thread builds it (vr_debuginfo_prefetch) */
	pthread_t thread;
	vr_debuginfo_build_fn build;
	struct vr_debuginfo *di;
};

struct vr_debuginfo {
	struct vr_debuginfo_cache *cache; /* NULL: private to one kernel */
	unsigned refs;                    /* under the cache's lock when cached */
	char *path;
	char *build_id;                   /* hex, NULL when the file has none */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int fd;
	Elf *elf;
	pthread_mutex_t lock;    /* vr_debuginfo_lock(); the file's Elf while a product is built */
	struct product products[VR_DEBUGINFO_N];
};

struct vr_debuginfo_cache {
	pthread_mutex_t lock;
	struct vr_debuginfo **entries;
	size_t n, cap;
};

static void debuginfo_free(struct vr_debuginfo *di)
{
	for (int i = 0; i < VR_DEBUGINFO_N; i++) {
		struct product *p = &di->products[i];
		if (p->prefetching)
			pthread_join(p->thread, NULL);
		if (p->value && p->free_fn)
			p->free_fn(p->value);
		free(p->error);
		pthread_mutex_destroy(&p->lock);
	}
	if (di->elf)
		elf_end(di->elf);
	if (di->fd >= 0)
		close(di->fd);
	pthread_mutex_destroy(&di->lock);
	free(di->path);
	free(di->build_id);
	free(di);
}

static struct vr_error *debuginfo_new(const char *path, const char *build_id, const struct stat *st,
				      struct vr_debuginfo **ret)
{
	struct vr_debuginfo *di = calloc(1, sizeof(*di));
	if (!di)
		return &vr_error_oom;
	di->fd = -1;
	pthread_mutex_init(&di->lock, NULL);
	for (int i = 0; i < VR_DEBUGINFO_N; i++)
		pthread_mutex_init(&di->products[i].lock, NULL);
	di->refs = 1;
	di->dev = st->st_dev;
	di->ino = st->st_ino;
	di->size = st->st_size;
	di->mtime = st->st_mtim;
	if (!(di->path = vr_strdup(path)) || (build_id && *build_id && !(di->build_id = vr_strdup(build_id)))) {
		debuginfo_free(di);
		return &vr_error_oom;
	}
	/* A handle of its own: the kernel's may be gone while others still
	 * read what points into this one. */
	di->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (di->fd < 0) {
		struct vr_error *err = vr_error_create(VR_ERR_IO, "%s: %m", path);
		debuginfo_free(di);
		return err;
	}
	struct stat now;
	if (fstat(di->fd, &now) != 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		debuginfo_free(di);
		return vr_error_create(VR_ERR_IO, "%s: the file changed while it was opened", path);
	}
	di->elf = elf_begin(di->fd, ELF_C_READ_MMAP, NULL);
	if (!di->elf) {
		struct vr_error *err = vr_error_create(VR_ERR_FORMAT, "%s: %s", path, elf_errmsg(-1));
		debuginfo_free(di);
		return err;
	}
	*ret = di;
	return NULL;
}

/* The same file, or a copy of the same build. */
static bool same(const struct vr_debuginfo *di, const char *build_id, const struct stat *st)
{
	if (di->build_id && build_id && !strcmp(di->build_id, build_id))
		return true;
	return di->dev == st->st_dev && di->ino == st->st_ino && di->size == st->st_size &&
	       di->mtime.tv_sec == st->st_mtim.tv_sec && di->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

struct vr_error *vr_debuginfo_get(struct vr_debuginfo_cache *cache, const char *path, int fd,
				  const char *build_id, struct vr_debuginfo **ret)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return vr_error_create(VR_ERR_IO, "%s: %m", path);
	if (build_id && !*build_id)
		build_id = NULL;
	if (!cache)
		return debuginfo_new(path, build_id, &st, ret);
	pthread_mutex_lock(&cache->lock);
	for (size_t i = 0; i < cache->n; i++)
		if (same(cache->entries[i], build_id, &st)) {
			cache->entries[i]->refs++;
			*ret = cache->entries[i];
			pthread_mutex_unlock(&cache->lock);
			return NULL;
		}
	struct vr_debuginfo *di;
	struct vr_error *err = vr_grow(&cache->entries, &cache->cap, cache->n + 1, sizeof(*cache->entries),
				       MAX_CACHED);
	if (!err)
		err = debuginfo_new(path, build_id, &st, &di);
	if (!err) {
		/* The cache's own reference keeps it for later dumps. */
		di->cache = cache;
		di->refs++;
		cache->entries[cache->n++] = di;
		*ret = di;
	}
	pthread_mutex_unlock(&cache->lock);
	if (err && err->code == VR_ERR_LIMIT) {
		vr_error_destroy(err);
		return debuginfo_new(path, build_id, &st, ret);
	}
	return err;
}

void vr_debuginfo_put(struct vr_debuginfo *di)
{
	if (!di)
		return;
	struct vr_debuginfo_cache *cache = di->cache;
	if (cache)
		pthread_mutex_lock(&cache->lock);
	bool last = --di->refs == 0;
	if (cache)
		pthread_mutex_unlock(&cache->lock);
	if (last)
		debuginfo_free(di);
}

Elf *vr_debuginfo_elf(struct vr_debuginfo *di)
{
	return di->elf;
}

const char *vr_debuginfo_path(const struct vr_debuginfo *di)
{
	return di->path;
}

void vr_debuginfo_lock(struct vr_debuginfo *di)
{
	pthread_mutex_lock(&di->lock);
}

void vr_debuginfo_unlock(struct vr_debuginfo *di)
{
	pthread_mutex_unlock(&di->lock);
}

/* Builds p, once; the caller holds p's lock. */
static struct vr_error *product_build(struct vr_debuginfo *di, struct product *p,
				      vr_debuginfo_build_fn build, vr_debuginfo_free_fn free_fn)
{
	if (p->done)
		return NULL;
	void *value = NULL;
	struct vr_error *err = build(di, &value);
	if (err && err->code == VR_ERR_NOMEM)
		return err; /* not remembered: memory may be there next time */
	p->done = true;
	p->free_fn = free_fn;
	if (err) {
		p->code = err->code;
		p->error = vr_strdup(err->message);
		vr_error_destroy(err);
	} else {
		p->value = value;
	}
	return NULL;
}

struct vr_error *vr_debuginfo_product(struct vr_debuginfo *di, enum vr_debuginfo_slot slot,
				      vr_debuginfo_build_fn build, vr_debuginfo_free_fn free_fn,
				      void **ret)
{
	struct product *p = &di->products[slot];
	pthread_mutex_lock(&p->lock);
	struct vr_error *err = product_build(di, p, build, free_fn);
	if (err) {
		pthread_mutex_unlock(&p->lock);
		return err;
	}
	if (p->error)
		err = vr_error_create(p->code, "%s", p->error);
	else if (!p->value && p->code)
		err = &vr_error_oom; /* the message could not be kept */
	else
		*ret = p->value;
	pthread_mutex_unlock(&p->lock);
	return err;
}

static void *prefetch_thread(void *arg)
{
	struct product *p = arg;
	/* Whoever takes the lock first builds it: this thread, or a caller
	 * of vr_debuginfo_product(), which else waits here for it. */
	pthread_mutex_lock(&p->lock);
	/* Only out of memory comes back, and it is not remembered: the
	 * caller of vr_debuginfo_product() builds again and meets it itself. */
	vr_error_destroy(product_build(p->di, p, p->build, p->free_fn));
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

void vr_debuginfo_prefetch(struct vr_debuginfo *di, enum vr_debuginfo_slot slot, vr_debuginfo_build_fn build,
			   vr_debuginfo_free_fn free_fn)
{
	struct product *p = &di->products[slot];
	pthread_mutex_lock(&p->lock);
	bool start = !p->done && !p->prefetching;
	if (start) {
		p->di = di;
		p->build = build;
		p->free_fn = free_fn;
		p->prefetching = pthread_create(&p->thread, NULL, prefetch_thread, p) == 0;
	}
	pthread_mutex_unlock(&p->lock);
}

struct vr_debuginfo_cache *vr_debuginfo_cache_create(void)
{
	struct vr_debuginfo_cache *c = calloc(1, sizeof(*c));
	if (c)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

void vr_debuginfo_cache_destroy(struct vr_debuginfo_cache *cache)
{
	if (!cache)
		return;
	for (size_t i = 0; i < cache->n; i++) {
		/* Kernels are gone: the cache's reference is the last. */
		cache->entries[i]->cache = NULL;
		vr_debuginfo_put(cache->entries[i]);
	}
	free(cache->entries);
	pthread_mutex_destroy(&cache->lock);
	free(cache);
}
