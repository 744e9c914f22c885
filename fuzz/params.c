
/*
 * libFuzzer target: req.params, the query-string parser of
 * ngx_http_isolate_request.c (ngx_http_isolate_req_params() and
 * ngx_http_isolate_unescape()).
 *
 * The module's file is included whole, so its static functions are the
 * real ones, and Isolate::Request is set up by the module's own
 * ngx_http_isolate_request_init() in a real mrb_state.  Each input is
 * the query string itself: r->args points at libFuzzer's buffer, which
 * is exactly the input's size, so AddressSanitizer sees any read past
 * it.  req.params is called from Ruby's side (mrb_funcall), and its Hash
 * must equal one built here apart from the module, from the README's
 * rules: "&"-separated, "+" is a space, %XX a byte (anything else kept
 * as it is), a key without "=" has "", a repeated key keeps its last
 * value.  A second call must give the same Hash; after the request is
 * detached, a call must raise instead of reading the request.
 */


#include "../ngx_isolate_module/ngx_http_isolate_request.c"


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static mrb_value fuzz_params(mrb_state *mrb, void *data);
static mrb_value fuzz_expected(mrb_state *mrb, u_char *p, u_char *last);
static mrb_value fuzz_decode(mrb_state *mrb, u_char *p, u_char *last);
static ngx_int_t fuzz_hex(u_char c);
static const char *fuzz_compare(mrb_state *mrb, mrb_value got,
    mrb_value want);
static void fuzz_fail(mrb_state *mrb, ngx_str_t *args, mrb_value v,
    const char *what);


static mrb_state              *fuzz_mrb;
static ngx_http_isolate_vm_t   fuzz_vm;
static ngx_open_file_t         fuzz_log_file;
static ngx_log_t               fuzz_log;


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ngx_pagesize = getpagesize();

    fuzz_log_file.fd = ngx_stderr;
    fuzz_log.file = &fuzz_log_file;
    fuzz_log.log_level = NGX_LOG_NOTICE;

    /* what ngx_http_isolate_vm.c does for a blank isolate, as needed */

    fuzz_mrb = mrb_open();
    if (fuzz_mrb == NULL) {
        abort();
    }

    fuzz_vm.mrb = fuzz_mrb;
    fuzz_vm.log = &fuzz_log;
    fuzz_mrb->ud = &fuzz_vm;

    mrb_define_module(fuzz_mrb, "Isolate");
    ngx_http_isolate_request_init(&fuzz_vm);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                      ai;
    mrb_bool                 error;
    mrb_value                req, got, again, want;
    ngx_pool_t              *pool;
    const char              *fail;
    ngx_http_request_t      *r;
    ngx_http_isolate_ctx_t  *ctx;

    ai = mrb_gc_arena_save(fuzz_mrb);

    pool = ngx_create_pool(1024, &fuzz_log);
    if (pool == NULL) {
        abort();
    }

    r = ngx_pcalloc(pool, sizeof(ngx_http_request_t));
    ctx = ngx_pcalloc(pool, sizeof(ngx_http_isolate_ctx_t));
    if (r == NULL || ctx == NULL) {
        abort();
    }

    r->pool = pool;
    r->main = r;
    /* as nginx has it: no query string, no pointer */
    r->args.data = size ? (u_char *) data : NULL;
    r->args.len = size;

    ctx->request = r;
    ctx->vm = &fuzz_vm;

    req = ngx_http_isolate_request_new(fuzz_mrb, ctx);
    ctx->req = req;

    got = mrb_protect_error(fuzz_mrb, fuzz_params, &req, &error);
    if (error) {
        fuzz_fail(fuzz_mrb, &r->args, got, "req.params raised");
    }

    want = fuzz_expected(fuzz_mrb, (u_char *) data, (u_char *) data + size);

    fail = fuzz_compare(fuzz_mrb, got, want);
    if (fail) {
        fuzz_fail(fuzz_mrb, &r->args, got, fail);
    }

    again = mrb_protect_error(fuzz_mrb, fuzz_params, &req, &error);
    if (error || !mrb_obj_eq(fuzz_mrb, got, again)) {
        fuzz_fail(fuzz_mrb, &r->args, again,
                  "a second req.params is not the same Hash");
    }

    /* the request is over: a kept Request must not reach it */

    ngx_http_isolate_request_detach(fuzz_mrb, req);

    got = mrb_protect_error(fuzz_mrb, fuzz_params, &req, &error);
    if (!error
        || !mrb_obj_is_kind_of(fuzz_mrb, got,
                               mrb_exc_get(fuzz_mrb, "RuntimeError")))
    {
        fuzz_fail(fuzz_mrb, &r->args, got,
                  "req.params after the request did not raise RuntimeError");
    }

    ngx_destroy_pool(pool);
    mrb_gc_arena_restore(fuzz_mrb, ai);

    return 0;
}


/* as a script calls it */

static mrb_value
fuzz_params(mrb_state *mrb, void *data)
{
    return mrb_funcall(mrb, *(mrb_value *) data, "params", 0);
}


/* the README's req.params, written apart from the module */

static mrb_value
fuzz_expected(mrb_state *mrb, u_char *p, u_char *last)
{
    u_char     *end, *eq;
    mrb_value   h;

    h = mrb_hash_new(mrb);

    while (p < last) {
        end = memchr(p, '&', last - p);
        if (end == NULL) {
            end = last;
        }

        if (end > p) {
            eq = memchr(p, '=', end - p);

            if (eq) {
                mrb_hash_set(mrb, h, fuzz_decode(mrb, p, eq),
                             fuzz_decode(mrb, eq + 1, end));

            } else {
                mrb_hash_set(mrb, h, fuzz_decode(mrb, p, end),
                             mrb_str_new(mrb, NULL, 0));
            }
        }

        p = end + 1;
    }

    return h;
}


static mrb_value
fuzz_decode(mrb_state *mrb, u_char *p, u_char *last)
{
    u_char      c;
    size_t      i, n;
    mrb_value   s;

    s = mrb_str_new(mrb, NULL, 0);
    n = last - p;

    for (i = 0; i < n; i++) {

        c = p[i];

        if (c == '+') {
            c = ' ';

        } else if (c == '%' && i + 2 < n
                   && fuzz_hex(p[i + 1]) >= 0 && fuzz_hex(p[i + 2]) >= 0)
        {
            c = (u_char) (fuzz_hex(p[i + 1]) * 16 + fuzz_hex(p[i + 2]));
            i += 2;
        }

        mrb_str_cat(mrb, s, (const char *) &c, 1);
    }

    return s;
}


static ngx_int_t
fuzz_hex(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}


/* the same keys in the same order, each with the same String value */

static const char *
fuzz_compare(mrb_state *mrb, mrb_value got, mrb_value want)
{
    mrb_int    i;
    mrb_value  gk, wk, k, gv, wv;

    if (!mrb_hash_p(got)) {
        return "req.params is not a Hash";
    }

    gk = mrb_hash_keys(mrb, got);
    wk = mrb_hash_keys(mrb, want);

    if (RARRAY_LEN(gk) != RARRAY_LEN(wk)) {
        return "req.params has the wrong number of keys";
    }

    for (i = 0; i < RARRAY_LEN(gk); i++) {
        k = RARRAY_PTR(gk)[i];

        if (!mrb_string_p(k) || !mrb_str_equal(mrb, k, RARRAY_PTR(wk)[i])) {
            return "req.params has a wrong key, or keys out of order";
        }

        gv = mrb_hash_get(mrb, got, k);
        wv = mrb_hash_get(mrb, want, k);

        if (!mrb_string_p(gv) || !mrb_str_equal(mrb, gv, wv)) {
            return "req.params has a wrong value";
        }
    }

    return NULL;
}


static void
fuzz_fail(mrb_state *mrb, ngx_str_t *args, mrb_value v, const char *what)
{
    mrb_value  s;

    fprintf(stderr, "fuzz/params: %s\nargs: \"%.*s\"\n", what,
            (int) args->len, args->data);

    s = mrb_inspect(mrb, v);
    fprintf(stderr, "got: %.*s\n", (int) RSTRING_LEN(s), RSTRING_PTR(s));

    abort();
}
