/*
 * broker_perf.c - producer, consumer and end-to-end latency benchmarks on
 * librdkafka, run side by side against Eddy and librdkafka's in-memory mock
 * cluster, in the spirit of Kafka's perf-test tools and OpenMessaging
 * Benchmark. Prints one line per test with the Eddy/mock ratio, then the
 * targets of /work/shared/DESIGN.md ("Performance") marked PASS or MISS.
 * Figures are informational: the exit code only says whether the runs
 * themselves worked.
 *
 * Usage: build/bench/broker_perf [--quick] EDDY_BINARY WORK_DIR
 *
 * Eddy runs as a child process, started afresh for every run on a free
 * 127.0.0.1 port with its own data dir under WORK_DIR (deleted after the
 * run), so no run pays for an earlier run's files and the disk never fills.
 * Each run's topic is auto-created from Metadata, as the mock creates its
 * topics, with num.partitions set to the partition count the run needs.
 * The mock cluster (one broker) is a child process too, started per run
 * (this program with --mock-broker), so both brokers are measured the same
 * way: a process of their own, not sharing the clients' heap, charged their
 * process CPU. (Inside the clients' process the mock took 1 KiB records to
 * one partition at 833 and 1,389 MB/s, in its own at 1,265 and 1,454: the
 * spread from run to run, mostly the client's allocator, is the larger.)
 *
 * Producers use librdkafka's defaults (linger.ms 5, batches up to 1 MB, no
 * compression, keyless records on the sticky partitioner) with the queue
 * capped at 32 MiB like the Java producer's buffer.memory, and send as fast
 * as the queue takes records for EDDY_BENCH_SECONDS; the rate is the records
 * acknowledged divided by the time until the last acknowledgement. Each
 * timed run follows a warm-up of EDDY_BENCH_WARMUP seconds by the same
 * producer to the same topic, delivered in full before the clock starts:
 * a freshly started broker otherwise pays, inside a 3 s run, for filling its
 * page-cache window from pages the host has to fault in (Eddy's 256 MiB took
 * 1.5 CPU-s per GB to write against 0.2 once recycled, bench/RESULTS.md,
 * session 11), which a broker that has been running a while does not. The
 * consumer takes one message per rd_kafka_consumer_poll() call: the batch
 * call (rd_kafka_consume_batch_queue) measured slower, 180-230 MB/s
 * against 280-390, with more client CPU.
 *
 * Broker CPU: utime+stime of the broker process (eddy or the mock) from
 * /proc/PID/stat before and after the measured part. The bench process's
 * CPU (the clients) is printed too, and the whole machine's busy time
 * ("mach", /proc/stat): the clients share
 * the broker's vCPUs, so a run is bounded by everything the machine does per
 * GB, kernel work no process is charged for (softirq, writeback) included.
 *
 * Sizes come from environment variables (defaults for a full run of about
 * four minutes, --quick about 30 s):
 *   EDDY_BENCH_SECONDS          seconds per producer run          (3, quick 0.5)
 *   EDDY_BENCH_REPEAT           producer runs per test, best kept (2, quick 1)
 *   EDDY_BENCH_WARMUP           seconds of producing before each timed run (2, quick 0)
 *   EDDY_BENCH_CONSUME_MB       MB the consumer reads (a 64 MiB working set read
 *                               again and again: the mock keeps 5 MiB a partition)
 *                                                                  (1024, quick 64)
 *   EDDY_BENCH_LATENCY_SECONDS  seconds of the fixed-rate run      (10, quick 1.5)
 *   EDDY_BENCH_LATENCY_RATE     messages per second                (10000)
 *   EDDY_BENCH_LATENCY_SIZE     bytes per latency message          (1024)
 *   EDDY_BENCH_LONG_GB          GiB of the long acks=1 run and the raw disk write it is
 *                               compared with; 0 skips it          (8, quick 0)
 *   EDDY_BENCH_MANY_PARTITIONS  partition count of the scaling run (1000)
 * and, for experiments:
 *   EDDY_BENCH_ONLY             run only the tests whose label contains this
 *   EDDY_BENCH_NO_MOCK          1: run Eddy only (experiments; no ratios)
 *   EDDY_BENCH_BROKER_CONFIG    extra server.properties lines for Eddy
 *   EDDY_BENCH_CLIENT_CONFIG    librdkafka properties for every client, key=value,...
 *   EDDY_BENCH_CLIENT_STATS     1: each second, the client's requests in flight, round trip,
 *                               and requests and bytes sent so far
 *   EDDY_BENCH_LATENCY_ACKS     acks of the latency run's producer (all)
 *   EDDY_BENCH_LATENCY_DUMP     PREFIX: per-message latencies to PREFIX-eddy.txt, -mock.txt
 *   EDDY_BENCH_PIN              1: the broker on the last CPU, the clients on the others
 *   EDDY_BENCH_GLIBC_TRIM       1: glibc's default heap trimming in the clients and the mock
 *                               (see steady_allocator())
 *   EDDY_BENCH_MOCK_RTT_MS      the mock answers this many ms late, to see how the client
 *                               takes a broker's latency (rd_kafka_mock_broker_set_rtt)
 *
 * broker_perf --mock-broker TOPIC PARTITIONS runs one mock broker (what the
 * mock runs start): it prints its bootstrap address and waits to be killed.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define GB 1e9
#define MB 1e6

/* ---------------------------------------------------------------- options */

struct options {
    const char *eddy_binary;
    const char *work_dir;
    double produce_seconds;
    double warmup_seconds;
    double consume_mb;
    double latency_seconds;
    int latency_rate;
    int latency_size;
    double long_gib;
    int many_partitions;
    int repeat;
};

static struct options opt;

static double env_double(const char *name, double fallback)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return fallback;
    char *end;
    double d = strtod(v, &end);
    if (*end || d < 0) {
        fprintf(stderr, "broker_perf: ignoring %s=%s (not a number >= 0)\n", name, v);
        return fallback;
    }
    return d;
}

static void options_load(bool quick)
{
    opt.produce_seconds = env_double("EDDY_BENCH_SECONDS", quick ? 0.5 : 3);
    opt.warmup_seconds = env_double("EDDY_BENCH_WARMUP", quick ? 0 : 2);
    opt.consume_mb = env_double("EDDY_BENCH_CONSUME_MB", quick ? 64 : 1024);
    opt.latency_seconds = env_double("EDDY_BENCH_LATENCY_SECONDS", quick ? 1.5 : 10);
    opt.latency_rate = (int)env_double("EDDY_BENCH_LATENCY_RATE", 10000);
    opt.latency_size = (int)env_double("EDDY_BENCH_LATENCY_SIZE", 1024);
    opt.long_gib = env_double("EDDY_BENCH_LONG_GB", quick ? 0 : 8);
    opt.many_partitions = (int)env_double("EDDY_BENCH_MANY_PARTITIONS", 1000);
    opt.repeat = (int)env_double("EDDY_BENCH_REPEAT", quick ? 1 : 2);
    if (opt.repeat < 1)
        opt.repeat = 1;
    if (opt.latency_rate < 1)
        opt.latency_rate = 1;
    if (opt.latency_size < 16)
        opt.latency_size = 16;
    if (opt.many_partitions < 1)
        opt.many_partitions = 1;
}

/* ------------------------------------------------------------------ clock */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* -------------------------------------------------------------------- CPU */

/* utime+stime in seconds from a /proc/.../stat file, or -1. */
static double proc_stat_cpu(const char *path)
{
    char buf[1024];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* The command name may hold spaces: fields are counted after its ')'.
     * Field 3 (state) comes first, utime is field 14 and stime field 15. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    p++;
    unsigned long long utime = 0, stime = 0;
    for (int field = 3; field <= 15; field++) {
        while (*p == ' ')
            p++;
        if (field == 14)
            utime = strtoull(p, NULL, 10);
        if (field == 15)
            stime = strtoull(p, NULL, 10);
        while (*p && *p != ' ')
            p++;
    }
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU-seconds the whole machine was busy (every CPU, /proc/stat): with the
 * clients on the same vCPUs, what a run leaves idle, and the kernel's work
 * no process is charged for (softirq delivery, writeback). -1 if unknown. */
static double machine_busy_cpu(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle, &iowait, &irq,
                   &softirq, &steal);
    fclose(f);
    if (n < 7)
        return -1;
    return (double)(user + nice + system + irq + softirq + steal) / (double)sysconf(_SC_CLK_TCK);
}

/*
 * Page faults of this process (the clients). librdkafka frees each batch
 * buffer when its answer comes, and glibc may hand the memory back to the
 * kernel, to be faulted in again by the next buffers. How much it does
 * follows how many buffers are alive at once (requests queued at or
 * answered late by the broker), and it moves the producer's rate more than
 * anything the broker does (bench/RESULTS.md, sessions 13 and 14), so every
 * producer run shows it.
 */
static uint64_t process_faults_self(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt;
}

static double process_cpu_self(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------- filesystem */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---------------------------------------------------------------- targets */

enum target_kind { TARGET_EDDY, TARGET_MOCK };

/* One broker under test for one run: a child process, eddy or a mock cluster. */
struct target {
    enum target_kind kind;
    char bootstrap[256];
    pid_t pid;
    /* Eddy */
    char dir[PATH_MAX];
    char log_path[PATH_MAX + 16];
};

static const char *target_name(enum target_kind kind)
{
    return kind == TARGET_EDDY ? "eddy" : "mock";
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static bool port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void print_log_tail(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > 3000 ? size - 3000 : 0, SEEK_SET);
    char line[1024];
    fprintf(stderr, "--- tail of %s ---\n", path);
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

static int write_eddy_config(const char *path, int port, const char *data_dir, int partitions)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "node.id=1\nprocess.roles=broker,controller\n"
               "listeners=PLAINTEXT://127.0.0.1:%d\nlog.dirs=%s\nnum.partitions=%d\n"
               "auto.create.topics.enable=true\noffsets.topic.replication.factor=1\n"
               "eddy.log.level=WARN\n",
            port, data_dir, partitions);
    const char *extra = getenv("EDDY_BENCH_BROKER_CONFIG"); /* more lines, e.g. for experiments */
    if (extra && *extra)
        fprintf(f, "%s\n", extra);
    return fclose(f) == 0 ? 0 : -1;
}

/* EDDY_BENCH_PIN=1: the brokers (eddy, the mock) run on the last CPU and this
 * process (the clients) on the others, as if the broker had a machine of its
 * own. Without it the kernel places every thread where it likes. */
static void pin_to_cpus(bool broker)
{
    const char *pin = getenv("EDDY_BENCH_PIN");
    if (!pin || !*pin || strcmp(pin, "0") == 0)
        return;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 2)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (broker)
        CPU_SET((int)cpus - 1, &set);
    else
        for (int c = 0; c < cpus - 1; c++)
            CPU_SET(c, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0)
        perror("broker_perf: sched_setaffinity");
}

static int eddy_start(struct target *t, int partitions)
{
    static int run_number;
    snprintf(t->dir, sizeof t->dir, "%s/eddy-run-%d", opt.work_dir, ++run_number);
    remove_tree(t->dir);
    if (mkdir(t->dir, 0755) < 0) {
        fprintf(stderr, "broker_perf: mkdir %s: %s\n", t->dir, strerror(errno));
        return -1;
    }
    char config[PATH_MAX + 32], data[PATH_MAX + 16];
    snprintf(config, sizeof config, "%s/server.properties", t->dir);
    snprintf(data, sizeof data, "%s/data", t->dir);
    snprintf(t->log_path, sizeof t->log_path, "%s/eddy.log", t->dir);
    int port = free_port();
    if (port < 0 || write_eddy_config(config, port, data, partitions) < 0)
        return -1;
    snprintf(t->bootstrap, sizeof t->bootstrap, "127.0.0.1:%d", port);

    t->pid = fork();
    if (t->pid < 0)
        return -1;
    if (t->pid == 0) {
        /* If this bench dies (crash, ^C), the broker goes with it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1)
            _exit(127);
        pin_to_cpus(true);
        int fd = open(t->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execl(opt.eddy_binary, opt.eddy_binary, "server", config, (char *)NULL);
        _exit(127);
    }
    double deadline = now_s() + 30;
    while (now_s() < deadline) {
        int status;
        if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
            fprintf(stderr, "broker_perf: eddy exited during start-up (status %d)\n", status);
            print_log_tail(t->log_path);
            t->pid = 0;
            return -1;
        }
        if (port_accepts(port))
            return 0;
        sleep_s(0.02);
    }
    fprintf(stderr, "broker_perf: eddy did not listen on %d within 30 s\n", port);
    return -1;
}

/* True if the broker child is still running (it is reaped and reported if not). */
static bool target_alive(struct target *t)
{
    if (t->pid <= 0)
        return false;
    int status;
    if (waitpid(t->pid, &status, WNOHANG) != t->pid)
        return true;
    fprintf(stderr, "broker_perf: %s died during the run (%s %d)\n", target_name(t->kind),
            WIFSIGNALED(status) ? "signal" : "exit code",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    if (t->kind == TARGET_EDDY)
        print_log_tail(t->log_path);
    t->pid = 0;
    return false;
}

/* SIGKILL, not SIGTERM: a clean shutdown would flush gigabytes nobody will
 * read (Eddy), and the mock has nothing to keep. */
static void target_kill(struct target *t)
{
    if (target_alive(t)) {
        kill(t->pid, SIGKILL);
        waitpid(t->pid, NULL, 0);
    }
    t->pid = 0;
}

/* Deleting the files drops their dirty pages (nobody will read them). */
static void eddy_stop(struct target *t)
{
    target_kill(t);
    remove_tree(t->dir);
}

/* The child side of a mock run: one mock broker with `topic`, its bootstrap
 * address on stdout, then nothing until the parent kills it. */
static int mock_broker_main(const char *topic, int partitions)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "broker_perf: rd_kafka_new: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mock = rd_kafka_mock_cluster_new(rk, 1);
    if (!mock) {
        fprintf(stderr, "broker_perf: rd_kafka_mock_cluster_new failed\n");
        return 1;
    }
    rd_kafka_resp_err_t rc = rd_kafka_mock_topic_create(mock, topic, partitions, 1);
    if (rc) {
        fprintf(stderr, "broker_perf: mock topic create: %s\n", rd_kafka_err2str(rc));
        return 1;
    }
    const char *rtt = getenv("EDDY_BENCH_MOCK_RTT_MS");
    if (rtt && atoi(rtt) > 0)
        rd_kafka_mock_broker_set_rtt(mock, 1, atoi(rtt));
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mock));
    fflush(stdout);
    for (;;)
        pause();
}

/* Start `broker_perf --mock-broker` and read its bootstrap address. */
static int mock_start(struct target *t, const char *topic, int partitions)
{
    int out[2];
    if (pipe(out) < 0)
        return -1;
    char count[16];
    snprintf(count, sizeof count, "%d", partitions);
    t->pid = fork();
    if (t->pid < 0) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    if (t->pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        pin_to_cpus(true);
        close(out[0]);
        close(out[1]);
        execl("/proc/self/exe", "broker_perf", "--mock-broker", topic, count, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    bool ok = f && fgets(t->bootstrap, sizeof t->bootstrap, f) != NULL;
    if (f)
        fclose(f);
    else
        close(out[0]);
    t->bootstrap[strcspn(t->bootstrap, "\n")] = '\0';
    if (!ok || !t->bootstrap[0]) {
        fprintf(stderr, "broker_perf: the mock broker did not start\n");
        target_kill(t);
        return -1;
    }
    return 0;
}

/* Start a fresh broker of `kind` whose topic `topic` will have `partitions`. */
static int target_open(struct target *t, enum target_kind kind, const char *topic, int partitions)
{
    memset(t, 0, sizeof *t);
    t->kind = kind;
    return kind == TARGET_EDDY ? eddy_start(t, partitions) : mock_start(t, topic, partitions);
}

static void target_close(struct target *t)
{
    if (t->kind == TARGET_EDDY)
        eddy_stop(t);
    else
        target_kill(t);
}

/* CPU seconds the broker process has used so far. */
static double target_broker_cpu(const struct target *t)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)t->pid);
    return proc_stat_cpu(path);
}

/* ---------------------------------------------------------------- results */

struct run_result {
    bool ok;
    double seconds;
    uint64_t records;
    uint64_t bytes;        /* payload bytes */
    double broker_cpu;     /* the broker process, eddy or the mock */
    double process_cpu;    /* this bench process (the clients) */
    double machine_cpu;    /* every CPU of the machine (see machine_busy_cpu) */
    uint64_t client_faults; /* producer runs: page faults of this bench process */
    double p50_ms, p99_ms, p999_ms, max_ms; /* latency run: end to end */
    double ack_p50_ms, ack_p99_ms;          /* latency run: produce -> acknowledgement */
    uint64_t lost;         /* latency run: messages never received */
    double topic_ready_s;  /* producer runs: start-up to topic ready (creation) */
    char note[200];
};

static double result_records_per_s(const struct run_result *r)
{
    return r->ok && r->seconds > 0 ? (double)r->records / r->seconds : 0;
}

static double result_mb_per_s(const struct run_result *r)
{
    return r->ok && r->seconds > 0 ? (double)r->bytes / MB / r->seconds : 0;
}

static double result_cpu_per_gb(double cpu, const struct run_result *r)
{
    return r->ok && r->bytes > 0 ? cpu / ((double)r->bytes / GB) : 0;
}

static void result_fail(struct run_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->note, sizeof r->note, fmt, ap);
    va_end(ap);
    r->ok = false;
    fprintf(stderr, "broker_perf: %s\n", r->note);
}

/* ---------------------------------------------------------- client set-up */

/* EDDY_BENCH_CLIENT_CONFIG="key=value,key=value": librdkafka properties for
 * every client of every target, for experiments. */
static void client_conf_extra(rd_kafka_conf_t *conf)
{
    const char *extra = getenv("EDDY_BENCH_CLIENT_CONFIG");
    if (!extra || !*extra)
        return;
    char *copy = strdup(extra), *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char err[256], *eq = strchr(item, '=');
        if (!eq) {
            fprintf(stderr, "broker_perf: EDDY_BENCH_CLIENT_CONFIG: '%s' is not key=value\n", item);
            continue;
        }
        *eq = '\0';
        if (rd_kafka_conf_set(conf, item, eq + 1, err, sizeof err) != RD_KAFKA_CONF_OK)
            fprintf(stderr, "broker_perf: EDDY_BENCH_CLIENT_CONFIG: %s\n", err);
    }
    free(copy);
}

/* The integer after `"key":` at or after `from`, or -1; *at points past it. */
static long long stats_long(const char *from, const char *key, const char **at)
{
    char quoted[48];
    snprintf(quoted, sizeof quoted, "\"%s\":", key);
    const char *p = strstr(from, quoted);
    if (!p)
        return -1;
    *at = p + strlen(quoted);
    return atoll(*at);
}

static int stats_int(const char *from, const char *key, const char **at)
{
    return (int)stats_long(from, key, at);
}

/* EDDY_BENCH_CLIENT_STATS=1: every second, print what librdkafka says of each
 * broker connection with requests out (waiting for a response, queued to
 * send, round trip), to see how deep a run's pipeline is. Diagnostics only. */
static int client_stats_line(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    (void)rk, (void)len, (void)opaque;
    const char *at = strstr(json, "\"brokers\"");
    const char *name;
    while (at && (name = strstr(at, "\"name\":\"")) != NULL) {
        name += strlen("\"name\":\"");
        int outbuf = stats_int(name, "outbuf_cnt", &at);
        int waitresp = outbuf < 0 ? -1 : stats_int(at, "waitresp_cnt", &at);
        const char *tx_at = at;
        long long tx = waitresp < 0 ? -1 : stats_long(at, "tx", &tx_at);
        long long txbytes = tx < 0 ? -1 : stats_long(tx_at, "txbytes", &tx_at);
        const char *rtt = waitresp < 0 ? NULL : strstr(at, "\"rtt\":");
        if (!rtt)
            break;
        int avg = stats_int(rtt, "avg", &at), p99 = stats_int(rtt, "p99", &at);
        if (outbuf + waitresp > 0)
            fprintf(stderr, "  stats %.*s outbuf %d waitresp %d rtt avg %d p99 %d us, %lld requests, %lld bytes sent\n",
                    (int)strcspn(name, "\""), name, outbuf, waitresp, avg, p99, tx, txbytes);
    }
    return 0;
}

static rd_kafka_conf_t *client_conf(const char *bootstrap)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rd_kafka_conf_set(conf, "log.connection.close", "false", err, sizeof err);
    const char *debug = getenv("EDDY_BENCH_CLIENT_DEBUG"); /* librdkafka's debug contexts */
    if (debug && *debug)
        rd_kafka_conf_set(conf, "debug", debug, err, sizeof err);
    const char *stats = getenv("EDDY_BENCH_CLIENT_STATS");
    if (stats && *stats && strcmp(stats, "0")) {
        rd_kafka_conf_set(conf, "statistics.interval.ms", "1000", err, sizeof err);
        rd_kafka_conf_set_stats_cb(conf, client_stats_line);
    }
    client_conf_extra(conf);
    return conf;
}

static void conf_set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
    char err[256];
    if (rd_kafka_conf_set(conf, key, value, err, sizeof err) != RD_KAFKA_CONF_OK)
        fprintf(stderr, "broker_perf: %s=%s: %s\n", key, value, err);
}

/* Wait until the topic's metadata shows `partitions` partitions with
 * leaders. Asking is also what makes Eddy auto-create it. */
static int wait_topic_ready(rd_kafka_t *rk, const char *topic, int partitions, double timeout_s)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    double deadline = now_s() + timeout_s;
    int rc = -1;
    while (rc < 0 && now_s() < deadline) {
        const struct rd_kafka_metadata *md = NULL;
        if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (md->topic_cnt == 1 && !md->topics[0].err &&
                md->topics[0].partition_cnt == partitions) {
                rc = 0;
                for (int i = 0; i < partitions; i++)
                    if (md->topics[0].partitions[i].leader < 0 || md->topics[0].partitions[i].err)
                        rc = -1;
            }
            rd_kafka_metadata_destroy(md);
        }
        if (rc < 0)
            sleep_s(0.05);
    }
    rd_kafka_topic_destroy(rkt);
    return rc;
}

/* --------------------------------------------------------------- producer */

struct produce_params {
    const char *topic;
    int partitions;
    size_t size;
    const char *acks;      /* "1" or "all" */
    const char *linger_ms; /* NULL: librdkafka's default */
    double seconds;        /* produce for this long... */
    uint64_t max_bytes;    /* ...or until this many payload bytes (0: no limit) */
    double warmup_seconds; /* produce this long first, untimed */
};

struct delivery_counts {
    uint64_t delivered;
    uint64_t bytes;
    uint64_t failed;
    rd_kafka_resp_err_t first_error;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct delivery_counts *c = opaque;
    if (m->err) {
        if (!c->failed++)
            c->first_error = m->err;
        return;
    }
    c->delivered++;
    c->bytes += m->len;
}

static rd_kafka_t *producer_new(const char *bootstrap, const char *acks, const char *linger_ms,
                                void (*on_report)(rd_kafka_t *, const rd_kafka_message_t *, void *),
                                void *opaque)
{
    char err[256];
    rd_kafka_conf_t *conf = client_conf(bootstrap);
    conf_set(conf, "acks", acks);
    if (linger_ms)
        conf_set(conf, "linger.ms", linger_ms);
    conf_set(conf, "message.timeout.ms", "30000");
    /* A bounded queue, like the Java producer's 32 MiB buffer.memory: a
     * GiB-deep one would measure this process's page faults. */
    conf_set(conf, "queue.buffering.max.messages", "500000");
    conf_set(conf, "queue.buffering.max.kbytes", "32768");
    rd_kafka_conf_set_dr_msg_cb(conf, on_report);
    rd_kafka_conf_set_opaque(conf, opaque);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk)
        fprintf(stderr, "broker_perf: producer: %s\n", err);
    return rk;
}

/* Produce as fast as librdkafka takes records (the payload is never copied:
 * every record points at the same buffer), then wait for every delivery. */
static void produce_loop(rd_kafka_t *rk, rd_kafka_topic_t *rkt, const struct produce_params *p,
                         const uint8_t *payload, uint64_t *sent)
{
    double end = now_s() + p->seconds;
    uint64_t bytes = 0;
    *sent = 0;
    for (;;) {
        if ((*sent & 1023) == 0) {
            rd_kafka_poll(rk, 0);
            if (p->max_bytes ? bytes >= p->max_bytes : now_s() >= end)
                break;
        }
        if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, 0, (void *)payload, p->size, NULL, 0,
                             NULL) < 0) {
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                break;
            rd_kafka_poll(rk, 1);
            continue;
        }
        (*sent)++;
        bytes += p->size;
    }
}

static struct run_result produce_run(struct target *t, const struct produce_params *p)
{
    struct run_result r;
    memset(&r, 0, sizeof r);
    struct delivery_counts counts;
    memset(&counts, 0, sizeof counts);
    rd_kafka_t *rk = producer_new(t->bootstrap, p->acks, p->linger_ms, on_delivery, &counts);
    if (!rk) {
        result_fail(&r, "producer could not be created");
        return r;
    }
    double ready_start = now_s();
    if (wait_topic_ready(rk, p->topic, p->partitions, 120) < 0) {
        result_fail(&r, "%s: topic %s not ready with %d partitions", target_name(t->kind), p->topic,
                    p->partitions);
        rd_kafka_destroy(rk);
        return r;
    }
    r.topic_ready_s = now_s() - ready_start;
    uint8_t *payload = malloc(p->size);
    for (size_t i = 0; i < p->size; i++)
        payload[i] = (uint8_t)('a' + i % 26);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, p->topic, NULL);
    uint64_t sent;
    if (p->warmup_seconds > 0) {
        struct produce_params warmup = *p;
        warmup.seconds = p->warmup_seconds;
        warmup.max_bytes = 0;
        produce_loop(rk, rkt, &warmup, payload, &sent);
        rd_kafka_flush(rk, 60000);
        if (counts.failed || counts.delivered != sent) {
            result_fail(&r, "%s: %" PRIu64 " of %" PRIu64 " warm-up records not delivered (%s)",
                        target_name(t->kind), sent - counts.delivered, sent,
                        rd_kafka_err2str(counts.first_error));
            rd_kafka_topic_destroy(rkt);
            rd_kafka_destroy(rk);
            free(payload);
            return r;
        }
        memset(&counts, 0, sizeof counts);
    }

    double cpu0 = target_broker_cpu(t), self0 = process_cpu_self(), machine0 = machine_busy_cpu(), start = now_s();
    uint64_t faults0 = process_faults_self();
    produce_loop(rk, rkt, p, payload, &sent);
    rd_kafka_flush(rk, 60000);
    r.seconds = now_s() - start;
    r.client_faults = process_faults_self() - faults0;
    r.broker_cpu = target_broker_cpu(t) - cpu0;
    r.process_cpu = process_cpu_self() - self0;
    r.machine_cpu = machine_busy_cpu() - machine0;
    r.records = counts.delivered;
    r.bytes = counts.bytes;
    r.ok = true;
    if (counts.failed || counts.delivered != sent)
        result_fail(&r, "%s: %" PRIu64 " of %" PRIu64 " records not delivered (%s)",
                    target_name(t->kind), sent - counts.delivered, sent,
                    rd_kafka_err2str(counts.first_error));
    if (!target_alive(t))
        result_fail(&r, "%s died during the run", target_name(t->kind));

    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    free(payload);
    return r;
}

/* --------------------------------------------------------------- consumer */

static rd_kafka_t *consumer_new(const char *bootstrap, const char *fetch_wait_ms)
{
    char err[256];
    rd_kafka_conf_t *conf = client_conf(bootstrap);
    /* assign() needs a group handle, hence a group.id; nothing is committed. */
    conf_set(conf, "group.id", "broker-perf");
    conf_set(conf, "enable.auto.commit", "false");
    conf_set(conf, "enable.partition.eof", "false");
    if (fetch_wait_ms)
        conf_set(conf, "fetch.wait.max.ms", fetch_wait_ms);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "broker_perf: consumer: %s\n", err);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

static int consumer_assign_all(rd_kafka_t *rk, const char *topic, int partitions, int64_t offset)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(partitions);
    for (int i = 0; i < partitions; i++)
        rd_kafka_topic_partition_list_add(list, topic, i)->offset = offset;
    rd_kafka_resp_err_t err = rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    return err ? -1 : 0;
}

/* The mock keeps only the last 5 MiB of each partition (librdkafka's
 * mpart->max_size), so the consumer test reads a working set that fits:
 * CONSUME_PARTITIONS x CONSUME_RECORDS_PER_PARTITION 1 KiB records (64 MiB),
 * read from offset 0 again and again until opt.consume_mb are read. */
#define CONSUME_PARTITIONS 16
#define CONSUME_RECORDS_PER_PARTITION 4096
#define CONSUME_BLOCK 512 /* records sent to one partition before the next */
#define CONSUME_FETCH_WAIT_MS "10"

/* Write the working set with exactly CONSUME_RECORDS_PER_PARTITION records
 * in each partition (not measured). 0 or -1. */
static int consume_fill(struct target *t, const char *topic)
{
    struct delivery_counts counts;
    memset(&counts, 0, sizeof counts);
    rd_kafka_t *rk = producer_new(t->bootstrap, "1", NULL, on_delivery, &counts);
    if (!rk)
        return -1;
    if (wait_topic_ready(rk, topic, CONSUME_PARTITIONS, 60) < 0) {
        rd_kafka_destroy(rk);
        return -1;
    }
    static uint8_t payload[1024];
    memset(payload, 'c', sizeof payload);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int total = CONSUME_PARTITIONS * CONSUME_RECORDS_PER_PARTITION;
    for (int i = 0; i < total; i++) {
        int32_t partition = (i / CONSUME_BLOCK) % CONSUME_PARTITIONS;
        while (rd_kafka_produce(rkt, partition, 0, payload, sizeof payload, NULL, 0, NULL) < 0)
            rd_kafka_poll(rk, 1);
    }
    rd_kafka_flush(rk, 60000);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return counts.delivered == (uint64_t)total ? 0 : -1;
}

/* Read the working set once from offset 0; the number of records read. */
static uint64_t consume_pass(rd_kafka_t *rk, const char *topic, uint64_t *bytes, double deadline)
{
    uint64_t want = (uint64_t)CONSUME_PARTITIONS * CONSUME_RECORDS_PER_PARTITION, got = 0;
    if (consumer_assign_all(rk, topic, CONSUME_PARTITIONS, 0) < 0)
        return 0;
    /* One message per call: the batch calls wait for a full batch. */
    while (got < want && now_s() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (!m->err) {
            got++;
            *bytes += m->len;
        }
        rd_kafka_message_destroy(m);
    }
    return got;
}

static struct run_result consume_run(struct target *t, const char *topic)
{
    struct run_result r;
    memset(&r, 0, sizeof r);
    if (consume_fill(t, topic) < 0) {
        result_fail(&r, "%s: could not write the consumer's working set", target_name(t->kind));
        return r;
    }
    /* Each pass ends at the end of the data, where a fetch long-polls for
     * fetch.wait.max.ms (500 by default) and the next assign() waits for it:
     * a short wait keeps those stalls out of the throughput figure. */
    rd_kafka_t *rk = consumer_new(t->bootstrap, CONSUME_FETCH_WAIT_MS);
    if (!rk) {
        result_fail(&r, "consumer could not be created");
        return r;
    }
    uint64_t per_pass = (uint64_t)CONSUME_PARTITIONS * CONSUME_RECORDS_PER_PARTITION;
    uint64_t passes = (uint64_t)(opt.consume_mb * MB / 1024.0 / (double)per_pass + 0.5);
    if (passes < 1)
        passes = 1;
    double cpu0 = target_broker_cpu(t), self0 = process_cpu_self(), machine0 = machine_busy_cpu(), start = now_s();
    double deadline = start + 300;
    r.ok = true;
    for (uint64_t pass = 0; pass < passes && r.ok; pass++) {
        uint64_t got = consume_pass(rk, topic, &r.bytes, deadline);
        r.records += got;
        if (got < per_pass)
            result_fail(&r, "%s: pass %" PRIu64 " read %" PRIu64 " of %" PRIu64 " records",
                        target_name(t->kind), pass + 1, got, per_pass);
    }
    r.seconds = now_s() - start;
    r.broker_cpu = target_broker_cpu(t) - cpu0;
    r.process_cpu = process_cpu_self() - self0;
    r.machine_cpu = machine_busy_cpu() - machine0;
    if (!target_alive(t))
        result_fail(&r, "%s died during the run", target_name(t->kind));
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return r;
}

/* ---------------------------------------------------------------- latency */

/* Each latency message starts with its sequence number and the CLOCK_MONOTONIC
 * nanoseconds at which it was handed to the producer; producer and consumer
 * share this process, so the clocks agree. */
struct latency_header {
    uint64_t seq;
    uint64_t sent_ns;
};

/* Eddy answers a waiting fetch as soon as data is appended; the mock only
 * after fetch.wait.max.ms, so a short wait keeps its figures meaningful. */
#define LATENCY_FETCH_WAIT_MS "10"

struct latency_state {
    rd_kafka_t *consumer;
    uint64_t expected;
    double *e2e_ms;       /* by sequence number; < 0 until received */
    double *ack_ms;       /* by sequence number; < 0 until acknowledged */
    uint64_t received;
    struct delivery_counts counts;
    volatile int stop;
};

/* Delivery reports (on the sending thread, from rd_kafka_poll): the
 * produce-to-acknowledgement time, which splits end-to-end latency into the
 * produce path and the fetch path. */
static void on_latency_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct latency_state *s = opaque;
    on_delivery(rk, m, &s->counts);
    struct latency_header h;
    if (m->err || m->len < sizeof h)
        return;
    memcpy(&h, m->payload, sizeof h);
    if (h.seq < s->expected)
        s->ack_ms[h.seq] = (double)(now_ns() - h.sent_ns) / 1e6;
}

static void *latency_consumer_main(void *arg)
{
    struct latency_state *s = arg;
    while (!s->stop && s->received < s->expected) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->consumer, 100);
        if (!m)
            continue;
        uint64_t t = now_ns();
        struct latency_header h;
        if (!m->err && m->len >= sizeof h) {
            memcpy(&h, m->payload, sizeof h);
            if (h.seq < s->expected && s->e2e_ms[h.seq] < 0) {
                s->e2e_ms[h.seq] = (double)(t - h.sent_ns) / 1e6;
                s->received++;
            }
        }
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(const double *sorted, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

struct percentiles {
    size_t count;
    double p50, p99, p999, max;
};

/* Percentiles of samples[from..to) that were filled in (>= 0); sorts in place. */
static struct percentiles summarize(double *samples, uint64_t from, uint64_t to)
{
    size_t n = 0;
    for (uint64_t i = from; i < to; i++)
        if (samples[i] >= 0)
            samples[n++] = samples[i];
    qsort(samples, n, sizeof(double), compare_double);
    struct percentiles p = {n, percentile(samples, n, 0.50), percentile(samples, n, 0.99),
                            percentile(samples, n, 0.999), n ? samples[n - 1] : 0};
    return p;
}

/* Send at opt.latency_rate from an absolute schedule (a late send does not
 * push the later ones back), acks=all, linger.ms=0. */
static void latency_send(rd_kafka_t *rk, rd_kafka_topic_t *rkt, uint64_t count, uint8_t *payload)
{
    uint64_t start = now_ns(), interval = 1000000000u / (uint64_t)opt.latency_rate;
    for (uint64_t seq = 0; seq < count; seq++) {
        uint64_t due = start + seq * interval;
        struct timespec ts = {(time_t)(due / 1000000000u), (long)(due % 1000000000u)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        struct latency_header h = {seq, now_ns()};
        memcpy(payload, &h, sizeof h);
        while (rd_kafka_produce(rkt, 0, RD_KAFKA_MSG_F_COPY, payload, (size_t)opt.latency_size,
                                NULL, 0, NULL) < 0)
            rd_kafka_poll(rk, 1);
        rd_kafka_poll(rk, 0);
    }
}

/* EDDY_BENCH_LATENCY_DUMP=PREFIX writes PREFIX-eddy.txt / PREFIX-mock.txt:
 * one line per message, "seq e2e_ms ack_ms" (-1: never), in send order, so
 * stalls can be lined up with time (message seq is sent at seq / rate s). */
static void latency_dump(const struct latency_state *s, const struct target *t)
{
    const char *prefix = getenv("EDDY_BENCH_LATENCY_DUMP");
    if (!prefix || !*prefix)
        return;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s-%s.txt", prefix, target_name(t->kind));
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "broker_perf: %s: %s\n", path, strerror(errno));
        return;
    }
    for (uint64_t i = 0; i < s->expected; i++)
        fprintf(f, "%" PRIu64 " %.3f %.3f\n", i, s->e2e_ms[i], s->ack_ms[i]);
    fclose(f);
}

static struct run_result latency_run(struct target *t, const char *topic)
{
    struct run_result r;
    memset(&r, 0, sizeof r);
    struct latency_state s;
    memset(&s, 0, sizeof s);
    s.expected = (uint64_t)(opt.latency_seconds * opt.latency_rate);
    s.e2e_ms = malloc(s.expected * sizeof(double));
    s.ack_ms = malloc(s.expected * sizeof(double));
    for (uint64_t i = 0; i < s.expected; i++)
        s.e2e_ms[i] = s.ack_ms[i] = -1;
    const char *acks = getenv("EDDY_BENCH_LATENCY_ACKS");
    rd_kafka_t *producer = producer_new(t->bootstrap, acks && *acks ? acks : "all", "0", on_latency_delivery, &s);
    rd_kafka_t *consumer = consumer_new(t->bootstrap, LATENCY_FETCH_WAIT_MS);
    if (!producer || !consumer || wait_topic_ready(producer, topic, 1, 60) < 0 ||
        consumer_assign_all(consumer, topic, 1, RD_KAFKA_OFFSET_BEGINNING) < 0) {
        result_fail(&r, "%s: latency run set-up failed", target_name(t->kind));
        if (producer)
            rd_kafka_destroy(producer);
        if (consumer)
            rd_kafka_destroy(consumer);
        free(s.e2e_ms);
        free(s.ack_ms);
        return r;
    }
    s.consumer = consumer;
    uint8_t *payload = calloc(1, (size_t)opt.latency_size);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(producer, topic, NULL);
    pthread_t thread;
    pthread_create(&thread, NULL, latency_consumer_main, &s);
    sleep_s(0.3); /* let the consumer reach its first (long-polling) fetch */

    double cpu0 = target_broker_cpu(t), self0 = process_cpu_self(), start = now_s();
    latency_send(producer, rkt, s.expected, payload);
    rd_kafka_flush(producer, 30000);
    double deadline = now_s() + 2;
    while (s.received < s.expected && now_s() < deadline)
        sleep_s(0.01);
    s.stop = 1;
    pthread_join(thread, NULL);
    r.seconds = now_s() - start;
    r.broker_cpu = target_broker_cpu(t) - cpu0;
    r.process_cpu = process_cpu_self() - self0;

    latency_dump(&s, t);
    /* The first 10% (at most 1 s) warm up connections and caches. */
    double warmup_s = opt.latency_seconds * 0.1 < 1 ? opt.latency_seconds * 0.1 : 1;
    uint64_t warmup = (uint64_t)(opt.latency_rate * warmup_s);
    struct percentiles e2e = summarize(s.e2e_ms, warmup, s.expected);
    struct percentiles ack = summarize(s.ack_ms, warmup, s.expected);
    r.ok = e2e.count > 0;
    r.records = s.received;
    r.bytes = s.received * (uint64_t)opt.latency_size;
    r.lost = s.expected - s.received;
    r.p50_ms = e2e.p50;
    r.p99_ms = e2e.p99;
    r.p999_ms = e2e.p999;
    r.max_ms = e2e.max;
    r.ack_p50_ms = ack.p50;
    r.ack_p99_ms = ack.p99;
    if (r.lost)
        snprintf(r.note, sizeof r.note, "%" PRIu64 " messages not received within 2 s of the last send",
                 r.lost);
    if (s.counts.failed)
        result_fail(&r, "%s: %" PRIu64 " messages not delivered (%s)", target_name(t->kind),
                    s.counts.failed, rd_kafka_err2str(s.counts.first_error));
    if (!target_alive(t))
        result_fail(&r, "%s died during the run", target_name(t->kind));

    rd_kafka_topic_destroy(rkt);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    rd_kafka_destroy(producer);
    free(payload);
    free(s.e2e_ms);
    free(s.ack_ms);
    return r;
}

/* -------------------------------------------------------------- raw disk */

/* Buffered sequential write of `bytes` in 1 MiB write()s, no fsync: the
 * rate an acks=1 broker is compared with. MB/s, or -1. */
static double raw_write_mb_per_s(uint64_t bytes)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/raw-write.bin", opt.work_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    size_t chunk = 1 << 20;
    uint8_t *buf = malloc(chunk);
    memset(buf, 'x', chunk);
    double start = now_s();
    uint64_t done = 0;
    while (done < bytes) {
        ssize_t n = write(fd, buf, chunk);
        if (n <= 0)
            break;
        done += (uint64_t)n;
    }
    double seconds = now_s() - start;
    close(fd);
    unlink(path); /* drops the dirty pages: the next run starts clean */
    free(buf);
    return done >= bytes ? (double)done / MB / seconds : -1;
}

/* fdatasync latency after a 4 KiB append, the floor under acks=all latency
 * (DESIGN.md measured p50 0.3 ms, p99 0.7 ms on an idle machine). */
static struct percentiles fsync_probe(int rounds)
{
    struct percentiles none = {0, 0, 0, 0, 0};
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/fsync-probe.bin", opt.work_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return none;
    double *ms = malloc((size_t)rounds * sizeof(double));
    static uint8_t block[4096];
    memset(block, 'f', sizeof block);
    int done = 0;
    for (; done < rounds; done++) {
        if (write(fd, block, sizeof block) != (ssize_t)sizeof block)
            break;
        uint64_t start = now_ns();
        if (fdatasync(fd) < 0)
            break;
        ms[done] = (double)(now_ns() - start) / 1e6;
    }
    close(fd);
    unlink(path);
    struct percentiles p = summarize(ms, 0, (uint64_t)done);
    free(ms);
    return p;
}

static struct percentiles disk_sync;

/* ---------------------------------------------------------------- running */

enum test_kind { TEST_PRODUCE, TEST_CONSUME, TEST_LATENCY };

struct test {
    enum test_kind kind;
    char label[64];
    struct produce_params produce;
    struct run_result eddy, mock;
    bool has_mock;
    bool skipped;
};

#define MAX_TESTS 32
static struct test tests[MAX_TESTS];
static int test_count;

static struct run_result run_on(enum target_kind kind, struct test *test)
{
    static int topic_number;
    char topic[64];
    snprintf(topic, sizeof topic, "bench-%d", ++topic_number);
    int partitions = test->kind == TEST_LATENCY ? 1 : test->produce.partitions;
    struct target t;
    struct run_result r;
    memset(&r, 0, sizeof r);
    if (target_open(&t, kind, topic, partitions) < 0) {
        target_close(&t);
        result_fail(&r, "%s could not be started", target_name(kind));
        return r;
    }
    struct produce_params p = test->produce;
    p.topic = topic;
    if (test->kind == TEST_PRODUCE)
        r = produce_run(&t, &p);
    else if (test->kind == TEST_CONSUME)
        r = consume_run(&t, topic);
    else
        r = latency_run(&t, topic);
    target_close(&t);
    return r;
}

static void progress(const struct test *test, const char *who, const struct run_result *r,
                     double wall_s)
{
    if (test->kind == TEST_LATENCY)
        fprintf(stderr, "  %-30s %s: p50 %.2f ms p99 %.2f ms (%.1f s with set-up)%s\n", test->label,
                who, r->p50_ms, r->p99_ms, wall_s, r->ok ? "" : " (FAILED)");
    else
        fprintf(stderr, "  %-30s %s: %.0f rec/s %.1f MB/s in %.1f s (%.1f s with set-up)%s\n",
                test->label, who, result_records_per_s(r), result_mb_per_s(r), r->seconds, wall_s,
                r->ok ? "" : " (FAILED)");
}

static struct test *add_test(enum test_kind kind, bool has_mock, const char *fmt, ...)
{
    struct test *test = &tests[test_count++];
    memset(test, 0, sizeof *test);
    test->kind = kind;
    test->has_mock = has_mock;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(test->label, sizeof test->label, fmt, ap);
    va_end(ap);
    return test;
}

/* A failed run never beats a good one; otherwise the higher rate wins. */
static bool better(const struct run_result *a, const struct run_result *b)
{
    if (a->ok != b->ok)
        return a->ok;
    return result_records_per_s(a) > result_records_per_s(b);
}

static bool env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

/* EDDY_BENCH_ONLY=TEXT runs only the tests whose label contains TEXT. */
static bool filtered_out(const char *label)
{
    const char *only = getenv("EDDY_BENCH_ONLY");
    return only && *only && !strstr(label, only);
}

static void run_test(struct test *test)
{
    if (filtered_out(test->label)) {
        snprintf(test->eddy.note, sizeof test->eddy.note, "skipped (EDDY_BENCH_ONLY)");
        snprintf(test->mock.note, sizeof test->mock.note, "skipped (EDDY_BENCH_ONLY)");
        test->skipped = true;
        return;
    }
    /* Producer runs are repeated, Eddy and mock alternating, and the best of
     * each kept: on a shared machine the slow runs measure the neighbours. */
    int repeat = test->kind == TEST_PRODUCE && !test->produce.max_bytes ? opt.repeat : 1;
    for (int i = 0; i < repeat; i++) {
        double start = now_s();
        struct run_result r = run_on(TARGET_EDDY, test);
        progress(test, "eddy", &r, now_s() - start);
        if (i == 0 || better(&r, &test->eddy))
            test->eddy = r;
        if (!test->has_mock || env_flag("EDDY_BENCH_NO_MOCK"))
            continue;
        start = now_s();
        r = run_on(TARGET_MOCK, test);
        progress(test, "mock", &r, now_s() - start);
        if (i == 0 || better(&r, &test->mock))
            test->mock = r;
    }
}

static struct test *produce_test_add(size_t size, int partitions, const char *acks, double seconds,
                                     uint64_t max_bytes, bool has_mock)
{
    struct test *test;
    if (max_bytes)
        test = add_test(TEST_PRODUCE, has_mock, "produce %s %dp acks=%s %.0f GiB",
                        size >= 1024 ? "1KiB" : "100B", partitions, acks, (double)max_bytes / (1 << 30));
    else
        test = add_test(TEST_PRODUCE, has_mock, "produce %s %dp acks=%s",
                        size >= 1024 ? "1KiB" : "100B", partitions, acks);
    /* The long run measures everything from the start, against a raw write of the same size. */
    struct produce_params p = {NULL, partitions, size, acks, NULL, seconds, max_bytes,
                               max_bytes ? 0 : opt.warmup_seconds};
    test->produce = p;
    return test;
}

static void produce_test(size_t size, int partitions, const char *acks, double seconds)
{
    run_test(produce_test_add(size, partitions, acks, seconds, 0, true));
}

/* ---------------------------------------------------------------- report */

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

/* Client page faults per MB of payload, or "-" where not measured. */
static const char *faults_per_mb(const struct test *t, const struct run_result *r, char *buf, size_t size)
{
    double mb = (double)r->bytes / MB;
    if (t->kind != TEST_PRODUCE || !r->ok || mb <= 0)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.1f", (double)r->client_faults / mb);
    return buf;
}

static void print_throughput_row(const struct test *t)
{
    char mock_cols[128] = "", eddy_faults[16], mock_faults[16];
    if (t->has_mock)
        snprintf(mock_cols, sizeof mock_cols, "%10.0f %7.1f %6.2f %6.2f %5.2f %6s  x%.2f",
                 result_records_per_s(&t->mock), result_mb_per_s(&t->mock),
                 result_cpu_per_gb(t->mock.broker_cpu, &t->mock),
                 result_cpu_per_gb(t->mock.process_cpu, &t->mock),
                 result_cpu_per_gb(t->mock.machine_cpu, &t->mock),
                 faults_per_mb(t, &t->mock, mock_faults, sizeof mock_faults),
                 ratio(result_records_per_s(&t->eddy), result_records_per_s(&t->mock)));
    printf("%-30s %10.0f %7.1f %6.2f %6.2f %5.2f %6s | %s\n", t->label, result_records_per_s(&t->eddy),
           result_mb_per_s(&t->eddy), result_cpu_per_gb(t->eddy.broker_cpu, &t->eddy),
           result_cpu_per_gb(t->eddy.process_cpu, &t->eddy), result_cpu_per_gb(t->eddy.machine_cpu, &t->eddy),
           faults_per_mb(t, &t->eddy, eddy_faults, sizeof eddy_faults), mock_cols);
    if (!t->eddy.ok)
        printf("    eddy FAILED: %s\n", t->eddy.note);
    if (t->has_mock && !t->mock.ok)
        printf("    mock FAILED: %s\n", t->mock.note);
    if (t->kind == TEST_PRODUCE && t->produce.partitions >= 100)
        printf("    topic with %d partitions ready after: eddy %.1f s (auto-created), mock %.1f s\n",
               t->produce.partitions, t->eddy.topic_ready_s, t->mock.topic_ready_s);
}

static void print_latency_row(const struct test *t)
{
    const struct run_result *e = &t->eddy, *m = &t->mock;
    printf("%-30s eddy %7.2f %7.2f %7.2f %7.2f | mock %7.2f %7.2f %7.2f %7.2f | p50 x%.2f p99 x%.2f\n",
           t->label, e->p50_ms, e->p99_ms, e->p999_ms, e->max_ms, m->p50_ms, m->p99_ms, m->p999_ms,
           m->max_ms, ratio(e->p50_ms, m->p50_ms), ratio(e->p99_ms, m->p99_ms));
    printf("%-30s eddy %7.2f %7.2f %15s | mock %7.2f %7.2f\n", "  of which produce->ack", e->ack_p50_ms,
           e->ack_p99_ms, "", m->ack_p50_ms, m->ack_p99_ms);
    printf("%-30s eddy %7.2f %23s | mock %7.2f\n", "  broker CPU (cores)", ratio(e->broker_cpu, e->seconds), "",
           ratio(m->broker_cpu, m->seconds));
    if (e->note[0])
        printf("    eddy %s: %s\n", e->ok ? "note" : "FAILED", e->note);
    if (m->note[0])
        printf("    mock %s: %s\n", m->ok ? "note" : "FAILED", m->note);
}

static void target_line(bool pass, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("  %s  ", pass ? "PASS" : "MISS");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static const struct test *find_test(const char *label)
{
    for (int i = 0; i < test_count; i++)
        if (strcmp(tests[i].label, label) == 0 && !tests[i].skipped)
            return &tests[i];
    return NULL;
}

static const struct test *find_consume_test(void)
{
    for (int i = 0; i < test_count; i++)
        if (tests[i].kind == TEST_CONSUME && !tests[i].skipped)
            return &tests[i];
    return NULL;
}

static void print_targets(double raw_mb_s)
{
    printf("\nTargets (DESIGN.md \"Performance\"; informational, never a failure)\n");
    const char *sizes[] = {"100B", "1KiB"};
    for (int p = 1; p <= 4; p *= 4) {
        char label[64];
        snprintf(label, sizeof label, "produce 1KiB %dp acks=1", p);
        const struct test *t = find_test(label);
        if (t) {
            double e = result_mb_per_s(&t->eddy), m = result_mb_per_s(&t->mock);
            target_line(t->eddy.ok && e >= m, "%-40s eddy %.1f MB/s >= mock %.1f MB/s (x%.2f)", label, e,
                        m, ratio(e, m));
        }
        snprintf(label, sizeof label, "produce 100B %dp acks=1", p);
        t = find_test(label);
        if (t) {
            double e = result_records_per_s(&t->eddy), m = result_records_per_s(&t->mock);
            double ec = result_cpu_per_gb(t->eddy.broker_cpu, &t->eddy);
            double mc = result_cpu_per_gb(t->mock.broker_cpu, &t->mock);
            target_line(t->eddy.ok && e >= m, "%-40s eddy %.0f rec/s >= mock %.0f rec/s (x%.2f)", label, e,
                        m, ratio(e, m));
            target_line(t->eddy.ok && ec < 0.5 * mc,
                        "%-40s eddy %.2f CPU-s/GB < half the mock's %.2f (x%.2f)", label, ec,
                        mc, ratio(ec, mc));
        }
    }
    for (int s = 0; s < 2; s++)
        for (int p = 1; p <= 4; p *= 4) {
            char one[64], all[64];
            snprintf(one, sizeof one, "produce %s %dp acks=1", sizes[s], p);
            snprintf(all, sizeof all, "produce %s %dp acks=all", sizes[s], p);
            const struct test *a = find_test(one), *b = find_test(all);
            if (!a || !b)
                continue;
            double x = result_mb_per_s(&b->eddy), y = result_mb_per_s(&a->eddy);
            target_line(b->eddy.ok && x >= 0.5 * y, "%-40s eddy acks=all %.1f MB/s >= half of acks=1 %.1f (x%.2f)",
                        all, x, y, ratio(x, y));
        }
    const struct test *c = find_consume_test();
    if (c) {
        double e = result_mb_per_s(&c->eddy), m = result_mb_per_s(&c->mock);
        double cpu = result_cpu_per_gb(c->eddy.broker_cpu, &c->eddy);
        target_line(c->eddy.ok && e >= 1.5 * m, "%-40s eddy %.1f MB/s >= 1.5 x mock %.1f MB/s (x%.2f)",
                    c->label, e, m, ratio(e, m));
        target_line(c->eddy.ok && cpu < 0.2, "%-40s eddy %.3f CPU-s/GB < 0.2", c->label, cpu);
    }
    for (int i = 0; i < test_count; i++) {
        const struct test *t = &tests[i];
        if (t->kind != TEST_LATENCY || t->skipped)
            continue;
        target_line(t->eddy.ok && t->eddy.p50_ms < 1, "%-40s eddy p50 %.2f ms < 1 ms", t->label, t->eddy.p50_ms);
        target_line(t->eddy.ok && t->eddy.p99_ms < 3, "%-40s eddy p99 %.2f ms < 3 ms", t->label, t->eddy.p99_ms);
    }
    char many[64];
    snprintf(many, sizeof many, "produce 1KiB %dp acks=1", opt.many_partitions);
    const struct test *m = find_test(many), *four = find_test("produce 1KiB 4p acks=1");
    if (m && four) {
        double x = result_mb_per_s(&m->eddy), y = result_mb_per_s(&four->eddy);
        target_line(m->eddy.ok && x >= 0.8 * y, "%-40s eddy %.1f MB/s >= 80%% of 4 partitions' %.1f (x%.2f; mock x%.2f)",
                    many, x, y, ratio(x, y), ratio(result_mb_per_s(&m->mock), result_mb_per_s(&four->mock)));
    }
    for (int i = 0; i < test_count; i++) {
        const struct test *t = &tests[i];
        if (t->has_mock || t->kind != TEST_PRODUCE || t->skipped)
            continue;
        double e = result_mb_per_s(&t->eddy);
        target_line(t->eddy.ok && raw_mb_s > 0 && e >= 0.9 * raw_mb_s,
                    "%-40s eddy %.1f MB/s >= 90%% of raw buffered write %.1f MB/s (x%.2f)", t->label, e,
                    raw_mb_s, ratio(e, raw_mb_s));
    }
}

static void print_report(double raw_mb_s)
{
    printf("\nThroughput (producer runs: best of %d). rec/s and MB/s of payload; CPU-s/GB: broker\n"
           "(the eddy or mock process), proc (this bench process: the clients) and mach (every\n"
           "CPU of the machine, kernel work included); flt/MB: the clients' page faults per MB\n"
           "produced (librdkafka faulting its batch buffers in again)\n",
           opt.repeat);
    printf("%-30s %10s %7s %6s %6s %5s %6s | %10s %7s %6s %6s %5s %6s  %s\n", "test", "eddy rec/s", "MB/s",
           "broker", "proc", "mach", "flt/MB", "mock rec/s", "MB/s", "broker", "proc", "mach", "flt/MB",
           "eddy/mock");
    for (int i = 0; i < test_count; i++)
        if (tests[i].kind != TEST_LATENCY && !tests[i].skipped)
            print_throughput_row(&tests[i]);
    if (raw_mb_s > 0)
        printf("%-30s %18.1f  (buffered write() of the same size into the same dir)\n",
               "raw disk write", raw_mb_s);
    printf("\nEnd-to-end latency in ms (producer send -> consumer receive): p50 p99 p99.9 max;\n"
           "then send -> acknowledgement p50 p99. The mock answers an empty fetch only after\n"
           "fetch.wait.max.ms (" LATENCY_FETCH_WAIT_MS " ms here) and one batch per partition per fetch\n");
    for (int i = 0; i < test_count; i++)
        if (tests[i].kind == TEST_LATENCY && !tests[i].skipped)
            print_latency_row(&tests[i]);
    if (disk_sync.count)
        printf("%-30s p50 %.2f ms, p99 %.2f ms, max %.2f ms over %zu (DESIGN.md idle: 0.3, 0.7)\n",
               "disk: 4 KiB append+fdatasync", disk_sync.p50, disk_sync.p99, disk_sync.max, disk_sync.count);
    print_targets(raw_mb_s);
}

static int usage(void)
{
    fprintf(stderr, "usage: broker_perf [--quick] EDDY_BINARY WORK_DIR\n");
    return 2;
}

/*
 * glibc gives freed heap back to the kernel (trim, and mmap for big blocks),
 * and librdkafka frees its produce buffers and message headers in bursts
 * when a batch is acknowledged, so a client (and the mock, a process of this
 * binary) faults the same memory in again and again: 2-80 faults per MB,
 * 12 us each on this VM, landing on either side at random and moving the
 * ratios by +-30% (bench/RESULTS.md, session 17). Keeping the memory, as a
 * JVM keeps its heap, measures the brokers instead. EDDY_BENCH_GLIBC_TRIM=1
 * keeps glibc's defaults, to see the difference.
 */
static void steady_allocator(void)
{
    const char *keep_default = getenv("EDDY_BENCH_GLIBC_TRIM");
    if (keep_default && strcmp(keep_default, "1") == 0)
        return;
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
}

int main(int argc, char **argv)
{
    steady_allocator();
    if (argc == 4 && strcmp(argv[1], "--mock-broker") == 0)
        return mock_broker_main(argv[2], atoi(argv[3]));
    bool quick = false;
    int arg = 1;
    if (arg < argc && strcmp(argv[arg], "--quick") == 0) {
        quick = true;
        arg++;
    }
    if (argc - arg != 2)
        return usage();
    opt.eddy_binary = argv[arg];
    opt.work_dir = argv[arg + 1];
    options_load(quick);
    pin_to_cpus(false);
    signal(SIGPIPE, SIG_IGN);
    mkdir(opt.work_dir, 0755);

    fprintf(stderr, "broker_perf: producer runs of %.1f s after %.1f s of warm-up (best of %d), %.0f MB consumed, "
                    "%.1f s at %d msg/s, %.0f GiB long run\n",
            opt.produce_seconds, opt.warmup_seconds, opt.repeat, opt.consume_mb, opt.latency_seconds,
            opt.latency_rate, opt.long_gib);
    static const size_t sizes[] = {100, 1024};
    static const char *acks[] = {"1", "all"};
    for (int s = 0; s < 2; s++)
        for (int p = 1; p <= 4; p *= 4)
            for (int a = 0; a < 2; a++)
                produce_test(sizes[s], p, acks[a], opt.produce_seconds);
    produce_test(1024, opt.many_partitions, "1", opt.produce_seconds);

    struct test *consume = add_test(TEST_CONSUME, true, "consume 1KiB %dp", CONSUME_PARTITIONS);
    consume->produce.partitions = CONSUME_PARTITIONS;
    run_test(consume);

    struct test *latency = add_test(TEST_LATENCY, true, "e2e %d msg/s %dB acks=all", opt.latency_rate,
                                    opt.latency_size);
    if (!filtered_out(latency->label))
        disk_sync = fsync_probe(500);
    run_test(latency);

    double raw_mb_s = -1;
    if (opt.long_gib > 0) {
        uint64_t bytes = (uint64_t)(opt.long_gib * (double)(1 << 30));
        struct test *test = produce_test_add(1024, 4, "1", 1e9, bytes, false);
        if (!filtered_out(test->label)) {
            raw_mb_s = raw_write_mb_per_s(bytes);
            fprintf(stderr, "  raw disk write %.0f GiB: %.1f MB/s\n", opt.long_gib, raw_mb_s);
        }
        run_test(test);
    }

    print_report(raw_mb_s);
    int failed = 0;
    for (int i = 0; i < test_count; i++)
        if (!tests[i].skipped)
            failed += !tests[i].eddy.ok + (tests[i].has_mock && !tests[i].mock.ok);
    if (failed)
        printf("\n%d run(s) failed; see the notes above\n", failed);
    return failed ? 1 : 0;
}
