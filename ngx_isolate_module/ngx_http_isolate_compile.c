
/*
 * ngx_isolate_module: compiling scripts to bytecode.
 *
 * This runs in the master while it reads the configuration.  It parses
 * and generates code only: no user code is executed here.  A syntax
 * error fails "nginx -t", start and reload with the file and line.
 */


#include "ngx_http_isolate.h"

#include <mruby/compile.h>
#include <mruby/dump.h>
#include <mruby/internal.h>    /* mrb_dump_irep() */
#include <mruby/proc.h>
#include <mruby/string.h>


static void ngx_http_isolate_compiler_cleanup(void *data);


char *
ngx_http_isolate_compile(ngx_conf_t *cf, ngx_http_isolate_main_conf_t *imcf,
    ngx_http_isolate_script_t *script, ngx_str_t *source,
    const char *filename, ngx_uint_t inline_code)
{
    int                         ai, rc;
    char                       *rv;
    size_t                      size;
    uint8_t                    *bin;
    mrb_state                  *mrb;
    struct RProc               *proc;
    mrb_ccontext               *cxt;
    ngx_pool_cleanup_t         *cln;
    struct mrb_parser_state    *p;
    struct mrb_parser_message  *m;

    if (imcf->compiler == NULL) {

        /* a bare core state is enough to parse and generate code */

        imcf->compiler = mrb_open_core(mrb_default_allocf, NULL);
        if (imcf->compiler == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "isolate: cannot create the compiler");
            return NGX_CONF_ERROR;
        }

        /* closed in postconfiguration, or here if parsing fails first */

        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            ngx_http_isolate_compiler_close(imcf);
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_http_isolate_compiler_cleanup;
        cln->data = imcf;
    }

    mrb = imcf->compiler;
    ai = mrb_gc_arena_save(mrb);
    rv = NGX_CONF_ERROR;
    bin = NULL;
    p = NULL;

    cxt = mrb_ccontext_new(mrb);
    if (cxt == NULL) {
        goto failed;
    }

    cxt->capture_errors = TRUE;
    cxt->no_exec = TRUE;
    mrb_ccontext_filename(mrb, cxt, filename);

    p = mrb_parse_nstring(mrb, (const char *) source->data, source->len, cxt);
    if (p == NULL) {
        goto failed;
    }

    if (p->nerr) {
        m = &p->error_buffer[0];

        /* nginx adds " in nginx.conf:N", the directive's place */

        if (inline_code) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "isolate: syntax error in isolate_script_code "
                               "line %ui: %s", (ngx_uint_t) m->lineno,
                               m->message ? m->message : "unknown error");

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "isolate: syntax error in \"%V\" line %ui: %s",
                               &script->name, (ngx_uint_t) m->lineno,
                               m->message ? m->message : "unknown error");
        }

        goto done;
    }

    proc = mrb_generate_code(mrb, p);
    if (proc == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "isolate: code generation failed for \"%V\"",
                           &script->name);
        goto done;
    }

    rc = mrb_dump_irep(mrb, proc->body.irep, MRB_DUMP_DEBUG_INFO, &bin, &size);
    if (rc != MRB_DUMP_OK) {
        goto failed;
    }

    script->bytecode = ngx_pnalloc(cf->pool, size);
    if (script->bytecode == NULL) {
        goto done;
    }

    ngx_memcpy(script->bytecode, bin, size);
    script->size = size;

    rv = NGX_CONF_OK;
    goto done;

failed:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "isolate: cannot compile \"%V\"", &script->name);

done:

    if (bin) {
        mrb_free(mrb, bin);
    }

    if (p) {
        mrb_parser_free(p);
    }

    if (cxt) {
        mrb_ccontext_free(mrb, cxt);
    }

    mrb->exc = NULL;
    mrb_gc_arena_restore(mrb, ai);

    return rv;
}


void
ngx_http_isolate_compiler_close(ngx_http_isolate_main_conf_t *imcf)
{
    if (imcf->compiler) {
        mrb_close(imcf->compiler);
        imcf->compiler = NULL;
    }
}


static void
ngx_http_isolate_compiler_cleanup(void *data)
{
    ngx_http_isolate_compiler_close(data);
}
