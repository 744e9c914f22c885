
/*
 * ngx_isolate_module: isolate lifecycle.
 *
 * An isolate is an mrb_state of its own.  Each worker keeps a pool of
 * blank ones (runtime and API set up, no script), refilled in idle time,
 * so a cold start only loads the script's bytecode and runs its top
 * level.  Script isolates live in an LRU list: isolate_max and
 * isolate_idle_timeout discard from its cold end, never one in use.
 */


#include "ngx_http_isolate.h"

#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/dump.h>
#include <mruby/error.h>
#include <mruby/internal.h>     /* mrb_exc_backtrace() */
#include <mruby/irep.h>
#include <mruby/proc.h>
#include <mruby/string.h>
#include <mruby/variable.h>


#define NGX_HTTP_ISOLATE_BACKTRACE_MAX  16


static ngx_http_isolate_vm_t *ngx_http_isolate_vm_open(ngx_log_t *log);
static void ngx_http_isolate_vm_close(ngx_http_isolate_vm_t *vm);
static ngx_int_t ngx_http_isolate_vm_load_script(ngx_http_isolate_vm_t *vm,
    ngx_http_isolate_script_t *script, ngx_log_t *log);
static mrb_value ngx_http_isolate_vm_load(mrb_state *mrb, void *data);
static mrb_value ngx_http_isolate_vm_describe(mrb_state *mrb, void *data);
static void ngx_http_isolate_vm_evict(ngx_log_t *log);
static void ngx_http_isolate_refill_handler(ngx_event_t *ev);
static void ngx_http_isolate_idle_handler(ngx_event_t *ev);
static ngx_uint_t ngx_http_isolate_usec_since(struct timespec *t0);


ngx_http_isolate_worker_t  ngx_http_isolate_worker;

static ngx_event_t         ngx_http_isolate_refill_ev;
static ngx_event_t         ngx_http_isolate_idle_ev;
static ngx_connection_t    ngx_http_isolate_dummy;


ngx_int_t
ngx_http_isolate_vm_init_worker(ngx_cycle_t *cycle,
    ngx_http_isolate_main_conf_t *imcf)
{
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    ngx_http_isolate_vm_t       *vm;
    ngx_http_isolate_script_t  **sp;

    ngx_http_isolate_worker.imcf = imcf;
    ngx_queue_init(&ngx_http_isolate_worker.pool);
    ngx_queue_init(&ngx_http_isolate_worker.live);

    /* timers want ev->data to be a connection for their log context */

    ngx_http_isolate_dummy.fd = (ngx_socket_t) -1;

    ngx_http_isolate_refill_ev.handler = ngx_http_isolate_refill_handler;
    ngx_http_isolate_refill_ev.data = &ngx_http_isolate_dummy;
    ngx_http_isolate_refill_ev.log = cycle->log;
    ngx_http_isolate_refill_ev.cancelable = 1;

    ngx_http_isolate_idle_ev.handler = ngx_http_isolate_idle_handler;
    ngx_http_isolate_idle_ev.data = &ngx_http_isolate_dummy;
    ngx_http_isolate_idle_ev.log = cycle->log;
    ngx_http_isolate_idle_ev.cancelable = 1;

    if (imcf->pool_size) {
        ngx_post_event(&ngx_http_isolate_refill_ev, &ngx_posted_events);
    }

    if (imcf->idle_timeout) {
        ngx_add_timer(&ngx_http_isolate_idle_ev,
                      ngx_max(imcf->idle_timeout / 2, 100));
    }

    /* isolate_preload: this worker's isolates now, not on first request */

    sp = imcf->scripts.elts;

    for (i = 0; i < imcf->scripts.nelts; i++) {
        if (!sp[i]->preload) {
            continue;
        }

        vm = ngx_http_isolate_vm_acquire(sp[i], cycle->log, &rc);
        if (vm) {
            ngx_http_isolate_vm_release(vm);
        }
    }

    return NGX_OK;
}


void
ngx_http_isolate_vm_exit_worker(void)
{
    ngx_queue_t            *q;
    ngx_http_isolate_vm_t  *vm;

    if (ngx_http_isolate_worker.imcf == NULL) {
        return;
    }

    while (!ngx_queue_empty(&ngx_http_isolate_worker.live)) {
        q = ngx_queue_head(&ngx_http_isolate_worker.live);
        vm = ngx_queue_data(q, ngx_http_isolate_vm_t, queue);
        vm->refs = 0;
        ngx_http_isolate_vm_discard(vm, NULL);
    }

    while (!ngx_queue_empty(&ngx_http_isolate_worker.pool)) {
        q = ngx_queue_head(&ngx_http_isolate_worker.pool);
        ngx_queue_remove(q);
        ngx_http_isolate_vm_close(ngx_queue_data(q, ngx_http_isolate_vm_t,
                                                 queue));
    }

    ngx_http_isolate_worker.npool = 0;

    if (ngx_http_isolate_refill_ev.posted) {
        ngx_delete_posted_event(&ngx_http_isolate_refill_ev);
    }
}


/*
 * The script's isolate for one request: the live one, or a new one made
 * from a blank.  The caller holds a reference until it releases it.  On
 * failure, *status is the status the request should get.
 */

ngx_http_isolate_vm_t *
ngx_http_isolate_vm_acquire(ngx_http_isolate_script_t *script, ngx_log_t *log,
    ngx_int_t *status)
{
    ngx_int_t                      rc;
    ngx_uint_t                     us;
    ngx_queue_t                   *q;
    struct timespec                t0;
    ngx_http_isolate_vm_t         *vm;
    ngx_http_isolate_main_conf_t  *imcf;

    vm = script->vm;

    if (vm) {
        vm->refs++;
        vm->last_used = ngx_current_msec;

        ngx_queue_remove(&vm->queue);
        ngx_queue_insert_tail(&ngx_http_isolate_worker.live, &vm->queue);

        return vm;
    }

    (void) clock_gettime(CLOCK_MONOTONIC, &t0);

    imcf = ngx_http_isolate_worker.imcf;

    if (imcf->max && ngx_http_isolate_worker.nlive >= imcf->max) {
        ngx_http_isolate_vm_evict(log);
    }

    if (!ngx_queue_empty(&ngx_http_isolate_worker.pool)) {
        q = ngx_queue_head(&ngx_http_isolate_worker.pool);
        ngx_queue_remove(q);
        ngx_http_isolate_worker.npool--;
        ngx_http_isolate_worker.pool_hits++;

        vm = ngx_queue_data(q, ngx_http_isolate_vm_t, queue);

        /* refill in idle time, never on the request path */

        if (!ngx_http_isolate_refill_ev.posted) {
            ngx_post_event(&ngx_http_isolate_refill_ev, &ngx_posted_events);
        }

    } else {
        ngx_http_isolate_worker.pool_misses++;

        vm = ngx_http_isolate_vm_open(log);
        if (vm == NULL) {
            *status = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return NULL;
        }
    }

    vm->log = log;

    rc = ngx_http_isolate_vm_load_script(vm, script, log);
    vm->log = ngx_cycle->log;

    if (rc != NGX_OK) {
        ngx_http_isolate_vm_close(vm);
        *status = rc;
        return NULL;
    }

    us = ngx_http_isolate_usec_since(&t0);

    vm->start_us = us;
    vm->created = ngx_time();
    vm->last_used = ngx_current_msec;
    vm->refs = 1;

    script->vm = vm;
    ngx_queue_insert_tail(&ngx_http_isolate_worker.live, &vm->queue);
    ngx_http_isolate_worker.nlive++;
    ngx_http_isolate_worker.created++;

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "isolate: \"%V\": created in %uius, heap %uz bytes",
                  &script->name, us, vm->heap);

    return vm;
}


void
ngx_http_isolate_vm_release(ngx_http_isolate_vm_t *vm)
{
    if (--vm->refs == 0 && vm->discarded) {
        ngx_http_isolate_vm_close(vm);
    }
}


/*
 * Takes the isolate away from its script: the next request gets a fresh
 * one.  It is closed at once if idle, else when its last request ends.
 */

void
ngx_http_isolate_vm_discard(ngx_http_isolate_vm_t *vm, const char *reason)
{
    if (vm->discarded) {
        return;
    }

    vm->discarded = reason ? reason : "worker exit";

    if (vm->script && vm->script->vm == vm) {
        vm->script->vm = NULL;
    }

    ngx_queue_remove(&vm->queue);
    ngx_http_isolate_worker.nlive--;

    if (reason) {
        ngx_http_isolate_worker.discarded++;

        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "isolate: \"%V\": discarded: %s",
                      &vm->script->name, reason);
    }

    if (vm->refs == 0) {
        ngx_http_isolate_vm_close(vm);
    }
}


/* the least recently used idle isolates go, to make room for one more */

static void
ngx_http_isolate_vm_evict(ngx_log_t *log)
{
    ngx_queue_t            *q, *next;
    ngx_http_isolate_vm_t  *vm;

    for (q = ngx_queue_head(&ngx_http_isolate_worker.live);
         q != ngx_queue_sentinel(&ngx_http_isolate_worker.live)
         && ngx_http_isolate_worker.nlive >= ngx_http_isolate_worker.imcf->max;
         q = next)
    {
        next = ngx_queue_next(q);
        vm = ngx_queue_data(q, ngx_http_isolate_vm_t, queue);

        if (vm->refs == 0) {
            ngx_http_isolate_vm_discard(vm, "isolate_max reached");
        }
    }
}


static void
ngx_http_isolate_idle_handler(ngx_event_t *ev)
{
    ngx_msec_t              timeout;
    ngx_queue_t            *q, *next;
    ngx_http_isolate_vm_t  *vm;

    timeout = ngx_http_isolate_worker.imcf->idle_timeout;

    for (q = ngx_queue_head(&ngx_http_isolate_worker.live);
         q != ngx_queue_sentinel(&ngx_http_isolate_worker.live);
         q = next)
    {
        next = ngx_queue_next(q);
        vm = ngx_queue_data(q, ngx_http_isolate_vm_t, queue);

        /* LRU order: the rest were used more recently */

        if ((ngx_msec_int_t) (ngx_current_msec - vm->last_used)
            < (ngx_msec_int_t) timeout)
        {
            break;
        }

        if (vm->refs == 0) {
            ngx_http_isolate_vm_discard(vm, "isolate_idle_timeout");
        }
    }

    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        ngx_add_timer(ev, ngx_max(timeout / 2, 100));
    }
}


/* one blank isolate per run of the posted event, to keep the loop lively */

static void
ngx_http_isolate_refill_handler(ngx_event_t *ev)
{
    ngx_http_isolate_vm_t  *vm;

    if (ngx_exiting || ngx_terminate || ngx_quit
        || ngx_http_isolate_worker.npool
           >= ngx_http_isolate_worker.imcf->pool_size)
    {
        return;
    }

    vm = ngx_http_isolate_vm_open(ev->log);
    if (vm == NULL) {
        return;
    }

    ngx_queue_insert_tail(&ngx_http_isolate_worker.pool, &vm->queue);
    ngx_http_isolate_worker.npool++;

    /* the next turn: posted events run until their queue is empty */

    if (ngx_http_isolate_worker.npool
        < ngx_http_isolate_worker.imcf->pool_size)
    {
        ngx_post_event(ev, &ngx_posted_next_events);
    }
}


/* a blank isolate: runtime, sandbox and API, no script */

static ngx_http_isolate_vm_t *
ngx_http_isolate_vm_open(ngx_log_t *log)
{
    struct RClass          *c;
    mrb_state              *mrb;
    ngx_http_isolate_vm_t  *vm;

    vm = ngx_calloc(sizeof(ngx_http_isolate_vm_t), log);
    if (vm == NULL) {
        return NULL;
    }

    vm->log = log;

    mrb = mrb_open_allocf(ngx_http_isolate_allocf, vm);
    if (mrb == NULL) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "isolate: cannot open an mruby state");
        ngx_free(vm);
        return NULL;
    }

    vm->mrb = mrb;
    mrb->ud = vm;
    vm->call_sym = mrb_intern_lit(mrb, "call");

    ngx_http_isolate_runtime_init(mrb);
    ngx_http_isolate_request_init(vm);

    /* made now: once over the CPU limit nothing more should be needed */

    c = mrb_class_get_under(mrb, mrb_module_get(mrb, "Isolate"),
                            "CPULimitExceeded");
    vm->cpu_exc = mrb_exc_new_lit(mrb, c, "CPU limit exceeded");
    mrb_gc_register(mrb, vm->cpu_exc);

    return vm;
}


static void
ngx_http_isolate_vm_close(ngx_http_isolate_vm_t *vm)
{
    mrb_close(vm->mrb);
    ngx_free(vm);
}


static ngx_int_t
ngx_http_isolate_vm_load_script(ngx_http_isolate_vm_t *vm,
    ngx_http_isolate_script_t *script, ngx_log_t *log)
{
    mrb_value                  exc;
    ngx_int_t                  rc;
    ngx_http_isolate_budget_t  budget;

    vm->script = script;
    vm->memory_limit = script->memory_limit;

    /* the top level has a budget of its own: isolate_start_cpu_limit */

    ngx_http_isolate_budget_init(&budget, vm, script->start_cpu_limit);

    vm->refs = 1;
    rc = ngx_http_isolate_run(&budget, ngx_http_isolate_vm_load, vm, &exc);
    vm->refs = 0;

    if (rc != NGX_OK) {
        return ngx_http_isolate_run_failed(vm, log, "top level", exc);
    }

    /* it rescued what a limit raised: its state may be half made */

    if (vm->cpu_exceeded || vm->memory_exceeded) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "isolate: \"%V\": top level exceeded the %s limit "
                      "and rescued it; the isolate is not kept",
                      &script->name, vm->cpu_exceeded ? "CPU" : "memory");
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    return NGX_OK;
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
 * One [error] line: the script, what happened ("call raised"), the
 * exception's class and message, and the backtrace.  No Ruby method runs here: a script's
 * own message or backtrace method could loop, and this runs unlimited.
 */

void
ngx_http_isolate_vm_log_exception(ngx_http_isolate_vm_t *vm, ngx_log_t *log,
    const char *what, mrb_value exc)
{
    int         ai;
    size_t      len;
    u_char      buf[NGX_MAX_ERROR_STR];
    mrb_value   text;
    mrb_state  *mrb;

    mrb = vm->mrb;
    ai = mrb_gc_arena_save(mrb);

    if (ngx_http_isolate_vm_protect(vm, ngx_http_isolate_vm_describe, &exc,
                                    &text)
        != NGX_OK
        || !mrb_string_p(text))
    {
        text = mrb_str_new_cstr(mrb, mrb_obj_classname(mrb, exc));
    }

    len = ngx_http_isolate_log_escape(buf, sizeof(buf),
                                      (u_char *) RSTRING_PTR(text),
                                      RSTRING_LEN(text));

    ngx_log_error(NGX_LOG_ERR, log, 0, "isolate: \"%V\": %s %*s",
                  &vm->script->name, what, len, buf);

    /*
     * mruby keeps the backtrace of its preallocated exceptions until a
     * GC cycle clears it: the next raise would log this one's frames
     */

    if (mrb_exception_p(exc)
        && (mrb_obj_ptr(exc) == mrb->stack_err
            || mrb_obj_ptr(exc) == mrb->nomem_err))
    {
        mrb_exc_ptr(exc)->backtrace = NULL;
    }

    mrb_gc_arena_restore(mrb, ai);
}


static mrb_value
ngx_http_isolate_vm_describe(mrb_state *mrb, void *data)
{
    mrb_value  exc = *(mrb_value *) data;

    mrb_int           i, n;
    mrb_value         text, bt, line;
    struct RObject   *msg;

    text = mrb_str_new_cstr(mrb, mrb_obj_classname(mrb, exc));

    if (!mrb_exception_p(exc)) {
        return text;
    }

    msg = mrb_exc_ptr(exc)->mesg;

    /*
     * mruby's preallocated exceptions lose their message at every GC
     * cycle: they are logged the same way whenever they are raised
     */

    if (mrb_obj_ptr(exc) == mrb->stack_err) {
        mrb_str_cat_lit(mrb, text, ": stack level too deep");

    } else if (mrb_obj_ptr(exc) == mrb->nomem_err) {
        /* the class says it all */

    } else if (msg && msg->tt == MRB_TT_STRING) {
        mrb_str_cat_lit(mrb, text, ": ");
        mrb_str_cat_str(mrb, text, mrb_obj_value(msg));
    }

    bt = mrb_exc_backtrace(mrb, exc);
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


static ngx_uint_t
ngx_http_isolate_usec_since(struct timespec *t0)
{
    struct timespec  t1;

    (void) clock_gettime(CLOCK_MONOTONIC, &t1);

    return (ngx_uint_t) ((t1.tv_sec - t0->tv_sec) * 1000000
                         + (t1.tv_nsec - t0->tv_nsec) / 1000);
}
