/*
 * api_versions.c - ApiVersions (key 18): what this broker speaks.
 *
 * The answer is built from the handler table, so advertising and serving
 * cannot drift apart. A version we do not know gets error 35 and a v0 body
 * listing ApiVersions' own range, which every client can parse (KIP-511).
 */
#include <stdlib.h>

#include "protocol/errors.h"
#include "protocol/generated/messages.h"
#include "server/api.h"
#include "server/request.h"
#include "util/logger.h"

static int fill_api_keys(struct request *req, struct api_versions_response *resp, bool only_self)
{
    size_t count;
    const struct api_handler *table = api_handlers(&count);
    resp->api_keys = request_alloc(req, count * sizeof *resp->api_keys);
    if (!resp->api_keys)
        return -1;
    int32_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (only_self && table[i].key != API_API_VERSIONS)
            continue;
        struct api_versions_response_api_version *v = &resp->api_keys[n++];
        api_versions_response_api_version_init(v);
        v->api_key = table[i].key;
        v->min_version = table[i].min_version;
        v->max_version = table[i].max_version;
    }
    resp->api_keys_count = n;
    return 0;
}

void handle_api_versions(struct request *req)
{
    struct api_versions_response resp;
    api_versions_response_init(&resp);
    if (fill_api_keys(req, &resp, false) < 0) {
        request_abort(req, "out of memory");
        return;
    }
    request_respond(req, &resp);
}

int api_versions_respond_unsupported(struct request *req)
{
    log_info("server", "client %s asked for ApiVersions v%d; answering with the supported range",
             req->peer, req->api_version);
    struct api_versions_response resp;
    api_versions_response_init(&resp);
    resp.error_code = KAFKA_UNSUPPORTED_VERSION;
    if (fill_api_keys(req, &resp, true) < 0)
        return -1;
    /* The v0 body is what the client can read whatever it asked for. */
    req->api_version = 0;
    return request_respond(req, &resp);
}
