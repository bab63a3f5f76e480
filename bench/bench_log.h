/*
 * bench_log.h - `rill bench log`: the storage engine against raw disk on the same machine.
 */
#ifndef RILL_BENCH_BENCH_LOG_H
#define RILL_BENCH_BENCH_LOG_H

/* Entry point; argv[0] is "log". Returns the exit code (0 ok, 1 failure, 2 usage). */
int bench_log_main(int argc, char **argv);

#endif
