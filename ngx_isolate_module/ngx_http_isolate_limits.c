
/*
 * ngx_isolate_module: CPU and memory limits.
 *
 * CPU: a timer on the worker thread's own CPU clock ticks every
 * NGX_HTTP_ISOLATE_TICK ms of CPU the thread uses (never while it
 * sleeps in epoll).  The signal handler counts ticks against the budget
 * of the Ruby code running now, if any; past the budget it installs the
 * VM's code fetch hook, which raises on every instruction from then on,
 * so no rescue, ensure or retry can keep the script running.  Nothing
 * is done per request but two assignments: no system call.
 *
 * Memory: every allocation of an isolate goes through its allocator,
 * which counts the heap and refuses to grow it past the limit; mruby
 * then raises NoMemoryError.
 */


#include "ngx_http_isolate.h"

#include <malloc.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>

#include <mruby/error.h>


#define NGX_HTTP_ISOLATE_TICK    5      /* ms of CPU */
#define NGX_HTTP_ISOLATE_SIGNAL  SIGXCPU


static void ngx_http_isolate_tick(int signo);
static void ngx_http_isolate_cpu_hook(mrb_state *mrb,
    const struct mrb_irep *irep, const mrb_code *pc, mrb_value *regs);


/* the budget of the Ruby code running now; NULL between runs */
static ngx_http_isolate_budget_t * volatile  ngx_http_isolate_running;

static timer_t     ngx_http_isolate_timer;
static ngx_uint_t  ngx_http_isolate_timer_created;


ngx_int_t
ngx_http_isolate_limits_init_worker(ngx_cycle_t *cycle)
{
    struct sigaction   sa;
    struct sigevent    sev;
    struct itimerspec  its;

    ngx_memzero(&sa, sizeof(struct sigaction));
    sa.sa_handler = ngx_http_isolate_tick;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);

    if (sigaction(NGX_HTTP_ISOLATE_SIGNAL, &sa, NULL) == -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
                      "isolate: sigaction() failed");
        return NGX_ERROR;
    }

    /* this thread's CPU clock: nginx's thread pools do not count */

    ngx_memzero(&sev, sizeof(struct sigevent));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = NGX_HTTP_ISOLATE_SIGNAL;
    sev._sigev_un._tid = (pid_t) syscall(SYS_gettid);

    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &ngx_http_isolate_timer)
        == -1)
    {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
                      "isolate: timer_create() failed, "
                      "CPU limits are not enforced");
        return NGX_OK;
    }

    ngx_http_isolate_timer_created = 1;

    its.it_value.tv_sec = 0;
    its.it_value.tv_nsec = NGX_HTTP_ISOLATE_TICK * 1000000;
    its.it_interval = its.it_value;

    if (timer_settime(ngx_http_isolate_timer, 0, &its, NULL) == -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
                      "isolate: timer_settime() failed, "
                      "CPU limits are not enforced");
    }

    return NGX_OK;
}


void
ngx_http_isolate_limits_exit_worker(void)
{
    if (ngx_http_isolate_timer_created) {
        (void) timer_delete(ngx_http_isolate_timer);
        ngx_http_isolate_timer_created = 0;
    }
}


static void
ngx_http_isolate_tick(int signo)
{
    ngx_http_isolate_budget_t  *b;

    b = ngx_http_isolate_running;

    if (b == NULL || b->max_ticks == 0) {
        return;
    }

    /*
     * After k ticks the run has used at least k-1 ticks of CPU: at
     * max_ticks + 1 it has certainly used its budget.
     */

    if (++b->ticks > b->max_ticks) {
        b->vm->cpu_exceeded = 1;
        b->vm->mrb->code_fetch_hook = ngx_http_isolate_cpu_hook;
    }
}


static void
ngx_http_isolate_cpu_hook(mrb_state *mrb, const struct mrb_irep *irep,
    const mrb_code *pc, mrb_value *regs)
{
    ngx_http_isolate_vm_t  *vm = mrb->ud;

    /*
     * mruby looks for rescue and ensure handlers from ci->pc, taken as
     * the next instruction: with a stale pc, a handler would be entered
     * again and again.
     */

    mrb->c->ci->pc = pc + 1;

    mrb_exc_raise(mrb, vm->cpu_exc);
}


void
ngx_http_isolate_budget_init(ngx_http_isolate_budget_t *b,
    ngx_http_isolate_vm_t *vm, ngx_msec_t limit)
{
    b->vm = vm;
    b->ticks = 0;
    b->max_ticks = (limit + NGX_HTTP_ISOLATE_TICK - 1) / NGX_HTTP_ISOLATE_TICK;
}


/*
 * Runs Ruby within a CPU budget and the isolate's memory limit.  An
 * isolate that went over a limit is discarded: its state may be half
 * changed, and the next request gets a fresh one.
 */

ngx_int_t
ngx_http_isolate_run(ngx_http_isolate_budget_t *b,
    mrb_protect_error_func *body, void *data, mrb_value *result)
{
    ngx_int_t               rc;
    struct timespec         t0, t1;
    ngx_http_isolate_vm_t  *vm;

    vm = b->vm;

    (void) clock_gettime(CLOCK_MONOTONIC, &t0);

    vm->in_limits = 1;
    ngx_http_isolate_running = b;

    rc = ngx_http_isolate_vm_protect(vm, body, data, result);

    ngx_http_isolate_running = NULL;

    /* no tick may install the hook again once it is cleared */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);

    vm->in_limits = 0;
    vm->mrb->code_fetch_hook = NULL;

    (void) clock_gettime(CLOCK_MONOTONIC, &t1);

    vm->run_ns += (t1.tv_sec - t0.tv_sec) * 1000000000
                  + (t1.tv_nsec - t0.tv_nsec);

    if (vm->cpu_exceeded || vm->memory_exceeded) {
        if (vm->cpu_exceeded) {
            vm->cpu_hits++;
            ngx_http_isolate_worker.cpu_hits++;

        } else {
            vm->memory_hits++;
            ngx_http_isolate_worker.memory_hits++;
        }

        if (vm->script->vm == vm) {
            ngx_http_isolate_vm_discard(vm, vm->cpu_exceeded
                                            ? "CPU limit exceeded"
                                            : "memory limit exceeded");
        }
    }

    return rc;
}


/*
 * Logs why a run failed; returns the status for the request: 503 for a
 * resource limit, 500 for anything else.
 */

ngx_int_t
ngx_http_isolate_run_failed(ngx_http_isolate_vm_t *vm, ngx_log_t *log,
    const char *where, mrb_value exc)
{
    u_char      *p;
    u_char       buf[NGX_INT_T_LEN + 64];
    ngx_int_t    status;
    ngx_msec_t   limit;

    status = NGX_HTTP_SERVICE_UNAVAILABLE;

    if (vm->cpu_exceeded) {
        limit = ngx_strcmp(where, "top level") == 0
                ? vm->script->start_cpu_limit : vm->script->cpu_limit;

        p = ngx_snprintf(buf, sizeof(buf) - 1,
                         "%s exceeded the CPU limit of %M ms,", where, limit);

    } else if (vm->memory_exceeded) {
        p = ngx_snprintf(buf, sizeof(buf) - 1,
                         "%s exceeded the memory limit of %uz bytes,", where,
                         vm->memory_limit);

    } else {
        p = ngx_snprintf(buf, sizeof(buf) - 1, "%s raised", where);
        status = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *p = '\0';

    ngx_http_isolate_vm_log_exception(vm, log, (char *) buf, exc);

    return status;
}


/*
 * Every allocation of an isolate comes here, so its heap is known
 * exactly; while Ruby runs, growth past the memory limit is refused.
 */

void *
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

    if (vm->in_limits && vm->memory_limit && size > old
        && vm->heap - old + size > vm->memory_limit)
    {
        /*
         * mruby collects garbage and asks again: only a second refusal
         * of the same allocation is a hit (then NoMemoryError is raised)
         */

        if (vm->refused == p && vm->refused_size == size) {
            vm->memory_exceeded = 1;
        }

        vm->refused = p;
        vm->refused_size = size;

        return NULL;
    }

    n = realloc(p, size);
    if (n == NULL) {
        return NULL;
    }

    vm->refused_size = 0;

    vm->heap += malloc_usable_size(n) - old;

    if (vm->heap > vm->heap_peak) {
        vm->heap_peak = vm->heap;
    }

    return n;
}
