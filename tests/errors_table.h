/* errors_table.h - reads docs/errors.md (the bad-input table) and the public
 * headers, for tests/errors_test.c, the driver (header-only).
 *
 *   - et_load_doc:     every table row whose first cell is a backticked id:
 *                      id, function, returns, errno, run;
 *   - et_load_header:  every function declared in a header (a line that
 *                      starts in column 0 and names xmem_...( ) and the
 *                      errno names of the comment right above it;
 *   - et_errno_documented: whether a row's errno appears in its function's
 *                      comment (or in that of a function the comment refers
 *                      to, as "errors are those of xmem_heap_add_memory").
 *
 * The point is that the document, the headers and the test cannot drift: a
 * row without a case, a case without a row, a function without a row, or an
 * errno the header does not list all fail the test. */
#ifndef XMEM_TESTS_ERRORS_TABLE_H
#define XMEM_TESTS_ERRORS_TABLE_H

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum et_ret {
	ET_MINUS1,      /* -1 */
	ET_NULL,        /* NULL */
	ET_ZERO,        /* 0 (size_t results, or an int 0 that is not an error) */
	ET_BAD_IOVA,    /* XMEM_BAD_IOVA */
	ET_REPORT,      /* void: errno + invalid-free report */
	ET_NOTHING,     /* void: no report */
	ET_OK,          /* not an error; the case checks the semantics */
	ET_UNDETECTED,  /* the library cannot see it */
};

static const char *const et_ret_names[] = {
	"-1", "NULL", "0", "XMEM_BAD_IOVA", "report", "nothing", "ok", "undetected",
};

struct et_row {
	char id[80];
	char fn[64];
	enum et_ret ret;
	int err;            /* 0: none */
	char err_name[16];
	bool passthrough;   /* "(passed through)" */
	char run[8];        /* host, vfio, none */
	int line;
	bool has_case;
};

struct et_func {
	char name[64];
	char comment[4096];   /* the comment block right above the declaration */
	const char *header;
	bool has_row;
};

struct et_table {
	struct et_row *rows;
	size_t n_rows;
	struct et_func *funcs;
	size_t n_funcs;
	unsigned errors;      /* problems found while reading */
};

static const struct {
	const char *name;
	int value;
} et_errnos[] = {
	{"EINVAL", EINVAL}, {"ENOENT", ENOENT}, {"EEXIST", EEXIST},
	{"ENOSPC", ENOSPC}, {"ENOMEM", ENOMEM}, {"EBUSY", EBUSY},
	{"EIO", EIO},       {"ENODEV", ENODEV}, {"EACCES", EACCES},
	{"EPROTO", EPROTO}, {"ENOTSUP", ENOTSUP}, {"EPERM", EPERM},
	{"EFAULT", EFAULT}, {"ENOTTY", ENOTTY}, {"EBADF", EBADF},
	{"EXDEV", EXDEV},   {"ENOSYS", ENOSYS},
};

static inline void et_problem(struct et_table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void et_problem(struct et_table *t, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "errors table: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	t->errors++;
}

static inline char *et_trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Copy s without backticks. */
static inline void et_unquote(char *dst, size_t cap, const char *s)
{
	size_t k = 0;
	for (; *s && k + 1 < cap; s++)
		if (*s != '`')
			dst[k++] = *s;
	dst[k] = '\0';
}

static inline int et_errno_value(const char *name)
{
	for (size_t i = 0; i < sizeof et_errnos / sizeof et_errnos[0]; i++)
		if (strcmp(et_errnos[i].name, name) == 0)
			return et_errnos[i].value;
	return -1;
}

static inline const char *et_errno_name(int e)
{
	for (size_t i = 0; i < sizeof et_errnos / sizeof et_errnos[0]; i++)
		if (et_errnos[i].value == e)
			return et_errnos[i].name;
	return e ? "E?" : "none";
}

static inline bool et_load_doc(struct et_table *t, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		et_problem(t, "cannot open %s: %s", path, strerror(errno));
		return false;
	}
	char buf[2048];
	int line = 0;
	size_t cap = 0;
	while (fgets(buf, sizeof buf, f)) {
		line++;
		if (strncmp(buf, "| `", 3) != 0)
			continue;
		char *cells[8];
		int n = 0;
		char *p = buf + 1;
		while (n < 8) {
			char *bar = strchr(p, '|');
			if (!bar)
				break;
			*bar = '\0';
			cells[n++] = et_trim(p);
			p = bar + 1;
		}
		if (n != 6) {
			et_problem(t, "%s:%d: a row needs 6 cells, has %d", path, line, n);
			continue;
		}
		if (t->n_rows == cap) {
			cap = cap ? 2 * cap : 256;
			t->rows = realloc(t->rows, cap * sizeof *t->rows);
			if (!t->rows)
				abort();
		}
		struct et_row *r = &t->rows[t->n_rows];
		memset(r, 0, sizeof *r);
		r->line = line;
		et_unquote(r->id, sizeof r->id, cells[0]);
		et_unquote(r->fn, sizeof r->fn, cells[1]);
		snprintf(r->run, sizeof r->run, "%s", cells[5]);
		int ret = -1;
		for (int k = 0; k < (int)(sizeof et_ret_names / sizeof et_ret_names[0]); k++)
			if (strcmp(cells[3], et_ret_names[k]) == 0)
				ret = k;
		if (ret < 0) {
			et_problem(t, "%s:%d: %s: unknown returns \"%s\"", path, line, r->id, cells[3]);
			continue;
		}
		r->ret = (enum et_ret)ret;
		if (strcmp(r->run, "host") && strcmp(r->run, "vfio") && strcmp(r->run, "none")) {
			et_problem(t, "%s:%d: %s: run must be host, vfio or none", path, line, r->id);
			continue;
		}
		if (r->ret == ET_UNDETECTED && strcmp(r->run, "none")) {
			et_problem(t, "%s:%d: %s: an undetected row cannot be run", path, line, r->id);
			continue;
		}
		/* errno: "—", "EINVAL", "EPERM (passed through)" */
		char *e = cells[4];
		if (strcmp(e, "—") == 0 || strcmp(e, "-") == 0) {
			r->err = 0;
		} else {
			char name[16] = "";
			sscanf(e, "%15[A-Z0-9]", name);
			int v = et_errno_value(name);
			if (v < 0) {
				if (strcmp(r->run, "none") != 0)
					et_problem(t, "%s:%d: %s: unknown errno \"%s\"", path, line, r->id, e);
				v = 0;
			}
			r->err = v;
			snprintf(r->err_name, sizeof r->err_name, "%s", name);
			r->passthrough = strstr(e, "passed through") != NULL;
		}
		for (size_t k = 0; k < t->n_rows; k++)
			if (strcmp(t->rows[k].id, r->id) == 0)
				et_problem(t, "%s:%d: %s: duplicate id (line %d)", path, line, r->id,
					   t->rows[k].line);
		const char *dot = strchr(r->id, '.');
		if (!dot || strncmp(r->fn, "xmem_", 5) != 0 ||
		    strncmp(r->id, r->fn + 5, (size_t)(dot - r->id)) != 0 ||
		    r->fn[5 + (dot - r->id)] != '\0')
			et_problem(t, "%s:%d: id %s does not start with the function name %s minus xmem_",
				   path, line, r->id, r->fn);
		t->n_rows++;
	}
	fclose(f);
	if (t->n_rows == 0)
		et_problem(t, "%s: no rows", path);
	return t->n_rows > 0;
}

static inline struct et_func *et_func_find(struct et_table *t, const char *name)
{
	for (size_t i = 0; i < t->n_funcs; i++)
		if (strcmp(t->funcs[i].name, name) == 0)
			return &t->funcs[i];
	return NULL;
}

/* The function a line declares: it starts in column 0 with a type, is not a
 * typedef or preprocessor line, and has xmem_<name>( before any other '('. */
static inline bool et_decl_name(const char *s, char *out, size_t cap)
{
	if (!isalpha((unsigned char)s[0]) || strncmp(s, "typedef", 7) == 0 ||
	    strncmp(s, "extern", 6) == 0)
		return false;
	const char *paren = strchr(s, '(');
	if (!paren)
		return false;
	const char *end = paren;
	const char *b = end;
	while (b > s && (isalnum((unsigned char)b[-1]) || b[-1] == '_'))
		b--;
	if (end - b < 6 || strncmp(b, "xmem_", 5) != 0 || (size_t)(end - b) >= cap)
		return false;
	memcpy(out, b, (size_t)(end - b));
	out[end - b] = '\0';
	return true;
}

static inline bool et_load_header(struct et_table *t, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		et_problem(t, "cannot open %s: %s", path, strerror(errno));
		return false;
	}
	static char lines[2000][256];
	int n = 0;
	while (n < 2000 && fgets(lines[n], sizeof lines[n], f))
		n++;
	fclose(f);
	for (int i = 0; i < n; i++) {
		char name[64];
		if (!et_decl_name(lines[i], name, sizeof name))
			continue;
		if (et_func_find(t, name))
			continue;
		t->funcs = realloc(t->funcs, (t->n_funcs + 1) * sizeof *t->funcs);
		if (!t->funcs)
			abort();
		struct et_func *fn = &t->funcs[t->n_funcs++];
		memset(fn, 0, sizeof *fn);
		snprintf(fn->name, sizeof fn->name, "%s", name);
		fn->header = path;
		/* Up to the end of the comment above (over other declarations
		 * and #defines), then back to its start. */
		int j = i - 1;
		for (; j >= 0; j--) {
			char tmp[256];
			snprintf(tmp, sizeof tmp, "%s", lines[j]);
			char *s = et_trim(tmp);
			size_t len = strlen(s);
			if (len >= 2 && strcmp(s + len - 2, "*/") == 0)
				break;
			if (len == 0 || s[len - 1] == '{' || s[len - 1] == '}' ||
			    strcmp(s, "};") == 0) {
				j = -1;
				break;
			}
		}
		if (j < 0) {
			et_problem(t, "%s:%d: %s has no comment above it", path, i + 1, name);
			continue;
		}
		int k = j;
		while (k >= 0 && !strstr(lines[k], "/*"))
			k--;
		for (int m = k < 0 ? 0 : k; m <= j; m++)
			strncat(fn->comment, lines[m],
				sizeof fn->comment - strlen(fn->comment) - 1);
	}
	return true;
}

static inline bool et_comment_has_errno(const char *comment, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = comment; (p = strstr(p, name)); p++) {
		bool left = p == comment || !isalnum((unsigned char)p[-1]);
		bool right = !isalnum((unsigned char)p[n]);
		if (left && right)
			return true;
	}
	return false;
}

/* Is the row's errno in the header comment of its function, or of a
 * function that comment names?  Passed-through codes need the comment to
 * say it passes codes through ("passed through" or "Other"). */
static inline bool et_errno_documented(struct et_table *t, const struct et_row *r)
{
	struct et_func *fn = et_func_find(t, r->fn);
	if (!fn || !r->err)
		return true;
	const char *texts[8] = {fn->comment};
	int nt = 1;
	for (const char *p = fn->comment; (p = strstr(p, "xmem_")) && nt < 8; p++) {
		char name[64];
		size_t k = 0;
		while (k + 1 < sizeof name && (isalnum((unsigned char)p[k]) || p[k] == '_')) {
			name[k] = p[k];
			k++;
		}
		name[k] = '\0';
		struct et_func *other = et_func_find(t, name);
		if (other && other != fn)
			texts[nt++] = other->comment;
	}
	for (int i = 0; i < nt; i++) {
		if (et_comment_has_errno(texts[i], r->err_name))
			return true;
		if (r->passthrough && (strstr(texts[i], "passed through") ||
				       strstr(texts[i], "Other")))
			return true;
	}
	return false;
}

#endif /* XMEM_TESTS_ERRORS_TABLE_H */
