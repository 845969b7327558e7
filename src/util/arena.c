/* arena.c - chunked bump allocator (see arena.h). */
#include "util/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_DEFAULT_CHUNK (16 * 1024)
#define ARENA_ALIGN 8

struct arena_chunk {
    struct arena_chunk *next;
    size_t capacity;
    size_t used;
    /* max_align_t keeps data suitably aligned for anything we hand out. */
    max_align_t data[];
};

void arena_init(struct arena *a)
{
    a->first = NULL;
    a->current = NULL;
    a->chunk_size = ARENA_DEFAULT_CHUNK;
}

static struct arena_chunk *chunk_new(size_t capacity)
{
    if (capacity > SIZE_MAX - sizeof(struct arena_chunk))
        return NULL;
    struct arena_chunk *c = malloc(sizeof(struct arena_chunk) + capacity);
    if (!c)
        return NULL;
    c->next = NULL;
    c->capacity = capacity;
    c->used = 0;
    return c;
}

void *arena_alloc(struct arena *a, size_t size)
{
    if (size == 0)
        size = ARENA_ALIGN;
    if (size > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

    struct arena_chunk *c = a->current;
    if (!c || c->capacity - c->used < size) {
        struct arena_chunk *fresh = chunk_new(size > a->chunk_size ? size : a->chunk_size);
        if (!fresh)
            return NULL;
        if (!a->first) {
            a->first = fresh;
        } else {
            /* Link after the current chunk; an oversized chunk does not
             * become current if the current one still has room. */
            fresh->next = c->next;
            c->next = fresh;
        }
        if (!c || size <= a->chunk_size || c->capacity - c->used < ARENA_ALIGN * 8)
            a->current = fresh;
        c = fresh;
    }
    uint8_t *p = (uint8_t *)c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

void *arena_alloc_array(struct arena *a, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    return arena_alloc(a, count * size);
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void arena_reset(struct arena *a)
{
    if (!a->first)
        return;
    struct arena_chunk *c = a->first->next;
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->first->next = NULL;
    a->first->used = 0;
    a->current = a->first;
}

void arena_free(struct arena *a)
{
    struct arena_chunk *c = a->first;
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->first = NULL;
    a->current = NULL;
}
