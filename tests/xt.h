/* xt.h - a tiny header-only test harness for the xmem tests.
 *
 *   CHECK(cond)              the condition must hold
 *   CHECK_EQ(a, b)           a == b (integers or pointers; both values printed)
 *   CHECK_NE(a, b)           a != b
 *   CHECK_ERRNO(fail, e)     `fail` is an expression that is true when the call
 *                            under test failed, e.g.
 *                              CHECK_ERRNO(xmem_heap_create(NULL) == NULL, EINVAL)
 *                            errno is cleared first; after it the failure must
 *                            have happened and errno must equal e.
 *   CHECK_FAILS_INT(call, e) call returns -1 with errno e
 *   CHECK_FAILS_PTR(call, e) call returns NULL with errno e
 *
 *   xt_run("name", fn)       runs one case; prints "PASS name" or "FAIL name"
 *   xt_run_isolated("name", fn, arg)  the same in a child process (fork), so
 *                            a case that crashes the library fails alone
 *   xt_rerun_self(argv0, envp)  runs the test binary again with envp; a
 *                            failed check unless the child exits 0
 *   xt_skip("why")           prints "SKIPPED: why" and exits 0
 *   return xt_done();        at the end of main: non-zero if anything failed
 *
 * A failed check prints file:line, the expression and the values, counts the
 * failure, and carries on (so one run shows every failing check).
 */
#ifndef XMEM_TESTS_XT_H
#define XMEM_TESTS_XT_H

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most tests are one .c file: the counters are static.  A test of several
 * files defines XT_EXTERN_STATE before it includes xt.h in each of them,
 * and one of them says XT_STATE_DEFINITIONS; at file scope: then every
 * file counts into the same counters. */
#ifndef XT_EXTERN_STATE
static unsigned long xt_failures;       /* failed checks, whole run */
static unsigned long xt_case_failures;  /* failed checks, current case */
static unsigned xt_cases_run, xt_cases_failed;
static const char *xt_case_name = "(none)";
#else
extern unsigned long xt_failures, xt_case_failures;
extern unsigned xt_cases_run, xt_cases_failed;
extern const char *xt_case_name;
#define XT_STATE_DEFINITIONS                                                 \
	unsigned long xt_failures, xt_case_failures;                         \
	unsigned xt_cases_run, xt_cases_failed;                              \
	const char *xt_case_name = "(none)"
#endif

static inline void xt_fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline void xt_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%d: [%s] ", file, line, xt_case_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	__atomic_add_fetch(&xt_failures, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&xt_case_failures, 1, __ATOMIC_RELAXED);
}

/* Returns the truth value so callers can bail out: if (!CHECK(p)) return; */
#define CHECK(cond)                                                          \
	({                                                                   \
		int xt_ok_ = !!(cond);                                       \
		if (!xt_ok_)                                                 \
			xt_fail_at(__FILE__, __LINE__, "CHECK(%s) failed",   \
				   #cond);                                   \
		xt_ok_;                                                      \
	})

#define XT_CMP_(a, b, op)                                                    \
	({                                                                   \
		__typeof__(a) xt_a_ = (a);                                   \
		__typeof__(b) xt_b_ = (b);                                   \
		_Pragma("GCC diagnostic push")                               \
		_Pragma("GCC diagnostic ignored \"-Wsign-compare\"")         \
		int xt_ok_ = (xt_a_ op xt_b_);                               \
		_Pragma("GCC diagnostic pop")                                \
		if (!xt_ok_)                                                 \
			xt_fail_at(__FILE__, __LINE__,                       \
				   "CHECK(%s " #op " %s) failed: "           \
				   "%lld (0x%llx) vs %lld (0x%llx)",         \
				   #a, #b, (long long)(intptr_t)(xt_a_),     \
				   (unsigned long long)(uintptr_t)(xt_a_),   \
				   (long long)(intptr_t)(xt_b_),             \
				   (unsigned long long)(uintptr_t)(xt_b_));  \
		xt_ok_;                                                      \
	})

/* Values are printed through intptr_t, so keep operands integers or pointers
 * that fit in 64 bits. */
#define CHECK_EQ(a, b) XT_CMP_(a, b, ==)
#define CHECK_NE(a, b) XT_CMP_(a, b, !=)
#define CHECK_LE(a, b) XT_CMP_(a, b, <=)
#define CHECK_LT(a, b) XT_CMP_(a, b, <)
#define CHECK_GE(a, b) XT_CMP_(a, b, >=)
#define CHECK_GT(a, b) XT_CMP_(a, b, >)

#define CHECK_ERRNO(failed, err)                                             \
	({                                                                   \
		errno = 0;                                                   \
		int xt_failed_ = !!(failed);                                 \
		int xt_errno_ = errno;                                       \
		int xt_ok_ = xt_failed_ && xt_errno_ == (err);               \
		if (!xt_ok_)                                                 \
			xt_fail_at(__FILE__, __LINE__,                       \
				   "CHECK_ERRNO(%s, %s) failed: %s, errno "  \
				   "%d (%s), expected %d (%s)",              \
				   #failed, #err,                            \
				   xt_failed_ ? "call failed"                \
					      : "call did NOT fail",         \
				   xt_errno_, strerror(xt_errno_), (err),    \
				   strerror(err));                           \
		xt_ok_;                                                      \
	})

#define CHECK_FAILS_INT(call, err) CHECK_ERRNO((call) == -1, err)
#define CHECK_FAILS_PTR(call, err) CHECK_ERRNO((call) == NULL, err)

/* A call that must succeed (return 0); prints errno if it does not. */
#define CHECK_OK(call)                                                       \
	({                                                                   \
		errno = 0;                                                   \
		int xt_rc_ = (int)(call);                                    \
		int xt_e_ = errno;                                           \
		if (xt_rc_ != 0)                                             \
			xt_fail_at(__FILE__, __LINE__,                       \
				   "%s returned %d, errno %d (%s)", #call,   \
				   xt_rc_, xt_e_, strerror(xt_e_));          \
		xt_rc_ == 0;                                                 \
	})

/* Fatal: the test cannot go on (e.g. mmap failed). */
#define XT_FATAL(...)                                                        \
	do {                                                                 \
		xt_fail_at(__FILE__, __LINE__, __VA_ARGS__);                 \
		printf("FAIL %s\n", xt_case_name);                           \
		fflush(stdout);                                              \
		exit(1);                                                     \
	} while (0)

static inline void xt_run(const char *name, void (*fn)(void))
{
	xt_case_name = name;
	xt_case_failures = 0;
	fn();
	xt_cases_run++;
	if (xt_case_failures) {
		xt_cases_failed++;
		printf("FAIL %s\n", name);
	} else {
		printf("PASS %s\n", name);
	}
	fflush(stdout);
	xt_case_name = "(none)";
}

/* Same, for cases parameterised by one int (e.g. with/without IOVA table). */
static inline void xt_run_arg(const char *name, void (*fn)(int), int arg)
{
	xt_case_name = name;
	xt_case_failures = 0;
	fn(arg);
	xt_cases_run++;
	if (xt_case_failures) {
		xt_cases_failed++;
		printf("FAIL %s\n", name);
	} else {
		printf("PASS %s\n", name);
	}
	fflush(stdout);
	xt_case_name = "(none)";
}

/* A case run with an IOVA table (arg 1) and without one (arg 0). */
struct xt_tb_case {
	const char *name;
	void (*fn)(int with_table);
};
#define XT_TB_CASE(fn) {#fn, fn}

/* Every case with a table, then every case without, each reported as
 * "name[table]" or "name[no table]". */
static inline void xt_run_tables(const struct xt_tb_case *c, size_t n)
{
	for (int tb = 1; tb >= 0; tb--)
		for (size_t i = 0; i < n; i++) {
			char name[96];
			snprintf(name, sizeof name, "%s[%s]", c[i].name,
				 tb ? "table" : "no table");
			xt_run_arg(name, c[i].fn, tb);
		}
}

/* One case in a forked child: a crash (a segfault inside the library, an
 * abort, a sanitizer's exit) fails that case and the run goes on.  A child
 * that finishes prints its own PASS/FAIL line and exits 0 or
 * XT_CHILD_FAILED; for any other end the parent prints the FAIL line.  The
 * parent counts the failure.  Heaps created in the child die with it. */
#define XT_CHILD_FAILED 97
#include <sys/wait.h>
#include <unistd.h>
static inline void xt_run_isolated(const char *name, void (*fn)(int), int arg)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		xt_fail_at(__FILE__, __LINE__, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		xt_failures = 0;
		xt_run_arg(name, fn, arg);
		fflush(stdout);
		fflush(stderr);
		_exit(xt_failures ? XT_CHILD_FAILED : 0);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	xt_cases_run++;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return;
	xt_cases_failed++;
	__atomic_add_fetch(&xt_failures, 1, __ATOMIC_RELAXED);
	if (WIFSIGNALED(st))
		printf("FAIL %s (the case died of signal %d: %s)\n", name,
		       WTERMSIG(st), strsignal(WTERMSIG(st)));
	else if (WEXITSTATUS(st) != XT_CHILD_FAILED)
		printf("FAIL %s (the case exited with status %d before it finished)\n",
		       name, WEXITSTATUS(st));
	fflush(stdout);
}

/* Run this test's own binary again, as argv0, with only the environment
 * envp (say XMEM_NO_MEMBARRIER=1 and a marker the child checks); a failed
 * check unless it exits 0.  For a mode the library reads once, at load. */
#include <spawn.h>
static inline void xt_rerun_self(const char *argv0, char *const envp[])
{
	pid_t pid;
	char *argv[] = { (char *)argv0, NULL };
	int st = -1;
	fflush(stdout);
	if (!CHECK_EQ(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, envp), 0))
		return;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static inline void xt_skip(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static inline void xt_skip(const char *fmt, ...)
{
	va_list ap;
	printf("SKIPPED: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(0);
}

static inline int xt_done(void)
{
	printf("%u cases, %u failed, %lu failed checks\n", xt_cases_run,
	       xt_cases_failed, xt_failures);
	fflush(stdout);
	return xt_failures ? 1 : 0;
}

#endif /* XMEM_TESTS_XT_H */
