/*
 * harness.h - the in-tree unit test harness: fork per case, tables of cases.
 *
 *   static void t_something(void) { T_ASSERT(x == 1); T_ASSERT_EQ_INT(a, b); }
 *   static const struct t_case cases[] = { T_CASE(t_something), ... };
 *   int main(int argc, char **argv) { return t_run(argc, argv, cases, T_COUNT(cases)); }
 *
 * Each case runs in a child process: a crash or sanitizer abort fails that case only. A case
 * skips by calling T_SKIP("why") (exit 77). `binary NAME` runs one case. The binary prints
 * "<binary>: N passed, N failed, N skipped" and exits 1 if any case failed.
 * T_SEED is a per-run seed (env T_SEED or time based), printed when a case fails.
 */
#ifndef RILL_TESTS_HARNESS_H
#define RILL_TESTS_HARNESS_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct t_case {
    const char *name;
    void (*fn)(void);
};

#define T_CASE(fn) \
    {              \
#fn, fn    \
    }
#define T_COUNT(a)  (sizeof(a) / sizeof((a)[0]))
#define T_SKIP_CODE 77

static uint64_t T_SEED;

#define T_FAIL(...)                                       \
    do {                                                  \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                     \
        fprintf(stderr, " (seed %" PRIu64 ")\n", T_SEED); \
        exit(1);                                          \
    } while (0)

#define T_ASSERT(x)                             \
    do {                                        \
        if (!(x)) {                             \
            T_FAIL("assertion failed: %s", #x); \
        }                                       \
    } while (0)

#define T_ASSERT_EQ_INT(a, b)                                     \
    do {                                                          \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);   \
        if (t_a_ != t_b_) {                                       \
            T_FAIL("%s == %s: %lld != %lld", #a, #b, t_a_, t_b_); \
        }                                                         \
    } while (0)

#define T_ASSERT_OK(expr)                            \
    do {                                             \
        int t_err_ = (int)(expr);                    \
        if (t_err_ != 0) {                           \
            T_FAIL("%s returned %d", #expr, t_err_); \
        }                                            \
    } while (0)

#define T_ASSERT_MEM_EQ(a, b, n)                                                 \
    do {                                                                         \
        if (memcmp((a), (b), (n)) != 0) {                                        \
            T_FAIL("memory differs: %s vs %s (%zu bytes)", #a, #b, (size_t)(n)); \
        }                                                                        \
    } while (0)

#define T_SKIP(why)                           \
    do {                                      \
        fprintf(stderr, "  skip: %s\n", why); \
        exit(T_SKIP_CODE);                    \
    } while (0)

/* xorshift64*: deterministic from T_SEED. */
static inline uint64_t t_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* A temporary directory removed by t_rmdir_all(); aborts the case on failure. */
static inline void t_mkdtemp(char *out, size_t out_bytes)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, out_bytes, "%s/rill-test-XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(out) == NULL) {
        T_FAIL("mkdtemp failed");
    }
}

static inline void t_rmdir_all(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "  warning: could not remove %s\n", dir);
    }
}

static inline int t_run(int argc, char **argv, const struct t_case *cases, size_t count)
{
    const char *seed_env = getenv("T_SEED");
    T_SEED = seed_env != NULL ? strtoull(seed_env, NULL, 0) : (uint64_t)time(NULL) * 2654435761u;
    if (T_SEED == 0) {
        T_SEED = 1;
    }
    const char *prog = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 : argv[0];
    unsigned passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < count; i++) {
        if (argc > 1 && strcmp(argv[1], cases[i].name) != 0) {
            continue;
        }
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == 0) {
            cases[i].fn();
            exit(0);
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid) {
            status = -1;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            passed++;
            printf("ok   %s\n", cases[i].name);
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == T_SKIP_CODE) {
            skipped++;
            printf("skip %s\n", cases[i].name);
        } else {
            failed++;
            printf("FAIL %s (%s %d, seed %" PRIu64 ")\n", cases[i].name,
                   WIFSIGNALED(status) ? "signal" : "exit",
                   WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), T_SEED);
        }
    }
    printf("%s: %u passed, %u failed, %u skipped\n", prog, passed, failed, skipped);
    return failed > 0 ? 1 : 0;
}

#endif
