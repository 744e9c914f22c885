
/*
 * ngx_isolate_module: isolate_status.
 *
 * Describes the worker that serves the request and each of its live
 * isolates, as JSON, or in the Prometheus text format with
 * ?format=prometheus.  Each worker has its own isolates: a scrape sees
 * one worker, named by its pid.
 */


#include "ngx_http_isolate.h"

#include <mruby/gc.h>


#define NGX_HTTP_ISOLATE_STATUS_ISOLATE_LEN  1536


static ngx_int_t ngx_http_isolate_status_handler(ngx_http_request_t *r);
static u_char *ngx_http_isolate_status_json(u_char *p,
    ngx_http_isolate_main_conf_t *imcf);
static u_char *ngx_http_isolate_status_prometheus(u_char *p,
    ngx_http_isolate_main_conf_t *imcf);
static size_t ngx_http_isolate_status_size(void);
static u_char *ngx_http_isolate_prom_label(u_char *p, ngx_str_t *s);


char *
ngx_http_isolate_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_isolate_status_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_isolate_status_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc, prometheus;
    ngx_buf_t                     *b;
    ngx_str_t                      format;
    ngx_chain_t                    out;
    ngx_http_isolate_main_conf_t  *imcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    imcf = ngx_http_get_module_main_conf(r, ngx_http_isolate_module);

    prometheus = ngx_http_arg(r, (u_char *) "format", 6, &format) == NGX_OK
                 && format.len == 10
                 && ngx_strncmp(format.data, "prometheus", 10) == 0;

    b = ngx_create_temp_buf(r->pool, ngx_http_isolate_status_size());
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = prometheus ? ngx_http_isolate_status_prometheus(b->last, imcf)
                         : ngx_http_isolate_status_json(b->last, imcf);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    if (prometheus) {
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4; charset=utf-8");

    } else {
        ngx_str_set(&r->headers_out.content_type, "application/json");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* an upper bound: fixed text per isolate plus its script name, escaped */

static size_t
ngx_http_isolate_status_size(void)
{
    size_t                  size;
    ngx_queue_t            *q;
    ngx_http_isolate_vm_t  *vm;

    size = 4096;

    if (ngx_http_isolate_worker.imcf == NULL) {
        return size;
    }

    for (q = ngx_queue_head(&ngx_http_isolate_worker.live);
         q != ngx_queue_sentinel(&ngx_http_isolate_worker.live);
         q = ngx_queue_next(q))
    {
        vm = ngx_queue_data(q, ngx_http_isolate_vm_t, queue);
        size += NGX_HTTP_ISOLATE_STATUS_ISOLATE_LEN
                + 12 * 2 * vm->script->name.len;
    }

    return size;
}


static u_char *
ngx_http_isolate_status_json(u_char *p, ngx_http_isolate_main_conf_t *imcf)
{
    ngx_uint_t                  first;
    ngx_queue_t                *q;
    ngx_http_isolate_vm_t      *vm;
    ngx_http_isolate_worker_t  *w;

    w = &ngx_http_isolate_worker;

    p = ngx_sprintf(p, "{\"pid\":%P,\"time\":%T,"
                       "\"pool\":{\"size\":%ui,\"ready\":%ui},"
                       "\"max\":%ui,\"idle_timeout_ms\":%M,"
                       "\"totals\":{\"live\":%ui,\"created\":%ui,"
                       "\"discarded\":%ui,\"pool_hits\":%ui,"
                       "\"pool_misses\":%ui,\"requests\":%ui,\"errors\":%ui,"
                       "\"cpu_limit_hits\":%ui,\"memory_limit_hits\":%ui},"
                       "\"isolates\":[",
                    ngx_pid, ngx_time(), imcf->pool_size, w->npool,
                    imcf->max, imcf->idle_timeout,
                    w->nlive, w->created, w->discarded, w->pool_hits,
                    w->pool_misses, w->requests, w->errors, w->cpu_hits,
                    w->memory_hits);

    first = 1;

    for (q = w->imcf ? ngx_queue_head(&w->live) : NULL;
         q && q != ngx_queue_sentinel(&w->live);
         q = ngx_queue_next(q))
    {
        vm = ngx_queue_data(q, ngx_http_isolate_vm_t, queue);

        if (!first) {
            *p++ = ',';
        }

        first = 0;

        p = ngx_cpymem(p, "{\"script\":\"", sizeof("{\"script\":\"") - 1);
        p = (u_char *) ngx_escape_json(p, vm->script->name.data,
                                       vm->script->name.len);

        p = ngx_sprintf(p, "\",\"created_at\":%T,\"cold_start_us\":%ui,"
                           "\"requests\":%ui,\"errors\":%ui,"
                           "\"limit_hits\":{\"cpu\":%ui,\"memory\":%ui},"
                           "\"cpu_time_us\":%uL,\"heap_bytes\":%uz,"
                           "\"heap_peak_bytes\":%uz,\"memory_limit\":%uz,"
                           "\"cpu_limit_ms\":%M,\"gc_runs\":%uz,"
                           "\"in_use\":%ui}",
                        vm->created, vm->start_us, vm->requests, vm->errors,
                        vm->cpu_hits, vm->memory_hits, vm->run_ns / 1000,
                        vm->heap, vm->heap_peak, vm->memory_limit,
                        vm->script->cpu_limit, vm->mrb->gc.cycles, vm->refs);
    }

    return ngx_cpymem(p, "]}\n", 3);
}


static u_char *
ngx_http_isolate_status_prometheus(u_char *p,
    ngx_http_isolate_main_conf_t *imcf)
{
    ngx_queue_t                *q;
    ngx_http_isolate_vm_t      *vm;
    ngx_http_isolate_worker_t  *w;

    w = &ngx_http_isolate_worker;

#define ngx_http_isolate_prom_worker(name, type, help, value)               \
    p = ngx_sprintf(p, "# HELP isolate_worker_" name " " help "\n"          \
                       "# TYPE isolate_worker_" name " " type "\n"          \
                       "isolate_worker_" name "{pid=\"%P\"} %ui\n",         \
                    ngx_pid, (ngx_uint_t) (value))

    ngx_http_isolate_prom_worker("pool_size", "gauge",
                                 "Blank isolates the worker keeps ready.",
                                 imcf->pool_size);
    ngx_http_isolate_prom_worker("pool_ready", "gauge",
                                 "Blank isolates ready now.", w->npool);
    ngx_http_isolate_prom_worker("isolates", "gauge",
                                 "Live script isolates.", w->nlive);
    ngx_http_isolate_prom_worker("created_total", "counter",
                                 "Script isolates created.", w->created);
    ngx_http_isolate_prom_worker("discarded_total", "counter",
                                 "Script isolates discarded.", w->discarded);
    ngx_http_isolate_prom_worker("pool_hits_total", "counter",
                                 "Cold starts served from the pool.",
                                 w->pool_hits);
    ngx_http_isolate_prom_worker("pool_misses_total", "counter",
                                 "Cold starts that found the pool empty.",
                                 w->pool_misses);
    ngx_http_isolate_prom_worker("requests_total", "counter",
                                 "Requests run by scripts.", w->requests);
    ngx_http_isolate_prom_worker("errors_total", "counter",
                                 "Requests that failed in scripts.",
                                 w->errors);

#undef ngx_http_isolate_prom_worker

#define ngx_http_isolate_prom_each(metric, type, help, fmt, value)            \
    p = ngx_sprintf(p, "# HELP isolate_" metric " " help "\n"                 \
                       "# TYPE isolate_" metric " " type "\n");               \
    for (q = w->imcf ? ngx_queue_head(&w->live) : NULL;                     \
         q && q != ngx_queue_sentinel(&w->live);                            \
         q = ngx_queue_next(q))                                             \
    {                                                                       \
        vm = ngx_queue_data(q, ngx_http_isolate_vm_t, queue);               \
        p = ngx_sprintf(p, "isolate_" metric "{pid=\"%P\",script=\"",         \
                        ngx_pid);                                           \
        p = ngx_http_isolate_prom_label(p, &vm->script->name);              \
        p = ngx_sprintf(p, "\"} " fmt "\n", value);                         \
    }

    ngx_http_isolate_prom_each("requests_total", "counter",
                               "Requests the isolate ran.", "%ui",
                               vm->requests);
    ngx_http_isolate_prom_each("errors_total", "counter",
                               "Requests that failed in the isolate.", "%ui",
                               vm->errors);
    ngx_http_isolate_prom_each("cpu_limit_hits_total", "counter",
                               "Runs stopped by the CPU limit.", "%ui",
                               vm->cpu_hits);
    ngx_http_isolate_prom_each("memory_limit_hits_total", "counter",
                               "Allocations refused by the memory limit.",
                               "%ui", vm->memory_hits);
    ngx_http_isolate_prom_each("cpu_seconds_total", "counter",
                               "Time spent running Ruby.", "%.6f",
                               (double) vm->run_ns / 1e9);
    ngx_http_isolate_prom_each("heap_bytes", "gauge",
                               "Heap held by the isolate.", "%uz",
                               vm->heap);
    ngx_http_isolate_prom_each("heap_peak_bytes", "gauge",
                               "Most heap the isolate has held.", "%uz",
                               vm->heap_peak);
    ngx_http_isolate_prom_each("gc_runs_total", "counter",
                               "Garbage collection cycles.", "%uz",
                               vm->mrb->gc.cycles);
    ngx_http_isolate_prom_each("cold_start_seconds", "gauge",
                               "Time the isolate took to start.", "%.6f",
                               (double) vm->start_us / 1e6);
    ngx_http_isolate_prom_each("created_timestamp_seconds", "gauge",
                               "When the isolate was created.", "%T",
                               vm->created);

#undef ngx_http_isolate_prom_each

    return p;
}


/* label values escape backslash, double quote and newline */

static u_char *
ngx_http_isolate_prom_label(u_char *p, ngx_str_t *s)
{
    u_char  *c, *last;

    for (c = s->data, last = s->data + s->len; c < last; c++) {

        switch (*c) {

        case '\\':
        case '"':
            *p++ = '\\';
            *p++ = *c;
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = *c;
        }
    }

    return p;
}
