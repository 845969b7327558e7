/*
 * init_producer_id.c - InitProducerId (key 22) for idempotent producers, and
 * the allocation of producer ids.
 *
 * Ids are handed out from blocks of 1000 reserved durably in
 * `<first log dir>/eddy-producer-ids` (the next unreserved id, written and
 * fsynced before any id of the block is used), so an id is never given out
 * twice, even across kill -9. Without a transactional id every call gets a
 * fresh id at epoch 0, as Kafka does. Transactions are not implemented yet:
 * a transactional id is refused, and the transaction APIs are not advertised.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/errors.h"
#include "protocol/generated/messages.h"
#include "server/api.h"
#include "server/broker.h"
#include "server/request.h"
#include "util/logger.h"

#define PRODUCER_ID_BLOCK 1000

static int64_t next_id = -1, block_end = -1;

static void state_path(const struct broker *b, char *out, size_t len)
{
    const char *dirs = b->config->log_dirs;
    size_t first = strcspn(dirs, ",");
    snprintf(out, len, "%.*s/eddy-producer-ids", (int)first, dirs);
}

/* Reserve the next block on disk. 0 or -errno. */
static int reserve_block(const struct broker *b)
{
    char path[4096], tmp[4200];
    state_path(b, path, sizeof path);
    int64_t start = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%" SCNd64, &start) != 1 || start < 0)
            start = 0;
        fclose(f);
    }
    if (start < next_id)
        start = next_id;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    char text[32];
    int n = snprintf(text, sizeof text, "%" PRId64 "\n", start + PRODUCER_ID_BLOCK);
    int rc = write(fd, text, (size_t)n) == n && fsync(fd) == 0 ? 0 : -EIO;
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        return rc;
    next_id = start;
    block_end = start + PRODUCER_ID_BLOCK;
    return 0;
}

static int64_t allocate_producer_id(const struct broker *b)
{
    if (next_id < 0 || next_id >= block_end) {
        int rc = reserve_block(b);
        if (rc < 0) {
            log_error("produce", "cannot reserve producer ids: %s", strerror(-rc));
            return -1;
        }
    }
    return next_id++;
}

void handle_init_producer_id(struct request *req)
{
    const struct init_producer_id_request *m = req->body;
    struct init_producer_id_response resp;
    init_producer_id_response_init(&resp);
    if (!kstr_is_null(m->transactional_id)) {
        log_warn("produce", "client %s asked for a transactional producer; transactions are not supported yet",
                 req->peer);
        resp.error_code = KAFKA_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
        request_respond(req, &resp);
        return;
    }
    int64_t id = allocate_producer_id(req->broker);
    if (id < 0) {
        resp.error_code = KAFKA_KAFKA_STORAGE_ERROR;
    } else {
        resp.producer_id = id;
        resp.producer_epoch = 0;
    }
    request_respond(req, &resp);
}
