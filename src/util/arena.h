/* arena.h - bump allocator for per-request scratch memory.
 *
 * A request is decoded into structs whose arrays live in an arena; the whole
 * arena is dropped (arena_reset) once the response is written, so decoding
 * never calls malloc per field. Memory comes in chunks; allocations larger
 * than a chunk get a chunk of their own. Not thread-safe: one arena per
 * connection or per worker. */
#ifndef EDDY_UTIL_ARENA_H
#define EDDY_UTIL_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *first;   /* kept across arena_reset */
    struct arena_chunk *current; /* chunk allocations are served from */
    size_t chunk_size;           /* payload size of a regular chunk */
};

/* Empty arena; the first chunk is allocated lazily. */
void arena_init(struct arena *a);

/* size zeroed bytes aligned to 8, valid until arena_reset/arena_free.
 * Returns NULL when out of memory. size 0 gives a valid unique pointer. */
void *arena_alloc(struct arena *a, size_t size);

/* count * size zeroed bytes; NULL on overflow or out of memory. */
void *arena_alloc_array(struct arena *a, size_t count, size_t size);

/* Copy of len bytes plus a NUL terminator; NULL on OOM. */
char *arena_strndup(struct arena *a, const char *s, size_t len);

/* Forget every allocation; keeps the first chunk for reuse. */
void arena_reset(struct arena *a);

/* Release all memory; the arena may be reused after arena_init. */
void arena_free(struct arena *a);

#endif
