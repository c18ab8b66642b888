/* Kernel log text: vmcore-dmesg.txt, makedumpfile --dump-dmesg output,
 * serial console captures, `journalctl -k` / syslog output. Probed last:
 * the content must be mostly printable and hold at least one line that looks
 * like a kernel log line. */
#include <inttypes.h>
#include <string.h>

#include "format.h"

/* How much of the head decides "text": enough for firmware chatter before
 * the first kernel line of a console capture. */
#define SCAN_BYTES (1u << 20)

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* "[    1.234567] ", optionally after "<6>" (printk level prefix) */
static bool timestamp_at(const uint8_t *p, size_t n)
{
	size_t i = 0;
	if (i < n && p[i] == '<') {
		i++;
		while (i < n && is_digit(p[i]) && i < 5)
			i++;
		if (i >= n || p[i] != '>')
			return false;
		i++;
	}
	if (i >= n || p[i] != '[')
		return false;
	i++;
	while (i < n && p[i] == ' ')
		i++;
	size_t d = 0;
	while (i < n && is_digit(p[i]))
		i++, d++;
	if (!d || i >= n || p[i] != '.')
		return false;
	i++;
	d = 0;
	while (i < n && is_digit(p[i]))
		i++, d++;
	return d >= 3 && i < n && p[i] == ']';
}

static bool kernel_line(const uint8_t *p, size_t n)
{
	if (timestamp_at(p, n))
		return true;
	/* "<4>message" without a timestamp (printk.time=0 console) */
	if (n >= 4 && p[0] == '<' && is_digit(p[1]) && p[2] == '>' && p[3] != '[')
		return true;
	/* syslog / journalctl -k: "Nov 26 05:00:00 host kernel: ..." */
	static const char kern[] = " kernel: ";
	size_t kl = sizeof(kern) - 1;
	for (size_t i = 0; i + kl <= n && i < 200; i++)
		if (memcmp(p + i, kern, kl) == 0)
			return true;
	/* A console capture without timestamps (printk.time=0, or an oops
	 * copied from a mail or a bug tracker): the kernel's own headlines of
	 * a crash report say it is a kernel log. */
	static const char *const heads[] = {
		"Linux version ", "BUG: ", "Oops: ", "Oops[", "general protection fault",
		"kernel BUG at ", "WARNING: ", "Kernel panic - not syncing", "Call Trace:",
		"Modules linked in:", "Unable to handle kernel ", "Internal error: Oops",
		"INFO: task ", "NMI watchdog: ", "watchdog: BUG: ", "RIP: ", "Hardware name: ",
		"divide error: ", "invalid opcode: ", "stack segment: ", "double fault: ",
		"Out of memory: ", "mce: [Hardware Error]", "Machine check events logged",
		"rcu: INFO: ", "INFO: rcu_", "list_add corruption", "list_del corruption",
		"BUG ", "INFO: possible ", "INFO: inconsistent lock state",
		"INFO: trying to register non-static key", "INFO: suspicious RCU usage",
		"WARNING: suspicious RCU usage",
	};
	for (size_t h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
		size_t hl = strlen(heads[h]);
		/* anywhere in the first columns: a line may carry a prefix the
		 * detector does not know ("kern  :err  : ", a host name, ...) */
		for (size_t i = 0; i + hl <= n && i < 64; i++)
			if (memcmp(p + i, heads[h], hl) == 0)
				return true;
	}
	return false;
}

/* Bytes of a text: how many are printable (or tab, newline, CR, ESC for
 * colour codes, backspace, form feed, UTF-8). */
static size_t printable_bytes(const uint8_t *p, size_t n)
{
	size_t good = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if ((c >= 0x20 && c != 0x7f) || c == '\t' || c == '\n' || c == '\r' || c == 0x1b ||
		    c == '\b' || c == '\f')
			good++;
	}
	return good;
}

/* Lines that look like a kernel log's in the first bytes of a text. A serial
 * console capture may carry binary junk before, inside or after the log, a
 * NUL byte, or lines that end in CR alone. */
static size_t kernel_lines(const uint8_t *p, size_t len, size_t enough)
{
	size_t found = 0;
	const uint8_t *end = p + len;
	while (p < end && found < enough) {
		size_t n = 0;
		while (p + n < end && p[n] != '\n' && !(p[n] == '\r' && (p + n + 1 == end || p[n + 1] != '\n')))
			n++;
		const uint8_t *q = p;
		size_t m = n;
		/* a console capture may prefix lines with CR, NULs or escape codes */
		while (m && (*q == '\r' || *q == ' ' || *q == '\0')) {
			q++;
			m--;
		}
		found += kernel_line(q, m);
		p += n + 1;
	}
	return found;
}

static struct vr_error *text_open(struct vr_dump *d, const uint8_t *head, size_t head_len)
{
	struct vr_source *s = &d->src[0];
	if (s->size > VR_MAX_TEXT_BYTES)
		return vr_error_create(VR_ERR_LIMIT,
				       "%s: kernel log of %" PRIu64 " bytes exceeds the limit of %llu",
				       s->path, s->size, VR_MAX_TEXT_BYTES);
	/* decide on the first SCAN_BYTES before reading a big file whole */
	size_t len = (size_t)s->size;
	size_t scan = len < SCAN_BYTES ? len : SCAN_BYTES;
	char *text = malloc(scan + 1);
	if (!text)
		return &vr_error_oom;
	struct vr_error *err = vr_source_pread(s, text, scan, 0, "the kernel log");
	if (err) {
		free(text);
		return vr_error_wrap(err, "%s", s->path);
	}
	text[scan] = '\0';
	/* A kernel log: one kernel log line in a mostly printable text, or
	 * several among junk (a binary file seldom holds even one). */
	size_t good = printable_bytes((const uint8_t *)text, scan);
	size_t lines = kernel_lines((const uint8_t *)text, scan, 3);
	bool is_text = lines >= 3 || (lines >= 1 && good * 2 >= scan);
	if (!is_text) {
		free(text);
		if (printable_bytes(head, head_len) * 100 >= head_len * 99)
			return vr_error_create(VR_ERR_FORMAT,
					       "%s: not a crash dump or kernel log (offsets 0 to 0x%zx: "
					       "text without kernel log lines)",
					       s->path, scan);
		return VR_FORMAT_NOT_MINE;
	}
	if (len > scan) {
		char *all = realloc(text, len + 1);
		if (!all) {
			free(text);
			return &vr_error_oom;
		}
		text = all;
		err = vr_source_pread(s, text + scan, len - scan, scan, "the kernel log");
		if (err) {
			free(text);
			return vr_error_wrap(err, "%s", s->path);
		}
		text[len] = '\0';
	}
	d->text = text;
	d->text_len = len;
	d->info.form = "text";
	d->info.compression = "none";
	return NULL;
}

static void text_close(struct vr_dump *d)
{
	(void)d;
}

const struct vr_format vr_format_text = {
	.name = "text",
	.open = text_open,
	.close = text_close,
};
