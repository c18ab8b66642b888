/* The kernel log as records (log.c), and its rendering in the form of
 * `makedumpfile --dump-dmesg` (the vmcore-dmesg.txt people exchange).
 * Public to cmd/ and report/. */
#ifndef VR_LOG_H
#define VR_LOG_H

#include <stdio.h>

#include "error.h"
#include "facts.h"

/* ts_nsec of a record whose text carried no timestamp (text input). */
#define VR_LOG_TS_UNKNOWN UINT64_MAX

/* Appends rec, with a copy of text_len bytes of text as its text (cut at
 * an embedded NUL), to log; *cap is the capacity of log->records, 0 for a
 * log not grown yet. Fails on out-of-memory or past the most records one
 * log may hold. */
struct vr_error *vr_log_append(struct vr_log *log, size_t *cap, const struct vr_log_record *rec,
			       const char *text, size_t text_len);

/* One record as one output line (without the final newline), like
 * makedumpfile's dump_record(): "[%5llu.%06llu] " then the text, each
 * embedded newline followed by as many spaces as the prefix is long, bytes
 * that are neither printable nor white space as "\xNN". A record without a
 * timestamp is its text alone. NULL only when out of memory. */
char *vr_log_record_line(const struct vr_log_record *r);

/* The whole log, one record per line as above. Records of a log read from
 * text (source "text") come out as they went in (no escaping). */
void vr_log_render(const struct vr_log *log, FILE *out);

/* Split a kernel log given as text (dmesg, vmcore-dmesg.txt, a console
 * capture, `journalctl -k` or syslog lines) into records: "<L>" level
 * prefixes, "[sec.usec]" timestamps, "[T123]"/"[C1]" caller ids, the
 * indented lines of a multi-line record, and lines without timestamps.
 * Appends to log; sets log->source to "text" when unset. */
struct vr_error *vr_log_parse_text(const char *text, size_t len, struct vr_log *log);

#endif
