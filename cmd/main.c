/* vmreport: the only place that talks to the user. Parses the command line,
 * runs open -> collect -> analyze -> emit, maps outcomes to exit codes:
 * 0 report written, 1 usage error, 2 input could not be analysed,
 * 3 --fail-on matched. Diagnostics go to stderr, one line each. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <fcntl.h>
#include <getopt.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "analyzers/analyzer.h"
#include "engine/file.h"
#include "engine/kernel.h"
#include "engine/savedir.h"
#include "engine/log.h"
#include "report/model.h"
#include "rules/rules.h"

#define MAX_OUTPUTS 16
#define MAX_LIST 64

static const char usage_text[] =
	"Usage: vmreport [OPTIONS] DUMP [VMLINUX]\n"
	"Write a report on a Linux kernel crash dump (or a kernel log as text).\n"
	"\n"
	"  --format FORMAT       text (default), markdown, json or email, to stdout\n"
	"  -o, --output FORMAT:PATH\n"
	"                        also write FORMAT to PATH (repeatable; '-' is stdout)\n"
	"  --rules PATH          add a rule file or directory (repeatable)\n"
	"  --no-default-rules    do not load the built-in rules\n"
	"  --fail-on SEVERITY    exit 3 when a finding of at least info, warning,\n"
	"                        error or critical is reported\n"
	"  --modules DIR         look for module debug files in DIR (repeatable)\n"
	"  --redact              remove host names, IP and MAC addresses, user names,\n"
	"                        command lines and the directories of paths from\n"
	"                        every output\n"
	"  --log                 print only the kernel log held in DUMP, like dmesg\n"
	"  --timings             include each step's time in milliseconds\n"
	"  --mail-to ADDR        To: of the email format (default root@localhost)\n"
	"  --mail-from ADDR      From: of the email format\n"
	"  --color WHEN          text colour: auto (default), always, never\n"
	"  -h, --help            show this help\n"
	"  -V, --version         show the version\n"
	"\n"
	"A dump split by makedumpfile --split is given as all its parts:\n"
	"  vmreport PART1 PART2 ... [VMLINUX]\n"
	"Exit status: 0 report written, 1 usage error, 2 input could not be\n"
	"analysed, 3 --fail-on matched.\n";

struct output {
	enum vr_output_format fmt;
	const char *path; /* NULL: stdout */
};

struct options {
	struct output outputs[MAX_OUTPUTS];
	size_t n_outputs;
	const char *rules[MAX_LIST];
	size_t n_rules;
	bool no_default_rules;
	int fail_on; /* -1: off */
	const char *module_dirs[MAX_LIST];
	size_t n_module_dirs;
	bool redact, log_only, timings;
	const char *mail_to, *mail_from;
	int color; /* -1 auto, 0 never, 1 always */
	const char *dumps[MAX_LIST];
	size_t n_dumps;
	const char *vmlinux;
	struct vr_savedir savedir;     /* DUMP was a kdump save directory */
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("vmreport: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'vmreport --help' for more information.\n", stderr);
	return 1;
}

/* Is path a part of a dump (a --split part: a kdump-compressed or flattened
 * file, or an ELF core file) rather than a vmlinux? Read by content, never
 * blocking (a FIFO or a device is no dump part). */
static bool is_dump_part(const char *path)
{
	if (vr_file_kind(path))
		return false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	unsigned char hdr[18];
	ssize_t n = pread(fd, hdr, sizeof(hdr), 0);
	close(fd);
	if (n != (ssize_t)sizeof(hdr))
		return false;
	if (!memcmp(hdr, "KDUMP   ", 8) || !memcmp(hdr, "DISKDUMP", 8) || !memcmp(hdr, "makedumpfile", 12))
		return true;
	return !memcmp(hdr, "\177ELF", 4) && hdr[16] == 4 /* ET_CORE */;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	enum {
		OPT_FORMAT = 256, OPT_RULES, OPT_NO_DEFAULT_RULES, OPT_FAIL_ON, OPT_MODULES,
		OPT_REDACT, OPT_LOG, OPT_TIMINGS, OPT_MAIL_TO, OPT_MAIL_FROM, OPT_COLOR,
	};
	static const struct option longopts[] = {
		{"format", required_argument, NULL, OPT_FORMAT},
		{"output", required_argument, NULL, 'o'},
		{"rules", required_argument, NULL, OPT_RULES},
		{"no-default-rules", no_argument, NULL, OPT_NO_DEFAULT_RULES},
		{"fail-on", required_argument, NULL, OPT_FAIL_ON},
		{"modules", required_argument, NULL, OPT_MODULES},
		{"redact", no_argument, NULL, OPT_REDACT},
		{"log", no_argument, NULL, OPT_LOG},
		{"timings", no_argument, NULL, OPT_TIMINGS},
		{"mail-to", required_argument, NULL, OPT_MAIL_TO},
		{"mail-from", required_argument, NULL, OPT_MAIL_FROM},
		{"color", required_argument, NULL, OPT_COLOR},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	bool have_stdout_format = false;
	enum vr_output_format stdout_fmt = VR_OUTPUT_TEXT;
	o->fail_on = -1;
	o->color = -1;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:hV", longopts, NULL)) != -1) {
		struct vr_error *err = NULL;
		switch (c) {
		case OPT_FORMAT:
			err = vr_output_format_parse(optarg, &stdout_fmt);
			have_stdout_format = true;
			break;
		case 'o': {
			const char *colon = strchr(optarg, ':');
			if (!colon || colon == optarg || !colon[1])
				return usage_error("-o wants FORMAT:PATH, not '%s'", optarg);
			if (o->n_outputs >= MAX_OUTPUTS)
				return usage_error("too many -o options");
			char fmtname[32];
			snprintf(fmtname, sizeof(fmtname), "%.*s", (int)(colon - optarg), optarg);
			struct output *out = &o->outputs[o->n_outputs++];
			err = vr_output_format_parse(fmtname, &out->fmt);
			out->path = strcmp(colon + 1, "-") ? colon + 1 : NULL;
			break;
		}
		case OPT_RULES:
			if (o->n_rules >= MAX_LIST)
				return usage_error("too many --rules options");
			o->rules[o->n_rules++] = optarg;
			break;
		case OPT_NO_DEFAULT_RULES:
			o->no_default_rules = true;
			break;
		case OPT_FAIL_ON:
			o->fail_on = vr_severity_rank(optarg);
			if (o->fail_on < 0)
				return usage_error("--fail-on wants info, warning, error or critical, not '%s'", optarg);
			break;
		case OPT_MODULES:
			if (o->n_module_dirs >= MAX_LIST)
				return usage_error("too many --modules options");
			o->module_dirs[o->n_module_dirs++] = optarg;
			break;
		case OPT_REDACT:
			o->redact = true;
			break;
		case OPT_LOG:
			o->log_only = true;
			break;
		case OPT_TIMINGS:
			o->timings = true;
			break;
		case OPT_MAIL_TO:
			o->mail_to = optarg;
			break;
		case OPT_MAIL_FROM:
			o->mail_from = optarg;
			break;
		case OPT_COLOR:
			if (!strcmp(optarg, "auto"))
				o->color = -1;
			else if (!strcmp(optarg, "always"))
				o->color = 1;
			else if (!strcmp(optarg, "never"))
				o->color = 0;
			else
				return usage_error("--color wants auto, always or never, not '%s'", optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			printf("vmreport %s\n", VR_VERSION);
			exit(0);
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
		if (err) {
			fprintf(stderr, "vmreport: %s\nTry 'vmreport --help' for more information.\n", err->message);
			vr_error_destroy(err);
			return 1;
		}
	}
	int npos = argc - optind;
	if (npos < 1)
		return usage_error("no dump given");
	for (int i = optind; i < argc; i++) {
		if (access(argv[i], R_OK) != 0) {
			fprintf(stderr, "vmreport: %s: %s\n", argv[i], strerror(errno));
			return 2;
		}
		/* The last of two or more arguments is the VMLINUX unless it is
		 * a dump part: a file that is neither (empty, another program, a
		 * device) is reported by the vmlinux step and not used. */
		if (i > optind && i == argc - 1 && !is_dump_part(argv[i])) {
			o->vmlinux = argv[i];
		} else {
			if (o->n_dumps >= MAX_LIST)
				return usage_error("too many dump parts");
			o->dumps[o->n_dumps++] = argv[i];
		}
	}
	/* A kdump save directory: its dump, and the log saved beside it. */
	if (o->n_dumps == 1 && vr_file_kind(o->dumps[0]) && !strcmp(vr_file_kind(o->dumps[0]), "a directory")) {
		struct vr_error *err = vr_savedir_resolve(o->dumps[0], &o->savedir);
		if (err) {
			fprintf(stderr, "vmreport: %s\n", err->message);
			vr_error_destroy(err);
			return 2;
		}
		o->dumps[0] = o->savedir.dump ? o->savedir.dump : o->savedir.log;
	} else if (o->n_dumps == 1) {
		/* A dump inside a save directory: the log saved beside it too. */
		struct vr_error *err = vr_savedir_log_beside(o->dumps[0], &o->savedir.log);
		if (err) {
			fprintf(stderr, "vmreport: %s\n", err->message);
			vr_error_destroy(err);
			return 2;
		}
	}
	if (have_stdout_format || o->n_outputs == 0) {
		if (o->n_outputs >= MAX_OUTPUTS)
			return usage_error("too many outputs");
		/* stdout first, then -o files, all from one analysis */
		memmove(&o->outputs[1], &o->outputs[0], o->n_outputs * sizeof(o->outputs[0]));
		o->outputs[0] = (struct output){.fmt = stdout_fmt, .path = NULL};
		o->n_outputs++;
	}
	return 0;
}

static int write_outputs(const struct options *o, const struct vr_report *r)
{
	int rc = 0;
	for (size_t i = 0; i < o->n_outputs; i++) {
		const struct output *out = &o->outputs[i];
		FILE *f = stdout;
		if (out->path) {
			f = fopen(out->path, "w");
			if (!f) {
				fprintf(stderr, "vmreport: %s: %s\n", out->path, strerror(errno));
				rc = 2;
				continue;
			}
		}
		struct vr_emit_options eo = {
			.color = out->path == NULL && (o->color == 1 || (o->color < 0 && isatty(1) &&
								       !getenv("NO_COLOR"))),
			.mail_to = o->mail_to,
			.mail_from = o->mail_from,
		};
		struct vr_error *err = vr_report_emit(r, out->fmt, &eo, f);
		if (err) {
			fprintf(stderr, "vmreport: %s%s%s\n", out->path ? out->path : "", out->path ? ": " : "",
				err->message);
			vr_error_destroy(err);
			rc = 2;
		}
		if (out->path && fclose(f) != 0) {
			fprintf(stderr, "vmreport: %s: %s\n", out->path, strerror(errno));
			rc = 2;
		}
	}
	return rc;
}

static int run(struct options *op);

int main(int argc, char **argv)
{
	struct options o = {0};
	int rc = parse_args(argc, argv, &o);
	if (!rc)
		rc = run(&o);
	vr_savedir_deinit(&o.savedir);
	return rc;
}

static int run(struct options *op)
{
	struct options o = *op;
	int rc = 0;

	struct vr_diag diag = {0};
	struct vr_open_options oo = {
		.dump_paths = o.dumps,
		.n_dump_paths = o.n_dumps,
		.vmlinux_path = o.vmlinux,
		.module_dirs = o.module_dirs,
		.n_module_dirs = o.n_module_dirs,
		.no_discovery = getenv("VMREPORT_NO_DISCOVERY") != NULL,
		.whole_dwarf = getenv("VMREPORT_WHOLE_DWARF") != NULL,
		.log_path = o.savedir.log != o.dumps[0] ? o.savedir.log : NULL,
	};

	struct vr_ruleset *rules = NULL;
	struct vr_error *err = vr_ruleset_create(!o.no_default_rules, &rules);
	for (size_t i = 0; !err && i < o.n_rules; i++)
		err = vr_ruleset_load_path(rules, o.rules[i]);
	if (err) {
		/* A broken rule file is the user's to fix before anything runs. */
		fprintf(stderr, "vmreport: %s\n", err->message);
		vr_error_destroy(err);
		vr_ruleset_destroy(rules);
		return 1;
	}

	struct vr_kernel *k = NULL;
	err = vr_kernel_open(&oo, &diag, &k);
	if (err) {
		fprintf(stderr, "vmreport: %s\n", err->message);
		vr_error_destroy(err);
		vr_ruleset_destroy(rules);
		vr_diag_deinit(&diag);
		return 2;
	}

	struct vr_facts facts = {0};
	vr_kernel_collect(k, &facts, &diag);

	if (o.log_only) {
		rc = 0;
		if (facts.log.n_records == 0) {
			fprintf(stderr, "vmreport: %s: no kernel log could be read from the dump\n", o.dumps[0]);
			for (size_t i = 0; i < diag.n_steps; i++)
				if (!strcmp(diag.steps[i].name, "log") && diag.steps[i].reason)
					fprintf(stderr, "vmreport: log: %s\n", diag.steps[i].reason);
			rc = 2;
		} else {
			vr_log_render(&facts.log, stdout);
			if (fflush(stdout) != 0)
				rc = 2;
		}
		vr_facts_deinit(&facts);
		vr_kernel_destroy(k);
		vr_ruleset_destroy(rules);
		vr_diag_deinit(&diag);
		return rc;
	}

	struct vr_report report;
	struct vr_input_info input;
	err = vr_input_copy(vr_kernel_input(k), &input);
	if (err) {
		fprintf(stderr, "vmreport: %s\n", err->message);
		vr_facts_deinit(&facts);
		vr_kernel_destroy(k);
		vr_ruleset_destroy(rules);
		vr_diag_deinit(&diag);
		return 2;
	}
	vr_report_init(&report, &input, &facts, &diag);
	report.timings = o.timings;
	struct vr_analysis a = {.kernel = k, .facts = &facts, .rules = rules, .report = &report};
	vr_analyze(&a);

	if (o.redact)
		err = vr_report_redact(&report, &oo);
	if (!err)
		err = vr_report_clean_strings(&report);
	if (err) {
		fprintf(stderr, "vmreport: %s: %s\n", o.redact ? "redacting" : "preparing the report",
			err->message);
		vr_error_destroy(err);
		rc = 2;
	}

	if (!rc)
		rc = write_outputs(&o, &report);
	if (!rc && o.fail_on >= 0) {
		for (size_t i = 0; i < report.n_findings; i++)
			if (vr_severity_rank(report.findings[i].severity) >= o.fail_on)
				rc = 3;
	}

	vr_report_deinit(&report);
	vr_input_deinit(&input);
	vr_facts_deinit(&facts);
	vr_kernel_destroy(k);
	vr_ruleset_destroy(rules);
	vr_diag_deinit(&diag);
	return rc;
}
