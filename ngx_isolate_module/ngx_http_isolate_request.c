
/*
 * ngx_isolate_module: Isolate::Request, what call(req) receives.
 *
 * A Request wraps the request's context.  It is detached when the
 * request is over, so a script that keeps one (in a global, say) gets
 * an exception instead of a dangling pointer.  Values are built when
 * asked for: a script pays only for what it reads.
 */


#include "ngx_http_isolate.h"

#include <mruby/array.h>
#include <mruby/class.h>
#include <mruby/data.h>
#include <mruby/hash.h>
#include <mruby/string.h>
#include <mruby/variable.h>


#define NGX_HTTP_ISOLATE_READ_CHUNK  (256 * 1024)


static ngx_http_request_t *ngx_http_isolate_req(mrb_state *mrb,
    mrb_value self);
static ngx_http_request_t *ngx_http_isolate_owner(mrb_state *mrb,
    mrb_value self);
static mrb_value ngx_http_isolate_helper_new(mrb_state *mrb,
    mrb_value self, struct RClass *c, mrb_sym cache);
static mrb_value ngx_http_isolate_str(mrb_state *mrb, ngx_str_t *s);

static mrb_value ngx_http_isolate_req_method(mrb_state *mrb, mrb_value self);
static mrb_value ngx_http_isolate_req_path(mrb_state *mrb, mrb_value self);
static mrb_value ngx_http_isolate_req_uri(mrb_state *mrb, mrb_value self);
static mrb_value ngx_http_isolate_req_query(mrb_state *mrb, mrb_value self);
static mrb_value ngx_http_isolate_req_params(mrb_state *mrb, mrb_value self);
static mrb_value ngx_http_isolate_req_headers(mrb_state *mrb,
    mrb_value self);
static mrb_value ngx_http_isolate_req_body(mrb_state *mrb, mrb_value self);
static mrb_value ngx_http_isolate_req_remote_addr(mrb_state *mrb,
    mrb_value self);
static mrb_value ngx_http_isolate_req_host(mrb_state *mrb, mrb_value self);
static mrb_value ngx_http_isolate_req_scheme(mrb_state *mrb, mrb_value self);
static mrb_value ngx_http_isolate_req_http_version(mrb_state *mrb,
    mrb_value self);
static mrb_value ngx_http_isolate_req_var(mrb_state *mrb, mrb_value self);

static mrb_value ngx_http_isolate_headers_get(mrb_state *mrb,
    mrb_value self);
static mrb_value ngx_http_isolate_headers_key_p(mrb_state *mrb,
    mrb_value self);
static mrb_value ngx_http_isolate_headers_each(mrb_state *mrb,
    mrb_value self);
static mrb_value ngx_http_isolate_headers_to_h(mrb_state *mrb,
    mrb_value self);
static mrb_value ngx_http_isolate_headers_find(mrb_state *mrb,
    ngx_http_request_t *r, const char *name, size_t len);
static void ngx_http_isolate_headers_join(mrb_state *mrb, mrb_value v,
    ngx_table_elt_t *h);

static mrb_value ngx_http_isolate_vars_get(mrb_state *mrb, mrb_value self);
static mrb_value ngx_http_isolate_vars_set(mrb_state *mrb, mrb_value self);


/* no dfree: the context belongs to the request's pool */
static const mrb_data_type  ngx_http_isolate_request_type = {
    "Isolate::Request", NULL
};


void
ngx_http_isolate_request_init(ngx_http_isolate_vm_t *vm)
{
    mrb_state      *mrb;
    struct RClass  *isolate, *c;

    mrb = vm->mrb;
    isolate = mrb_module_get(mrb, "Isolate");

    /* no "@": Ruby code cannot spell these instance variables */
    vm->request_sym = mrb_intern_lit(mrb, "request");
    vm->params_sym = mrb_intern_lit(mrb, "params");
    vm->body_sym = mrb_intern_lit(mrb, "body");
    vm->headers_sym = mrb_intern_lit(mrb, "headers");
    vm->vars_sym = mrb_intern_lit(mrb, "vars");

    c = mrb_define_class_under(mrb, isolate, "Request", mrb->object_class);
    MRB_SET_INSTANCE_TT(c, MRB_TT_DATA);
    mrb_undef_class_method(mrb, c, "new");
    vm->request_class = c;

    mrb_define_method(mrb, c, "method", ngx_http_isolate_req_method,
                      MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "path", ngx_http_isolate_req_path,
                      MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "uri", ngx_http_isolate_req_uri,
                      MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "query", ngx_http_isolate_req_query,
                      MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "params", ngx_http_isolate_req_params,
                      MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "headers", ngx_http_isolate_req_headers,
                      MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "body", ngx_http_isolate_req_body,
                      MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "remote_addr", ngx_http_isolate_req_remote_addr,
                      MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "host", ngx_http_isolate_req_host,
                      MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "scheme", ngx_http_isolate_req_scheme,
                      MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "http_version",
                      ngx_http_isolate_req_http_version, MRB_ARGS_NONE());
    mrb_define_method(mrb, c, "var", ngx_http_isolate_req_var,
                      MRB_ARGS_NONE());

    c = mrb_define_class_under(mrb, isolate, "Headers", mrb->object_class);
    mrb_include_module(mrb, c, mrb_module_get(mrb, "Enumerable"));
    mrb_undef_class_method(mrb, c, "new");
    vm->headers_class = c;

    mrb_define_method(mrb, c, "[]", ngx_http_isolate_headers_get,
                      MRB_ARGS_REQ(1));
    mrb_define_method(mrb, c, "key?", ngx_http_isolate_headers_key_p,
                      MRB_ARGS_REQ(1));
    mrb_define_method(mrb, c, "each", ngx_http_isolate_headers_each,
                      MRB_ARGS_BLOCK());
    mrb_define_method(mrb, c, "to_h", ngx_http_isolate_headers_to_h,
                      MRB_ARGS_NONE());

    c = mrb_define_class_under(mrb, isolate, "Vars", mrb->object_class);
    mrb_undef_class_method(mrb, c, "new");
    vm->vars_class = c;

    mrb_define_method(mrb, c, "[]", ngx_http_isolate_vars_get,
                      MRB_ARGS_REQ(1));
    mrb_define_method(mrb, c, "[]=", ngx_http_isolate_vars_set,
                      MRB_ARGS_REQ(2));
}


mrb_value
ngx_http_isolate_request_new(mrb_state *mrb, ngx_http_isolate_ctx_t *ctx)
{
    ngx_http_isolate_vm_t  *vm;

    vm = mrb->ud;

    return mrb_obj_value(mrb_data_object_alloc(mrb, vm->request_class, ctx,
                                           &ngx_http_isolate_request_type));
}


void
ngx_http_isolate_request_detach(mrb_state *mrb, mrb_value req)
{
    if (mrb_data_p(req)) {
        DATA_PTR(req) = NULL;
    }
}


static ngx_http_request_t *
ngx_http_isolate_req(mrb_state *mrb, mrb_value self)
{
    ngx_http_isolate_ctx_t  *ctx;

    ctx = mrb_data_get_ptr(mrb, self, &ngx_http_isolate_request_type);

    if (ctx == NULL) {
        mrb_raise(mrb, E_RUNTIME_ERROR,
                  "Isolate::Request used after its request ended");
    }

    return ctx->request;
}


/*
 * Headers and Vars keep their Request in an instance variable whose
 * name Ruby code cannot spell ("request" has no "@").
 */

static ngx_http_request_t *
ngx_http_isolate_owner(mrb_state *mrb, mrb_value self)
{
    ngx_http_isolate_vm_t  *vm = mrb->ud;

    return ngx_http_isolate_req(mrb, mrb_iv_get(mrb, self, vm->request_sym));
}


static mrb_value
ngx_http_isolate_helper_new(mrb_state *mrb, mrb_value self, struct RClass *c,
    mrb_sym cache)
{
    mrb_value               obj;
    ngx_http_isolate_vm_t  *vm = mrb->ud;

    (void) ngx_http_isolate_req(mrb, self);

    obj = mrb_iv_get(mrb, self, cache);

    if (mrb_nil_p(obj)) {
        obj = mrb_obj_new(mrb, c, 0, NULL);
        mrb_iv_set(mrb, obj, vm->request_sym, self);
        mrb_iv_set(mrb, self, cache, obj);
    }

    return obj;
}


static mrb_value
ngx_http_isolate_str(mrb_state *mrb, ngx_str_t *s)
{
    return mrb_str_new(mrb, (const char *) s->data, s->len);
}


static mrb_value
ngx_http_isolate_req_method(mrb_state *mrb, mrb_value self)
{
    return ngx_http_isolate_str(mrb, &ngx_http_isolate_req(mrb, self)
                                          ->method_name);
}


static mrb_value
ngx_http_isolate_req_path(mrb_state *mrb, mrb_value self)
{
    return ngx_http_isolate_str(mrb, &ngx_http_isolate_req(mrb, self)->uri);
}


static mrb_value
ngx_http_isolate_req_uri(mrb_state *mrb, mrb_value self)
{
    return ngx_http_isolate_str(mrb, &ngx_http_isolate_req(mrb, self)
                                          ->unparsed_uri);
}


static mrb_value
ngx_http_isolate_req_query(mrb_state *mrb, mrb_value self)
{
    return ngx_http_isolate_str(mrb, &ngx_http_isolate_req(mrb, self)->args);
}


/* decodes a query component: "+" is a space, %XX a byte */

static mrb_value
ngx_http_isolate_unescape(mrb_state *mrb, u_char *p, u_char *last)
{
    u_char     *d, *start;
    mrb_value   s;
    ngx_int_t   hi, lo;

    s = mrb_str_new(mrb, NULL, last - p);
    start = (u_char *) RSTRING_PTR(s);
    d = start;

    while (p < last) {

        if (*p == '+') {
            *d++ = ' ';
            p++;
            continue;
        }

        if (*p == '%' && last - p >= 3) {
            hi = ngx_hextoi(p + 1, 1);
            lo = ngx_hextoi(p + 2, 1);

            if (hi != NGX_ERROR && lo != NGX_ERROR) {
                *d++ = (u_char) (hi * 16 + lo);
                p += 3;
                continue;
            }
        }

        *d++ = *p++;
    }

    mrb_str_resize(mrb, s, d - start);

    return s;
}


/* req.params: decoded query arguments; a repeated key keeps its last */

static mrb_value
ngx_http_isolate_req_params(mrb_state *mrb, mrb_value self)
{
    u_char              *p, *last, *amp, *eq;
    mrb_sym              cache;
    mrb_value            h, k, v;
    ngx_http_request_t  *r;

    r = ngx_http_isolate_req(mrb, self);

    cache = ((ngx_http_isolate_vm_t *) mrb->ud)->params_sym;
    h = mrb_iv_get(mrb, self, cache);
    if (!mrb_nil_p(h)) {
        return h;
    }

    h = mrb_hash_new(mrb);

    /* no query string is a NULL args.data: NULL + 0 is undefined */

    p = r->args.data;
    last = r->args.len ? p + r->args.len : p;

    while (p < last) {
        amp = ngx_strlchr(p, last, '&');
        if (amp == NULL) {
            amp = last;
        }

        if (amp > p) {
            eq = ngx_strlchr(p, amp, '=');

            k = ngx_http_isolate_unescape(mrb, p, eq ? eq : amp);
            v = eq ? ngx_http_isolate_unescape(mrb, eq + 1, amp)
                   : mrb_str_new_lit(mrb, "");

            mrb_hash_set(mrb, h, k, v);
        }

        if (amp == last) {
            break;
        }

        p = amp + 1;
    }

    mrb_iv_set(mrb, self, cache, h);

    return h;
}


static mrb_value
ngx_http_isolate_req_headers(mrb_state *mrb, mrb_value self)
{
    ngx_http_isolate_vm_t  *vm = mrb->ud;

    return ngx_http_isolate_helper_new(mrb, self, vm->headers_class,
                                       vm->headers_sym);
}


static mrb_value
ngx_http_isolate_req_var(mrb_state *mrb, mrb_value self)
{
    ngx_http_isolate_vm_t  *vm = mrb->ud;

    return ngx_http_isolate_helper_new(mrb, self, vm->vars_class,
                                       vm->vars_sym);
}


/*
 * req.body: the whole body, read before call ran; a body nginx
 * buffered to a temporary file is read from that file.
 */

static mrb_value
ngx_http_isolate_req_body(mrb_state *mrb, mrb_value self)
{
    u_char              *p;
    off_t                len, pos;
    size_t               size;
    ssize_t              n;
    mrb_sym              cache;
    mrb_value            body;
    ngx_buf_t           *b;
    ngx_chain_t         *cl;
    ngx_http_request_t  *r;

    r = ngx_http_isolate_req(mrb, self);

    cache = ((ngx_http_isolate_vm_t *) mrb->ud)->body_sym;
    body = mrb_iv_get(mrb, self, cache);
    if (!mrb_nil_p(body)) {
        return body;
    }

    len = 0;

    if (r->request_body) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            len += ngx_buf_size(cl->buf);
        }
    }

    if (len > MRB_INT_MAX) {
        mrb_raise(mrb, E_RUNTIME_ERROR, "request body too large");
    }

    body = mrb_str_new(mrb, NULL, (size_t) len);
    p = (u_char *) RSTRING_PTR(body);

    for (cl = len ? r->request_body->bufs : NULL; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {

            /* a chunked body ends with an empty buffer whose pos is NULL */

            if (b->last != b->pos) {
                p = ngx_cpymem(p, b->pos, b->last - b->pos);
            }

            continue;
        }

        /*
         * In pieces: a read restarted by the CPU limit's timer signal
         * starts over, and a huge one might never end between two ticks
         */

        for (pos = b->file_pos; pos < b->file_last; pos += n) {
            size = (size_t) ngx_min(b->file_last - pos,
                                    NGX_HTTP_ISOLATE_READ_CHUNK);

            n = ngx_read_file(b->file, p, size, pos);

            if (n != (ssize_t) size) {
                mrb_raise(mrb, E_RUNTIME_ERROR,
                          "cannot read the request body's temporary file");
            }

            p += n;
        }
    }

    mrb_iv_set(mrb, self, cache, body);

    return body;
}


static mrb_value
ngx_http_isolate_req_remote_addr(mrb_state *mrb, mrb_value self)
{
    return ngx_http_isolate_str(mrb, &ngx_http_isolate_req(mrb, self)
                                          ->connection->addr_text);
}


static mrb_value
ngx_http_isolate_req_host(mrb_state *mrb, mrb_value self)
{
    ngx_http_request_t        *r;
    ngx_http_core_srv_conf_t  *cscf;

    r = ngx_http_isolate_req(mrb, self);

    /* as $host: the Host header without its port, or the server name */

    if (r->headers_in.server.len) {
        return ngx_http_isolate_str(mrb, &r->headers_in.server);
    }

    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);

    return ngx_http_isolate_str(mrb, &cscf->server_name);
}


static mrb_value
ngx_http_isolate_req_scheme(mrb_state *mrb, mrb_value self)
{
    ngx_http_request_t  *r;

    r = ngx_http_isolate_req(mrb, self);

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        return mrb_str_new_lit(mrb, "https");
    }
#endif

    return mrb_str_new_lit(mrb, "http");
}


static mrb_value
ngx_http_isolate_req_http_version(mrb_state *mrb, mrb_value self)
{
    ngx_http_request_t  *r;

    r = ngx_http_isolate_req(mrb, self);

    switch (r->http_version) {

    case NGX_HTTP_VERSION_9:
        return mrb_str_new_lit(mrb, "HTTP/0.9");

    case NGX_HTTP_VERSION_10:
        return mrb_str_new_lit(mrb, "HTTP/1.0");

    case NGX_HTTP_VERSION_20:
        return mrb_str_new_lit(mrb, "HTTP/2.0");

    default:
        return mrb_str_new_lit(mrb, "HTTP/1.1");
    }
}


/* headers["Name"]: case-insensitive; repeated headers joined */

static mrb_value
ngx_http_isolate_headers_get(mrb_state *mrb, mrb_value self)
{
    char                *name;
    mrb_int              len;
    ngx_http_request_t  *r;

    r = ngx_http_isolate_owner(mrb, self);

    mrb_get_args(mrb, "s", &name, &len);

    return ngx_http_isolate_headers_find(mrb, r, name, len);
}


static mrb_value
ngx_http_isolate_headers_key_p(mrb_state *mrb, mrb_value self)
{
    char                *name;
    mrb_int              len;
    ngx_http_request_t  *r;

    r = ngx_http_isolate_owner(mrb, self);

    mrb_get_args(mrb, "s", &name, &len);

    return mrb_bool_value(!mrb_nil_p(ngx_http_isolate_headers_find(mrb, r,
                                                                   name,
                                                                   len)));
}


static mrb_value
ngx_http_isolate_headers_find(mrb_state *mrb, ngx_http_request_t *r,
    const char *name, size_t len)
{
    mrb_value         v;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    v = mrb_nil_value();
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != len
            || ngx_strncasecmp(h[i].key.data, (u_char *) name, len) != 0)
        {
            continue;
        }

        if (mrb_nil_p(v)) {
            v = ngx_http_isolate_str(mrb, &h[i].value);

        } else {
            ngx_http_isolate_headers_join(mrb, v, &h[i]);
        }
    }

    return v;
}


/* RFC 9110: a repeated field is its values joined; cookies by ";" */

static void
ngx_http_isolate_headers_join(mrb_state *mrb, mrb_value v, ngx_table_elt_t *h)
{
    if (h->key.len == 6
        && ngx_strncasecmp(h->key.data, (u_char *) "cookie", 6) == 0)
    {
        mrb_str_cat_lit(mrb, v, "; ");

    } else {
        mrb_str_cat_lit(mrb, v, ", ");
    }

    mrb_str_cat(mrb, v, (const char *) h->value.data, h->value.len);
}


/* headers.each { |name, value| }: every header line, names lowercased */

static mrb_value
ngx_http_isolate_headers_each(mrb_state *mrb, mrb_value self)
{
    mrb_value            block, pair[2];
    ngx_uint_t           i;
    ngx_list_part_t     *part;
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r;

    r = ngx_http_isolate_owner(mrb, self);

    mrb_get_args(mrb, "&", &block);

    if (mrb_nil_p(block)) {
        return mrb_funcall(mrb, self, "to_enum", 1,
                           mrb_symbol_value(mrb_intern_lit(mrb, "each")));
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        pair[0] = mrb_str_new(mrb, (const char *) h[i].lowcase_key,
                              h[i].key.len);
        pair[1] = ngx_http_isolate_str(mrb, &h[i].value);

        mrb_yield_argv(mrb, block, 2, pair);
    }

    return self;
}


/* one pass: a repeated header is joined onto the value already there */

static mrb_value
ngx_http_isolate_headers_to_h(mrb_state *mrb, mrb_value self)
{
    int                  ai;
    mrb_value            h, name, v;
    ngx_uint_t           i;
    ngx_list_part_t     *part;
    ngx_table_elt_t     *hd;
    ngx_http_request_t  *r;

    r = ngx_http_isolate_owner(mrb, self);

    h = mrb_hash_new(mrb);
    part = &r->headers_in.headers.part;
    hd = part->elts;
    ai = mrb_gc_arena_save(mrb);

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            hd = part->elts;
            i = 0;
        }

        name = mrb_str_new(mrb, (const char *) hd[i].lowcase_key,
                           hd[i].key.len);
        v = mrb_hash_get(mrb, h, name);

        if (mrb_nil_p(v)) {
            mrb_hash_set(mrb, h, name, ngx_http_isolate_str(mrb, &hd[i].value));

        } else {
            ngx_http_isolate_headers_join(mrb, v, &hd[i]);
        }

        /* the Hash holds what was made: the arena need not */
        mrb_gc_arena_restore(mrb, ai);
    }

    return h;
}


/* var["name"]: an nginx variable's value, nil when it has none */

static mrb_value
ngx_http_isolate_vars_get(mrb_state *mrb, mrb_value self)
{
    char                       *name;
    mrb_int                     len;
    ngx_str_t                   key;
    ngx_uint_t                  hash;
    ngx_http_request_t         *r;
    ngx_http_variable_value_t  *vv;

    r = ngx_http_isolate_owner(mrb, self);

    mrb_get_args(mrb, "s", &name, &len);

    key.len = len;
    key.data = ngx_pnalloc(r->pool, len);
    if (key.data == NULL) {
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    }

    hash = ngx_hash_strlow(key.data, (u_char *) name, len);

    vv = ngx_http_get_variable(r, &key, hash);

    if (vv == NULL || vv->not_found) {
        return mrb_nil_value();
    }

    return mrb_str_new(mrb, (const char *) vv->data, vv->len);
}


/*
 * var["name"] = "value": only variables nginx lets change, such as
 * those made with "set $name ...;".
 */

static mrb_value
ngx_http_isolate_vars_set(mrb_state *mrb, mrb_value self)
{
    char                       *name, *value;
    mrb_int                     len, vlen;
    ngx_uint_t                  hash;
    ngx_http_request_t         *r;
    ngx_http_variable_t        *v;
    ngx_http_variable_value_t  *vv;
    ngx_http_core_main_conf_t  *cmcf;
    u_char                     *low;

    r = ngx_http_isolate_owner(mrb, self);

    mrb_get_args(mrb, "ss", &name, &len, &value, &vlen);

    low = ngx_pnalloc(r->pool, len + 1);
    vv = ngx_pcalloc(r->pool, sizeof(ngx_http_variable_value_t));
    if (low == NULL || vv == NULL) {
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    }

    hash = ngx_hash_strlow(low, (u_char *) name, len);

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);
    v = ngx_hash_find(&cmcf->variables_hash, hash, low, len);

    if (v == NULL) {
        mrb_raisef(mrb, E_KEY_ERROR,
                   "unknown nginx variable \"%l\" (define it with set $%l)",
                   name, (size_t) len, name, (size_t) len);
    }

    if (!(v->flags & NGX_HTTP_VAR_CHANGEABLE)
        || (v->set_handler == NULL && !(v->flags & NGX_HTTP_VAR_INDEXED)))
    {
        mrb_raisef(mrb, E_ARGUMENT_ERROR,
                   "nginx variable \"%l\" cannot be changed",
                   name, (size_t) len);
    }

    vv->data = ngx_pnalloc(r->pool, vlen ? vlen : 1);
    if (vv->data == NULL) {
        mrb_raise(mrb, E_RUNTIME_ERROR, "out of memory");
    }

    ngx_memcpy(vv->data, value, vlen);
    vv->len = vlen;
    vv->valid = 1;

    if (v->set_handler) {
        v->set_handler(r, vv, v->data);

    } else {
        r->variables[v->index] = *vv;
    }

    return mrb_str_new(mrb, value, vlen);
}
