/* Bounds-checked little-endian reader over a byte buffer taken from input.
 * Every read checks the remaining length; a failed read sets ->bad and
 * returns 0, so a parser can read a whole header and check once. */
#ifndef VR_CURSOR_H
#define VR_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct vr_cursor {
	const uint8_t *data;
	size_t len;
	size_t pos;
	bool bad; /* a read went past the end */
};

static inline void vr_cursor_init(struct vr_cursor *c, const void *data, size_t len)
{
	c->data = data;
	c->len = len;
	c->pos = 0;
	c->bad = false;
}

static inline bool vr_cursor_has(const struct vr_cursor *c, size_t n)
{
	return !c->bad && c->pos <= c->len && c->len - c->pos >= n;
}

static inline bool vr_cursor_seek(struct vr_cursor *c, size_t pos)
{
	if (pos > c->len) {
		c->bad = true;
		return false;
	}
	c->pos = pos;
	return true;
}

static inline bool vr_cursor_skip(struct vr_cursor *c, size_t n)
{
	if (!vr_cursor_has(c, n)) {
		c->bad = true;
		return false;
	}
	c->pos += n;
	return true;
}

static inline bool vr_cursor_bytes(struct vr_cursor *c, void *out, size_t n)
{
	if (!vr_cursor_has(c, n)) {
		c->bad = true;
		memset(out, 0, n);
		return false;
	}
	memcpy(out, c->data + c->pos, n);
	c->pos += n;
	return true;
}

/* Pointer to the next n bytes (no copy), or NULL. */
static inline const uint8_t *vr_cursor_ptr(struct vr_cursor *c, size_t n)
{
	if (!vr_cursor_has(c, n)) {
		c->bad = true;
		return NULL;
	}
	const uint8_t *p = c->data + c->pos;
	c->pos += n;
	return p;
}

static inline uint8_t vr_cursor_u8(struct vr_cursor *c)
{
	uint8_t v = 0;
	vr_cursor_bytes(c, &v, 1);
	return v;
}

static inline uint16_t vr_cursor_u16(struct vr_cursor *c)
{
	uint8_t b[2];
	vr_cursor_bytes(c, b, 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t vr_cursor_u32(struct vr_cursor *c)
{
	uint8_t b[4];
	vr_cursor_bytes(c, b, 4);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t vr_cursor_u64(struct vr_cursor *c)
{
	uint64_t lo = vr_cursor_u32(c);
	uint64_t hi = vr_cursor_u32(c);
	return lo | hi << 32;
}

/* Unchecked-position loads for callers that validated a range already. */
static inline uint32_t vr_le32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t vr_le64(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)vr_le32(b) | (uint64_t)vr_le32(b + 4) << 32;
}

static inline uint64_t vr_be64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

#endif
