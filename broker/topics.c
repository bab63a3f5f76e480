/*
 * topics.c - topics and their partition logs (topics.h states the rules).
 */
#include "broker/topics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/assert.h"
#include "common/diag.h"
#include "common/err.h"
#include "common/hash.h"
#include "common/limits.h"
#include "broker/broker.h"
#include "broker/loop.h"

/* ---------------------------------------------------------------------------------------- */
/* Paths and directories                                                                      */
/* ---------------------------------------------------------------------------------------- */

static rill_err partition_path(const struct broker_topics *topics,
                               const char *name,
                               int32_t partition,
                               char *out,
                               size_t out_bytes)
{
    int bytes = snprintf(out, out_bytes, "%s/%s-%d", topics->data_dir, name, (int)partition);
    return bytes < 0 || (size_t)bytes >= out_bytes ? RILL_ERR_TOO_LARGE : RILL_OK;
}

/* Removes a partition directory and the files in it (a partition directory has no
 * subdirectories), then syncs the data directory so the removal is durable. */
static rill_err remove_partition_dir(const char *data_dir, const char *path)
{
    DIR *dir = opendir(path);
    if (dir == NULL) {
        return errno == ENOENT ? RILL_OK : rill_err_from_errno(errno);
    }
    rill_err err = RILL_OK;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) {
            continue;
        }
        if (unlinkat(dirfd(dir), entry->d_name, 0) != 0 && errno != ENOENT) {
            err = rill_err_from_errno(errno);
        }
    }
    closedir(dir);
    if (err == RILL_OK && rmdir(path) != 0 && errno != ENOENT) {
        err = rill_err_from_errno(errno);
    }
    int dir_fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        (void)fsync(dir_fd);
        close(dir_fd);
    }
    return err;
}

/*
 * Parses a directory name "<topic>-<partition>" into its parts; false for anything else (the
 * metadata log, lock files, foreign names).
 */
static bool parse_partition_dir(const char *entry, char *out_name, int32_t *out_partition)
{
    const char *dash = strrchr(entry, '-');
    if (dash == NULL || dash == entry || dash[1] == '\0') {
        return false;
    }
    size_t name_bytes = (size_t)(dash - entry);
    if (name_bytes > RILL_TOPIC_NAME_BYTES_MAX ||
        meta_validate_topic_name(entry, name_bytes, true) != RILL_OK) {
        return false;
    }
    int64_t partition = 0;
    for (const char *c = dash + 1; *c != '\0'; c++) {
        if (*c < '0' || *c > '9' || partition > RILL_PARTITIONS_MAX) {
            return false;
        }
        partition = partition * 10 + (*c - '0');
    }
    memcpy(out_name, entry, name_bytes);
    out_name[name_bytes] = '\0';
    *out_partition = (int32_t)partition;
    return true;
}

/* Removes partition directories the metadata does not describe: leftovers of a deletion that
 * a crash interrupted after its record was durable. */
static rill_err sweep_orphans(struct broker_topics *topics)
{
    DIR *dir = opendir(topics->data_dir);
    if (dir == NULL) {
        return rill_err_from_errno(errno);
    }
    rill_err err = RILL_OK;
    struct dirent *entry;
    while (err == RILL_OK && (entry = readdir(dir)) != NULL) {
        char name[RILL_TOPIC_NAME_BYTES_MAX + 1];
        int32_t partition = 0;
        if (!parse_partition_dir(entry->d_name, name, &partition)) {
            continue;
        }
        const struct meta_topic *topic = meta_topic_find(&topics->state, name);
        if (topic != NULL && partition < topic->partition_count) {
            continue;
        }
        char path[RILL_PATH_BYTES_MAX];
        int bytes = snprintf(path, sizeof(path), "%s/%s", topics->data_dir, entry->d_name);
        if (bytes < 0 || (size_t)bytes >= sizeof(path)) {
            continue;
        }
        DIAG_INFO("topics", "removing orphan partition directory %s", path);
        err = remove_partition_dir(topics->data_dir, path);
    }
    closedir(dir);
    return err;
}

/* ---------------------------------------------------------------------------------------- */
/* Topic table                                                                                */
/* ---------------------------------------------------------------------------------------- */

static int name_compare(const char *a, size_t a_bytes, const char *b)
{
    size_t b_bytes = strlen(b);
    int c = memcmp(a, b, a_bytes < b_bytes ? a_bytes : b_bytes);
    if (c != 0) {
        return c;
    }
    return a_bytes < b_bytes ? -1 : a_bytes > b_bytes ? 1 : 0;
}

/* Index of the topic in a name-sorted array, or of where it would be inserted; true when
 * found. Serves both the table and the views. */
static bool topic_array_search(struct broker_topic *const *array,
                               uint32_t count,
                               const char *name,
                               size_t name_bytes,
                               uint32_t *out_index)
{
    uint32_t low = 0, high = count;
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        int c = name_compare(name, name_bytes, array[middle]->name);
        if (c == 0) {
            *out_index = middle;
            return true;
        }
        if (c < 0) {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    *out_index = low;
    return false;
}

static bool topic_search(const struct broker_topics *topics,
                         const char *name,
                         size_t name_bytes,
                         uint32_t *out_index)
{
    return topic_array_search(topics->topics, topics->topic_count, name, name_bytes, out_index);
}

struct broker_topic *
topics_find(const struct broker_topics *topics, const char *name, size_t name_bytes)
{
    uint32_t index = 0;
    return topic_search(topics, name, name_bytes, &index) ? topics->topics[index] : NULL;
}

struct broker_partition *topics_partition(const struct broker_topics *topics,
                                          const char *name,
                                          size_t name_bytes,
                                          int32_t partition)
{
    struct broker_topic *topic = topics_find(topics, name, name_bytes);
    if (topic == NULL || partition < 0 || partition >= topic->partition_count) {
        return NULL;
    }
    return &topic->partitions[partition];
}

bool topics_internal(const char *name, size_t name_bytes)
{
    return name_bytes >= 2 && name[0] == '_' && name[1] == '_';
}

unsigned topics_owner_core(const char *name, int32_t partition, unsigned core_count)
{
    if (core_count <= 1 || topics_internal(name, strlen(name))) {
        return 0; /* internal topics live on core 0, beside the metadata and the coordinator */
    }
    char key[RILL_TOPIC_NAME_BYTES_MAX + 16];
    int bytes = snprintf(key, sizeof(key), "%s/%d", name, (int)partition);
    return (unsigned)(rill_hash64(key, (size_t)bytes) % core_count);
}

int64_t topics_high_watermark(const struct broker_partition *bp)
{
    const struct log_partition *log = bp->log;
    return log->cfg.flush == LOG_FLUSH_ALWAYS ? log->offset_durable : log->offset_written;
}

/* Closes the partitions [0, count) of topic (those never opened are skipped); returns the
 * first error. */
static rill_err topic_close_partitions(struct broker_topic *topic, int32_t count)
{
    rill_err first = RILL_OK;
    for (int32_t p = 0; p < count; p++) {
        struct broker_partition *bp = &topic->partitions[p];
        rill_err err = log_partition_close(bp->log);
        if (err != RILL_OK && first == RILL_OK) {
            first = err;
        }
        bp->log = NULL;
        producer_table_deinit(&bp->producers);
    }
    return first;
}

static void topic_free(struct broker_topic *topic)
{
    if (topic != NULL) {
        free(topic->partitions);
        free(topic->name);
        free(topic);
    }
}

/* Bytes at the end of each partition scanned at open to rebuild idempotence windows: a retry
 * of a batch older than that is not recognised after a restart (topics.h). */
#define TOPICS_PRODUCER_SCAN_BYTES (8u << 20)

static void producer_rebuild_batch(void *ctx, const struct log_batch_header *hdr)
{
    struct broker_partition *bp = ctx;
    if (hdr->producer_id >= 0 && hdr->record_count > 0) {
        /* Out of memory only loses deduplication of older retries: not worth failing for. */
        rill_err err =
            producer_table_record(&bp->producers, hdr->producer_id, hdr->producer_epoch,
                                  hdr->sequence_base, hdr->record_count, hdr->offset_base);
        (void)err;
    }
}

/*
 * Partition logs opened at the same time when a topic is opened. Creating a log is mostly
 * waiting for syncs (its directory, first segment and checkpoint: four per partition) and
 * recovering one is mostly reads, so a topic of many partitions opens in a fraction of the
 * time when they overlap; the caller (core 0, or the start) waits for all of them.
 */
#define TOPICS_OPEN_THREADS_MAX 8u

struct topic_open_job {
    struct broker_topics *topics;
    struct broker_topic *topic;
    rill_err *errors;   /* per partition: how its open ended */
    atomic_int next;    /* the next partition to open */
    atomic_bool failed; /* a partition failed: the others stop early */
};

/* Opens one partition's log (any thread): nothing else of the broker is touched. */
static rill_err
topic_open_partition(struct broker_topics *topics, struct broker_topic *topic, int32_t index)
{
    struct broker_partition *bp = &topic->partitions[index];
    char path[RILL_PATH_BYTES_MAX];
    rill_err err = partition_path(topics, topic->name, index, path, sizeof(path));
    if (err == RILL_OK) {
        err = log_partition_open(path, &topic->cfg, topics->ios[bp->core_index], &bp->log);
    }
    if (err != RILL_OK) {
        DIAG_ERROR("topics", "cannot open partition %s: %s", path, rill_err_str(err));
    }
    return err;
}

static void *topic_open_worker(void *arg)
{
    struct topic_open_job *job = arg;
    for (;;) {
        int index = atomic_fetch_add(&job->next, 1);
        if (index >= job->topic->partition_count || atomic_load(&job->failed)) {
            return NULL;
        }
        job->errors[index] = topic_open_partition(job->topics, job->topic, index);
        if (job->errors[index] != RILL_OK) {
            atomic_store(&job->failed, true);
        }
    }
}

/* Opens every partition log of topic, several at a time; the first error in partition order. */
static rill_err topic_open_logs(struct broker_topics *topics, struct broker_topic *topic)
{
    int32_t count = topic->partition_count;
    struct topic_open_job job = { .topics = topics, .topic = topic };
    job.errors = calloc((size_t)count, sizeof(*job.errors));
    if (job.errors == NULL) {
        return RILL_ERR_NOMEM;
    }
    atomic_init(&job.next, 0);
    atomic_init(&job.failed, false);
    pthread_t threads[TOPICS_OPEN_THREADS_MAX - 1];
    unsigned started = 0;
    unsigned wanted =
        (unsigned)count < TOPICS_OPEN_THREADS_MAX ? (unsigned)count : TOPICS_OPEN_THREADS_MAX;
    /* A thread that cannot start leaves its share to the others: this one works too. */
    while (started + 1 < wanted &&
           pthread_create(&threads[started], NULL, topic_open_worker, &job) == 0) {
        started++;
    }
    (void)topic_open_worker(&job);
    for (unsigned i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
    }
    rill_err err = RILL_OK;
    for (int32_t p = 0; p < count && err == RILL_OK; p++) {
        err = job.errors[p];
    }
    free(job.errors);
    return err;
}

/* Opens (creating when missing) every partition log of the metadata topic meta. */
static rill_err topic_open(struct broker_topics *topics,
                           const struct meta_topic *meta,
                           struct broker_topic **out_topic)
{
    struct broker_topic *topic = calloc(1, sizeof(*topic));
    if (topic == NULL) {
        return RILL_ERR_NOMEM;
    }
    topic->name = strdup(meta->name);
    topic->partitions = calloc((size_t)meta->partition_count, sizeof(*topic->partitions));
    rill_err err = topic->name == NULL || topic->partitions == NULL ? RILL_ERR_NOMEM : RILL_OK;
    if (err == RILL_OK) {
        err = meta_topic_log_config(meta, &topic->cfg);
    }
    if (err != RILL_OK) {
        topic_free(topic);
        return err;
    }
    topic->partition_count = meta->partition_count;
    for (int32_t p = 0; p < topic->partition_count; p++) {
        struct broker_partition *bp = &topic->partitions[p];
        bp->topic = topic;
        bp->index = p;
        bp->core_index = topics_owner_core(meta->name, p, topics->core_count);
        producer_table_init(&bp->producers);
    }
    err = topic_open_logs(topics, topic);
    /* In partition order, on this thread: the owner cores learn of each partition, and the
     * idempotence windows are rebuilt from the partitions' tails. */
    for (int32_t p = 0; err == RILL_OK && p < topic->partition_count; p++) {
        struct broker_partition *bp = &topic->partitions[p];
        bp->log->opaque = bp;
        topics_publish_partition(bp);
        err = log_partition_scan_tail(bp->log, TOPICS_PRODUCER_SCAN_BYTES, producer_rebuild_batch,
                                      bp);
        if (err != RILL_OK) {
            DIAG_ERROR("topics", "cannot scan partition %d of %s: %s", (int)p, topic->name,
                       rill_err_str(err));
        }
    }
    if (err != RILL_OK) {
        (void)topic_close_partitions(topic, topic->partition_count);
        topic_free(topic);
        return err;
    }
    *out_topic = topic;
    return RILL_OK;
}

static rill_err topics_insert(struct broker_topics *topics, struct broker_topic *topic)
{
    uint32_t index = 0;
    bool found = topic_search(topics, topic->name, strlen(topic->name), &index);
    RILL_ASSERT(!found);
    if (topics->topic_count == topics->topic_capacity) {
        uint32_t capacity = topics->topic_capacity == 0 ? 16 : topics->topic_capacity * 2;
        struct broker_topic **grown = realloc(topics->topics, capacity * sizeof(*grown));
        if (grown == NULL) {
            return RILL_ERR_NOMEM;
        }
        topics->topics = grown;
        topics->topic_capacity = capacity;
    }
    memmove(&topics->topics[index + 1], &topics->topics[index],
            (topics->topic_count - index) * sizeof(topics->topics[0]));
    topics->topics[index] = topic;
    topics->topic_count++;
    return RILL_OK;
}

rill_err topics_open(const char *data_dir,
                     struct log_io **ios,
                     unsigned core_count,
                     struct broker *broker,
                     struct broker_topics **out_topics)
{
    struct broker_topics *topics = calloc(1, sizeof(*topics));
    if (topics == NULL) {
        return RILL_ERR_NOMEM;
    }
    topics->ios = ios;
    topics->broker = broker;
    topics->core_count = core_count == 0 ? 1 : core_count;
    topics->data_dir = strdup(data_dir);
    meta_state_init(&topics->state);
    rill_err err = topics->data_dir == NULL ? RILL_ERR_NOMEM : RILL_OK;
    if (err == RILL_OK) {
        err = meta_log_open(data_dir, NULL, &topics->meta, &topics->state);
    }
    if (err == RILL_OK) {
        err = sweep_orphans(topics);
    }
    for (uint32_t i = 0; err == RILL_OK && i < topics->state.topic_count; i++) {
        struct broker_topic *topic = NULL;
        err = topic_open(topics, meta_topic_at(&topics->state, i), &topic);
        if (err == RILL_OK) {
            err = topics_insert(topics, topic);
            if (err != RILL_OK) {
                (void)topic_close_partitions(topic, topic->partition_count);
                topic_free(topic);
            }
        }
    }
    if (err == RILL_OK) {
        err = topics_publish(topics);
    }
    if (err != RILL_OK) {
        (void)topics_close(topics);
        return err;
    }
    atomic_store(&broker->producer_id_next, topics->state.producer_id_next);
    *out_topics = topics;
    return RILL_OK;
}

rill_err topics_close(struct broker_topics *topics)
{
    if (topics == NULL) {
        return RILL_OK;
    }
    rill_err first = RILL_OK;
    for (uint32_t i = 0; i < topics->topic_count; i++) {
        struct broker_topic *topic = topics->topics[i];
        rill_err err = topic_close_partitions(topic, topic->partition_count);
        if (err != RILL_OK && first == RILL_OK) {
            DIAG_ERROR("topics", "closing topic %s: %s", topic->name, rill_err_str(err));
            first = err;
        }
        topic_free(topic);
    }
    free(topics->topics);
    while (topics->retired != NULL) {
        struct topics_retired *retired = topics->retired;
        topics->retired = retired->next;
        free(retired->view);
        topic_free(retired->topic);
        free(retired);
    }
    if (topics->broker != NULL) {
        free(atomic_exchange(&topics->broker->view, NULL));
    }
    rill_err err = meta_log_close(topics->meta);
    if (err != RILL_OK && first == RILL_OK) {
        first = err;
    }
    meta_state_deinit(&topics->state);
    free(topics->data_dir);
    free(topics);
    return first;
}

/* ---------------------------------------------------------------------------------------- */
/* Changes                                                                                    */
/* ---------------------------------------------------------------------------------------- */

static rill_err topics_create_record(struct broker_topics *topics,
                                     const char *name,
                                     int32_t partition_count,
                                     const struct meta_config *configs,
                                     uint32_t config_count,
                                     bool validate_only,
                                     bool internal,
                                     char *errstr,
                                     size_t errstr_bytes)
{
    if (config_count > META_TOPIC_CONFIGS_MAX) {
        snprintf(errstr, errstr_bytes, "at most %u configs per topic", META_TOPIC_CONFIGS_MAX);
        return RILL_ERR_INVALID_REQUEST;
    }
    struct meta_record rec = {
        .type = META_RECORD_TOPIC_CREATED,
        .name = name,
        .partition_count = partition_count,
        .config_count = config_count,
        .internal = internal,
    };
    for (uint32_t i = 0; i < config_count; i++) {
        rec.configs[i] = configs[i];
    }
    if (validate_only) {
        return meta_validate(&topics->state, &rec, errstr, errstr_bytes);
    }
    rill_err err = meta_log_append(topics->meta, &topics->state, &rec, errstr, errstr_bytes);
    if (err != RILL_OK) {
        return err;
    }
    /* The record is durable: from here the topic exists, and a failure to open its logs is an
     * operational error (the next start retries). */
    struct broker_topic *topic = NULL;
    err = topic_open(topics, meta_topic_find(&topics->state, name), &topic);
    if (err == RILL_OK) {
        err = topics_insert(topics, topic);
        if (err != RILL_OK) {
            (void)topic_close_partitions(topic, topic->partition_count);
            topic_free(topic);
        }
    }
    if (err == RILL_OK) {
        err = topics_publish(topics);
    }
    if (err != RILL_OK) {
        snprintf(errstr, errstr_bytes, "topic recorded but its logs could not be opened: %s",
                 rill_err_str(err));
    }
    return err;
}

rill_err topics_create(struct broker_topics *topics,
                       const char *name,
                       int32_t partition_count,
                       const struct meta_config *configs,
                       uint32_t config_count,
                       bool validate_only,
                       char *errstr,
                       size_t errstr_bytes)
{
    return topics_create_record(topics, name, partition_count, configs, config_count, validate_only,
                                false, errstr, errstr_bytes);
}

rill_err topics_create_internal(struct broker_topics *topics,
                                const char *name,
                                int32_t partition_count,
                                const struct meta_config *configs,
                                uint32_t config_count,
                                char *errstr,
                                size_t errstr_bytes)
{
    RILL_ASSERT(topics_internal(name, strlen(name)));
    return topics_create_record(topics, name, partition_count, configs, config_count, false, true,
                                errstr, errstr_bytes);
}

rill_err topics_delete(struct broker_topics *topics,
                       const char *name,
                       struct broker_topic **out_topic,
                       char *errstr,
                       size_t errstr_bytes)
{
    struct meta_record rec = { .type = META_RECORD_TOPIC_DELETED, .name = name };
    rill_err err = meta_log_append(topics->meta, &topics->state, &rec, errstr, errstr_bytes);
    if (err != RILL_OK) {
        return err;
    }
    *out_topic = NULL;
    uint32_t index = 0;
    if (!topic_search(topics, name, strlen(name), &index)) {
        return RILL_OK; /* its logs never opened; the sweep at the next start cleans up */
    }
    struct broker_topic *topic = topics->topics[index];
    memmove(&topics->topics[index], &topics->topics[index + 1],
            (topics->topic_count - index - 1) * sizeof(topics->topics[0]));
    topics->topic_count--;
    *out_topic = topic;
    return topics_publish(topics);
}

void topics_close_owned(struct broker_topic *topic, unsigned core_index)
{
    for (int32_t p = 0; p < topic->partition_count; p++) {
        struct broker_partition *bp = &topic->partitions[p];
        if (bp->core_index != core_index || bp->log == NULL) {
            continue;
        }
        rill_err err = log_partition_close(bp->log);
        if (err != RILL_OK) {
            DIAG_WARN("topics", "closing %s-%d: %s", topic->name, (int)p, rill_err_str(err));
        }
        bp->log = NULL;
        producer_table_deinit(&bp->producers);
    }
}

bool topics_has_partitions_on(const struct broker_topic *topic, unsigned core_index)
{
    for (int32_t p = 0; p < topic->partition_count; p++) {
        if (topic->partitions[p].core_index == core_index) {
            return true;
        }
    }
    return false;
}

static void
topics_retire(struct broker_topics *topics, struct topics_view *view, struct broker_topic *topic)
{
    struct topics_retired *retired = calloc(1, sizeof(*retired));
    if (retired == NULL) {
        return; /* leaked rather than freed under a reader */
    }
    retired->version = topics->view_version;
    retired->view = view;
    retired->topic = topic;
    retired->next = topics->retired;
    topics->retired = retired;
}

void topics_delete_finish(struct broker_topics *topics, struct broker_topic *topic)
{
    for (int32_t p = 0; p < topic->partition_count; p++) {
        RILL_ASSERT(topic->partitions[p].log == NULL);
        char path[RILL_PATH_BYTES_MAX];
        if (partition_path(topics, topic->name, p, path, sizeof(path)) == RILL_OK) {
            rill_err rm = remove_partition_dir(topics->data_dir, path);
            if (rm != RILL_OK) {
                DIAG_WARN("topics", "cannot remove %s: %s (removed at the next start)", path,
                          rill_err_str(rm));
            }
        }
    }
    topics_retire(topics, NULL, topic);
}

rill_err topics_publish(struct broker_topics *topics)
{
    struct topics_view *view =
        malloc(sizeof(*view) + (size_t)topics->topic_count * sizeof(view->topics[0]));
    if (view == NULL) {
        return RILL_ERR_NOMEM;
    }
    view->version = ++topics->view_version;
    view->topic_count = topics->topic_count;
    if (topics->topic_count > 0) {
        memcpy(view->topics, topics->topics, (size_t)topics->topic_count * sizeof(view->topics[0]));
    }
    struct topics_view *old = atomic_exchange(&topics->broker->view, view);
    if (old != NULL) {
        topics_retire(topics, old, NULL);
    }
    return RILL_OK;
}

void topics_reclaim(struct broker_topics *topics)
{
    if (topics->retired == NULL) {
        return;
    }
    /* A core announces the version it uses at the start of each round; what was retired when
     * version v was published is unreachable once every core announced v or later. */
    uint64_t oldest = UINT64_MAX;
    for (unsigned c = 0; c < topics->broker->core_count; c++) {
        uint64_t seen = atomic_load(&topics->broker->cores[c]->view_seen);
        oldest = seen < oldest ? seen : oldest;
    }
    struct topics_retired **link = &topics->retired;
    while (*link != NULL) {
        struct topics_retired *retired = *link;
        if (retired->version <= oldest) {
            *link = retired->next;
            free(retired->view);
            topic_free(retired->topic);
            free(retired);
        } else {
            link = &retired->next;
        }
    }
}

struct broker_topic *
topics_view_find(const struct topics_view *view, const char *name, size_t name_bytes)
{
    uint32_t index = 0;
    return topic_array_search(view->topics, view->topic_count, name, name_bytes, &index)
               ? view->topics[index]
               : NULL;
}

void topics_publish_partition(struct broker_partition *bp)
{
    const struct log_partition *log = bp->log;
    if (log == NULL) {
        return;
    }
    uint64_t bytes = 0;
    for (uint32_t s = 0; s < log->segment_count; s++) {
        bytes += log->segments[s]->bytes_written;
    }
    struct broker_partition_published *out = &bp->published;
    atomic_store_explicit(&out->start_offset, log->offset_start, memory_order_relaxed);
    atomic_store_explicit(&out->high_watermark, topics_high_watermark(bp), memory_order_relaxed);
    atomic_store_explicit(&out->durable_offset, log->offset_durable, memory_order_relaxed);
    atomic_store_explicit(&out->size_bytes, bytes, memory_order_relaxed);
    atomic_store_explicit(&out->segment_count, log->segment_count, memory_order_relaxed);
    atomic_store_explicit(&out->offline, log->failed != RILL_OK, memory_order_relaxed);
}

rill_err topics_alter(struct broker_topics *topics,
                      const char *name,
                      const struct meta_config *configs,
                      uint32_t config_count,
                      struct broker_topic **out_topic,
                      char *errstr,
                      size_t errstr_bytes)
{
    if (config_count > META_TOPIC_CONFIGS_MAX) {
        snprintf(errstr, errstr_bytes, "at most %u configs per topic", META_TOPIC_CONFIGS_MAX);
        return RILL_ERR_INVALID_REQUEST;
    }
    struct meta_record rec = {
        .type = META_RECORD_CONFIG_CHANGED,
        .name = name,
        .config_count = config_count,
    };
    for (uint32_t i = 0; i < config_count; i++) {
        rec.configs[i] = configs[i];
    }
    rill_err err = meta_log_append(topics->meta, &topics->state, &rec, errstr, errstr_bytes);
    if (err != RILL_OK) {
        return err;
    }
    struct broker_topic *topic = topics_find(topics, name, strlen(name));
    *out_topic = topic;
    if (topic == NULL) {
        return RILL_OK;
    }
    /* Owner cores apply it from a copy in a CONFIG message (handlers_admin.c). */
    return meta_topic_log_config(meta_topic_find(&topics->state, name), &topic->cfg);
}

void topics_apply_config(struct broker_topic *topic,
                         unsigned core_index,
                         const struct log_config *topic_cfg)
{
    for (int32_t p = 0; p < topic->partition_count; p++) {
        struct broker_partition *bp = &topic->partitions[p];
        if (bp->core_index != core_index || bp->log == NULL) {
            continue;
        }
        struct log_partition *log = bp->log;
        struct log_config cfg = *topic_cfg;
        /* Staging buffers are sized at the first append: a larger batch bound waits for the
         * next open of the log, which sizes them anew. */
        size_t staging = log_partition_staging_bytes(log);
        if (log->staging[0].buf != NULL && cfg.batch_bytes_max > staging) {
            cfg.batch_bytes_max = (uint32_t)staging;
        }
        log->cfg = cfg;
        topics_publish_partition(bp);
    }
}
