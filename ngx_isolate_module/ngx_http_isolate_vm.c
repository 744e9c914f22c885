
/*
 * ngx_isolate_module: isolate lifecycle.
 *
 * An isolate is an mrb_state of its own, opened in a worker on the first
 * request that needs it, from the bytecode the master compiled.  Its top
 * level runs once; what it defines persists for that worker's requests.
 */


#include "ngx_http_isolate.h"

#include <malloc.h>

#include <mruby/array.h>
#include <mruby/dump.h>
#include <mruby/irep.h>
#include <mruby/proc.h>
#include <mruby/string.h>


#define NGX_HTTP_ISOLATE_BACKTRACE_MAX  16


static void *ngx_http_isolate_allocf(mrb_state *mrb, void *p, size_t size,
    void *ud);
static mrb_value ngx_http_isolate_vm_load(mrb_state *mrb, void *data);
static mrb_value ngx_http_isolate_vm_describe(mrb_state *mrb, void *data);


ngx_http_isolate_vm_t *
ngx_http_isolate_vm_get(ngx_http_isolate_script_t *script, ngx_log_t *log)
{
    mrb_state              *mrb;
    mrb_value               exc;
    struct timespec         t0, t1;
    ngx_http_isolate_vm_t  *vm;

    if (script->vm) {
        return script->vm;
    }

    (void) clock_gettime(CLOCK_MONOTONIC, &t0);

    vm = ngx_calloc(sizeof(ngx_http_isolate_vm_t), log);
    if (vm == NULL) {
        return NULL;
    }

    vm->script = script;
    vm->log = log;

    mrb = mrb_open_allocf(ngx_http_isolate_allocf, vm);
    if (mrb == NULL) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "isolate: \"%V\": cannot open an mruby state",
                      &script->name);
        ngx_free(vm);
        return NULL;
    }

    vm->mrb = mrb;
    mrb->ud = vm;
    vm->call_sym = mrb_intern_lit(mrb, "call");

    ngx_http_isolate_runtime_init(mrb);
    ngx_http_isolate_request_init(vm);

    if (ngx_http_isolate_vm_protect(vm, ngx_http_isolate_vm_load, vm, &exc)
        != NGX_OK)
    {
        ngx_http_isolate_vm_log_exception(vm, log, "top level", exc);
        ngx_http_isolate_vm_destroy(vm);
        return NULL;
    }

    script->vm = vm;

    (void) clock_gettime(CLOCK_MONOTONIC, &t1);

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "isolate: \"%V\": created in %Tus, heap %uz bytes",
                  &script->name,
                  (time_t) ((t1.tv_sec - t0.tv_sec) * 1000000
                            + (t1.tv_nsec - t0.tv_nsec) / 1000),
                  vm->heap);

    return vm;
}


void
ngx_http_isolate_vm_destroy(ngx_http_isolate_vm_t *vm)
{
    if (vm->script && vm->script->vm == vm) {
        vm->script->vm = NULL;
    }

    mrb_close(vm->mrb);
    ngx_free(vm);
}


/*
 * Runs body(mrb, data) so that no exception can escape into nginx.
 * On an exception returns NGX_ERROR with the exception in *result.
 */

ngx_int_t
ngx_http_isolate_vm_protect(ngx_http_isolate_vm_t *vm,
    mrb_protect_error_func *body, void *data, mrb_value *result)
{
    mrb_bool    error;
    mrb_state  *mrb;
    mrb_value   v;

    mrb = vm->mrb;

    v = mrb_protect_error(mrb, body, data, &error);

    /* the VM may also return with the exception left in mrb->exc */

    if (!error && mrb->exc) {
        v = mrb_obj_value(mrb->exc);
        error = TRUE;
    }

    mrb->exc = NULL;
    *result = v;

    return error ? NGX_ERROR : NGX_OK;
}


/*
 * One [error] line: the script, where it failed, the exception's class
 * and message, and the backtrace.
 */

void
ngx_http_isolate_vm_log_exception(ngx_http_isolate_vm_t *vm, ngx_log_t *log,
    const char *where, mrb_value exc)
{
    int         ai;
    mrb_value   text;
    mrb_state  *mrb;

    mrb = vm->mrb;
    ai = mrb_gc_arena_save(mrb);

    /* message and backtrace are Ruby methods: they may raise too */

    if (ngx_http_isolate_vm_protect(vm, ngx_http_isolate_vm_describe, &exc,
                                    &text)
        != NGX_OK
        || !mrb_string_p(text))
    {
        text = mrb_str_new_cstr(mrb, mrb_obj_classname(mrb, exc));
    }

    ngx_log_error(NGX_LOG_ERR, log, 0, "isolate: \"%V\": %s raised %*s",
                  &vm->script->name, where, (size_t) RSTRING_LEN(text),
                  RSTRING_PTR(text));

    mrb_gc_arena_restore(mrb, ai);
}


static mrb_value
ngx_http_isolate_vm_describe(mrb_state *mrb, void *data)
{
    mrb_value  exc = *(mrb_value *) data;

    mrb_int    i, n;
    mrb_value  text, msg, bt, line;

    text = mrb_str_new_cstr(mrb, mrb_obj_classname(mrb, exc));

    msg = mrb_funcall(mrb, exc, "message", 0);
    if (mrb_string_p(msg)) {
        mrb_str_cat_lit(mrb, text, ": ");
        mrb_str_cat_str(mrb, text, msg);
    }

    bt = mrb_funcall(mrb, exc, "backtrace", 0);
    if (!mrb_array_p(bt) || RARRAY_LEN(bt) == 0) {
        return text;
    }

    mrb_str_cat_lit(mrb, text, "; backtrace: ");
    n = ngx_min(RARRAY_LEN(bt), NGX_HTTP_ISOLATE_BACKTRACE_MAX);

    for (i = 0; i < n; i++) {
        line = RARRAY_PTR(bt)[i];

        if (i) {
            mrb_str_cat_lit(mrb, text, ", ");
        }

        if (mrb_string_p(line)) {
            mrb_str_cat_str(mrb, text, line);
        }
    }

    if (RARRAY_LEN(bt) > n) {
        mrb_str_cat_lit(mrb, text, ", ...");
    }

    return text;
}


/* loads the bytecode and runs the top level, once per isolate */

static mrb_value
ngx_http_isolate_vm_load(mrb_state *mrb, void *data)
{
    ngx_http_isolate_vm_t *vm = data;

    mrb_irep      *irep;
    struct RProc  *proc;

    irep = mrb_read_irep_buf(mrb, vm->script->bytecode, vm->script->size);
    if (irep == NULL) {
        mrb_raise(mrb, E_SCRIPT_ERROR, "cannot load the script's bytecode");
    }

    proc = mrb_proc_new(mrb, irep);
    mrb_irep_decref(mrb, irep);
    proc->c = NULL;

    return mrb_top_run(mrb, proc, mrb_top_self(mrb), 0);
}


/*
 * Every allocation of an isolate comes here, so its heap is known
 * exactly: the memory limit and the status page build on this count.
 */

static void *
ngx_http_isolate_allocf(mrb_state *mrb, void *p, size_t size, void *ud)
{
    ngx_http_isolate_vm_t *vm = ud;

    void    *n;
    size_t   old;

    old = p ? malloc_usable_size(p) : 0;

    if (size == 0) {
        free(p);
        vm->heap -= old;
        return NULL;
    }

    n = realloc(p, size);
    if (n == NULL) {
        return NULL;
    }

    vm->heap += malloc_usable_size(n) - old;

    if (vm->heap > vm->heap_peak) {
        vm->heap_peak = vm->heap;
    }

    return n;
}
