/*
 * fuzz.h - the libFuzzer entry point every fuzz target defines. With clang (make fuzz) the
 * targets link against libFuzzer; with gcc (make test) they link with replay.c, which feeds
 * them every file of their corpus.
 */
#ifndef RILL_TESTS_FUZZ_H
#define RILL_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
