
/*
 * ngx_isolate_module: the content handler.
 *
 * Reads the request body, then runs the script's call(req) in the
 * location's isolate and sends what it returned.  Nothing a script does
 * can unwind into nginx: every entry into mruby is protected, and every
 * failure becomes this request's 500 and one error-log line.
 */


#include "ngx_http_isolate.h"


static void ngx_http_isolate_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_isolate_run(ngx_http_request_t *r);
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
    ngx_http_finalize_request(r, ngx_http_isolate_run(r));
}


static ngx_int_t
ngx_http_isolate_run(ngx_http_request_t *r)
{
    int                           ai;
    mrb_state                    *mrb;
    mrb_value                     exc;
    ngx_int_t                     rc;
    ngx_http_isolate_vm_t        *vm;
    ngx_http_isolate_ctx_t       *ctx;
    ngx_http_isolate_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_isolate_module);

    vm = ngx_http_isolate_vm_get(ilcf->script, r->connection->log);
    if (vm == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_isolate_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->vm = vm;
    ctx->req = mrb_nil_value();
    ngx_http_set_ctx(r, ctx, ngx_http_isolate_module);

    mrb = vm->mrb;

    if (!mrb_respond_to(mrb, mrb_top_self(mrb), vm->call_sym)) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "isolate: \"%V\": the script does not define "
                      "call(req)", &vm->script->name);
        vm->errors++;
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    vm->log = r->connection->log;
    vm->requests++;

    /* per-request objects become garbage when the request is done */
    ai = mrb_gc_arena_save(mrb);

    rc = ngx_http_isolate_vm_protect(vm, ngx_http_isolate_call, ctx, &exc);

    if (rc != NGX_OK) {
        ngx_http_isolate_vm_log_exception(vm, r->connection->log, "call",
                                          exc);
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else if (ctx->rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "isolate: \"%V\": call returned an invalid response: %V",
                      &vm->script->name, &ctx->err);
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else if (ctx->rc != NGX_OK) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_isolate_request_detach(mrb, ctx->req);
    ctx->req = mrb_nil_value();

    mrb_gc_arena_restore(mrb, ai);
    vm->log = ngx_cycle->log;

    if (rc != NGX_OK) {
        vm->errors++;
        return rc;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, ctx->out);
}


/* runs protected: call(req), then the triple into nginx's response */

static mrb_value
ngx_http_isolate_call(mrb_state *mrb, void *data)
{
    ngx_http_isolate_ctx_t *ctx = data;

    mrb_value               self, triple;
    ngx_http_isolate_vm_t  *vm;

    vm = ctx->vm;
    self = mrb_top_self(mrb);

    ctx->req = ngx_http_isolate_request_new(mrb, ctx);

    triple = mrb_funcall_argv(mrb, self, vm->call_sym, 1, &ctx->req);

    ctx->rc = ngx_http_isolate_response_set(ctx->request, mrb, triple,
                                            &ctx->out, &ctx->err);

    return mrb_nil_value();
}
