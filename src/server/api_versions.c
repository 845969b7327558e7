/*
 * api_versions.c - ApiVersions (key 18): what this broker speaks.
 *
 * The answer is built from the handler table, so advertising and serving
 * cannot drift apart. A version we do not know gets error 35 and a v0 body
 * listing ApiVersions' own range, which every client can parse (KIP-511).
 * From v3 the client names its software; a name or version outside Kafka's
 * pattern gets INVALID_REQUEST and no list, as Kafka answers.
 */
#include <stdlib.h>

#include "protocol/errors.h"
#include "protocol/generated/messages.h"
#include "server/api.h"
#include "server/request.h"
#include "util/logger.h"

/* Kafka's rule for ClientSoftwareName/Version (v3+): [a-zA-Z0-9](?:[a-zA-Z0-9-.]*[a-zA-Z0-9])? */
static bool software_field_valid(struct kstr s)
{
    if (s.len <= 0)
        return false;
    for (int32_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        bool inner = i > 0 && i < s.len - 1 && (c == '-' || c == '.');
        if (!alnum && !inner)
            return false;
    }
    return true;
}

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
    const struct api_versions_request *m = req->body;
    struct api_versions_response resp;
    api_versions_response_init(&resp);
    if (req->api_version >= 3 &&
        (!software_field_valid(m->client_software_name) || !software_field_valid(m->client_software_version))) {
        log_info("server", "client %s sent ApiVersions with an invalid software name or version; "
                 "answering INVALID_REQUEST", req->peer);
        resp.error_code = KAFKA_INVALID_REQUEST;
        request_respond(req, &resp);
        return;
    }
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
