/*
 * cmd_log_dump.c - `rill log dump`: offline inspection and verification of a log directory or
 * a single segment file, in the manner of kafka-dump-log.
 *
 * rill_log_dump() reports every segment, batch, index, checkpoint and problem it finds; this
 * file prints them as text (one line each, problems start with "!!" so they stand out and grep
 * finds them) or as JSON Lines (--json: one object per line), then a summary. The exit code is
 * 0 only when everything verified.
 */
#include "tools/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char dump_usage[] =
    "usage: rill log dump PATH [options]\n"
    "\n"
    "Reads the log directory or segment file PATH without changing it, verifies every batch\n"
    "checksum and every index, and prints what it finds: one line per segment, batch, index and\n"
    "checkpoint; lines about problems start with '!!'. A summary line ends the output.\n"
    "Exit code 0 when everything verified, 1 otherwise.\n"
    "\n"
    "Options:\n"
    "  --json        print one JSON object per line instead (JSON Lines)\n"
    "  -h, --help    show this help\n";

enum dump_option_index {
    DUMP_JSON,
};

static const struct cli_option dump_options[] = {
    [DUMP_JSON] = { "json", 0, false },
    { NULL, 0, false },
};

struct dump_state {
    bool json;
    uint64_t segment_count;
    uint64_t batch_count;
    uint64_t record_count;
    uint64_t problem_count;
};

static const char *dump_option(int option_index, const char *value, void *context)
{
    struct dump_state *state = context;
    (void)value;
    if (option_index == DUMP_JSON) {
        state->json = true;
        return NULL;
    }
    return "unhandled option";
}

static const char *dump_codec_name(int codec)
{
    static const char *const names[] = { "none", "gzip", "snappy", "lz4", "zstd" };
    if (codec >= 0 && codec < (int)(sizeof(names) / sizeof(names[0]))) {
        return names[codec];
    }
    return "unknown";
}

static const char *dump_message(const rill_dump_item_t *item)
{
    return item->message != NULL ? item->message : "";
}

/* "CORRUPT: <error>: <message>" for a failed item; the caller printed what came before. */
static void dump_print_failure(const rill_dump_item_t *item)
{
    const char *message = dump_message(item);
    const char *text = rill_err_str(item->err);
    bool say_message = message[0] != '\0' && strcmp(message, text) != 0;
    printf("CORRUPT: %s%s%s\n", text, say_message ? ": " : "", say_message ? message : "");
}

/* "!! " starts every line about a problem; batches and indexes are indented under segments. */
static const char *dump_line_prefix(const rill_dump_item_t *item)
{
    if (item->err != RILL_OK || item->kind == RILL_DUMP_PROBLEM) {
        return "!! ";
    }
    if (item->kind == RILL_DUMP_BATCH || item->kind == RILL_DUMP_INDEX) {
        return "   ";
    }
    return "";
}

static void dump_print_batch(const rill_dump_item_t *item)
{
    printf("offset %" PRId64 "..%" PRId64 " position %" PRIu64 " bytes %" PRIu64 " records %" PRId32
           " codec %s epoch %" PRId32 " ts %" PRId64 "..%" PRId64 " crc 0x%08" PRIx32,
           item->offset_base, item->offset_last, item->position, item->bytes, item->record_count,
           dump_codec_name(item->codec), item->leader_epoch, item->timestamp_first,
           item->timestamp_max, item->crc_stored);
    if (item->err != RILL_OK && item->crc_computed != item->crc_stored) {
        printf(" (computed 0x%08" PRIx32 ")", item->crc_computed);
    }
}

static void dump_print_text(const rill_dump_item_t *item)
{
    fputs(dump_line_prefix(item), stdout);
    switch (item->kind) {
    case RILL_DUMP_SEGMENT:
        printf("segment %s base offset %" PRId64 " bytes %" PRIu64, item->path, item->offset_base,
               item->bytes);
        break;
    case RILL_DUMP_BATCH:
        dump_print_batch(item);
        break;
    case RILL_DUMP_INDEX:
        printf("index %s entries %" PRIu64, item->path, item->entry_count);
        break;
    case RILL_DUMP_CHECKPOINT:
        printf("checkpoint %s offset %" PRId64, item->path, item->offset_base);
        break;
    case RILL_DUMP_PROBLEM:
    default:
        printf("problem %s position %" PRIu64, item->path != NULL ? item->path : "-",
               item->position);
        break;
    }
    if (item->err != RILL_OK) {
        fputc(' ', stdout);
        dump_print_failure(item);
    } else if (item->kind == RILL_DUMP_PROBLEM) {
        printf(": %s\n", dump_message(item));
    } else if (item->kind == RILL_DUMP_BATCH || item->kind == RILL_DUMP_INDEX) {
        printf(" ok\n");
    } else {
        fputc('\n', stdout);
    }
}

/* A JSON string literal: quotes, backslashes and control characters escaped. */
static void dump_print_json_string(const char *text)
{
    fputc('"', stdout);
    for (const unsigned char *cursor = (const unsigned char *)(text != NULL ? text : "");
         *cursor != '\0'; cursor++) {
        if (*cursor == '"' || *cursor == '\\') {
            printf("\\%c", *cursor);
        } else if (*cursor < 0x20) {
            printf("\\u%04x", *cursor);
        } else {
            fputc(*cursor, stdout);
        }
    }
    fputc('"', stdout);
}

static const char *dump_kind_name(rill_dump_kind_t kind)
{
    switch (kind) {
    case RILL_DUMP_SEGMENT:
        return "segment";
    case RILL_DUMP_BATCH:
        return "batch";
    case RILL_DUMP_INDEX:
        return "index";
    case RILL_DUMP_CHECKPOINT:
        return "checkpoint";
    case RILL_DUMP_PROBLEM:
    default:
        return "problem";
    }
}

static void dump_print_json(const rill_dump_item_t *item)
{
    printf("{\"type\":\"%s\",\"path\":", dump_kind_name(item->kind));
    dump_print_json_string(item->path);
    printf(",\"position\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"offset_base\":%" PRId64,
           item->position, item->bytes, item->offset_base);
    if (item->kind == RILL_DUMP_BATCH) {
        printf(",\"offset_last\":%" PRId64 ",\"record_count\":%" PRId32 ",\"leader_epoch\":%" PRId32
               ",\"codec\":\"%s\",\"timestamp_first\":%" PRId64 ",\"timestamp_max\":%" PRId64
               ",\"producer_id\":%" PRId64 ",\"crc_stored\":%" PRIu32 ",\"crc_computed\":%" PRIu32,
               item->offset_last, item->record_count, item->leader_epoch,
               dump_codec_name(item->codec), item->timestamp_first, item->timestamp_max,
               item->producer_id, item->crc_stored, item->crc_computed);
    }
    if (item->kind == RILL_DUMP_INDEX) {
        printf(",\"entry_count\":%" PRIu64, item->entry_count);
    }
    printf(",\"ok\":%s,\"error\":\"%s\",\"message\":", item->err == RILL_OK ? "true" : "false",
           item->err == RILL_OK ? "" : rill_err_name(item->err));
    dump_print_json_string(dump_message(item));
    printf("}\n");
}

static void dump_item(const rill_dump_item_t *item, void *opaque)
{
    struct dump_state *state = opaque;

    if (item->kind == RILL_DUMP_SEGMENT) {
        state->segment_count++;
    }
    if (item->kind == RILL_DUMP_BATCH) {
        state->batch_count++;
        if (item->record_count > 0) {
            state->record_count += (uint64_t)item->record_count;
        }
    }
    if (item->err != RILL_OK || item->kind == RILL_DUMP_PROBLEM) {
        state->problem_count++;
    }
    if (state->json) {
        dump_print_json(item);
    } else {
        dump_print_text(item);
    }
}

static void dump_print_summary(const struct dump_state *state, rill_err err)
{
    if (state->json) {
        printf("{\"type\":\"summary\",\"segments\":%" PRIu64 ",\"batches\":%" PRIu64
               ",\"records\":%" PRIu64 ",\"problems\":%" PRIu64 ",\"ok\":%s}\n",
               state->segment_count, state->batch_count, state->record_count, state->problem_count,
               err == RILL_OK ? "true" : "false");
        return;
    }
    printf("summary: %" PRIu64 " segments, %" PRIu64 " batches, %" PRIu64 " records, %" PRIu64
           " problems\n",
           state->segment_count, state->batch_count, state->record_count, state->problem_count);
}

int cmd_log_dump_main(int argc, char **argv)
{
    struct dump_state state = { 0 };
    const struct cli_command command = {
        .name = "log dump",
        .usage = dump_usage,
        .options = dump_options,
        .handler = dump_option,
        .context = &state,
        .positional_names = "PATH",
        .positional_min = 1,
        .positional_max = 1,
    };
    const char *path = NULL;
    size_t positional_count = 0;
    int exit_code = CLI_EXIT_OK;
    struct stat status;

    if (!cli_parse(&command, argc, argv, &path, &positional_count, &exit_code)) {
        return exit_code;
    }
    if (stat(path, &status) != 0) {
        cli_fail_message("log dump: %s: %s", path, strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    rill_err err = rill_log_dump(path, dump_item, &state);
    dump_print_summary(&state, err);
    fflush(stdout);
    if (err == RILL_ERR_CORRUPT || (err == RILL_OK && state.problem_count > 0)) {
        fprintf(stderr, "rill: log dump: %s: %" PRIu64 " problems found\n", path,
                state.problem_count);
        return CLI_EXIT_FAILURE;
    }
    if (err != RILL_OK) {
        cli_fail(err, "log dump: %s", path);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}
