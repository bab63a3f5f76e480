/*
 * replay.c - runs a fuzz target over every file in the directories given as arguments, so
 * that `make test` replays the corpora without clang. Prints "<name>: N passed, 0 failed, 0
 * skipped" (a crash or sanitizer abort ends the run with a non-zero status instead).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

#define REPLAY_INPUT_BYTES_MAX (16u * 1024 * 1024)

static int replay_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        return -1;
    }
    uint8_t *data = malloc(REPLAY_INPUT_BYTES_MAX);
    size_t bytes = data != NULL ? fread(data, 1, REPLAY_INPUT_BYTES_MAX, file) : 0;
    fclose(file);
    if (data == NULL) {
        return -1;
    }
    LLVMFuzzerTestOneInput(data, bytes);
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned replayed = 0;
    const char *prog = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 : argv[0];
    for (int i = 1; i < argc; i++) {
        DIR *dir = opendir(argv[i]);
        if (dir == NULL) {
            fprintf(stderr, "%s: cannot open corpus %s\n", prog, argv[i]);
            return 1;
        }
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (entry->d_name[0] == '.') {
                continue;
            }
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], entry->d_name);
            if (replay_file(path) != 0) {
                fprintf(stderr, "%s: cannot read %s\n", prog, path);
                closedir(dir);
                return 1;
            }
            replayed++;
        }
        closedir(dir);
    }
    if (replayed == 0) {
        fprintf(stderr, "%s: empty corpus\n", prog);
        return 1;
    }
    printf("%s: %u passed, 0 failed, 0 skipped\n", prog, replayed);
    return 0;
}
