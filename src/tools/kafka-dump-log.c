/*
 * kafka-dump-log.c - `kafka-dump-log.sh` (Kafka's DumpLogSegments): print
 * the record batches of Eddy's segment files (.log) and the entries of their
 * offset (.index) and time (.timeindex) indexes, in Kafka's output format.
 * Reads the files directly; batches are parsed with Eddy's own record_batch
 * module, so this tool also shows what the broker would accept or reject.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tool_args.h"
#include "common/tool_util.h"
#include "protocol/record_batch.h"

static struct tool_option options[] = {
    {"files", TOOL_ARG_REQUIRED, "String: file1, file2, ...",
     "REQUIRED: The comma separated list of data and index log files to be dumped.", 0, 0, NULL},
    {"print-data-log", TOOL_ARG_NONE, NULL,
     "If set, printing the messages content when dumping data logs. Automatically set if any decoder option "
     "is specified.", 0, 0, NULL},
    {"deep-iteration", TOOL_ARG_NONE, NULL, "if set, uses deep instead of shallow iteration. Automatically set "
                                            "if print-data-log is enabled.", 0, 0, NULL},
    {"skip-record-metadata", TOOL_ARG_NONE, NULL, "Whether to skip printing metadata for each record.", 0, 0,
     NULL},
    {"verify-index-only", TOOL_ARG_NONE, NULL, "if set, just verify the index log without printing its content.",
     0, 0, NULL},
    {"index-sanity-check", TOOL_ARG_NONE, NULL, "if set, just checks the index sanity without printing its "
                                                "content.", 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static struct tool_cli cli = {
    "kafka-dump-log.sh",
    "This tool helps to parse a log file and dump its contents to the console, useful for debugging a "
    "seemingly corrupt log segment.",
    options,
};

/* A whole file mapped read-only (len 0: empty file, data NULL). */
struct mapped_file {
    const uint8_t *data;
    size_t len;
};

static int map_file(const char *path, struct mapped_file *out)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    out->len = (size_t)st.st_size;
    out->data = NULL;
    if (out->len > 0) {
        void *p = mmap(NULL, out->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int err = -errno;
            close(fd);
            return err;
        }
        out->data = p;
    }
    close(fd);
    return 0;
}

static void unmap_file(struct mapped_file *f)
{
    if (f->data)
        munmap((void *)f->data, f->len);
}

static uint64_t read_be(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = (v << 8) | p[i];
    return v;
}

/* The base offset encoded in a segment file name (20 digits), or 0. */
static int64_t base_offset_of(const char *path)
{
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    return strtoll(name, NULL, 10);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char *codec_name(int attributes)
{
    static const char *names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    int codec = attributes & BATCH_ATTR_COMPRESSION_MASK;
    return codec < 5 ? names[codec] : "unknown";
}

static void print_bytes(const uint8_t *p, int32_t len)
{
    if (len < 0)
        fputs("null", stdout);
    else
        fwrite(p, 1, (size_t)len, stdout);
}

static void print_control_record(const struct record *r)
{
    if (r->key_len >= 4 && r->value_len >= 6) {
        int type = (int)read_be(r->key + 2, 2);
        int32_t epoch = (int32_t)read_be(r->value + 2, 4);
        printf(" endTxnMarker: %s coordinatorEpoch: %d", type == 1 ? "COMMIT" : "ABORT", epoch);
    }
}

static void print_record(const struct record_batch_header *h, const struct record *r, bool with_data)
{
    int64_t offset = h->base_offset + r->offset_delta;
    bool log_append = (h->attributes & BATCH_ATTR_LOG_APPEND_TIME) != 0;
    int64_t ts = log_append ? h->max_timestamp : h->base_timestamp + r->timestamp_delta;
    int64_t sequence = h->base_sequence < 0 ? -1 : (int64_t)h->base_sequence + r->offset_delta;
    if (!tool_has(&cli, "skip-record-metadata")) {
        printf("| offset: %lld %s: %lld keySize: %d valueSize: %d sequence: %lld headerKeys: [", (long long)offset,
               log_append ? "LogAppendTime" : "CreateTime", (long long)ts, r->key_len, r->value_len,
               (long long)sequence);
        const uint8_t *pos = r->headers;
        struct record_header_kv kv;
        for (int i = 0; record_next_header(r, &pos, &kv) == 1; i++) {
            if (i)
                fputc(',', stdout);
            print_bytes(kv.key, kv.key_len);
        }
        fputc(']', stdout);
    }
    if (with_data) {
        if (h->attributes & BATCH_ATTR_CONTROL) {
            print_control_record(r);
        } else {
            if (r->key_len >= 0) {
                fputs(" key: ", stdout);
                print_bytes(r->key, r->key_len);
            }
            fputs(" payload: ", stdout);
            print_bytes(r->value, r->value_len);
        }
    }
    fputc('\n', stdout);
}

static void print_batch_line(const struct record_batch_header *h, size_t position, bool crc_ok)
{
    int64_t last_sequence = h->base_sequence < 0 ? -1 : (int64_t)h->base_sequence + h->last_offset_delta;
    bool log_append = (h->attributes & BATCH_ATTR_LOG_APPEND_TIME) != 0;
    char horizon[48] = "OptionalLong.empty";
    if (h->attributes & BATCH_ATTR_DELETE_HORIZON)
        snprintf(horizon, sizeof horizon, "OptionalLong[%lld]", (long long)h->base_timestamp);
    printf("baseOffset: %lld lastOffset: %lld count: %d baseSequence: %d lastSequence: %lld producerId: %lld "
           "producerEpoch: %d partitionLeaderEpoch: %d isTransactional: %s isControl: %s deleteHorizonMs: %s "
           "position: %zu %s: %lld size: %zu magic: %d compresscodec: %s crc: %lu isvalid: %s\n",
           (long long)h->base_offset, (long long)(h->base_offset + h->last_offset_delta), h->record_count,
           h->base_sequence, (long long)last_sequence, (long long)h->producer_id, h->producer_epoch,
           h->partition_leader_epoch, (h->attributes & BATCH_ATTR_TRANSACTIONAL) ? "true" : "false",
           (h->attributes & BATCH_ATTR_CONTROL) ? "true" : "false", horizon, position,
           log_append ? "LogAppendTime" : "CreateTime", (long long)h->max_timestamp, record_batch_total_size(h),
           h->magic, codec_name(h->attributes), (unsigned long)h->crc, crc_ok ? "true" : "false");
}

static int dump_log(const char *path, const struct mapped_file *f)
{
    bool with_data = tool_has(&cli, "print-data-log");
    bool deep = with_data || tool_has(&cli, "deep-iteration");
    printf("Log starting offset: %lld\n", (long long)base_offset_of(path));
    size_t pos = 0;
    while (pos < f->len) {
        struct record_batch_header h;
        if (record_batch_parse_header(f->data + pos, f->len - pos, &h) != 0) {
            printf("Found %zu invalid bytes at the end of %s\n", f->len - pos, strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
            return 0;
        }
        size_t size = record_batch_total_size(&h);
        bool crc_ok = record_batch_crc_ok(f->data + pos, size);
        print_batch_line(&h, pos, crc_ok);
        if (deep) {
            struct record_iter it;
            int err = record_iter_open(&it, f->data + pos, size);
            if (err) {
                printf("Cannot read the records of the batch at position %zu: Kafka error %d\n", pos, err);
            } else {
                struct record r;
                int rc;
                while ((rc = record_iter_next(&it, &r)) == 1)
                    print_record(&h, &r, with_data);
                if (rc < 0)
                    printf("Malformed record in the batch at position %zu\n", pos);
                record_iter_close(&it);
            }
        }
        pos += size;
    }
    return 0;
}

/* Preallocated index files end in zeros; an all-zero entry after the first ends the index. */
static int dump_index(const char *path, const struct mapped_file *f, bool time_index)
{
    int64_t base = base_offset_of(path);
    size_t entry = time_index ? 12 : 8;
    for (size_t i = 0; i + entry <= f->len; i += entry) {
        const uint8_t *p = f->data + i;
        if (time_index) {
            int64_t ts = (int64_t)read_be(p, 8);
            uint32_t rel = (uint32_t)read_be(p + 8, 4);
            if (i > 0 && ts == 0 && rel == 0)
                break;
            printf("timestamp: %lld offset: %lld\n", (long long)ts, (long long)(base + rel));
        } else {
            uint32_t rel = (uint32_t)read_be(p, 4);
            uint32_t position = (uint32_t)read_be(p + 4, 4);
            if (i > 0 && rel == 0 && position == 0)
                break;
            printf("offset: %lld position: %u\n", (long long)(base + rel), position);
        }
    }
    return 0;
}

static int dump_file(const char *path)
{
    bool is_log = has_suffix(path, ".log"), is_index = has_suffix(path, ".index"),
         is_time = has_suffix(path, ".timeindex");
    if (!is_log && !is_index && !is_time) {
        fprintf(stderr, "Ignoring unknown file %s\n", path);
        return 0;
    }
    struct mapped_file f;
    int err = map_file(path, &f);
    if (err) {
        fprintf(stderr, "Error: cannot read %s: %s\n", path, strerror(-err));
        return 1;
    }
    printf("Dumping %s\n", path);
    int rc = is_log ? dump_log(path, &f) : dump_index(path, &f, is_time);
    unmap_file(&f);
    return rc;
}

int main(int argc, char **argv)
{
    tool_args_parse(&cli, argc, argv);
    const char *files = tool_require(&cli, "files");
    struct tool_strlist list = {0};
    tool_split(files, ',', &list);
    int rc = 0;
    for (size_t i = 0; i < list.count; i++)
        rc |= dump_file(list.items[i]);
    fflush(stdout);
    tool_strlist_free(&list);
    tool_args_free(&cli);
    return rc;
}
