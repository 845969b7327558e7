/*
 * log_test_util.h - helpers shared by the tests/unit/test_log*.c programs:
 * CHECK macros, temporary directories, and building record batches with
 * keys/values/timestamps through record_batch_build.
 */
#ifndef EDDY_TESTS_LOG_TEST_UTIL_H
#define EDDY_TESTS_LOG_TEST_UTIL_H

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log/partition_log.h"
#include "protocol/record_batch.h"

static int test_failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                       \
            test_failures++;                                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_I64(a, b)                                                                         \
    do {                                                                                           \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                                              \
        if (a_ != b_) {                                                                            \
            fprintf(stderr, "FAIL %s:%d: %s == %s (%" PRId64 " vs %" PRId64 ")\n", __FILE__,      \
                    __LINE__, #a, #b, a_, b_);                                                     \
            test_failures++;                                                                       \
        }                                                                                          \
    } while (0)

static inline int64_t test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void test_rm_rf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory under /tmp; caller frees the string and removes the tree. */
static inline char *test_make_dir(const char *tag)
{
    char *path = malloc(256);
    snprintf(path, 256, "/tmp/eddy-%s-XXXXXX", tag);
    if (!mkdtemp(path)) {
        perror("mkdtemp");
        exit(2);
    }
    return path;
}

/*
 * A batch of `count` records: key "k<key_base+i % key_mod>" (no key if
 * key_mod == 0), value of `value_len` bytes (NULL value if value_len < 0:
 * tombstones), timestamps ts0 + i. Caller frees.
 */
static inline uint8_t *test_build_batch(int count, int key_base, int key_mod, int value_len,
                                        int64_t ts0, int codec, size_t *out_len)
{
    struct record_builder_entry *recs = calloc((size_t)count, sizeof(*recs));
    char(*keys)[32] = calloc((size_t)count, 32);
    uint8_t *value = malloc(value_len > 0 ? (size_t)value_len : 1);
    for (int i = 0; i < (value_len > 0 ? value_len : 0); i++)
        value[i] = (uint8_t)('a' + (i + key_base) % 26);
    for (int i = 0; i < count; i++) {
        recs[i].offset_delta = i;
        recs[i].timestamp_delta = i;
        if (key_mod > 0) {
            int n = snprintf(keys[i], 32, "k%d", (key_base + i) % key_mod);
            recs[i].key = (const uint8_t *)keys[i];
            recs[i].key_len = n;
        } else {
            recs[i].key_len = -1;
        }
        recs[i].value = value_len >= 0 ? value : NULL;
        recs[i].value_len = value_len >= 0 ? value_len : -1;
    }
    struct record_batch_header h;
    memset(&h, 0, sizeof(h));
    h.attributes = (int16_t)codec;
    h.last_offset_delta = count - 1;
    h.base_timestamp = ts0;
    h.max_timestamp = ts0 + count - 1;
    h.producer_id = -1;
    h.producer_epoch = -1;
    h.base_sequence = -1;
    h.partition_leader_epoch = -1;
    uint8_t *out = NULL;
    if (record_batch_build(&h, recs, (size_t)count, &out, out_len) != 0) {
        fprintf(stderr, "record_batch_build failed\n");
        exit(2);
    }
    free(recs);
    free(keys);
    free(value);
    return out;
}

/* Open partition 0 of `topic` in `dir`; exits the test if that fails. */
/* Append one test_build_batch(count, 0, 100, 100, now) in leader epoch `epoch`; 0 or the error. */
static inline int test_append_one(struct partition_log *log, int count, int32_t epoch)
{
    size_t len;
    uint8_t *b = test_build_batch(count, 0, 100, 100, test_now_ms(), 0, &len);
    struct log_append_options o = {.now_ms = test_now_ms(), .leader_epoch = epoch};
    struct log_append_result res;
    int rc = b ? partition_log_append(log, b, len, &o, &res) : -ENOMEM;
    free(b);
    return rc;
}

static inline struct partition_log *test_open_log(const char *dir, const char *topic,
                                                  const struct log_config *cfg, bool clean, int64_t rp)
{
    struct partition_log_open_args a = {.dir = dir, .topic = topic, .partition = 0, .config = cfg,
                                        .recovery_point = rp, .clean_shutdown = clean,
                                        .now_ms = test_now_ms()};
    struct partition_log *log = NULL;
    int rc = partition_log_open(&a, &log);
    if (rc != 0) {
        fprintf(stderr, "open failed: %s\n", strerror(-rc));
        exit(2);
    }
    return log;
}

/* The text of dir/name (a static buffer, overwritten by the next call), or NULL if unreadable. */
static inline char *test_read_text(const char *dir, const char *name)
{
    static char text[8192];
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    text[0] = 0;
    if (!f)
        return NULL;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = 0;
    fclose(f);
    return text;
}

static inline int test_finish(const char *name)
{
    if (test_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, test_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

#endif
