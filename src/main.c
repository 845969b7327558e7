/*
 * main.c - the `eddy` executable.
 *
 *   eddy server [config/server.properties]   run a node (no file: one
 *                                            combined node on localhost:9092)
 *   eddy --version
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "server/broker.h"
#include "util/logger.h"

#define EDDY_VERSION "0.1.0"

static struct broker the_broker;
static volatile sig_atomic_t shutdown_requested;
static volatile sig_atomic_t broker_ready;

static void on_signal(int sig)
{
    (void)sig;
    shutdown_requested = 1;
    if (broker_ready)
        broker_request_shutdown(&the_broker); /* reactor_stop: an eventfd write, signal-safe */
}

static int usage(FILE *out)
{
    fprintf(out, "usage: eddy server [server.properties]\n"
                 "       eddy --version\n");
    return out == stderr ? 1 : 0;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int run_server(const char *config_path)
{
    static struct broker_config cfg;
    config_defaults(&cfg);
    if (config_path && config_load_file(&cfg, config_path) < 0)
        return 1;
    if (config_finish(&cfg) < 0)
        return 1;
    log_info("server", "starting Eddy %s (node %lld, %s)", EDDY_VERSION, (long long)cfg.node_id,
             config_path ? config_path : "built-in defaults");
    /* Big request buffers are reused from the heap rather than mmap'd and
     * faulted in afresh each time (a page fault costs ~12 us here). */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    /* Signals first: a SIGTERM during log recovery must still end in a clean shutdown. */
    install_signals();
    if (broker_start(&the_broker, &cfg) < 0) {
        broker_free(&the_broker);
        return 1;
    }
    broker_ready = 1;
    if (shutdown_requested)
        broker_request_shutdown(&the_broker); /* asked for while starting */
    int rc = broker_run(&the_broker);
    broker_free(&the_broker);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
        printf("eddy %s\n", EDDY_VERSION);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return usage(stdout);
    if (argc < 2 || strcmp(argv[1], "server") != 0 || argc > 3)
        return usage(stderr);
    return run_server(argc == 3 ? argv[2] : NULL);
}
