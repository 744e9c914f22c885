
/*
 * ngx_isolate_module: shared declarations.
 */


#ifndef _NGX_HTTP_ISOLATE_H_INCLUDED_
#define _NGX_HTTP_ISOLATE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <mruby.h>
#include <mruby/error.h>


typedef struct ngx_http_isolate_script_s  ngx_http_isolate_script_t;
typedef struct ngx_http_isolate_vm_s      ngx_http_isolate_vm_t;
typedef struct ngx_http_isolate_ctx_s     ngx_http_isolate_ctx_t;


/*
 * A script, compiled to bytecode by the master at configuration time.
 * The structure lives in the configuration pool, so after fork each
 * worker has its own copy: "vm" is that worker's isolate.
 */
struct ngx_http_isolate_script_s {
    ngx_str_t                   name;       /* file path, or conf:line */
    u_char                     *bytecode;
    size_t                      size;
    ngx_http_isolate_vm_t      *vm;

    /* the limits of the location that runs it */
    size_t                      memory_limit;
    ngx_msec_t                  cpu_limit;
    ngx_msec_t                  start_cpu_limit;
    ngx_flag_t                  preload;
};


/* One isolate: an mrb_state of its own, in one worker. */
struct ngx_http_isolate_vm_s {
    mrb_state                  *mrb;
    ngx_http_isolate_script_t  *script;     /* NULL while blank, in the pool */
    ngx_queue_t                 queue;      /* in the pool, or the LRU list */

    /* where Isolate.log and p/puts write: the current request's log */
    ngx_log_t                  *log;

    struct RClass              *request_class;
    struct RClass              *headers_class;
    struct RClass              *vars_class;
    mrb_sym                     call_sym;

    /* Request's hidden instance variables, interned once per isolate */
    mrb_sym                     request_sym;
    mrb_sym                     params_sym;
    mrb_sym                     body_sym;
    mrb_sym                     headers_sym;
    mrb_sym                     vars_sym;
    mrb_value                   cpu_exc;    /* raised once over the limit */

    /* heap accounting by the isolate's allocator */
    size_t                      heap;
    size_t                      heap_peak;
    size_t                      memory_limit;   /* 0: none */
    void                       *refused;    /* the last allocation refused */
    size_t                      refused_size;

    ngx_uint_t                  refs;       /* requests using it */
    const char                 *discarded;  /* why, once it is */
    volatile sig_atomic_t       cpu_exceeded;   /* set by a signal */
    unsigned                    memory_exceeded:1;
    unsigned                    in_limits:1;    /* allocations limited */

    /* for the status page */
    time_t                      created;
    ngx_msec_t                  last_used;
    ngx_uint_t                  start_us;
    ngx_uint_t                  requests;
    ngx_uint_t                  errors;
    ngx_uint_t                  cpu_hits;
    ngx_uint_t                  memory_hits;
    uint64_t                    run_ns;     /* time spent running Ruby */
};


/* A CPU budget: the signal handler counts CPU-clock ticks against it. */
typedef struct {
    ngx_http_isolate_vm_t      *vm;
    ngx_uint_t                  ticks;
    ngx_uint_t                  max_ticks;  /* 0: no limit */
} ngx_http_isolate_budget_t;


/* Per-request state; Ruby objects reach it through the Request object. */
struct ngx_http_isolate_ctx_s {
    ngx_http_request_t         *request;
    ngx_http_isolate_vm_t      *vm;
    mrb_value                   req;        /* Isolate::Request, or nil */
    ngx_http_isolate_budget_t   budget;     /* CPU for all of the request */

    ngx_int_t                   rc;         /* of turning the response */
    ngx_str_t                   err;        /* why it was invalid */
    ngx_chain_t                *out;        /* the body to send */
};


typedef struct {
    ngx_http_isolate_script_t  *script;
    size_t                      memory_limit;
    ngx_msec_t                  cpu_limit;
    ngx_msec_t                  start_cpu_limit;
    ngx_flag_t                  preload;
} ngx_http_isolate_loc_conf_t;


typedef struct {
    ngx_array_t                 scripts;    /* ngx_http_isolate_script_t * */
    mrb_state                  *compiler;   /* configuration time only */
    ngx_uint_t                  pool_size;
    ngx_uint_t                  max;        /* 0: no limit */
    ngx_msec_t                  idle_timeout;   /* 0: off */
} ngx_http_isolate_main_conf_t;


/* This worker's isolates; what the status page reports. */
typedef struct {
    ngx_http_isolate_main_conf_t  *imcf;
    ngx_queue_t                 pool;       /* blank isolates */
    ngx_uint_t                  npool;
    ngx_queue_t                 live;       /* script isolates, LRU first */
    ngx_uint_t                  nlive;

    ngx_uint_t                  created;
    ngx_uint_t                  discarded;
    ngx_uint_t                  pool_hits;
    ngx_uint_t                  pool_misses;
    ngx_uint_t                  requests;
    ngx_uint_t                  errors;
    ngx_uint_t                  cpu_hits;
    ngx_uint_t                  memory_hits;
} ngx_http_isolate_worker_t;


extern ngx_http_isolate_worker_t  ngx_http_isolate_worker;


/* compile: configuration time, in the master */
char *ngx_http_isolate_compile(ngx_conf_t *cf,
    ngx_http_isolate_main_conf_t *imcf, ngx_http_isolate_script_t *script,
    ngx_str_t *source, const char *filename, ngx_uint_t inline_code);
void ngx_http_isolate_compiler_close(ngx_http_isolate_main_conf_t *imcf);

/* vm: isolate lifecycle, in workers */
ngx_int_t ngx_http_isolate_vm_init_worker(ngx_cycle_t *cycle,
    ngx_http_isolate_main_conf_t *imcf);
void ngx_http_isolate_vm_exit_worker(void);
ngx_http_isolate_vm_t *ngx_http_isolate_vm_acquire(
    ngx_http_isolate_script_t *s, ngx_log_t *log, ngx_int_t *status);
void ngx_http_isolate_vm_release(ngx_http_isolate_vm_t *vm);
void ngx_http_isolate_vm_discard(ngx_http_isolate_vm_t *vm,
    const char *reason);
ngx_int_t ngx_http_isolate_vm_protect(ngx_http_isolate_vm_t *vm,
    mrb_protect_error_func *body, void *data, mrb_value *result);
void ngx_http_isolate_vm_log_exception(ngx_http_isolate_vm_t *vm,
    ngx_log_t *log, const char *what, mrb_value exc);

/* limits: CPU time and memory */
ngx_int_t ngx_http_isolate_limits_init_worker(ngx_cycle_t *cycle);
void ngx_http_isolate_limits_exit_worker(void);
void ngx_http_isolate_budget_init(ngx_http_isolate_budget_t *b,
    ngx_http_isolate_vm_t *vm, ngx_msec_t limit);
ngx_int_t ngx_http_isolate_run(ngx_http_isolate_budget_t *b,
    mrb_protect_error_func *body, void *data, mrb_value *result);
ngx_int_t ngx_http_isolate_run_failed(ngx_http_isolate_vm_t *vm,
    ngx_log_t *log, const char *where, mrb_value exc);
void *ngx_http_isolate_allocf(mrb_state *mrb, void *p, size_t size,
    void *ud);

/* status: isolate_status */
char *ngx_http_isolate_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* runtime: the Isolate module, output, sandbox */
void ngx_http_isolate_runtime_init(mrb_state *mrb);
size_t ngx_http_isolate_log_escape(u_char *dst, size_t size, u_char *src,
    size_t len);

/* request: Isolate::Request */
void ngx_http_isolate_request_init(ngx_http_isolate_vm_t *vm);
mrb_value ngx_http_isolate_request_new(mrb_state *mrb,
    ngx_http_isolate_ctx_t *ctx);
void ngx_http_isolate_request_detach(mrb_state *mrb, mrb_value req);

/* response: [status, headers, body] into nginx's response */
ngx_int_t ngx_http_isolate_response_set(ngx_http_request_t *r,
    mrb_state *mrb, mrb_value triple, size_t max, ngx_chain_t **out,
    ngx_str_t *err);

/* handler: the content phase */
ngx_int_t ngx_http_isolate_content_handler(ngx_http_request_t *r);


extern ngx_module_t  ngx_http_isolate_module;


#endif /* _NGX_HTTP_ISOLATE_H_INCLUDED_ */
