#include "page_cache.h"

#include <stdbool.h>
#include <stdlib.h>

#define NONE UINT32_MAX

struct slot {
	uint64_t key;
	uint32_t next;   /* hash chain */
	bool used;
	bool referenced; /* clock bit */
};

struct vr_page_cache {
	size_t n, page_size;
	uint8_t *data;
	struct slot *slots;
	uint32_t *buckets;
	size_t n_buckets; /* power of two */
	size_t hand;
	uint32_t reserved; /* slot handed out by reserve, NONE if none */
};

static size_t bucket_of(const struct vr_page_cache *c, uint64_t key)
{
	key ^= key >> 29;
	key *= 0xbf58476d1ce4e5b9ull;
	key ^= key >> 32;
	return key & (c->n_buckets - 1);
}

struct vr_error *vr_page_cache_create(size_t n_pages, size_t page_size,
				      struct vr_page_cache **ret)
{
	if (n_pages == 0 || n_pages > (1u << 20) || page_size == 0)
		return vr_error_create(VR_ERR_USAGE, "bad page cache size");
	struct vr_page_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return &vr_error_oom;
	c->n = n_pages;
	c->page_size = page_size;
	c->n_buckets = 1;
	while (c->n_buckets < 2 * n_pages)
		c->n_buckets <<= 1;
	c->data = malloc(n_pages * page_size);
	c->slots = calloc(n_pages, sizeof(*c->slots));
	c->buckets = malloc(c->n_buckets * sizeof(*c->buckets));
	if (!c->data || !c->slots || !c->buckets) {
		vr_page_cache_destroy(c);
		return &vr_error_oom;
	}
	for (size_t i = 0; i < c->n_buckets; i++)
		c->buckets[i] = NONE;
	c->reserved = NONE;
	*ret = c;
	return NULL;
}

void vr_page_cache_destroy(struct vr_page_cache *c)
{
	if (!c)
		return;
	free(c->data);
	free(c->slots);
	free(c->buckets);
	free(c);
}

const void *vr_page_cache_lookup(struct vr_page_cache *c, uint64_t key)
{
	for (uint32_t i = c->buckets[bucket_of(c, key)]; i != NONE; i = c->slots[i].next) {
		if (c->slots[i].key == key) {
			c->slots[i].referenced = true;
			return c->data + (size_t)i * c->page_size;
		}
	}
	return NULL;
}

static void unlink_slot(struct vr_page_cache *c, uint32_t s)
{
	uint32_t *p = &c->buckets[bucket_of(c, c->slots[s].key)];
	while (*p != NONE) {
		if (*p == s) {
			*p = c->slots[s].next;
			break;
		}
		p = &c->slots[*p].next;
	}
	c->slots[s].used = false;
}

void *vr_page_cache_reserve(struct vr_page_cache *c, uint64_t key)
{
	/* Clock: skip recently referenced slots once, at most two sweeps. */
	uint32_t victim = NONE;
	for (size_t step = 0; step < 2 * c->n + 1; step++) {
		size_t i = c->hand;
		c->hand = (c->hand + 1) % c->n;
		if (!c->slots[i].used || !c->slots[i].referenced) {
			victim = (uint32_t)i;
			break;
		}
		c->slots[i].referenced = false;
	}
	if (victim == NONE)
		victim = (uint32_t)c->hand;
	if (c->slots[victim].used)
		unlink_slot(c, victim);
	c->slots[victim].key = key;
	c->reserved = victim;
	return c->data + (size_t)victim * c->page_size;
}

void vr_page_cache_commit(struct vr_page_cache *c)
{
	uint32_t s = c->reserved;
	if (s == NONE)
		return;
	size_t b = bucket_of(c, c->slots[s].key);
	c->slots[s].next = c->buckets[b];
	c->slots[s].used = true;
	c->slots[s].referenced = true;
	c->buckets[b] = s;
	c->reserved = NONE;
}

void vr_page_cache_abort(struct vr_page_cache *c)
{
	c->reserved = NONE;
}
