
/*
 * ngx_isolate_module: the content handler.
 *
 * Reads the request body, then runs the script's call(req) in the
 * location's isolate, within the request's CPU budget, and sends what
 * it returned.  Nothing a script does can unwind into nginx: every entry
 * into mruby is protected, and every failure becomes this request's 500
 * (503 for a resource limit) and one error-log line.
 */


#include "ngx_http_isolate.h"


static void ngx_http_isolate_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_isolate_handle(ngx_http_request_t *r);
static void ngx_http_isolate_cleanup(void *data);
static mrb_value ngx_http_isolate_call(mrb_state *mrb, void *data);


ngx_int_t
ngx_http_isolate_content_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    /* req.body is the whole body, so it is read before call runs */

    rc = ngx_http_read_client_request_body(r, ngx_http_isolate_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_isolate_body_handler(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_isolate_handle(r));
}


static ngx_int_t
ngx_http_isolate_handle(ngx_http_request_t *r)
{
    int                           ai;
    mrb_state                    *mrb;
    mrb_value                     exc;
    ngx_int_t                     rc;
    ngx_pool_cleanup_t           *cln;
    ngx_http_isolate_vm_t        *vm;
    ngx_http_isolate_ctx_t       *ctx;
    ngx_http_isolate_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_isolate_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_isolate_ctx_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (ctx == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_isolate_worker.requests++;

    vm = ngx_http_isolate_vm_acquire(ilcf->script, r->connection->log, &rc);
    if (vm == NULL) {
        ngx_http_isolate_worker.errors++;
        return rc;
    }

    /* the isolate stays ours until the request is freed */

    cln->handler = ngx_http_isolate_cleanup;
    cln->data = ctx;

    ctx->request = r;
    ctx->vm = vm;
    ctx->req = mrb_nil_value();
    ngx_http_isolate_budget_init(&ctx->budget, vm, ilcf->script->cpu_limit);
    ngx_http_set_ctx(r, ctx, ngx_http_isolate_module);

    mrb = vm->mrb;
    vm->requests++;

    if (!mrb_respond_to(mrb, mrb_top_self(mrb), vm->call_sym)) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "isolate: \"%V\": the script does not define "
                      "call(req)", &vm->script->name);
        vm->errors++;
        ngx_http_isolate_worker.errors++;
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    vm->log = r->connection->log;

    /* per-request objects become garbage when the request is done */
    ai = mrb_gc_arena_save(mrb);

    rc = ngx_http_isolate_run(&ctx->budget, ngx_http_isolate_call, ctx, &exc);

    if (rc != NGX_OK) {
        rc = ngx_http_isolate_run_failed(vm, r->connection->log, "call", exc);

    } else if (ctx->rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "isolate: \"%V\": call returned an invalid response: %V",
                      &vm->script->name, &ctx->err);
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else if (ctx->rc == NGX_BUSY) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "isolate: \"%V\": call returned a response too large: %V",
                      &vm->script->name, &ctx->err);
        rc = NGX_HTTP_SERVICE_UNAVAILABLE;

    } else if (ctx->rc != NGX_OK) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_isolate_request_detach(mrb, ctx->req);
    ctx->req = mrb_nil_value();

    mrb_gc_arena_restore(mrb, ai);
    vm->log = ngx_cycle->log;

    if (rc != NGX_OK) {
        vm->errors++;
        ngx_http_isolate_worker.errors++;
        return rc;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, ctx->out);
}


static void
ngx_http_isolate_cleanup(void *data)
{
    ngx_http_isolate_ctx_t *ctx = data;

    ngx_http_isolate_vm_release(ctx->vm);
}


/* runs protected: call(req), then the triple into nginx's response */

static mrb_value
ngx_http_isolate_call(mrb_state *mrb, void *data)
{
    ngx_http_isolate_ctx_t *ctx = data;

    mrb_value  triple;

    ctx->req = ngx_http_isolate_request_new(mrb, ctx);

    triple = mrb_funcall_argv(mrb, mrb_top_self(mrb), ctx->vm->call_sym, 1,
                              &ctx->req);

    ctx->rc = ngx_http_isolate_response_set(ctx->request, mrb, triple,
                                            ctx->vm->memory_limit,
                                            &ctx->out, &ctx->err);

    return mrb_nil_value();
}
