/* vmreport: the only place that talks to the user. Parses the command line,
 * runs open -> collect -> analyze -> emit, maps outcomes to exit codes:
 * 0 report written, 1 usage error, 2 input could not be analysed,
 * 3 --fail-on matched. Diagnostics go to stderr, one line each. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <getopt.h>
#include <malloc.h>
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
	"  --batch               every argument is a dump, a kdump save directory or a\n"
	"                        directory of them (/var/crash): one report per dump\n"
	"                        for each -o FORMAT:DIR/, a summary on stdout\n"
	"  --timings             include each step's time in milliseconds\n"
	"  --mail-to ADDR        To: of the email format (default root@localhost)\n"
	"  --mail-from ADDR      From: of the email format\n"
	"  --color WHEN          text colour: auto (default), always, never\n"
	"  -h, --help            show this help\n"
	"  -V, --version         show the version\n"
	"\n"
	"A dump split by makedumpfile --split is given as all its parts:\n"
	"  vmreport PART1 PART2 ... [VMLINUX]\n"
	"Many dumps at once, each report in DIR/, a summary on stdout:\n"
	"  vmreport --batch -o json:DIR/ /var/crash DUMP...\n"
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
	bool redact, log_only, timings, batch;
	const char *mail_to, *mail_from;
	int color; /* -1 auto, 0 never, 1 always */
	const char *dumps[MAX_LIST];   /* --batch: the arguments */
	size_t n_dumps;
	enum vr_output_format summary_fmt; /* --batch: --format */
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

/* The options, up to the first argument that is none: o, and the format
 * asked for stdout (*stdout_fmt; *have_stdout_format when one was). */
static int parse_options(int argc, char **argv, struct options *o, enum vr_output_format *stdout_fmt,
			 bool *have_stdout_format)
{
	enum {
		OPT_FORMAT = 256, OPT_RULES, OPT_NO_DEFAULT_RULES, OPT_FAIL_ON, OPT_MODULES,
		OPT_REDACT, OPT_LOG, OPT_TIMINGS, OPT_MAIL_TO, OPT_MAIL_FROM, OPT_COLOR, OPT_BATCH,
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
		{"batch", no_argument, NULL, OPT_BATCH},
		{"mail-to", required_argument, NULL, OPT_MAIL_TO},
		{"mail-from", required_argument, NULL, OPT_MAIL_FROM},
		{"color", required_argument, NULL, OPT_COLOR},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:hV", longopts, NULL)) != -1) {
		struct vr_error *err = NULL;
		switch (c) {
		case OPT_FORMAT:
			err = vr_output_format_parse(optarg, stdout_fmt);
			*have_stdout_format = true;
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
		case OPT_BATCH:
			o->batch = true;
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
	return 0;
}

/* --batch: the arguments are dumps, save directories or directories of
 * them, each with a report of its own. */
static int batch_arguments(int argc, char **argv, struct options *o)
{
	if (o->log_only)
		return usage_error("--log prints one dump's log: not with --batch");
	for (size_t i = 0; i < o->n_outputs; i++) {
		const char *p = o->outputs[i].path;
		size_t n = p ? strlen(p) : 0;
		if (!n || p[n - 1] != '/')
			return usage_error("--batch writes one report per dump: -o wants FORMAT:DIR/ (a "
					   "directory, ending in '/'), not '%s'", p ? p : "-");
	}
	for (int i = optind; i < argc; i++) {
		if (o->n_dumps >= MAX_LIST)
			return usage_error("too many arguments for --batch");
		o->dumps[o->n_dumps++] = argv[i];
	}
	return 0;
}

/* One dump: its parts, and the VMLINUX when the last argument is one; a
 * kdump save directory's dump, and the log saved beside a dump. */
static int dump_arguments(int argc, char **argv, struct options *o)
{
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
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	bool have_stdout_format = false;
	enum vr_output_format stdout_fmt = VR_OUTPUT_TEXT;
	o->fail_on = -1;
	o->color = -1;
	int rc = parse_options(argc, argv, o, &stdout_fmt, &have_stdout_format);
	if (rc)
		return rc;
	int npos = argc - optind;
	if (npos < 1)
		return usage_error("no dump given");
	if (o->batch) {
		o->summary_fmt = stdout_fmt;
		return batch_arguments(argc, argv, o);
	}
	if ((rc = dump_arguments(argc, argv, o)))
		return rc;
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

/* One dump to analyse: its parts, the vmlinux given (NULL: look for it),
 * the log saved beside it, where its reports go; then what came of it. */
struct job {
	const char *const *dumps;
	size_t n_dumps;
	const char *vmlinux;
	const char *log_path;
	struct output outputs[MAX_OUTPUTS];
	size_t n_outputs;
	char *owned[2 + MAX_OUTPUTS];  /* --batch: the strings above it owns */
	int rc;                        /* 0, 2 or 3 */
	struct vr_batch_row row;       /* --batch: what the summary shows */
};

static void job_deinit(struct job *j)
{
	for (size_t i = 0; i < sizeof(j->owned) / sizeof(j->owned[0]); i++)
		free(j->owned[i]);
	vr_batch_row_deinit(&j->row);
}

/* A diagnostic on stderr; in a batch, also the dump's error in the summary. */
static int job_fail(struct job *j, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int job_fail(struct job *j, int rc, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	fprintf(stderr, "vmreport: %s\n", msg ? msg : "out of memory");
	if (rc == 2 && !j->row.error) {
		j->row.error = msg;
		msg = NULL;
	}
	free(msg);
	return rc;
}

/* The rules, built in and given: a broken rule file is the user's to fix
 * (exit 1) and wins over any problem with the dump. Loaded on a thread of
 * their own while the dump is read: a report needs them only once the
 * facts are in. */
struct rules {
	const struct options *o;
	struct vr_ruleset *rules;
	int rc;
	pthread_t thread;
	bool running;
};

static int load_rules(const struct options *o, struct vr_ruleset **ret)
{
	struct vr_ruleset *rules = NULL;
	struct vr_error *err = vr_ruleset_create(!o->no_default_rules, &rules);
	for (size_t i = 0; !err && i < o->n_rules; i++)
		err = vr_ruleset_load_path(rules, o->rules[i]);
	if (err) {
		fprintf(stderr, "vmreport: %s\n", err->message);
		vr_error_destroy(err);
		vr_ruleset_destroy(rules);
		return 1;
	}
	*ret = rules;
	return 0;
}

static void *rules_thread(void *arg)
{
	struct rules *r = arg;
	r->rc = load_rules(r->o, &r->rules);
	return NULL;
}

static void rules_start(struct rules *r, const struct options *o)
{
	*r = (struct rules){ .o = o };
	r->running = pthread_create(&r->thread, NULL, rules_thread, r) == 0;
	if (!r->running)
		r->rc = load_rules(o, &r->rules);
}

/* 0 once the rules are loaded, 1 when they could not be. */
static int rules_wait(struct rules *r)
{
	if (r->running) {
		pthread_join(r->thread, NULL);
		r->running = false;
	}
	return r->rc;
}

/* Opens, collects, analyses and writes the reports of one dump; its exit
 * status (0, 2 or 3; 1 when the rules, still loading, fail). */
static int analyse(const struct options *o, struct rules *rl, struct vr_debuginfo_cache *cache,
		   struct job *j)
{
	struct vr_diag diag = {0};
	struct vr_open_options oo = {
		.dump_paths = j->dumps,
		.n_dump_paths = j->n_dumps,
		.vmlinux_path = j->vmlinux,
		.module_dirs = o->module_dirs,
		.n_module_dirs = o->n_module_dirs,
		.no_discovery = getenv("VMREPORT_NO_DISCOVERY") != NULL,
		.whole_dwarf = getenv("VMREPORT_WHOLE_DWARF") != NULL,
		.debuginfo = cache,
		.log_path = j->log_path,
	};
	struct vr_kernel *k = NULL;
	struct vr_error *err = vr_kernel_open(&oo, &diag, &k);
	if (err && rules_wait(rl)) {
		vr_error_destroy(err);
		vr_diag_deinit(&diag);
		return 1;
	}
	if (err) {
		int rc = job_fail(j, 2, "%s", err->message);
		vr_error_destroy(err);
		vr_diag_deinit(&diag);
		return rc;
	}

	struct vr_facts facts = {0};
	vr_kernel_collect(k, &facts, &diag);

	int rc = 0;
	if (o->log_only) {
		if (facts.log.n_records == 0) {
			rc = job_fail(j, 2, "%s: no kernel log could be read from the dump", j->dumps[0]);
			for (size_t i = 0; i < diag.n_steps; i++)
				if (!strcmp(diag.steps[i].name, "log") && diag.steps[i].reason)
					fprintf(stderr, "vmreport: log: %s\n", diag.steps[i].reason);
		} else {
			vr_log_render(&facts.log, stdout);
			if (fflush(stdout) != 0)
				rc = 2;
		}
		vr_facts_deinit(&facts);
		vr_kernel_destroy(k);
		vr_diag_deinit(&diag);
		return rc;
	}

	if (rules_wait(rl)) {
		vr_facts_deinit(&facts);
		vr_kernel_destroy(k);
		vr_diag_deinit(&diag);
		return 1;
	}
	struct vr_report report;
	struct vr_input_info input;
	err = vr_input_copy(vr_kernel_input(k), &input);
	if (err) {
		rc = job_fail(j, 2, "%s", err->message);
		vr_error_destroy(err);
		vr_facts_deinit(&facts);
		vr_kernel_destroy(k);
		vr_diag_deinit(&diag);
		return rc;
	}
	vr_report_init(&report, &input, &facts, &diag);
	report.timings = o->timings;
	struct vr_analysis a = {.kernel = k, .facts = &facts, .rules = rl->rules, .report = &report};
	vr_analyze(&a);

	if (diag.lost)
		err = vr_error_create(VR_ERR_NOMEM, "out of memory: the report's step list is incomplete");
	if (!err && o->redact)
		err = vr_report_redact(&report, &oo);
	if (!err)
		err = vr_report_clean_strings(&report);
	if (err) {
		rc = job_fail(j, 2, "%s: %s", o->redact ? "redacting" : "preparing the report", err->message);
		vr_error_destroy(err);
	}

	if (!rc) {
		struct options oj = *o;
		memcpy(oj.outputs, j->outputs, sizeof(j->outputs));
		oj.n_outputs = j->n_outputs;
		rc = write_outputs(&oj, &report);
		if (rc)
			job_fail(j, rc, "%s: a report could not be written", j->dumps[0]);
	}
	if (!rc && o->fail_on >= 0) {
		for (size_t i = 0; i < report.n_findings; i++)
			if (vr_severity_rank(report.findings[i].severity) >= o->fail_on)
				rc = 3;
	}
	if (o->batch && rc != 2) {
		/* fails only when out of memory */
		struct vr_error *rerr = vr_batch_row_fill(&j->row, &report);
		if (rerr)
			rc = job_fail(j, 2, "%s: %s", j->dumps[0], rerr->message);
		vr_error_destroy(rerr);
	}

	vr_report_deinit(&report);
	vr_input_deinit(&input);
	vr_facts_deinit(&facts);
	vr_kernel_destroy(k);
	vr_diag_deinit(&diag);
	return rc;
}

static int run_batch(const struct options *o);

static int run(const struct options *o)
{
	if (o->batch)
		return run_batch(o);
	struct rules rl;
	rules_start(&rl, o);
	struct job j = {
		.dumps = o->dumps,
		.n_dumps = o->n_dumps,
		.vmlinux = o->vmlinux,
		.log_path = o->savedir.log != o->dumps[0] ? o->savedir.log : NULL,
		.n_outputs = o->n_outputs,
	};
	memcpy(j.outputs, o->outputs, sizeof(o->outputs));
	int rc = analyse(o, &rl, NULL, &j);
	int rules_rc = rules_wait(&rl);
	job_deinit(&j);
	vr_ruleset_destroy(rl.rules);
	return rules_rc ? rules_rc : rc;
}

int main(int argc, char **argv)
{
	/* A report allocates tens of MB in pieces of up to a few MB (tables
	 * read from the dump, the symbol table) and frees them soon: from the
	 * heap rather than one mapping each, since unmapping one while other
	 * threads run costs every CPU a TLB flush, and a fresh mapping a page
	 * fault per page. */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 128 << 20);
	struct options o = {0};
	int rc = parse_args(argc, argv, &o);
	if (!rc)
		rc = run(&o);
	vr_savedir_deinit(&o.savedir);
	return rc;
}

/* ---- --batch ---- */

struct batch {
	const struct options *o;
	struct rules *rules;
	struct vr_debuginfo_cache *cache;
	struct job *jobs;
	size_t n, cap;
	size_t next; /* the next job to take (atomic) */
	char *limit; /* why the batch could not be listed, when not out of memory */
};

/* A list of the batch that could not grow: 2, and why when it is not out of
 * memory (more entries than a batch takes). */
static int batch_grow_failed(struct batch *b, const char *what, struct vr_error *err)
{
	if (!vr_error_is_fatal(err) && !b->limit)
		b->limit = vr_asprintf("%s: %s", what, err->message);
	vr_error_destroy(err);
	return 2;
}

static const char *base_name(const char *path)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	const char *b = path + n;
	while (b > path && b[-1] != '/')
		b--;
	return b;
}

/* A job for dump (found at log beside it when not NULL), named name (its
 * save directory's or its own), or one that failed before it began: err. */
static int add_job(struct batch *b, const char *name, size_t name_len, const char *dump, const char *log,
		   const char *err)
{
	struct vr_error *gerr = vr_grow(&b->jobs, &b->cap, b->n + 1, sizeof(*b->jobs), 1u << 20);
	if (gerr)
		return batch_grow_failed(b, "the dumps of the batch", gerr);
	struct job *j = &b->jobs[b->n++];
	*j = (struct job){ .n_dumps = 1, .row = { .crash_time = -1 } };
	j->row.name = vr_strndup(name, name_len);
	j->row.path = vr_strdup(dump);
	j->owned[0] = vr_strdup(dump);
	j->owned[1] = log ? vr_strdup(log) : NULL;
	j->log_path = j->owned[1];
	if (err) {
		j->rc = 2;
		j->row.status = 2;
		j->row.error = vr_strdup(err);
	}
	return !j->row.name || !j->row.path || !j->owned[0] || (log && !j->owned[1]) ? 2 : 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One argument: a dump, a save directory, or a directory of them. */
static int add_argument(struct batch *b, const char *arg)
{
	const char *kind = vr_file_kind(arg);
	if (!kind || strcmp(kind, "a directory") != 0) {
		/* A dump file: named after its save directory when it is one's
		 * dump (vmcore, dump.T), else after itself. */
		char *log = NULL;
		struct vr_error *err = vr_savedir_log_beside(arg, &log);
		if (err) {
			vr_error_destroy(err);
			return 2;
		}
		const char *base = base_name(arg);
		const char *name = base;
		size_t len = strlen(base);
		if (vr_savedir_dump_name(base) && base > arg + 1) {
			const char *end = base - 1; /* the '/' before the file */
			while (end > arg && end[-1] == '/')
				end--;
			const char *start = end;
			while (start > arg && start[-1] != '/')
				start--;
			if (end > start) {
				name = start;
				len = (size_t)(end - start);
			}
		}
		int rc = add_job(b, name, len, arg, log, NULL);
		free(log);
		return rc;
	}
	struct vr_savedir sd;
	struct vr_error *err = vr_savedir_resolve(arg, &sd);
	if (!err) {
		const char *base = base_name(arg);
		size_t len = strcspn(base, "/");
		int rc = add_job(b, base, len, sd.dump ? sd.dump : sd.log, sd.dump ? sd.log : NULL, NULL);
		vr_savedir_deinit(&sd);
		return rc;
	}
	if (err->code != VR_ERR_NOT_FOUND) {
		int rc = add_job(b, base_name(arg), strcspn(base_name(arg), "/"), arg, NULL, err->message);
		vr_error_destroy(err);
		return rc;
	}
	vr_error_destroy(err);
	/* A directory of save directories (/var/crash): each one, in name
	 * order; other entries (kdump's lock files, ...) are not dumps. */
	DIR *d = opendir(arg);
	if (!d) {
		char *msg = vr_asprintf("%s: %s", arg, strerror(errno));
		int rc = add_job(b, base_name(arg), strcspn(base_name(arg), "/"), arg, NULL, msg ? msg : "?");
		free(msg);
		return rc;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int rc = 0;
	while (!rc && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		struct vr_error *gerr = vr_grow(&names, &cap, n + 1, sizeof(*names), 1u << 16);
		if (gerr)
			rc = batch_grow_failed(b, arg, gerr);
		else if (!(names[n++] = vr_asprintf("%s/%s", arg, e->d_name)))
			rc = 2;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	size_t found = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		const char *sub_kind = vr_file_kind(names[i]);
		if (!sub_kind || strcmp(sub_kind, "a directory") != 0)
			continue;
		struct vr_savedir sub;
		err = vr_savedir_resolve(names[i], &sub);
		if (err) {
			bool nomem = err->code == VR_ERR_NOMEM;
			vr_error_destroy(err);
			if (nomem)
				rc = 2;
			continue;
		}
		found++;
		const char *base = base_name(names[i]);
		rc = add_job(b, base, strcspn(base, "/"), sub.dump ? sub.dump : sub.log, sub.dump ? sub.log : NULL,
			     NULL);
		vr_savedir_deinit(&sub);
	}
	if (!rc && !found) {
		char *msg = vr_asprintf("%s: a directory with no kdump save directory (a dump, or a log, "
					"in a directory of its own) in it",
					arg);
		rc = add_job(b, base_name(arg), strcspn(base_name(arg), "/"), arg, NULL, msg ? msg : "?");
		free(msg);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static const char *format_ext(enum vr_output_format f)
{
	switch (f) {
	case VR_OUTPUT_MARKDOWN:
		return "md";
	case VR_OUTPUT_JSON:
		return "json";
	case VR_OUTPUT_EMAIL:
		return "eml";
	default:
		return "txt";
	}
}

/* Names made unique (a second "vmcore" is "vmcore-2"), or, with --redact,
 * by position alone (a save directory's name may hold an address); the
 * reports' paths from them. */
static int name_jobs(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct job *j = &b->jobs[i];
		/* The array is whole now: pointers into a job stay. */
		j->dumps = (const char *const *)&j->owned[0];
		char *name = b->o->redact ? vr_asprintf("dump-%zu", i + 1) : vr_strdup(j->row.name);
		for (unsigned n = 2; name && !b->o->redact; n++) {
			bool taken = false;
			for (size_t k = 0; k < i && !taken; k++)
				taken = !strcmp(b->jobs[k].row.name, name);
			if (!taken)
				break;
			free(name);
			name = vr_asprintf("%s-%u", j->row.name, n);
		}
		if (!name)
			return 2;
		free(j->row.name);
		j->row.name = name;
		if (b->o->redact) {
			free(j->row.path);
			j->row.path = NULL;
		}
		for (size_t k = 0; k < b->o->n_outputs; k++) {
			const struct output *out = &b->o->outputs[k];
			char *path = vr_asprintf("%s%s.%s", out->path, name, format_ext(out->fmt));
			if (!path)
				return 2;
			j->owned[2 + k] = path;
			j->outputs[j->n_outputs++] = (struct output){ .fmt = out->fmt, .path = path };
		}
	}
	return 0;
}

static void *worker(void *arg)
{
	struct batch *b = arg;
	for (;;) {
		size_t i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED);
		if (i >= b->n)
			break;
		struct job *j = &b->jobs[i];
		if (j->rc == 2) { /* failed before it began */
			fprintf(stderr, "vmreport: %s\n", j->row.error ? j->row.error : "?");
			continue;
		}
		j->rc = analyse(b->o, b->rules, b->cache, j);
		j->row.status = j->rc;
	}
	return NULL;
}

static int run_batch(const struct options *o)
{
	for (size_t i = 0; i < o->n_outputs; i++) {
		const char *dir = o->outputs[i].path;
		if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
			fprintf(stderr, "vmreport: %s: %s\n", dir, strerror(errno));
			return 2;
		}
	}
	struct rules rl = { .o = o };
	int rc = rl.rc = load_rules(o, &rl.rules);
	if (rc)
		return rc;
	struct batch b = { .o = o, .rules = &rl, .cache = vr_debuginfo_cache_create() };
	if (!b.cache)
		rc = 2;
	for (size_t i = 0; !rc && i < o->n_dumps; i++)
		rc = add_argument(&b, o->dumps[i]);
	if (!rc)
		rc = name_jobs(&b);
	if (rc) {
		fprintf(stderr, "vmreport: %s\n", b.limit ? b.limit : "out of memory");
	} else {
		/* Every core: each worker takes the next dump; dumps of one
		 * vmlinux share what is read from it (the cache). */
		elf_version(EV_CURRENT);
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		size_t n_workers = cpus > 0 ? (size_t)cpus : 1;
		if (n_workers > b.n)
			n_workers = b.n ? b.n : 1;
		if (n_workers > 256)
			n_workers = 256;
		pthread_t threads[256];
		size_t started = 0;
		for (size_t i = 1; i < n_workers; i++)
			if (pthread_create(&threads[started], NULL, worker, &b) == 0)
				started++;
		worker(&b);
		for (size_t i = 0; i < started; i++)
			pthread_join(threads[i], NULL);

		struct vr_batch_row *rows = calloc(b.n ? b.n : 1, sizeof(*rows));
		if (!rows) {
			rc = 2;
		} else {
			for (size_t i = 0; i < b.n; i++) {
				rows[i] = b.jobs[i].row;
				/* The highest status of all: 3 over 2 over 0. */
				if (b.jobs[i].rc > rc)
					rc = b.jobs[i].rc;
			}
			struct vr_emit_options eo = { .mail_to = o->mail_to, .mail_from = o->mail_from };
			struct vr_error *err = vr_batch_emit(rows, b.n, o->summary_fmt, &eo, stdout);
			if (!err && fflush(stdout) != 0)
				err = vr_error_create(VR_ERR_IO, "writing the summary: %s", strerror(errno));
			if (err) {
				fprintf(stderr, "vmreport: %s\n", err->message);
				vr_error_destroy(err);
				if (rc < 2)
					rc = 2;
			}
			free(rows);
		}
	}
	for (size_t i = 0; i < b.n; i++)
		job_deinit(&b.jobs[i]);
	free(b.jobs);
	free(b.limit);
	vr_debuginfo_cache_destroy(b.cache);
	vr_ruleset_destroy(rl.rules);
	return rc;
}
