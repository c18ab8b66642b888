/* Engine-private: decoding the kernel's log buffer from memory, behind a
 * read callback so that it can be tested on synthetic buffers. */
#ifndef VR_PRINTK_H
#define VR_PRINTK_H

#include <stdint.h>

#include "error.h"
#include "facts.h"

/* Reads len bytes of kernel virtual memory at addr. */
typedef struct vr_error *(*vr_printk_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* The lockless ring buffer (5.10+, kernel/printk/printk_ringbuffer.h);
 * offsets as VMCOREINFO gives them (kernel/printk/printk.c
 * log_buf_vmcoreinfo_setup()). */
struct vr_prb_layout {
	uint64_t prb;               /* address of the variable `prb` (a pointer) */
	uint64_t rb_desc_ring, rb_text_data_ring;
	uint64_t dr_count_bits, dr_descs, dr_infos, dr_head_id, dr_tail_id;
	uint64_t desc_size, desc_state_var, desc_text_blk_lpos;
	uint64_t lpos_begin, lpos_next;
	uint64_t info_size, info_seq, info_ts_nsec, info_text_len, info_caller_id;
	bool has_caller_id;
	uint64_t data_size_bits, data_data;
	uint64_t atomic_counter;    /* atomic_long_t.counter, 0 */
};

/* The variable-length records of 3.5 to 5.9 (struct printk_log). */
struct vr_logbuf_layout {
	uint64_t log_buf;           /* address of `char *log_buf` */
	uint64_t log_buf_len;       /* address of `u32 log_buf_len` */
	uint64_t log_first_idx, log_next_idx; /* addresses of the u32 indexes */
	uint64_t size;              /* SIZE(printk_log) */
	uint64_t ts_nsec, len, text_len;
};

/* Append the records to log. *ret_skipped counts records that could not be
 * read (pages missing from the dump). An error after some records were
 * appended means the log is partial. */
struct vr_error *vr_printk_read_prb(const struct vr_prb_layout *l, vr_printk_read_fn rd,
				    void *ctx, struct vr_log *log, size_t *ret_skipped);
struct vr_error *vr_printk_read_logbuf(const struct vr_logbuf_layout *l, vr_printk_read_fn rd,
				       void *ctx, struct vr_log *log, size_t *ret_skipped);

#endif
