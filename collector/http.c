/* SPDX-License-Identifier: MIT */
/* http.c: the API, /metrics and /health on libmicrohttpd. */
#include "http.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "log.h"
#include "strbuf.h"

struct http {
    http_cfg_t cfg;
    struct MHD_Daemon *d;
    store_t *db;               /* the reader; HTTP thread only */
    const char **sites;
    size_t nsites;
    const char ***site_rules;  /* per site: its applicable primary rules */
    size_t *nsite_rules;
    uint16_t port;
};

static void s_site_rules(http_t *self)
{
    const rules_t *rs = self->cfg.rules;
    self->nsites = rules_nsites(rs);
    self->sites = calloc(self->nsites + 1, sizeof *self->sites);
    self->site_rules = calloc(self->nsites + 1, sizeof *self->site_rules);
    self->nsite_rules = calloc(self->nsites + 1, sizeof *self->nsite_rules);
    if (!self->sites || !self->site_rules || !self->nsite_rules)
        return;
    for (size_t i = 0; i < self->nsites; i++) {
        self->sites[i] = rules_site_name(rs, i);
        self->site_rules[i] = calloc(rules_nrules(rs) + 1, sizeof **self->site_rules);
        for (size_t r = 0; self->site_rules[i] && r < rules_nrules(rs); r++)
            if (rules_rule(rs, r)->primary == (int)r && rules_applies_to_site(rs, i, r) &&
                    !rules_waived(rs, i, r)) /* waived: not checked, no status */
                self->site_rules[i][self->nsite_rules[i]++] = rules_rule(rs, r)->id;
    }
}

static store_t *s_db(http_t *self)
{
    if (!self->db) {
        char err[256];
        self->db = store_open(self->cfg.db_path, &self->cfg.store, true, err, sizeof err);
        if (!self->db)
            log_warn("http: %s", err);
    }
    return self->db;
}

static enum MHD_Result s_reply(struct MHD_Connection *c, unsigned status, const char *type,
        char *body)
{
    if (!body)
        body = strdup("{\"error\":\"out of memory\"}");
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static char *s_error(const char *msg)
{
    strbuf_t b;
    strbuf_init(&b);
    strbuf_printf(&b, "{\"error\":\"%s\"}", msg);
    return strbuf_take(&b, NULL);
}

static unsigned s_limit(struct MHD_Connection *c, unsigned dflt, unsigned max)
{
    const char *l = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    if (!l)
        return dflt;
    unsigned long v = strtoul(l, NULL, 10);
    return v == 0 ? dflt : v > max ? max : (unsigned)v;
}

static const char *s_arg(struct MHD_Connection *c, const char *k)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);
    return v && *v ? v : NULL;
}

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *c, const char *url,
        const char *method, const char *version, const char *upload, size_t *upload_size,
        void **req)
{
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)req;
    http_t *self = cls;
    const char *json = "application/json";
    if (strcmp(method, "GET") != 0)
        return s_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, json, s_error("GET only"));
    store_t *db = s_db(self);
    if (strcmp(url, "/health") == 0) {
        health_t h;
        health_get(&h);
        json_object *o = json_object_new_object();
        const char *status = !db ? "no_database" : h.failing ? "store_failing" : "ok";
        json_object_object_add(o, "status", json_object_new_string(status));
        json_object_object_add(o, "events", json_object_new_int64(
                db ? (int64_t)store_count_events(db) : 0));
        if (h.failing) { /* nothing is acknowledged until the store takes writes */
            json_object_object_add(o, "reason", json_object_new_string(h.reason));
            json_object_object_add(o, "since_us", json_object_new_int64((int64_t)h.since_us));
        }
        json_object_object_add(o, "store_failures", json_object_new_int64((int64_t)h.failures));
        char *text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return s_reply(c, strcmp(status, "ok") == 0 ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                json, text);
    }
    if (!db)
        return s_reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, json, s_error("database not ready"));
    if (strcmp(url, "/metrics") == 0) {
        strbuf_t b;
        strbuf_init(&b);
        store_metrics(db, &b, self->sites, self->nsites,
                (const char *const *const *)self->site_rules, self->nsite_rules);
        health_t h;
        health_get(&h);
        strbuf_printf(&b, "# HELP pinhole_store_failing 1 while the store refuses writes "
                          "(nothing is acknowledged)\n# TYPE pinhole_store_failing gauge\n"
                          "pinhole_store_failing %d\n", h.failing ? 1 : 0);
        strbuf_printf(&b, "# HELP pinhole_store_write_failures_total transactions the store "
                          "refused (disk full, I/O error, locked)\n# TYPE "
                          "pinhole_store_write_failures_total counter\n"
                          "pinhole_store_write_failures_total %llu\n",
                (unsigned long long)h.failures);
        return s_reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                strbuf_take(&b, NULL));
    }
    if (strcmp(url, "/api/sites") == 0 || strcmp(url, "/api/sites/") == 0)
        return s_reply(c, MHD_HTTP_OK, json, store_json_sites(db, self->sites, self->nsites));
    if (strncmp(url, "/api/sites/", 11) == 0) {
        for (size_t i = 0; i < self->nsites; i++)
            if (strcmp(url + 11, self->sites[i]) == 0)
                return s_reply(c, MHD_HTTP_OK, json, store_json_site(db, self->cfg.rules, i));
        return s_reply(c, MHD_HTTP_NOT_FOUND, json, s_error("no such site in the inventory"));
    }
    if (strcmp(url, "/api/sensors") == 0)
        return s_reply(c, MHD_HTTP_OK, json, store_json_sensors(db));
    if (strcmp(url, "/api/events") == 0)
        return s_reply(c, MHD_HTTP_OK, json,
                store_json_events(db, s_arg(c, "type"), s_arg(c, "site"), s_arg(c, "sensor"),
                        s_limit(c, 100, 100000)));
    if (strcmp(url, "/api/alerts") == 0)
        return s_reply(c, MHD_HTTP_OK, json, store_json_alerts(db, s_limit(c, 100, 10000)));
    return s_reply(c, MHD_HTTP_NOT_FOUND, json, s_error("not found"));
}

http_t *http_new(const http_cfg_t *cfg, char *err, size_t errlen)
{
    http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    s_site_rules(self);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(cfg->port);
    if (inet_pton(AF_INET, cfg->addr, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "--http %s: want an IPv4 address", cfg->addr);
        http_destroy(&self);
        return NULL;
    }
    self->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, cfg->port, NULL,
            NULL, s_handle, self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
            MHD_OPTION_END);
    if (!self->d) {
        snprintf(err, errlen, "--http %s:%u: cannot listen", cfg->addr, cfg->port);
        http_destroy(&self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->d, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : cfg->port;
    return self;
}

uint16_t http_port(const http_t *self)
{
    return self->port;
}

void http_destroy(http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    http_t *self = *self_p;
    if (self->d)
        MHD_stop_daemon(self->d);
    store_close(&self->db);
    for (size_t i = 0; self->site_rules && i < self->nsites; i++)
        free(self->site_rules[i]);
    free(self->site_rules);
    free(self->nsite_rules);
    free(self->sites);
    free(self);
    *self_p = NULL;
}
