
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
};


/* One isolate: an mrb_state of its own, in one worker. */
struct ngx_http_isolate_vm_s {
    mrb_state                  *mrb;
    ngx_http_isolate_script_t  *script;

    /* where Isolate.log and p/puts write: the current request's log */
    ngx_log_t                  *log;

    struct RClass              *request_class;
    struct RClass              *headers_class;
    struct RClass              *vars_class;
    mrb_sym                     call_sym;

    /* heap accounting by the isolate's allocator */
    size_t                      heap;
    size_t                      heap_peak;

    ngx_uint_t                  requests;
    ngx_uint_t                  errors;
};


/* Per-request state; Ruby objects reach it through the Request object. */
struct ngx_http_isolate_ctx_s {
    ngx_http_request_t         *request;
    ngx_http_isolate_vm_t      *vm;
    mrb_value                   req;        /* Isolate::Request, or nil */

    ngx_int_t                   rc;         /* of turning the response */
    ngx_str_t                   err;        /* why it was invalid */
    ngx_chain_t                *out;        /* the body to send */
};


typedef struct {
    ngx_http_isolate_script_t  *script;
} ngx_http_isolate_loc_conf_t;


typedef struct {
    ngx_array_t                 scripts;    /* ngx_http_isolate_script_t * */
    mrb_state                  *compiler;   /* configuration time only */
} ngx_http_isolate_main_conf_t;


/* compile: configuration time, in the master */
char *ngx_http_isolate_compile(ngx_conf_t *cf,
    ngx_http_isolate_main_conf_t *imcf, ngx_http_isolate_script_t *script,
    ngx_str_t *source, const char *filename, ngx_uint_t inline_code);
void ngx_http_isolate_compiler_close(ngx_http_isolate_main_conf_t *imcf);

/* vm: isolate lifecycle, in workers */
ngx_http_isolate_vm_t *ngx_http_isolate_vm_get(ngx_http_isolate_script_t *s,
    ngx_log_t *log);
void ngx_http_isolate_vm_destroy(ngx_http_isolate_vm_t *vm);
ngx_int_t ngx_http_isolate_vm_protect(ngx_http_isolate_vm_t *vm,
    mrb_protect_error_func *body, void *data, mrb_value *result);
void ngx_http_isolate_vm_log_exception(ngx_http_isolate_vm_t *vm,
    ngx_log_t *log, const char *where, mrb_value exc);

/* runtime: the Isolate module, output, sandbox */
void ngx_http_isolate_runtime_init(mrb_state *mrb);

/* request: Isolate::Request */
void ngx_http_isolate_request_init(ngx_http_isolate_vm_t *vm);
mrb_value ngx_http_isolate_request_new(mrb_state *mrb,
    ngx_http_isolate_ctx_t *ctx);
void ngx_http_isolate_request_detach(mrb_state *mrb, mrb_value req);

/* response: [status, headers, body] into nginx's response */
ngx_int_t ngx_http_isolate_response_set(ngx_http_request_t *r,
    mrb_state *mrb, mrb_value triple, ngx_chain_t **out, ngx_str_t *err);

/* handler: the content phase */
ngx_int_t ngx_http_isolate_content_handler(ngx_http_request_t *r);


extern ngx_module_t  ngx_http_isolate_module;


#endif /* _NGX_HTTP_ISOLATE_H_INCLUDED_ */
