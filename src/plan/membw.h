/* plan/membw.h — the machine's memory read bandwidth, measured: the ceiling of decode speed
 * (tokens/s <= bandwidth / bytes read per token). */
#ifndef EL_PLAN_MEMBW_H
#define EL_PLAN_MEMBW_H

#include <stddef.h>

/* Reads a buffer of `bytes` (much larger than the caches; 0 = 512 MiB) with n_threads
 * threads, best of `reps` passes; returns GB/s (1e9 bytes/s), or a negative value when the
 * buffer cannot be allocated or threads cannot start. */
double el_membw_read(size_t bytes, int n_threads, int reps);

#endif
