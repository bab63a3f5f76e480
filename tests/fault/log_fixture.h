/*
 * log_fixture.h - shared by the fault tests of the partition log (test_log_recovery.c,
 * test_log_crash.c, test_log_faults.c): a deterministic record model, batch building, appends
 * that retry on RILL_ERR_AGAIN, whole-log verification through the public reader, and small
 * file and directory tools for damaging a log on purpose.
 *
 * The record model. The content of the record at an offset is a pure function of (seed,
 * generation, offset): key (sometimes null), value (sometimes null, sizes from 0 to
 * value_bytes_max), 0-2 headers and a timestamp that grows with the offset but jitters, so the
 * time index sees non-monotonic timestamps. A test only remembers which generation wrote each
 * offset (a new generation after a crash re-uses offsets with different content), so any record
 * read back can be checked against what was appended at its offset.
 *
 * Everything is static inline: each test binary uses a different subset.
 */
#ifndef RILL_TESTS_FAULT_LOG_FIXTURE_H
#define RILL_TESTS_FAULT_LOG_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <liburing.h>
#include <xxhash.h>

#include "rill.h"
#include "common/diag.h"
#include "common/limits.h"
#include "log/batch.h"
#include "log/io.h"
#include "log/partition.h"
#include "tests/harness.h"

#define FX_KEY_BYTES_MAX     24u
#define FX_VALUE_BYTES_MAX   4096u
#define FX_HEADERS_MAX       2u
#define FX_TIMESTAMP_BASE    1700000000000ll
#define FX_BATCH_RECORDS_MAX 64u
#define FX_FILES_MAX         256u

/* ---------------------------------------------------------------------------------------- */
/* Failure context                                                                            */
/* ---------------------------------------------------------------------------------------- */

/*
 * What the case is doing (iteration, damage, crash point), printed only if the case process
 * exits while it is set: T_FAIL exits, a passing case clears it first.
 */
static char fx_context_text[512];

static inline void fx_context_print(void)
{
    if (fx_context_text[0] != '\0') {
        fprintf(stderr, "  while: %s\n", fx_context_text);
    }
}

__attribute__((format(printf, 1, 2))) static inline void fx_context(const char *fmt, ...)
{
    static bool registered;
    if (!registered) {
        registered = true;
        atexit(fx_context_print);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fx_context_text, sizeof(fx_context_text), fmt, ap);
    va_end(ap);
}

static inline void fx_context_clear(void)
{
    fx_context_text[0] = '\0';
}

/* ---------------------------------------------------------------------------------------- */
/* Seeds and the record model                                                                 */
/* ---------------------------------------------------------------------------------------- */

/* splitmix64: turns related inputs (seed, case, iteration) into unrelated seeds. */
static inline uint64_t fx_mix(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z != 0 ? z : 1;
}

/* A seed for one case: T_SEED mixed with a per-case tag, so cases do not share sequences. */
static inline uint64_t fx_seed(uint64_t tag)
{
    return fx_mix(T_SEED ^ fx_mix(tag));
}

/* Uniform in [0, bound) (bound > 0). */
static inline uint64_t fx_below(uint64_t *rng, uint64_t bound)
{
    return t_rand(rng) % bound;
}

struct fx_model {
    uint64_t seed;
    uint32_t value_bytes_max; /* <= FX_VALUE_BYTES_MAX */
    uint8_t *gen;             /* generation that wrote each offset */
    int64_t capacity;
};

static inline void fx_model_init(struct fx_model *m, uint64_t seed, uint32_t value_bytes_max)
{
    T_ASSERT(value_bytes_max <= FX_VALUE_BYTES_MAX);
    m->seed = seed;
    m->value_bytes_max = value_bytes_max;
    m->gen = NULL;
    m->capacity = 0;
}

static inline void fx_model_deinit(struct fx_model *m)
{
    free(m->gen);
    m->gen = NULL;
    m->capacity = 0;
}

/* Records that generation gen wrote offsets [from, end). */
static inline void fx_model_set(struct fx_model *m, int64_t from, int64_t end, uint8_t gen)
{
    T_ASSERT(from >= 0 && from <= end);
    if (from == end) {
        return;
    }
    if (end > m->capacity) {
        int64_t capacity = m->capacity == 0 ? 1024 : m->capacity;
        while (capacity < end) {
            capacity *= 2;
        }
        uint8_t *grown = realloc(m->gen, (size_t)capacity);
        T_ASSERT(grown != NULL);
        memset(grown + m->capacity, 0, (size_t)(capacity - m->capacity));
        m->gen = grown;
        m->capacity = capacity;
    }
    memset(m->gen + from, gen, (size_t)(end - from));
}

static inline uint8_t fx_model_gen(const struct fx_model *m, int64_t offset)
{
    T_ASSERT(offset >= 0 && offset < m->capacity);
    return m->gen[offset];
}

/* One generated record; rec points into the buffers of the same struct (do not copy it). */
struct fx_rec {
    rill_record_t rec;
    uint8_t key[FX_KEY_BYTES_MAX];
    uint8_t value[FX_VALUE_BYTES_MAX];
    rill_header_t headers[FX_HEADERS_MAX];
    char header_names[FX_HEADERS_MAX][8];
    uint8_t header_values[FX_HEADERS_MAX][8];
};

static inline int64_t fx_rec_timestamp(uint64_t seed, uint8_t gen, int64_t offset)
{
    uint64_t state = fx_mix(seed ^ fx_mix(((uint64_t)gen << 56) ^ (uint64_t)offset ^ 0x7157));
    return FX_TIMESTAMP_BASE + offset * 4 + (int64_t)(state % 16);
}

static inline void
fx_rec_make(struct fx_rec *r, const struct fx_model *m, uint8_t gen, int64_t offset)
{
    uint64_t rng = fx_mix(m->seed ^ fx_mix(((uint64_t)gen << 56) ^ (uint64_t)offset));
    memset(&r->rec, 0, sizeof(r->rec));
    r->rec.timestamp_ms = fx_rec_timestamp(m->seed, gen, offset);
    if (fx_below(&rng, 8) == 0) {
        r->rec.key = NULL;
    } else {
        r->rec.key_bytes = (size_t)fx_below(&rng, FX_KEY_BYTES_MAX + 1);
        for (size_t i = 0; i < r->rec.key_bytes; i++) {
            r->key[i] = (uint8_t)t_rand(&rng);
        }
        r->rec.key = r->key;
    }
    uint64_t size_class = fx_below(&rng, 20);
    uint32_t value_max = m->value_bytes_max;
    uint32_t small_max = value_max < 64 ? value_max : 64;
    uint32_t medium_max = value_max < 512 ? value_max : 512;
    if (fx_below(&rng, 16) == 0) {
        r->rec.value = NULL;
    } else {
        uint32_t bound = size_class < 14 ? small_max : size_class < 19 ? medium_max : value_max;
        r->rec.value_bytes = (size_t)fx_below(&rng, (uint64_t)bound + 1);
        for (size_t i = 0; i < r->rec.value_bytes; i++) {
            r->value[i] = (uint8_t)t_rand(&rng);
        }
        r->rec.value = r->value;
    }
    r->rec.header_count = (size_t)fx_below(&rng, FX_HEADERS_MAX + 1);
    for (size_t h = 0; h < r->rec.header_count; h++) {
        snprintf(r->header_names[h], sizeof(r->header_names[h]), "h%u", (unsigned)h);
        size_t value_bytes = (size_t)fx_below(&rng, sizeof(r->header_values[h]) + 1);
        for (size_t i = 0; i < value_bytes; i++) {
            r->header_values[h][i] = (uint8_t)t_rand(&rng);
        }
        bool null_value = fx_below(&rng, 4) == 0;
        r->headers[h] = (rill_header_t){ .name = r->header_names[h],
                                         .name_bytes = strlen(r->header_names[h]),
                                         .value = null_value ? NULL : r->header_values[h],
                                         .value_bytes = null_value ? 0 : value_bytes };
    }
    r->rec.headers = r->rec.header_count > 0 ? r->headers : NULL;
}

/* Compares one nullable field: got_bytes < 0 means null. */
static inline bool
fx_field_equal(const void *want, size_t want_bytes, const void *got, long got_bytes)
{
    if (want == NULL || got_bytes < 0) {
        return want == NULL && got_bytes < 0;
    }
    return (size_t)got_bytes == want_bytes &&
           (want_bytes == 0 || memcmp(want, got, want_bytes) == 0);
}

/* Checks a record read through the public API against the model at offset. */
static inline void
fx_check_view(const struct fx_model *m, const rill_record_view_t *view, int64_t offset)
{
    struct fx_rec *want = malloc(sizeof(*want));
    T_ASSERT(want != NULL);
    fx_rec_make(want, m, fx_model_gen(m, offset), offset);
    if (rill_record_offset(view) != offset) {
        T_FAIL("record offset %lld, expected %lld", (long long)rill_record_offset(view),
               (long long)offset);
    }
    if (rill_record_timestamp(view) != want->rec.timestamp_ms) {
        T_FAIL("offset %lld: timestamp %lld, expected %lld", (long long)offset,
               (long long)rill_record_timestamp(view), (long long)want->rec.timestamp_ms);
    }
    size_t key_bytes = 0, value_bytes = 0;
    const void *key = rill_record_key(view, &key_bytes);
    const void *value = rill_record_value(view, &value_bytes);
    if (!fx_field_equal(want->rec.key, want->rec.key_bytes, key,
                        key == NULL ? -1 : (long)key_bytes)) {
        T_FAIL("offset %lld: key differs from what was appended", (long long)offset);
    }
    if (!fx_field_equal(want->rec.value, want->rec.value_bytes, value,
                        value == NULL ? -1 : (long)value_bytes)) {
        T_FAIL("offset %lld: value differs from what was appended (%zu bytes read, %zu written)",
               (long long)offset, value_bytes, want->rec.value_bytes);
    }
    T_ASSERT_EQ_INT(rill_record_header_count(view), want->rec.header_count);
    for (size_t h = 0; h < want->rec.header_count; h++) {
        const char *name = NULL;
        const void *header_value = NULL;
        size_t name_bytes = 0, header_value_bytes = 0;
        T_ASSERT_OK(
            rill_record_header(view, h, &name, &name_bytes, &header_value, &header_value_bytes));
        T_ASSERT(fx_field_equal(want->headers[h].name, want->headers[h].name_bytes, name,
                                (long)name_bytes));
        T_ASSERT(fx_field_equal(want->headers[h].value, want->headers[h].value_bytes, header_value,
                                header_value == NULL ? -1 : (long)header_value_bytes));
    }
    free(want);
}

/* Checks a record decoded by log_record_iter against the model at its offset. */
static inline void fx_check_log_record(const struct fx_model *m, const struct log_record *rec)
{
    struct fx_rec *want = malloc(sizeof(*want));
    T_ASSERT(want != NULL);
    fx_rec_make(want, m, fx_model_gen(m, rec->offset), rec->offset);
    T_ASSERT_EQ_INT(rec->timestamp, want->rec.timestamp_ms);
    if (!fx_field_equal(want->rec.key, want->rec.key_bytes, rec->key, rec->key_bytes) ||
        !fx_field_equal(want->rec.value, want->rec.value_bytes, rec->value, rec->value_bytes)) {
        T_FAIL("offset %lld: key or value differs from what was appended", (long long)rec->offset);
    }
    T_ASSERT_EQ_INT(rec->header_count, want->rec.header_count);
    for (int32_t h = 0; h < rec->header_count; h++) {
        const uint8_t *name = NULL, *value = NULL;
        int32_t name_bytes = 0, value_bytes = 0;
        T_ASSERT_OK(log_record_header(rec, h, &name, &name_bytes, &value, &value_bytes));
        T_ASSERT(
            fx_field_equal(want->headers[h].name, want->headers[h].name_bytes, name, name_bytes));
        T_ASSERT(fx_field_equal(want->headers[h].value, want->headers[h].value_bytes, value,
                                value_bytes));
    }
    free(want);
}

/* ---------------------------------------------------------------------------------------- */
/* Building and appending batches                                                             */
/* ---------------------------------------------------------------------------------------- */

/* Builds the batch of offsets [offset_base, offset_base + count) of generation gen. */
static inline void fx_batch_build(struct log_batch_builder *bld,
                                  const struct fx_model *m,
                                  uint8_t gen,
                                  int64_t offset_base,
                                  uint32_t count,
                                  uint8_t **out_batch,
                                  size_t *out_bytes)
{
    struct fx_rec *r = malloc(sizeof(*r));
    T_ASSERT(r != NULL && count > 0);
    log_batch_builder_reset(bld);
    for (uint32_t i = 0; i < count; i++) {
        fx_rec_make(r, m, gen, offset_base + i);
        T_ASSERT_OK(log_batch_builder_add(bld, &r->rec, 0));
    }
    free(r);
    T_ASSERT_OK(log_batch_builder_finish(bld, out_batch, out_bytes));
}

/* log_partition_append, reaping completions while both staging buffers are busy. */
static inline rill_err fx_part_append(struct log_partition *part,
                                      uint8_t *batch,
                                      size_t batch_bytes,
                                      int64_t *out_offset_base)
{
    for (unsigned attempt = 0; attempt < 10000; attempt++) {
        rill_err err = log_partition_append(part, batch, batch_bytes, out_offset_base);
        if (err != RILL_ERR_AGAIN) {
            return err;
        }
        err = log_partition_poll(part, true);
        if (err != RILL_OK) {
            return err;
        }
    }
    T_FAIL("append still refused with RILL_ERR_AGAIN after 10000 polls");
}

/* rill_log_append of offsets [offset, offset + count) of generation gen; returns its error. */
static inline rill_err fx_log_append(rill_log_t *log,
                                     const struct fx_model *m,
                                     uint8_t gen,
                                     int64_t offset,
                                     uint32_t count,
                                     int64_t *out_offset_first)
{
    T_ASSERT(count > 0 && count <= FX_BATCH_RECORDS_MAX);
    struct fx_rec *recs = malloc(sizeof(*recs) * count);
    rill_record_t records[FX_BATCH_RECORDS_MAX];
    T_ASSERT(recs != NULL);
    for (uint32_t i = 0; i < count; i++) {
        fx_rec_make(&recs[i], m, gen, offset + i);
        records[i] = recs[i].rec;
    }
    rill_err err = rill_log_append(log, records, count, out_offset_first);
    free(recs);
    return err;
}

/*
 * A wrapper backend for tests: it embeds this first and forwards to inner every operation it
 * does not override (its ops table starts from fx_forward_ops_init()).
 */
struct fx_forward_io {
    struct log_io io; /* first member */
    struct log_io *inner;
};

static inline struct log_io *fx_inner(struct log_io *io)
{
    return ((struct fx_forward_io *)io)->inner;
}

static inline rill_err
fx_forward_open(struct log_io *io, const char *path, int flags, int mode, int *out_fd)
{
    return fx_inner(io)->ops->open(fx_inner(io), path, flags, mode, out_fd);
}

static inline void fx_forward_close(struct log_io *io, int fd)
{
    fx_inner(io)->ops->close(fx_inner(io), fd);
}

static inline rill_err fx_forward_pread(
    struct log_io *io, int fd, void *buf, size_t bytes, uint64_t offset, size_t *out_bytes)
{
    return fx_inner(io)->ops->pread(fx_inner(io), fd, buf, bytes, offset, out_bytes);
}

static inline rill_err
fx_forward_pwrite(struct log_io *io, int fd, const void *buf, size_t bytes, uint64_t offset)
{
    return fx_inner(io)->ops->pwrite(fx_inner(io), fd, buf, bytes, offset);
}

static inline rill_err fx_forward_fdatasync(struct log_io *io, int fd)
{
    return fx_inner(io)->ops->fdatasync(fx_inner(io), fd);
}

static inline rill_err fx_forward_ftruncate(struct log_io *io, int fd, uint64_t bytes)
{
    return fx_inner(io)->ops->ftruncate(fx_inner(io), fd, bytes);
}

static inline rill_err fx_forward_file_bytes(struct log_io *io, int fd, uint64_t *out_bytes)
{
    return fx_inner(io)->ops->file_bytes(fx_inner(io), fd, out_bytes);
}

static inline rill_err fx_forward_unlink(struct log_io *io, const char *path)
{
    return fx_inner(io)->ops->unlink(fx_inner(io), path);
}

static inline rill_err fx_forward_rename(struct log_io *io, const char *from, const char *to)
{
    return fx_inner(io)->ops->rename(fx_inner(io), from, to);
}

static inline rill_err fx_forward_sync_dir(struct log_io *io, const char *path)
{
    return fx_inner(io)->ops->sync_dir(fx_inner(io), path);
}

static inline rill_err fx_forward_submit_write(struct log_io *io,
                                               int fd,
                                               const void *buf,
                                               uint32_t bytes,
                                               uint64_t offset,
                                               bool sync,
                                               void *owner,
                                               uint64_t cookie)
{
    return fx_inner(io)->ops->submit_write(fx_inner(io), fd, buf, bytes, offset, sync, owner,
                                           cookie);
}

static inline rill_err
fx_forward_submit_sync(struct log_io *io, int fd, void *owner, uint64_t cookie)
{
    return fx_inner(io)->ops->submit_sync(fx_inner(io), fd, owner, cookie);
}

static inline rill_err fx_forward_reap(
    struct log_io *io, struct log_io_completion *out, unsigned max, bool wait, unsigned *out_count)
{
    return fx_inner(io)->ops->reap(fx_inner(io), out, max, wait, out_count);
}

/* Every operation forwarded; a wrapper then replaces the ones it changes. */
static inline void fx_forward_ops_init(struct log_io_ops *ops)
{
    *ops = (struct log_io_ops){
        .open = fx_forward_open,
        .close = fx_forward_close,
        .pread = fx_forward_pread,
        .pwrite = fx_forward_pwrite,
        .fdatasync = fx_forward_fdatasync,
        .ftruncate = fx_forward_ftruncate,
        .file_bytes = fx_forward_file_bytes,
        .unlink = fx_forward_unlink,
        .rename = fx_forward_rename,
        .sync_dir = fx_forward_sync_dir,
        .submit_write = fx_forward_submit_write,
        .submit_sync = fx_forward_submit_sync,
        .reap = fx_forward_reap,
    };
}

/*
 * A partition configuration: defaults, then the given size, index spacing and policy. Age
 * retention is off: record timestamps here are synthetic (far in the past), and retention runs
 * with every roll, so it would delete what these tests check survives.
 */
static inline struct log_config
fx_config(uint64_t segment_bytes, uint32_t index_interval_bytes, enum log_flush_policy flush)
{
    struct log_config cfg;
    log_config_from_conf(&cfg, NULL);
    cfg.retention_ms = -1;
    cfg.segment_bytes = segment_bytes;
    cfg.index_interval_bytes = index_interval_bytes;
    cfg.flush = flush;
    /* Preallocate from the first byte: the small workloads of the crash and fault sweeps
     * then meet zero writes (rilld waits for a window of data first, log/partition.c). */
    cfg.preallocate_after_bytes = 0;
    return cfg;
}

/* The public configuration matching fx_config (flush always). */
static inline rill_conf_t *fx_conf(uint64_t segment_bytes, uint32_t index_interval_bytes, int codec)
{
    rill_conf_t *conf = rill_conf_create();
    T_ASSERT(conf != NULL);
    char value[32], errstr[128];
    snprintf(value, sizeof(value), "%llu", (unsigned long long)segment_bytes);
    T_ASSERT_OK(rill_conf_set(conf, "segment.bytes", value, errstr, sizeof(errstr)));
    snprintf(value, sizeof(value), "%u", index_interval_bytes);
    T_ASSERT_OK(rill_conf_set(conf, "index.interval.bytes", value, errstr, sizeof(errstr)));
    T_ASSERT_OK(rill_conf_set(conf, "compression", codec == LOG_CODEC_LZ4 ? "lz4" : "none", errstr,
                              sizeof(errstr)));
    T_ASSERT_OK(rill_conf_set(conf, "retention.ms", "-1", errstr, sizeof(errstr)));
    return conf;
}

static inline void fx_uring_or_skip(void)
{
    struct io_uring ring;
    int ret = io_uring_queue_init(4, &ring, 0);
    if (ret == -ENOSYS || ret == -EPERM) {
        T_SKIP("io_uring is not available here");
    }
    T_ASSERT_EQ_INT(ret, 0);
    io_uring_queue_exit(&ring);
}

/* A diagnostic line of the log component: "<24-char UTC time> ERROR|WARN log ...". */
static inline bool fx_is_diag_line(const char *line)
{
    if (strlen(line) < 34 || line[4] != '-' || line[10] != 'T' || line[23] != 'Z') {
        return false;
    }
    return strncmp(line + 24, " ERROR log ", 11) == 0 || strncmp(line + 24, " WARN log ", 10) == 0;
}

static pid_t fx_filter_pid = -1;

/* Closes the filtered stderr and waits for the filter, so its output precedes the verdict. */
static inline void fx_filter_finish(void)
{
    if (fx_filter_pid > 0) {
        fflush(stderr);
        close(STDERR_FILENO);
        waitpid(fx_filter_pid, NULL, 0);
        fx_filter_pid = -1;
    }
}

/*
 * Recovery logs every torn tail it cuts and every corruption it refuses, and these tests
 * provoke hundreds; the library cannot be quieter than ERROR. Unless RILL_DIAG_LEVEL is set,
 * stderr of the case (and of its children) goes through a filter process that drops the log's
 * diagnostic lines and passes everything else - assertion messages, sanitizer reports - on.
 */
static inline void fx_quiet(void)
{
    if (getenv("RILL_DIAG_LEVEL") != NULL || fx_filter_pid > 0) {
        return;
    }
    int fds[2];
    if (pipe(fds) != 0) {
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        close(fds[1]);
        FILE *in = fdopen(fds[0], "r");
        char line[2048];
        while (in != NULL && fgets(line, sizeof(line), in) != NULL) {
            if (!fx_is_diag_line(line)) {
                fputs(line, stderr);
            }
        }
        _exit(0);
    }
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    close(fds[1]);
    fx_filter_pid = pid;
    atexit(fx_filter_finish);
}

/* ---------------------------------------------------------------------------------------- */
/* Verification through the public API                                                        */
/* ---------------------------------------------------------------------------------------- */

/*
 * Reads the whole log from offset 0 with a reader: exactly the offsets [0, end), each equal to
 * the model, then RILL_ERR_END; and the log's end offset is end.
 */
static inline void fx_check_log(rill_log_t *log, const struct fx_model *m, int64_t end)
{
    T_ASSERT_EQ_INT(rill_log_start_offset(log), 0);
    if (rill_log_end_offset(log) != end) {
        T_FAIL("end offset %lld, expected %lld", (long long)rill_log_end_offset(log),
               (long long)end);
    }
    rill_log_reader_t *reader = NULL;
    T_ASSERT_OK(rill_log_reader_create(log, 0, &reader));
    const rill_record_view_t *view = NULL;
    int64_t expect = 0;
    rill_err err;
    while ((err = rill_log_reader_next(reader, &view)) == RILL_OK) {
        T_ASSERT(expect < end);
        fx_check_view(m, view, expect);
        expect++;
    }
    if (err != RILL_ERR_END || expect != end) {
        T_FAIL("reader stopped at offset %lld with %s, expected end %lld", (long long)expect,
               rill_err_name(err), (long long)end);
    }
    rill_log_reader_destroy(reader);
}

/* Reads from offset to the end with a reader; every record must match the model. */
static inline int64_t fx_check_from(rill_log_t *log, const struct fx_model *m, int64_t offset)
{
    rill_log_reader_t *reader = NULL;
    T_ASSERT_OK(rill_log_reader_create(log, offset, &reader));
    const rill_record_view_t *view = NULL;
    int64_t expect = offset;
    rill_err err;
    while ((err = rill_log_reader_next(reader, &view)) == RILL_OK) {
        fx_check_view(m, view, expect);
        expect++;
    }
    T_ASSERT_EQ_INT(err, RILL_ERR_END);
    rill_log_reader_destroy(reader);
    return expect;
}

static inline void fx_dump_print(const rill_dump_item_t *item, void *opaque)
{
    (void)opaque;
    if (item->err != RILL_OK) {
        fprintf(stderr, "  dump: %s at %llu: %s (%s)\n", item->path,
                (unsigned long long)item->position, item->message, rill_err_name(item->err));
    }
}

/* rill_log_dump must verify everything: batches, indexes, checkpoint. */
static inline void fx_dump_ok(const char *dir)
{
    rill_err err = rill_log_dump(dir, fx_dump_print, NULL);
    if (err != RILL_OK) {
        T_FAIL("rill_log_dump(%s) returned %s", dir, rill_err_name(err));
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Files and directories                                                                      */
/* ---------------------------------------------------------------------------------------- */

static inline void fx_path(char *out, size_t out_bytes, const char *dir, const char *name)
{
    int used = snprintf(out, out_bytes, "%s/%s", dir, name);
    T_ASSERT(used > 0 && (size_t)used < out_bytes);
}

static inline void
fx_seg_path(char *out, size_t out_bytes, const char *dir, int64_t offset_base, const char *suffix)
{
    T_ASSERT_OK(log_segment_path(dir, offset_base, suffix, out, out_bytes));
}

static inline bool fx_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static inline uint64_t fx_file_bytes(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        T_FAIL("stat %s: %s", path, strerror(errno));
    }
    return (uint64_t)st.st_size;
}

/* The whole file in a malloc'd buffer (free it). */
static inline uint8_t *fx_file_read(const char *path, size_t *out_bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        T_FAIL("open %s: %s", path, strerror(errno));
    }
    struct stat st;
    T_ASSERT(fstat(fd, &st) == 0);
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    T_ASSERT(buf != NULL);
    size_t done = 0;
    while (done < (size_t)st.st_size) {
        ssize_t got = pread(fd, buf + done, (size_t)st.st_size - done, (off_t)done);
        T_ASSERT(got > 0);
        done += (size_t)got;
    }
    close(fd);
    *out_bytes = done;
    return buf;
}

static inline void fx_file_write(const char *path, const void *buf, size_t bytes)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        T_FAIL("open %s: %s", path, strerror(errno));
    }
    size_t done = 0;
    while (done < bytes) {
        ssize_t put = pwrite(fd, (const uint8_t *)buf + done, bytes - done, (off_t)done);
        T_ASSERT(put > 0);
        done += (size_t)put;
    }
    close(fd);
}

static inline void fx_file_truncate(const char *path, uint64_t bytes)
{
    if (truncate(path, (off_t)bytes) != 0) {
        T_FAIL("truncate %s: %s", path, strerror(errno));
    }
}

/* XORs the byte at position with mask (non-zero). */
static inline void fx_file_flip(const char *path, uint64_t position, uint8_t mask)
{
    T_ASSERT(mask != 0);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    T_ASSERT(fd >= 0);
    uint8_t byte = 0;
    T_ASSERT(pread(fd, &byte, 1, (off_t)position) == 1);
    byte ^= mask;
    T_ASSERT(pwrite(fd, &byte, 1, (off_t)position) == 1);
    close(fd);
}

/* Removes bytes [from, to) from the file, moving the rest down. */
static inline void fx_file_cut(const char *path, uint64_t from, uint64_t to)
{
    size_t bytes = 0;
    uint8_t *buf = fx_file_read(path, &bytes);
    T_ASSERT(from <= to && to <= bytes);
    memmove(buf + from, buf + to, bytes - to);
    fx_file_write(path, buf, bytes - (to - from));
    free(buf);
}

static inline void fx_unlink(const char *path)
{
    if (unlink(path) != 0) {
        T_FAIL("unlink %s: %s", path, strerror(errno));
    }
}

static inline int fx_name_compare(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted names of the regular files in dir, without ".lock"; free with fx_names_free. */
static inline size_t fx_dir_names(const char *dir, char **names)
{
    DIR *handle = opendir(dir);
    if (handle == NULL) {
        T_FAIL("opendir %s: %s", dir, strerror(errno));
    }
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        if (entry->d_name[0] == '.') {
            continue;
        }
        T_ASSERT(count < FX_FILES_MAX);
        names[count] = strdup(entry->d_name);
        T_ASSERT(names[count] != NULL);
        count++;
    }
    closedir(handle);
    qsort(names, count, sizeof(*names), fx_name_compare);
    return count;
}

static inline void fx_names_free(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(names[i]);
    }
}

/* A digest of every file's name, size and content in dir (the lock file excluded). */
static inline uint64_t fx_dir_digest(const char *dir)
{
    char *names[FX_FILES_MAX];
    size_t count = fx_dir_names(dir, names);
    uint64_t digest = count;
    for (size_t i = 0; i < count; i++) {
        char path[RILL_PATH_BYTES_MAX];
        fx_path(path, sizeof(path), dir, names[i]);
        size_t bytes = 0;
        uint8_t *buf = fx_file_read(path, &bytes);
        digest = XXH3_64bits_withSeed(names[i], strlen(names[i]), digest);
        digest = XXH3_64bits_withSeed(buf, bytes, digest ^ bytes);
        free(buf);
    }
    fx_names_free(names, count);
    return digest;
}

/* Removes every file in dir (not dir itself). */
static inline void fx_dir_clear(const char *dir)
{
    char *names[FX_FILES_MAX];
    size_t count = fx_dir_names(dir, names);
    for (size_t i = 0; i < count; i++) {
        char path[RILL_PATH_BYTES_MAX];
        fx_path(path, sizeof(path), dir, names[i]);
        fx_unlink(path);
    }
    fx_names_free(names, count);
}

/*
 * Removes dir and the files in it (a log directory is flat), without t_rmdir_all's shell: the
 * sweeps remove hundreds of directories.
 */
static inline void fx_rmdir(const char *dir)
{
    DIR *handle = opendir(dir);
    if (handle == NULL) {
        return;
    }
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) {
            continue;
        }
        char path[RILL_PATH_BYTES_MAX];
        fx_path(path, sizeof(path), dir, entry->d_name);
        if (unlink(path) != 0) {
            fprintf(stderr, "  warning: could not remove %s: %s\n", path, strerror(errno));
        }
    }
    closedir(handle);
    if (rmdir(dir) != 0) {
        fprintf(stderr, "  warning: could not remove %s: %s\n", dir, strerror(errno));
    }
}

/* Makes dst (an existing directory) an exact copy of the files of src. */
static inline void fx_dir_copy(const char *src, const char *dst)
{
    fx_dir_clear(dst);
    char *names[FX_FILES_MAX];
    size_t count = fx_dir_names(src, names);
    for (size_t i = 0; i < count; i++) {
        char from[RILL_PATH_BYTES_MAX], to[RILL_PATH_BYTES_MAX];
        fx_path(from, sizeof(from), src, names[i]);
        fx_path(to, sizeof(to), dst, names[i]);
        size_t bytes = 0;
        uint8_t *buf = fx_file_read(from, &bytes);
        fx_file_write(to, buf, bytes);
        free(buf);
    }
    fx_names_free(names, count);
}

/* Number of files in dir whose name ends with suffix. */
static inline unsigned fx_dir_count(const char *dir, const char *suffix)
{
    char *names[FX_FILES_MAX];
    size_t count = fx_dir_names(dir, names);
    unsigned matched = 0;
    for (size_t i = 0; i < count; i++) {
        size_t name_bytes = strlen(names[i]), suffix_bytes = strlen(suffix);
        if (name_bytes >= suffix_bytes &&
            strcmp(names[i] + name_bytes - suffix_bytes, suffix) == 0) {
            matched++;
        }
    }
    fx_names_free(names, count);
    return matched;
}

#endif
