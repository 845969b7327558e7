/*
 * test_log_crash.c - kill -9 during acks=all appends: a child process appends
 * through the log manager, waits for the flusher's durable callback before
 * "acknowledging" each batch (writes the offset to a pipe), and is killed
 * with SIGKILL mid-stream. The parent re-opens the log dirs (no clean
 * shutdown marker, so recovery runs) and checks that every acknowledged
 * offset is there and every batch passes its CRC.
 */
#include "log_test_util.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "log/log_manager.h"

static char dir0[256];
static const char *dirs[1] = {dir0};
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int64_t durable;

static void on_durable(void *ctx, struct partition_log *log, int64_t offset, int error)
{
    (void)ctx;
    (void)log;
    pthread_mutex_lock(&mu);
    if (!error && offset > durable)
        durable = offset;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static struct log_manager *open_mgr(void)
{
    struct log_manager_config c;
    log_manager_config_defaults(&c);
    c.log_dirs = dirs;
    c.log_dir_count = 1;
    c.defaults.segment_bytes = 256 * 1024;
    c.on_durable = on_durable;
    struct log_manager *mgr;
    if (log_manager_open(&c, &mgr) != 0)
        exit(2);
    return mgr;
}

static void child(int fd)
{
    struct log_manager *mgr = open_mgr();
    struct partition_log *log;
    if (log_manager_create(mgr, "crash", 0, NULL, NULL, &log) != 0)
        exit(2);
    for (int i = 0;; i++) {
        size_t len;
        uint8_t *b = test_build_batch(8, i, 100, 500, test_now_ms(), i % 2 ? 4 : 0, &len);
        struct log_append_options o = {.now_ms = test_now_ms(), .leader_epoch = 1};
        struct log_append_result res;
        if (partition_log_append(log, b, len, &o, &res) != 0)
            exit(3);
        free(b);
        partition_log_request_flush(log);
        pthread_mutex_lock(&mu);
        while (durable <= res.last_offset)
            pthread_cond_wait(&cv, &mu);
        pthread_mutex_unlock(&mu);
        int64_t acked = res.last_offset + 1;
        if (write(fd, &acked, sizeof(acked)) != sizeof(acked))
            exit(4);
    }
}

int main(void)
{
    char *root = test_make_dir("logcrash");
    snprintf(dir0, sizeof(dir0), "%s/d", root);
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        child(fds[1]);
        _exit(0);
    }
    close(fds[1]);
    int64_t acked = 0, v;
    int count = 0;
    while (count < 300 && read(fds[0], &v, sizeof(v)) == sizeof(v)) {
        acked = v;
        count++;
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    while (read(fds[0], &v, sizeof(v)) == sizeof(v))
        acked = v;
    close(fds[0]);
    printf("child killed after %" PRId64 " acknowledged offsets\n", acked);
    CHECK(WIFSIGNALED(status));
    CHECK(acked >= 300 * 8);

    struct log_manager *mgr = open_mgr();
    struct partition_log *log = log_manager_get(mgr, "crash", 0);
    CHECK(log != NULL);
    if (log) {
        int64_t end = partition_log_end_offset(log);
        printf("recovered log end offset %" PRId64 "\n", end);
        CHECK(end >= acked);
        static uint8_t buf[1 << 20];
        int64_t offset = 0;
        while (offset < end) {
            struct log_read_result r;
            CHECK(partition_log_read(log, offset, sizeof(buf), -1, true, &r) == 0);
            ssize_t n = log_read_result_copy(&r, buf, sizeof(buf));
            log_read_result_release(&r);
            CHECK(n > 0);
            if (n <= 0)
                break;
            for (size_t pos = 0; pos < (size_t)n;) {
                struct record_batch_header h;
                CHECK(record_batch_parse_header(buf + pos, (size_t)n - pos, &h) == 0);
                CHECK(record_batch_validate(buf + pos, record_batch_total_size(&h)) == 0);
                CHECK_EQ_I64(h.base_offset, offset);
                offset = h.base_offset + h.last_offset_delta + 1;
                pos += record_batch_total_size(&h);
            }
        }
        CHECK_EQ_I64(offset, end);
        CHECK_EQ_I64(partition_log_latest_epoch(log), 1);
    }
    log_manager_close(mgr);
    test_rm_rf(root);
    free(root);
    return test_finish("test_log_crash");
}
