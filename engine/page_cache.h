/* A bounded cache of whole pages keyed by page frame number, with clock
 * (second chance) replacement. Engine-private. Forms whose pages must be
 * decompressed keep the most recently used ones here so that page-table
 * walks and small reads do not decompress the same page again. */
#ifndef VR_PAGE_CACHE_H
#define VR_PAGE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct vr_page_cache;

/* n_pages slots of page_size bytes (n_pages >= 1). */
struct vr_error *vr_page_cache_create(size_t n_pages, size_t page_size,
				      struct vr_page_cache **ret);
void vr_page_cache_destroy(struct vr_page_cache *c);

/* The cached page, or NULL. */
const void *vr_page_cache_lookup(struct vr_page_cache *c, uint64_t key);
/* A slot for key, evicting another page if needed; the caller fills it
 * and then calls vr_page_cache_commit(), or vr_page_cache_abort() when it
 * could not fill it. Until commit the key is not visible to lookups. */
void *vr_page_cache_reserve(struct vr_page_cache *c, uint64_t key);
void vr_page_cache_commit(struct vr_page_cache *c);
void vr_page_cache_abort(struct vr_page_cache *c);

#endif
