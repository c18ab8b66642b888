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

static bool mostly_printable(const uint8_t *p, size_t n)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == 0)
			return false;
		/* tab, newline, CR, ESC (colour codes), backspace and UTF-8 are fine */
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != 0x1b && c != '\b' &&
		    c != '\f')
			bad++;
		if (c == 0x7f)
			bad++;
	}
	return bad * 100 <= n;
}

static struct vr_error *text_open(struct vr_dump *d, const uint8_t *head, size_t head_len)
{
	struct vr_source *s = &d->src[0];
	if (!mostly_printable(head, head_len))
		return VR_FORMAT_NOT_MINE;
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
	bool found = false;
	const uint8_t *p = (const uint8_t *)text, *end = p + scan;
	while (p < end && !found) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		/* a console capture may prefix lines with CR or escape codes */
		while (n && (*p == '\r' || *p == ' ')) {
			p++;
			n--;
		}
		found = kernel_line(p, n);
		p += n + 1;
	}
	if (!found || !mostly_printable((const uint8_t *)text, scan)) {
		free(text);
		if (!found && mostly_printable(head, head_len))
			return vr_error_create(VR_ERR_FORMAT,
					       "%s: not a crash dump or kernel log (text without "
					       "kernel log lines)",
					       s->path);
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
