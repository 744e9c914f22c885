
/*
 * libFuzzer target: ngx_http_isolate_response_set(), call's
 * [status, headers, body] triple into nginx's response.
 *
 * Each input is a little program that builds one Ruby value in a real
 * mrb_state (fuzz_triple() below): mostly triple-shaped, with odd
 * statuses, Hashes of header names from a list of interesting ones or
 * raw bytes, non-String keys, values with CR, LF or NUL, Arrays of
 * Strings; otherwise any value at all, recursive ones included, and
 * objects whose inspect empties the Hash or Array they are in (the
 * function inspects what it refuses, and a script's inspect is Ruby).
 * The real function gets it with a minimal but real request: its own
 * pool, a headers_out list, a core location configuration for
 * default_type; the first byte's high bits also make it a subrequest
 * and set the memory limit the response must fit in.
 *
 * Then two checks written apart from the module, from the README's
 * rules: the verdict (valid, invalid, too large) must match the
 * function's, and an accepted response must be exactly what the triple
 * said -- every header line in order, the framing ones dropped,
 * content-type and its charset, the special headers nginx tracks, the
 * body bytes and their length, the buffer flags.  A mismatch aborts,
 * so libFuzzer keeps the input.
 */


#include "ngx_http_isolate.h"

#include <mruby/array.h>
#include <mruby/compile.h>
#include <mruby/hash.h>
#include <mruby/string.h>
#include <mruby/variable.h>


#define FUZZ_MAX_DEPTH  4

#define fuzz_nelts(a)   (sizeof(a) / sizeof((a)[0]))


typedef struct {
    const u_char  *pos;
    const u_char  *last;
    mrb_state     *mrb;
    ngx_uint_t     depth;
    ngx_uint_t     in_key;  /* building a Hash key: no cycles */
} fuzz_input_t;


/* one call of the function: what it gets, and what it gives */
typedef struct {
    ngx_http_request_t  *request;
    mrb_value            triple;
    size_t               max;       /* the isolate's memory limit, 0: none */
    ngx_chain_t         *out;
    ngx_str_t            err;
    ngx_int_t            rc;
} fuzz_call_t;


/* the README's verdict on a triple, and the size the limit counts */
typedef struct {
    ngx_uint_t           ok;
    size_t               size;      /* body, header names and values */
} fuzz_verdict_t;


/* what the accepted response must hold, walked along the triple */
typedef struct {
    ngx_http_request_t  *request;
    ngx_list_part_t     *part;
    ngx_uint_t           i;         /* next header line in part */
    ngx_str_t            content_type;
    ngx_table_elt_t     *last[6];   /* of each name in fuzz_special */
    const char          *fail;
} fuzz_expect_t;


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static mrb_value fuzz_build(mrb_state *mrb, void *data);
static mrb_value fuzz_run(mrb_state *mrb, void *data);
static u_char fuzz_byte(fuzz_input_t *in);
static mrb_value fuzz_bytes(fuzz_input_t *in);
static mrb_value fuzz_dict(fuzz_input_t *in, ngx_str_t *dict, ngx_uint_t n);
static mrb_value fuzz_value(fuzz_input_t *in, mrb_value self);
static mrb_value fuzz_triple(fuzz_input_t *in);
static mrb_value fuzz_status(fuzz_input_t *in, mrb_value self);
static mrb_value fuzz_headers(fuzz_input_t *in, mrb_value self);
static mrb_value fuzz_header_name(fuzz_input_t *in, mrb_value self);
static mrb_value fuzz_header_value(fuzz_input_t *in, mrb_value self);
static mrb_value fuzz_header_string(fuzz_input_t *in);
static mrb_value fuzz_body(fuzz_input_t *in, mrb_value self);

static ngx_http_request_t *fuzz_request(ngx_pool_t *pool);
static ngx_uint_t fuzz_valid(mrb_state *mrb, mrb_value triple,
    size_t *size);
static int fuzz_valid_header(mrb_state *mrb, mrb_value key, mrb_value val,
    void *data);
static ngx_uint_t fuzz_valid_value(mrb_value v);
static ngx_uint_t fuzz_is(mrb_value name, const char *s);
static const char *fuzz_check(ngx_http_request_t *r, mrb_state *mrb,
    mrb_value triple, ngx_chain_t *out);
static const char *fuzz_check_content_type(ngx_http_request_t *r,
    ngx_str_t *value);
static int fuzz_check_header(mrb_state *mrb, mrb_value key, mrb_value val,
    void *data);
static void fuzz_check_line(fuzz_expect_t *e, mrb_value key, mrb_value val);
static void fuzz_fail(mrb_state *mrb, mrb_value triple, mrb_value exc,
    const char *what);


static mrb_state                 *fuzz_mrb;
static struct RClass             *fuzz_clearer;
static ngx_open_file_t            fuzz_log_file;
static ngx_log_t                  fuzz_log;
static ngx_http_core_loc_conf_t   fuzz_clcf;


/* the headers nginx keeps a pointer to, in the order of fuzz_expect_t */
static const char  *fuzz_special[] = {
    "server", "date", "location", "content-encoding", "etag",
    "last-modified"
};


static ngx_str_t  fuzz_names[] = {
    ngx_string("content-type"),
    ngx_string("Content-Type"),
    ngx_string("content-length"),
    ngx_string("Transfer-Encoding"),
    ngx_string("connection"),
    ngx_string("server"),
    ngx_string("Date"),
    ngx_string("location"),
    ngx_string("content-encoding"),
    ngx_string("ETag"),
    ngx_string("last-modified"),
    ngx_string("set-cookie"),
    ngx_string("x-a"),
    ngx_string("X-Forwarded-For"),
    ngx_string("!#$%&'*+-.^_`|~09AZaz"),
    ngx_string(""),
    ngx_string("bad name"),
    ngx_string("a:b"),
    ngx_string("a\r\nb"),
    ngx_string("\x7f"),
    ngx_string("\xc3\xa9t\xc3\xa9"),
    ngx_string("a\0b"),
    ngx_string("content-length\0"),
};


static ngx_str_t  fuzz_values[] = {
    ngx_string("text/plain"),
    ngx_string("text/html; charset=utf-8"),
    ngx_string("text/html;charset=\"koi8-r\""),
    ngx_string("a/b; q=1;  CHARSET="),
    ngx_string("x;charset=\""),
    ngx_string(""),
    ngx_string("Sun, 06 Nov 1994 08:49:37 GMT"),
    ngx_string("Sunday, 06-Nov-94 08:49:37 GMT"),
    ngx_string("Sun Nov  6 08:49:37 1994"),
    ngx_string("Thu, 01 Jan 1970 00:00:00 GMT"),
    ngx_string("Fri, 31 Dec 9999 23:59:59 GMT"),
    ngx_string("Mon, 32 Foo 2024 25:61:61 GMT"),
    ngx_string("/relative?a=b"),
    ngx_string("http://example.com/x"),
    ngx_string("a\r\nx-injected: 1"),
    ngx_string("a\nb"),
    ngx_string("a\rb"),
    ngx_string("a\0b"),
    ngx_string("\xff\xfe\x80"),
    ngx_string("a=1; Path=/; HttpOnly"),
    ngx_string("\"etag\""),
    ngx_string("200"),
    ngx_string("gzip"),
    ngx_string("chunked"),
    ngx_string(" \t "),
};


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ngx_pagesize = getpagesize();

    fuzz_log_file.fd = ngx_stderr;
    fuzz_log.file = &fuzz_log_file;
    fuzz_log.log_level = NGX_LOG_NOTICE;

    ngx_str_set(&fuzz_clcf.default_type, "application/x-default");

    /* ngx_count_modules() would number it so: the first HTTP module */
    ngx_http_core_module.ctx_index = 0;

    /* one isolate for the whole run, as a worker keeps one */
    fuzz_mrb = mrb_open();
    if (fuzz_mrb == NULL) {
        abort();
    }

    /* a script's object, inspected while the module walks its triple */
    mrb_load_string(fuzz_mrb,
        "class FuzzClearer\n"
        "  def initialize(c); @c = c; end\n"
        "  def inspect\n"
        "    $fuzz_ran = true\n"
        "    @c.clear if @c.respond_to?(:clear)\n"
        "    'cleared'\n"
        "  end\n"
        "end\n");
    if (fuzz_mrb->exc) {
        abort();
    }

    fuzz_clearer = mrb_class_get(fuzz_mrb, "FuzzClearer");

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  ai;
    size_t               bytes;
    mrb_sym              ran;
    mrb_bool             error;
    mrb_value            exc;
    ngx_int_t            expect;
    ngx_uint_t           valid;
    ngx_pool_t          *pool;
    const char          *fail;
    fuzz_call_t          c;
    fuzz_input_t         in;
    ngx_http_request_t  *r;

    static const size_t  limits[] = { 0, 0, 0, 0, 16, 256, 4096, 65536 };

    ai = mrb_gc_arena_save(fuzz_mrb);

    in.pos = data;
    in.last = data + size;
    in.mrb = fuzz_mrb;
    in.depth = 0;
    in.in_key = 0;

    /* not the module's doing: an input mruby cannot build is no input */
    c.triple = mrb_protect_error(fuzz_mrb, fuzz_build, &in, &error);
    if (error) {
        mrb_gc_arena_restore(fuzz_mrb, ai);
        return -1;
    }

    pool = ngx_create_pool(1024, &fuzz_log);
    if (pool == NULL) {
        abort();
    }

    r = fuzz_request(pool);

    /*
     * The first byte's high bits, which fuzz_triple() does not look at:
     * a subrequest (its body is not the last buffer), and a limit.
     */
    if (size && (data[0] & 0x80)) {
        r->main = ngx_pcalloc(pool, sizeof(ngx_http_request_t));
        if (r->main == NULL) {
            abort();
        }
    }

    c.request = r;
    c.max = size ? limits[(data[0] >> 4) & 7] : 0;
    c.out = NULL;
    ngx_str_null(&c.err);
    c.rc = NGX_ERROR;

    /* judged first: a FuzzClearer may empty the triple while refused */
    valid = fuzz_valid(fuzz_mrb, c.triple, &bytes);

    expect = !valid ? NGX_DECLINED
                    : (c.max && bytes > c.max) ? NGX_BUSY : NGX_OK;

    ran = mrb_intern_lit(fuzz_mrb, "$fuzz_ran");
    mrb_gv_set(fuzz_mrb, ran, mrb_false_value());

    exc = mrb_protect_error(fuzz_mrb, fuzz_run, &c, &error);

    if (error) {
        /*
         * In nginx a raise is the request's 500.  It is the script's
         * doing once its Ruby ran (mrb_hash_foreach() raises "hash
         * modified" after a FuzzClearer emptied the headers); without
         * that, the module raised by itself, which it should not.
         */
        if (!mrb_test(mrb_gv_get(fuzz_mrb, ran))) {
            fuzz_fail(fuzz_mrb, c.triple, exc,
                      "ngx_http_isolate_response_set raised");
        }

        ngx_destroy_pool(pool);
        mrb_gc_arena_restore(fuzz_mrb, ai);

        return 0;
    }

    fail = NULL;

    if (c.rc != expect) {
        fprintf(stderr, "rc %d, expected %d (limit %zu, size %zu)\n",
                (int) c.rc, (int) expect, c.max, bytes);

        fail = (c.rc == NGX_OK) ? "an invalid or too large triple passed"
               : (expect == NGX_OK) ? "a valid triple was refused"
               : "refused for the wrong reason";

    } else if (c.rc == NGX_OK) {
        fail = fuzz_check(r, fuzz_mrb, c.triple, c.out);

    } else if (c.err.len == 0) {
        fail = "refused without a reason";
    }

    if (fail) {
        if (c.err.len) {
            fprintf(stderr, "reason: %.*s\n", (int) c.err.len, c.err.data);
        }

        fuzz_fail(fuzz_mrb, c.triple, mrb_nil_value(), fail);
    }

    ngx_destroy_pool(pool);
    mrb_gc_arena_restore(fuzz_mrb, ai);

    return 0;
}


static mrb_value
fuzz_build(mrb_state *mrb, void *data)
{
    return fuzz_triple(data);
}


static mrb_value
fuzz_run(mrb_state *mrb, void *data)
{
    fuzz_call_t *c = data;

    c->rc = ngx_http_isolate_response_set(c->request, mrb, c->triple,
                                          c->max, &c->out, &c->err);

    return mrb_nil_value();
}


/* --- the input: bytes into a Ruby value ----------------------------------- */

/* the next byte, 0 once the input is used up */

static u_char
fuzz_byte(fuzz_input_t *in)
{
    return (in->pos < in->last) ? *in->pos++ : 0;
}


/* a length byte, then that many bytes (fewer at the end) */

static mrb_value
fuzz_bytes(fuzz_input_t *in)
{
    size_t     n;
    mrb_value  s;

    n = fuzz_byte(in);
    if (n > (size_t) (in->last - in->pos)) {
        n = in->last - in->pos;
    }

    s = mrb_str_new(in->mrb, (const char *) in->pos, n);
    in->pos += n;

    return s;
}


static mrb_value
fuzz_dict(fuzz_input_t *in, ngx_str_t *dict, ngx_uint_t n)
{
    ngx_str_t  *s;

    s = &dict[fuzz_byte(in) % n];

    return mrb_str_new(in->mrb, (const char *) s->data, s->len);
}


/* any value; "self" is the container being filled, for cycles */

static mrb_value
fuzz_value(fuzz_input_t *in, mrb_value self)
{
    u_char      op;
    mrb_int     i, n;
    uint64_t    u;
    mrb_value   v, k;
    mrb_state  *mrb;
    double      f;

    mrb = in->mrb;
    op = fuzz_byte(in);

    switch (op % 15) {

    case 0:
        return mrb_nil_value();

    case 1:
        return mrb_bool_value(op & 0x80);

    case 2:
        return mrb_fixnum_value((int8_t) fuzz_byte(in));

    case 3:
        u = 0;
        for (i = 0; i < 8; i++) {
            u = (u << 8) | fuzz_byte(in);
        }

        return mrb_int_value(mrb, (mrb_int) u);

    case 4:
        switch (fuzz_byte(in) % 4) {
        case 0:
            f = 200.0;
            break;
        case 1:
            f = NAN;
            break;
        case 2:
            f = -INFINITY;
            break;
        default:
            f = (double) (int8_t) fuzz_byte(in) / 3.0;
        }

        return mrb_float_value(mrb, f);

    case 5:
        return fuzz_bytes(in);

    case 6:
        return fuzz_dict(in, fuzz_names, fuzz_nelts(fuzz_names));

    case 7:
        return fuzz_dict(in, fuzz_values, fuzz_nelts(fuzz_values));

    case 8:
        /* from the list: mruby never frees a Symbol */
        v = fuzz_dict(in, fuzz_names, fuzz_nelts(fuzz_names));
        return mrb_symbol_value(mrb_intern_str(mrb, v));

    case 9:
        n = fuzz_byte(in) % 6;
        v = mrb_ary_new(mrb);

        if (in->depth < FUZZ_MAX_DEPTH) {
            in->depth++;
            for (i = 0; i < n; i++) {
                mrb_ary_push(mrb, v, fuzz_value(in, v));
            }
            in->depth--;
        }

        return v;

    case 10:
        n = fuzz_byte(in) % 4;
        v = mrb_hash_new(mrb);

        if (in->depth < FUZZ_MAX_DEPTH) {
            in->depth++;
            for (i = 0; i < n; i++) {
                /* mruby hashes a cyclic key forever: SystemStackError */
                in->in_key++;
                k = fuzz_value(in, v);
                in->in_key--;
                mrb_hash_set(mrb, v, k, fuzz_value(in, v));
            }
            in->depth--;
        }

        return v;

    case 11:
        return in->in_key ? mrb_nil_value() : self;

    case 12:
        v = fuzz_header_string(in);
        return mrb_obj_freeze(mrb, v);

    case 13:
        /* no cycle for a key: FuzzClearer#hash is the object's identity */
        return mrb_obj_new(mrb, fuzz_clearer, 1, &self);

    default:
        /* a big String: up to 16 kB */
        n = (mrb_int) fuzz_byte(in) * 64;
        v = mrb_str_new(mrb, NULL, n);
        ngx_memset(RSTRING_PTR(v), 'a' + op % 26, n);
        return v;
    }
}


static mrb_value
fuzz_triple(fuzz_input_t *in)
{
    u_char      op;
    mrb_int     i, n;
    mrb_value   t;
    mrb_state  *mrb;

    mrb = in->mrb;
    op = fuzz_byte(in);
    t = mrb_ary_new_capa(mrb, 3);

    switch (op % 8) {

    case 0:
        /* any shape */
        return fuzz_value(in, mrb_nil_value());

    case 1:
        /* an Array of any length, of anything */
        n = fuzz_byte(in) % 6;
        for (i = 0; i < n; i++) {
            mrb_ary_push(mrb, t, fuzz_value(in, t));
        }

        return t;

    default:
        mrb_ary_push(mrb, t, fuzz_status(in, t));
        mrb_ary_push(mrb, t, fuzz_headers(in, t));
        mrb_ary_push(mrb, t, fuzz_body(in, t));

        return t;
    }
}


static mrb_value
fuzz_status(fuzz_input_t *in, mrb_value self)
{
    u_char  op;

    static const mrb_int  statuses[] = {
        200, 100, 99, 599, 600, 0, -200, 204, 304, 301, 302, 404, 500,
        101, 199, 1000000, MRB_INT_MAX, MRB_INT_MIN, 4294967496LL
    };

    op = fuzz_byte(in);

    if (op < 192) {
        return mrb_int_value(in->mrb, statuses[op % fuzz_nelts(statuses)]);
    }

    if (op < 240) {
        return mrb_fixnum_value(98 + fuzz_byte(in) * 2);
    }

    return fuzz_value(in, self);
}


static mrb_value
fuzz_headers(fuzz_input_t *in, mrb_value self)
{
    mrb_int     i, n;
    mrb_value   h, k;
    mrb_state  *mrb;

    mrb = in->mrb;

    if (fuzz_byte(in) % 16 == 0) {
        return fuzz_value(in, self);
    }

    n = fuzz_byte(in) % 12;
    h = mrb_hash_new(mrb);

    for (i = 0; i < n && in->pos < in->last; i++) {
        in->in_key++;
        k = fuzz_header_name(in, h);
        in->in_key--;
        mrb_hash_set(mrb, h, k, fuzz_header_value(in, h));
    }

    return h;
}


static mrb_value
fuzz_header_name(fuzz_input_t *in, mrb_value self)
{
    u_char     op, *p;
    mrb_int    i;
    mrb_value  s;

    op = fuzz_byte(in);

    switch (op % 8) {

    case 0:
        return fuzz_value(in, self);

    case 1:
        return fuzz_bytes(in);

    default:
        s = fuzz_dict(in, fuzz_names, fuzz_nelts(fuzz_names));

        if (op & 0xc0) {
            /* the same name in another case */
            p = (u_char *) RSTRING_PTR(s);
            for (i = 0; i < RSTRING_LEN(s); i++) {
                if ((op & 0x80) || i == 0) {
                    p[i] = ngx_toupper(p[i]);
                }
            }
        }

        return s;
    }
}


static mrb_value
fuzz_header_value(fuzz_input_t *in, mrb_value self)
{
    u_char      op;
    mrb_int     i, n;
    mrb_value   a;
    mrb_state  *mrb;

    mrb = in->mrb;
    op = fuzz_byte(in);

    switch (op % 8) {

    case 0:
        return fuzz_value(in, self);

    case 1:
    case 2:
        /* an Array of Strings, now and then something else in it */
        n = fuzz_byte(in) % 5;
        a = mrb_ary_new(mrb);

        for (i = 0; i < n; i++) {
            mrb_ary_push(mrb, a, (fuzz_byte(in) % 8 == 0)
                                 ? fuzz_value(in, a)
                                 : fuzz_header_string(in));
        }

        return a;

    default:
        return fuzz_header_string(in);
    }
}


/* a value from the list or raw, now and then with CR, LF or NUL put in */

static mrb_value
fuzz_header_string(fuzz_input_t *in)
{
    u_char      op, c;
    size_t      at, len;
    mrb_value   s, t;
    mrb_state  *mrb;

    mrb = in->mrb;
    op = fuzz_byte(in);

    s = (op % 4 == 0) ? fuzz_bytes(in)
                      : fuzz_dict(in, fuzz_values, fuzz_nelts(fuzz_values));

    if (!(op & 0x80)) {
        return s;
    }

    c = "\r\n\0\t"[(op >> 4) & 3];
    len = RSTRING_LEN(s);
    at = fuzz_byte(in) % (len + 1);

    t = mrb_str_new(mrb, RSTRING_PTR(s), at);
    mrb_str_cat(mrb, t, (const char *) &c, 1);
    mrb_str_cat(mrb, t, RSTRING_PTR(s) + at, len - at);

    return t;
}


static mrb_value
fuzz_body(fuzz_input_t *in, mrb_value self)
{
    u_char      op;
    mrb_int     i, n;
    mrb_value   a;
    mrb_state  *mrb;

    mrb = in->mrb;
    op = fuzz_byte(in);

    switch (op % 8) {

    case 0:
        return fuzz_value(in, self);

    case 1:
    case 2:
        return fuzz_bytes(in);

    case 3:
        /* a frozen String, or a big one */
        return fuzz_value(in, self);

    case 4:
    case 5:
        n = fuzz_byte(in) % 6;
        a = mrb_ary_new(mrb);

        for (i = 0; i < n; i++) {
            mrb_ary_push(mrb, a, fuzz_bytes(in));
        }

        return a;

    case 6:
        /* an Array of Strings, now and then something else in it */
        n = fuzz_byte(in) % 6;
        a = mrb_ary_new(mrb);

        for (i = 0; i < n; i++) {
            mrb_ary_push(mrb, a, (fuzz_byte(in) & 1) ? fuzz_value(in, a)
                                                     : fuzz_bytes(in));
        }

        return a;

    default:
        return (op & 0x80) ? mrb_ary_new(mrb) : mrb_str_new(mrb, NULL, 0);
    }
}


/* --- the request ---------------------------------------------------------- */

/* what ngx_http_alloc_request() and the core module would have set */

static ngx_http_request_t *
fuzz_request(ngx_pool_t *pool)
{
    void                **loc_conf;
    ngx_http_request_t   *r;

    r = ngx_pcalloc(pool, sizeof(ngx_http_request_t));
    loc_conf = ngx_pcalloc(pool,
                           sizeof(void *) * (ngx_http_core_module.ctx_index
                                             + 1));
    if (r == NULL || loc_conf == NULL) {
        abort();
    }

    /* two elements a part: long header lists grow the list */
    if (ngx_list_init(&r->headers_out.headers, pool, 2,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        abort();
    }

    loc_conf[ngx_http_core_module.ctx_index] = &fuzz_clcf;

    r->pool = pool;
    r->main = r;
    r->loc_conf = loc_conf;
    r->headers_out.content_length_n = -1;
    r->headers_out.last_modified_time = -1;

    return r;
}


/* --- the checks ----------------------------------------------------------- */

/*
 * The README's rules: status an Integer in 200..599 (1xx are interim
 * responses); headers a Hash of String names that are HTTP tokens to a
 * String or an Array of Strings, none with CR, LF or NUL; body a String
 * or an Array of Strings.  *size: the body and every header line's name
 * and value, what isolate_memory_limit bounds.
 */

static ngx_uint_t
fuzz_valid(mrb_state *mrb, mrb_value t, size_t *size)
{
    mrb_int         i, status;
    mrb_value       body;
    fuzz_verdict_t  v;

    *size = 0;

    if (!mrb_array_p(t) || RARRAY_LEN(t) != 3) {
        return 0;
    }

    if (!mrb_integer_p(RARRAY_PTR(t)[0])) {
        return 0;
    }

    status = mrb_integer(RARRAY_PTR(t)[0]);
    if (status < 200 || status > 599) {
        return 0;
    }

    if (!mrb_hash_p(RARRAY_PTR(t)[1])) {
        return 0;
    }

    v.ok = 1;
    v.size = 0;
    mrb_hash_foreach(mrb, mrb_hash_ptr(RARRAY_PTR(t)[1]), fuzz_valid_header,
                     &v);
    if (!v.ok) {
        return 0;
    }

    body = RARRAY_PTR(t)[2];

    if (mrb_string_p(body)) {
        *size = v.size + RSTRING_LEN(body);
        return 1;
    }

    if (!mrb_array_p(body)) {
        return 0;
    }

    for (i = 0; i < RARRAY_LEN(body); i++) {
        if (!mrb_string_p(RARRAY_PTR(body)[i])) {
            return 0;
        }

        v.size += RSTRING_LEN(RARRAY_PTR(body)[i]);
    }

    *size = v.size;

    return 1;
}


static int
fuzz_valid_header(mrb_state *mrb, mrb_value key, mrb_value val, void *data)
{
    fuzz_verdict_t *v = data;

    u_char   c;
    mrb_int  i;

    static const char  tchar[] = "!#$%&'*+-.^_`|~";

    if (!mrb_string_p(key) || RSTRING_LEN(key) == 0) {
        v->ok = 0;
        return 1;
    }

    /* RFC 9110 token: tchar = "!#$%&'*+-.^_`|~" / DIGIT / ALPHA */

    for (i = 0; i < RSTRING_LEN(key); i++) {
        c = RSTRING_PTR(key)[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z') || (c && strchr(tchar, c))))
        {
            v->ok = 0;
            return 1;
        }
    }

    if (!mrb_array_p(val)) {
        v->ok = fuzz_valid_value(val);
        v->size += RSTRING_LEN(key) + (v->ok ? RSTRING_LEN(val) : 0);
        return !v->ok;
    }

    for (i = 0; i < RARRAY_LEN(val); i++) {
        if (!fuzz_valid_value(RARRAY_PTR(val)[i])) {
            v->ok = 0;
            return 1;
        }

        v->size += RSTRING_LEN(key) + RSTRING_LEN(RARRAY_PTR(val)[i]);
    }

    return 0;
}


static ngx_uint_t
fuzz_valid_value(mrb_value v)
{
    mrb_int  i;
    char     c;

    if (!mrb_string_p(v)) {
        return 0;
    }

    for (i = 0; i < RSTRING_LEN(v); i++) {
        c = RSTRING_PTR(v)[i];
        if (c == '\r' || c == '\n' || c == '\0') {
            return 0;
        }
    }

    return 1;
}


/* a header name, case-insensitively */

static ngx_uint_t
fuzz_is(mrb_value name, const char *s)
{
    size_t  len;

    len = strlen(s);

    return (size_t) RSTRING_LEN(name) == len
           && ngx_strncasecmp((u_char *) RSTRING_PTR(name), (u_char *) s, len)
              == 0;
}


/* an accepted triple: is nginx's response exactly what it said? */

static const char *
fuzz_check(ngx_http_request_t *r, mrb_state *mrb, mrb_value triple,
    ngx_chain_t *out)
{
    off_t              len, size;
    mrb_int            i;
    const char        *fail;
    mrb_value          body, part;
    ngx_buf_t         *b;
    ngx_uint_t         k;
    fuzz_expect_t      e;
    ngx_table_elt_t  **special[6];

    if (r->headers_out.status
        != (ngx_uint_t) mrb_integer(RARRAY_PTR(triple)[0]))
    {
        return "wrong status";
    }

    /* the header lines, in the Hash's order */

    ngx_memzero(&e, sizeof(fuzz_expect_t));
    e.request = r;
    e.part = &r->headers_out.headers.part;

    mrb_hash_foreach(mrb, mrb_hash_ptr(RARRAY_PTR(triple)[1]),
                     fuzz_check_header, &e);
    if (e.fail) {
        return e.fail;
    }

    if (e.i < e.part->nelts || e.part->next) {
        return "more header lines than the triple has";
    }

    if (e.content_type.len) {
        if (r->headers_out.content_type.len != e.content_type.len
            || ngx_memcmp(r->headers_out.content_type.data,
                          e.content_type.data, e.content_type.len) != 0)
        {
            return "wrong content-type";
        }

        fail = fuzz_check_content_type(r, &e.content_type);
        if (fail) {
            return fail;
        }

    } else if (r->headers_out.content_type.data != fuzz_clcf.default_type.data
               || r->headers_out.content_type.len
                  != fuzz_clcf.default_type.len)
    {
        return "no content-type, and not the default_type";
    }

    special[0] = &r->headers_out.server;
    special[1] = &r->headers_out.date;
    special[2] = &r->headers_out.location;
    special[3] = &r->headers_out.content_encoding;
    special[4] = &r->headers_out.etag;
    special[5] = &r->headers_out.last_modified;

    for (k = 0; k < fuzz_nelts(fuzz_special); k++) {
        if (*special[k] != e.last[k]) {
            return "a header nginx tracks does not point at its line";
        }
    }

    if (e.last[5] == NULL && r->headers_out.last_modified_time != -1) {
        return "last_modified_time without a last-modified";
    }

    /* the body */

    body = RARRAY_PTR(triple)[2];

    if (out == NULL || out->next != NULL || out->buf == NULL) {
        return "not one buffer";
    }

    b = out->buf;

    if (b->last_buf != (r == r->main) || !b->last_in_chain) {
        return "last_buf is not (a main request), or not last_in_chain";
    }

    /* offsets, not pointers: an empty body's buffer has pos NULL */

    size = b->last - b->pos;
    len = 0;

    for (i = 0; i < (mrb_array_p(body) ? RARRAY_LEN(body) : 1); i++) {
        part = mrb_array_p(body) ? RARRAY_PTR(body)[i] : body;

        if (size - len < RSTRING_LEN(part)
            || (RSTRING_LEN(part)
                && ngx_memcmp(b->pos + len, RSTRING_PTR(part),
                              RSTRING_LEN(part))
                   != 0))
        {
            return "the body is not the body's Strings";
        }

        len += RSTRING_LEN(part);
    }

    if (len != size) {
        return "the body is longer than the body's Strings";
    }

    if (r->headers_out.content_length_n != len) {
        return "content_length_n is not the body's length";
    }

    /* else nginx alerts "zero size buf" */
    if (len == 0 && !b->last_buf && !b->sync && !b->flush) {
        return "an empty buffer that is neither last, sync nor flush";
    }

    return NULL;
}


/*
 * The README: a content-type with a charset= parameter is taken as
 * nginx takes an upstream's: the type's length stops at the ";" before
 * it, and the charset is what follows "charset=" (quotes taken off).
 * Anything else: the whole value is the type and there is no charset.
 */

static const char *
fuzz_check_content_type(ngx_http_request_t *r, ngx_str_t *value)
{
    u_char     *p, *last, *semi;
    ngx_str_t  *cs;

    cs = &r->headers_out.charset;
    last = value->data + value->len;

    for (p = value->data; p < last; p++) {
        if (*p != ';') {
            continue;
        }

        semi = p;

        while (p + 1 < last && p[1] == ' ') {
            p++;
        }

        if (last - (p + 1) >= 8
            && ngx_strncasecmp(p + 1, (u_char *) "charset=", 8) == 0)
        {
            break;
        }
    }

    if (p == last) {
        if (r->headers_out.content_type_len != value->len || cs->len) {
            return "a content-type without charset= got a charset";
        }

        return NULL;
    }

    p += 1 + 8;

    if (r->headers_out.content_type_len != (size_t) (semi - value->data)) {
        return "the content-type's type does not stop at the charset";
    }

    /* within the value: what is left, or that without its quotes */

    if (cs->len == (size_t) (last - p)
        && (cs->len == 0 || ngx_memcmp(cs->data, p, cs->len) == 0))
    {
        return NULL;
    }

    if (last - p >= 2 && *p == '"' && last[-1] == '"'
        && cs->len == (size_t) (last - p - 2)
        && (cs->len == 0 || ngx_memcmp(cs->data, p + 1, cs->len) == 0))
    {
        return NULL;
    }

    return "the charset is not the content-type's charset=";
}


static int
fuzz_check_header(mrb_state *mrb, mrb_value key, mrb_value val, void *data)
{
    fuzz_expect_t *e = data;

    mrb_int  i;

    if (!mrb_array_p(val)) {
        fuzz_check_line(e, key, val);
        return e->fail != NULL;
    }

    for (i = 0; i < RARRAY_LEN(val) && e->fail == NULL; i++) {
        fuzz_check_line(e, key, RARRAY_PTR(val)[i]);
    }

    return e->fail != NULL;
}


/* one name: value of the triple against the next line nginx has */

static void
fuzz_check_line(fuzz_expect_t *e, mrb_value key, mrb_value val)
{
    ngx_uint_t        k;
    ngx_table_elt_t  *h;

    if (fuzz_is(key, "content-length") || fuzz_is(key, "transfer-encoding")
        || fuzz_is(key, "connection"))
    {
        return;
    }

    if (fuzz_is(key, "content-type")) {
        e->content_type.data = (u_char *) RSTRING_PTR(val);
        e->content_type.len = RSTRING_LEN(val);
        return;
    }

    if (e->i >= e->part->nelts) {
        if (e->part->next == NULL) {
            e->fail = "a header line of the triple is missing";
            return;
        }

        e->part = e->part->next;
        e->i = 0;
    }

    h = (ngx_table_elt_t *) e->part->elts + e->i++;

    if (h->hash == 0
        || h->key.len != (size_t) RSTRING_LEN(key)
        || ngx_memcmp(h->key.data, RSTRING_PTR(key), h->key.len) != 0
        || h->value.len != (size_t) RSTRING_LEN(val)
        || ngx_memcmp(h->value.data, RSTRING_PTR(val), h->value.len) != 0
        || h->value.data[h->value.len] != '\0')
    {
        e->fail = "a header line is not the triple's";
        return;
    }

    for (k = 0; k < fuzz_nelts(fuzz_special); k++) {
        if (fuzz_is(key, fuzz_special[k])) {
            e->last[k] = h;
        }
    }
}


static void
fuzz_fail(mrb_state *mrb, mrb_value triple, mrb_value exc, const char *what)
{
    mrb_value  s;

    fprintf(stderr, "fuzz/response: %s\n", what);

    if (!mrb_nil_p(exc)) {
        s = mrb_inspect(mrb, exc);
        fprintf(stderr, "exception: %.*s\n", (int) RSTRING_LEN(s),
                RSTRING_PTR(s));
    }

    s = mrb_inspect(mrb, triple);
    fprintf(stderr, "value: %.*s\n", (int) RSTRING_LEN(s), RSTRING_PTR(s));

    abort();
}
