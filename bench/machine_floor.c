/*
 * machine_floor.c - what this machine charges for the least any broker must
 * do, with no Kafka protocol at all, so that the CPU figures of broker_perf
 * can be read against the machine rather than against a guess.
 *
 *   read        a thread sends 1 MiB chunks over loopback TCP; the receiving
 *               thread read()s each into the same buffer: the least an
 *               in-memory broker (librdkafka's mock) must do.
 *   write       a thread sends 1 MiB chunks over loopback TCP; the receiving
 *               thread read()s each chunk and pwrite()s it to a file
 *               allocated ahead, starting writeback behind itself and
 *               dropping what lies more than 256 MiB back from the page
 *               cache (Eddy's scheme, in one thread).
 *   write+crc   the same, with a CRC-32C over every chunk (a Kafka broker
 *               checks each batch's CRC).
 *   sendfile    fetch-shaped: a reader asks for 1 MiB (4 bytes), the sender
 *               answers with sendfile() from a 64 MiB file in the page
 *               cache, non-blocking with poll() like an event loop; the
 *               reader takes the answer as fast as it can and asks again.
 *   ... @N      the same at N MB/s, about the pace librdkafka's clients keep
 *               in broker_perf: the chunk sender (or the asking reader)
 *               sleeps to hold it. The broker-like thread then waits for
 *               data, and each sleep and wake-up is dear on this VM: per GB
 *               the same work costs more at a slower pace.
 *
 * Each prints MB/s, the CPU-seconds per GB of the broker-like thread (the
 * kernel's loopback delivery to the peer runs in it, as it does in a
 * broker) and of both threads. Which side runs the loopback work moves
 * from run to run with where the scheduler puts the two threads and with
 * the pace (measured: sendfile 0.05-0.6 CPU-s/GB for the sender alone),
 * so the pair is the steadier figure. Each mode runs twice, alternating, and the
 * first quarter of every run is not measured: a page cache window filled
 * from fresh pages costs several times what a recycled one does.
 *
 * Usage: build/bench/machine_floor [--quick] WORK_DIR
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/crc32c.h"

#define CHUNK (1u << 20)
#define DROP_WINDOW (256ull << 20) /* page cache kept behind the writer */
#define WRITEBACK_STEP (32ull << 20)
#define SEND_FILE_BYTES (64ull << 20)

#define WRITE_PACE_MB_S 800 /* 1 KiB records from one librdkafka producer here */
#define SEND_PACE_MB_S 700  /* one librdkafka consumer here */

enum mode { MODE_READ, MODE_WRITE, MODE_WRITE_CRC, MODE_WRITE_CRC_PACED, MODE_SENDFILE, MODE_SENDFILE_PACED, MODE_COUNT };
static const char *const mode_names[] = {"read", "write", "write+crc", "write+crc @" /* pace appended */, "sendfile",
                                         "sendfile @"};

struct run {
    enum mode mode;
    uint64_t bytes;   /* total moved */
    uint64_t skipped; /* not measured: the warm-up at the start */
    double pace_mb_s; /* 0: as fast as it goes */
    int port;
    const char *work_dir;
    double mb_per_s, cpu_per_gb;
    double pair_cpu_per_gb; /* both threads: the loopback work, whichever side ran it */
    uint32_t crc_sink; /* keeps the CRC from being optimised away */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double process_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "machine_floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Sleep until `done` bytes are due at the run's pace, counted from `start`. */
static void hold_pace(const struct run *r, double start, uint64_t done)
{
    if (r->pace_mb_s <= 0)
        return;
    double ahead = (double)done / (r->pace_mb_s * 1e6) - (now_s() - start);
    if (ahead > 0)
        usleep((useconds_t)(ahead * 1e6));
}

/* The measured part of a run: wall time, the calling thread's CPU and the process's. */
struct meter {
    double wall, thread_cpu, process_cpu;
};

static struct meter meter_start(void)
{
    return (struct meter){now_s(), thread_cpu_s(), process_cpu_s()};
}

static void meter_stop(const struct meter *m, uint64_t bytes, struct run *r)
{
    double gb = (double)bytes / 1e9;
    r->cpu_per_gb = (thread_cpu_s() - m->thread_cpu) / gb;
    r->pair_cpu_per_gb = (process_cpu_s() - m->process_cpu) / gb;
    r->mb_per_s = gb * 1e3 / (now_s() - m->wall);
}

static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        die("listen on 127.0.0.1");
    *port = ntohs(sa.sin_port);
    return fd;
}

static int connect_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        die("connect to 127.0.0.1");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static bool read_full(int fd, uint8_t *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    return true;
}

/* The broker-like side of a run: a peer thread connected over loopback. */
struct peer {
    pthread_t thread;
    int listener, sock;
};

static void peer_start(struct peer *p, struct run *r, void *(*peer_main)(void *))
{
    p->listener = listen_loopback(&r->port);
    pthread_create(&p->thread, NULL, peer_main, r);
    p->sock = accept(p->listener, NULL, NULL);
    if (p->sock < 0)
        die("accept");
}

static void peer_finish(struct peer *p)
{
    pthread_join(p->thread, NULL);
    close(p->sock);
    close(p->listener);
}

/* ------------------------------------------------------------ write modes */

static void *chunk_sender(void *arg)
{
    struct run *r = arg;
    static uint8_t chunk[CHUNK];
    memset(chunk, 'x', sizeof chunk);
    int fd = connect_loopback(r->port);
    double start = now_s();
    for (uint64_t sent = 0; sent < r->bytes;) {
        ssize_t n = write(fd, chunk, sizeof chunk);
        if (n <= 0)
            break;
        sent += (uint64_t)n;
        hold_pace(r, start, sent);
    }
    close(fd);
    return NULL;
}

/* Start writeback of what was just written; wait for and drop what is a window back. */
static void write_behind(int fd, uint64_t pos, uint64_t *started, uint64_t *dropped)
{
    if (pos - *started >= WRITEBACK_STEP) {
        sync_file_range(fd, (off_t)*started, (off_t)(pos - *started), SYNC_FILE_RANGE_WRITE);
        *started = pos;
    }
    if (pos > *dropped + DROP_WINDOW + WRITEBACK_STEP) {
        uint64_t to = pos - DROP_WINDOW;
        sync_file_range(fd, (off_t)*dropped, (off_t)(to - *dropped),
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
        posix_fadvise(fd, (off_t)*dropped, (off_t)(to - *dropped), POSIX_FADV_DONTNEED);
        *dropped = to;
    }
}

/* A new file `name` in the work dir, its path in `path`. */
static int create_work_file(const struct run *r, const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", r->work_dir, name);
    int file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (file < 0)
        die(path);
    return file;
}

static void run_write(struct run *r)
{
    char path[4096];
    int file = create_work_file(r, "floor-write.bin", path, sizeof path);
    if (r->mode != MODE_READ)
        (void)fallocate(file, FALLOC_FL_KEEP_SIZE, 0, (off_t)r->bytes); /* as Eddy's preallocation */
    struct peer peer;
    peer_start(&peer, r, chunk_sender);
    int sock = peer.sock;
    static uint8_t chunk[CHUNK];
    uint64_t pos = 0, started = 0, dropped = 0;
    struct meter meter = meter_start();
    while (pos < r->bytes && read_full(sock, chunk, sizeof chunk)) {
        if (pos == r->skipped)
            meter = meter_start();
        pos += sizeof chunk;
        if (r->mode == MODE_READ)
            continue; /* what an in-memory broker must do at least: take the bytes in */
        if (r->mode != MODE_WRITE)
            r->crc_sink ^= crc32c(0, chunk, sizeof chunk);
        if (pwrite(file, chunk, sizeof chunk, (off_t)(pos - sizeof chunk)) != (ssize_t)sizeof chunk)
            die(path);
        write_behind(file, pos, &started, &dropped);
    }
    meter_stop(&meter, pos - r->skipped, r);
    peer_finish(&peer);
    close(file);
    unlink(path);
}

/* ---------------------------------------------------------- sendfile mode */

static void *fetching_reader(void *arg)
{
    struct run *r = arg;
    static uint8_t buf[CHUNK];
    int fd = connect_loopback(r->port);
    double start = now_s();
    for (uint64_t got = 0; got < r->bytes; got += CHUNK) {
        hold_pace(r, start, got);
        uint32_t ask = CHUNK;
        if (write(fd, &ask, sizeof ask) != (ssize_t)sizeof ask || !read_full(fd, buf, CHUNK))
            break;
    }
    close(fd);
    return NULL;
}

static void send_answer(int sock, int file, off_t *pos)
{
    for (size_t left = CHUNK; left > 0;) {
        if ((uint64_t)*pos >= SEND_FILE_BYTES)
            *pos = 0;
        ssize_t n = sendfile(sock, file, pos, left);
        if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = sock, .events = POLLOUT};
            poll(&p, 1, -1);
            continue;
        }
        if (n <= 0)
            die("sendfile");
        left -= (size_t)n;
    }
}

static void run_sendfile(struct run *r)
{
    char path[4096];
    int file = create_work_file(r, "floor-send.bin", path, sizeof path);
    static uint8_t chunk[CHUNK];
    memset(chunk, 'y', sizeof chunk);
    for (uint64_t i = 0; i < SEND_FILE_BYTES; i += CHUNK)
        if (write(file, chunk, CHUNK) != (ssize_t)CHUNK)
            die(path);
    struct peer peer;
    peer_start(&peer, r, fetching_reader);
    int sock = peer.sock;
    fcntl(sock, F_SETFL, O_NONBLOCK);
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    off_t pos = 0;
    uint64_t sent = 0;
    struct meter meter = meter_start();
    while (sent < r->bytes) {
        if (sent == r->skipped)
            meter = meter_start();
        uint32_t ask;
        struct pollfd p = {.fd = sock, .events = POLLIN};
        poll(&p, 1, -1);
        if (read(sock, &ask, sizeof ask) != (ssize_t)sizeof ask)
            break;
        send_answer(sock, file, &pos);
        sent += CHUNK;
    }
    meter_stop(&meter, sent - r->skipped, r);
    peer_finish(&peer);
    close(file);
    unlink(path);
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (argc != 2 + quick) {
        fprintf(stderr, "usage: machine_floor [--quick] WORK_DIR\n");
        return 2;
    }
    const char *work_dir = argv[1 + quick];
    if (mkdir(work_dir, 0755) < 0 && errno != EEXIST)
        die(work_dir);
    uint64_t bytes = (quick ? 512ull : 2048ull) << 20;
    printf("Least work of any broker on this machine, no Kafka protocol (%.1f GiB a run, the first\n"
           "quarter not measured; two runs of each, alternating). CPU-s/GB: the broker-like thread,\n"
           "then both threads\n",
           (double)bytes / (1 << 30));
    struct run runs[2][MODE_COUNT];
    for (int round = 0; round < 2; round++)
        for (int m = 0; m < MODE_COUNT; m++) {
            struct run *r = &runs[round][m];
            *r = (struct run){.mode = (enum mode)m, .bytes = bytes, .skipped = bytes / 4, .work_dir = work_dir};
            if (m == MODE_WRITE_CRC_PACED)
                r->pace_mb_s = WRITE_PACE_MB_S;
            if (m == MODE_SENDFILE_PACED)
                r->pace_mb_s = SEND_PACE_MB_S;
            if (m >= MODE_SENDFILE)
                run_sendfile(r);
            else
                run_write(r);
        }
    for (int m = 0; m < MODE_COUNT; m++) {
        char name[32];
        snprintf(name, sizeof name, "%s%.0f", mode_names[m], runs[0][m].pace_mb_s);
        if (runs[0][m].pace_mb_s <= 0)
            snprintf(name, sizeof name, "%s", mode_names[m]);
        printf("  %-16s %7.0f %7.0f MB/s   broker %5.2f %5.2f   pair %5.2f %5.2f CPU-s/GB\n", name,
               runs[0][m].mb_per_s, runs[1][m].mb_per_s, runs[0][m].cpu_per_gb, runs[1][m].cpu_per_gb,
               runs[0][m].pair_cpu_per_gb, runs[1][m].pair_cpu_per_gb);
    }
    printf("  read: loopback read into one reused buffer (the least an in-memory broker does);\n"
           "  write: loopback read + pwrite + writeback + drop-behind; write+crc: and a CRC-32C per MiB;\n"
           "  sendfile: 1 MiB answers from the page cache to a loopback reader that asks for each;\n"
           "  @N: held to N MB/s, about the pace of broker_perf's librdkafka clients\n");
    return (int)(runs[0][MODE_WRITE_CRC].crc_sink & 0); /* used, never a failure */
}
