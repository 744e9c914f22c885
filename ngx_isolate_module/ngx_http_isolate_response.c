
/*
 * ngx_isolate_module: the response, from call's [status, headers, body].
 *
 * The triple is checked whole before nginx's response is touched, so
 * a bad one gives a 500 with a message saying exactly what was wrong.
 * The body is copied out of the isolate's heap: nginx may send it long
 * after the Ruby objects are gone.
 */


#include "ngx_http_isolate.h"

#include <mruby/array.h>
#include <mruby/hash.h>
#include <mruby/string.h>


typedef struct {
    ngx_http_request_t  *request;
    ngx_str_t           *err;
    ngx_int_t            rc;
    size_t               size;      /* of all names and values */
} ngx_http_isolate_headers_ctx_t;


/* RFC 9110 tchar: "!#$%&'*+-.^_`|~", digits and letters */

static uint32_t  ngx_http_isolate_tchar[] = {
    0x00000000, /* 0000 0000 0000 0000  0000 0000 0000 0000 */

                /* ?>=< ;:98 7654 3210  /.-, +*)( '&%$ #"!  */
    0x03ff6cfa, /* 0000 0011 1111 1111  0110 1100 1111 1010 */

                /* _^]\ [ZYX WVUT SRQP  ONML KJIH GFED CBA@ */
    0xc7fffffe, /* 1100 0111 1111 1111  1111 1111 1111 1110 */

                /*  ~}| {zyx wvut srqp  onml kjih gfed cba` */
    0x57ffffff, /* 0101 0111 1111 1111  1111 1111 1111 1111 */

    0x00000000, 0x00000000, 0x00000000, 0x00000000  /* not ASCII */
};


static int ngx_http_isolate_header_check(mrb_state *mrb, mrb_value key,
    mrb_value val, void *data);
static int ngx_http_isolate_header_set(mrb_state *mrb, mrb_value key,
    mrb_value val, void *data);
static ngx_int_t ngx_http_isolate_header_add(ngx_http_request_t *r,
    mrb_value key, mrb_value val);
static ngx_int_t ngx_http_isolate_value_check(mrb_state *mrb,
    mrb_value name, mrb_value v, ngx_str_t *err, ngx_pool_t *pool);
static void ngx_http_isolate_content_type(ngx_http_request_t *r,
    ngx_str_t *value);
static ngx_int_t ngx_http_isolate_error(ngx_pool_t *pool, ngx_str_t *err,
    mrb_state *mrb, const char *fmt, ...);


/*
 * Returns NGX_OK with the body in *out; NGX_DECLINED with the reason in
 * *err; NGX_BUSY, with the reason, for a response larger than max, the
 * isolate's memory limit (0: none): the copy nginx sends is made outside
 * the isolate's heap, and one String repeated in the body Array would
 * multiply it; or NGX_ERROR.
 */

ngx_int_t
ngx_http_isolate_response_set(ngx_http_request_t *r, mrb_state *mrb,
    mrb_value triple, size_t max, ngx_chain_t **out, ngx_str_t *err)
{
    off_t                            len;
    mrb_int                          i, status;
    mrb_value                        headers, body, part;
    ngx_buf_t                       *b;
    ngx_chain_t                     *cl;
    ngx_http_isolate_headers_ctx_t   hc;

    if (!mrb_array_p(triple) || RARRAY_LEN(triple) != 3) {
        return ngx_http_isolate_error(r->pool, err, mrb,
                   "call must return [status, headers, body], got %!v",
                   triple);
    }

    headers = RARRAY_PTR(triple)[1];
    body = RARRAY_PTR(triple)[2];

    if (!mrb_integer_p(RARRAY_PTR(triple)[0])) {
        return ngx_http_isolate_error(r->pool, err, mrb,
                   "status must be an Integer in 200..599, got %!v",
                   RARRAY_PTR(triple)[0]);
    }

    status = mrb_integer(RARRAY_PTR(triple)[0]);

    /* a 1xx is an interim response: the body would pass for the next */

    if (status < 200 || status > 599) {
        return ngx_http_isolate_error(r->pool, err, mrb,
                   "status must be an Integer in 200..599, got %i", status);
    }

    if (!mrb_hash_p(headers)) {
        return ngx_http_isolate_error(r->pool, err, mrb,
                   "headers must be a Hash, got %Y", headers);
    }

    hc.request = r;
    hc.err = err;
    hc.rc = NGX_OK;
    hc.size = 0;

    mrb_hash_foreach(mrb, mrb_hash_ptr(headers),
                     ngx_http_isolate_header_check, &hc);
    if (hc.rc != NGX_OK) {
        return hc.rc;
    }

    len = 0;

    if (mrb_string_p(body)) {
        len = RSTRING_LEN(body);

    } else if (mrb_array_p(body)) {
        for (i = 0; i < RARRAY_LEN(body); i++) {
            part = RARRAY_PTR(body)[i];

            if (!mrb_string_p(part)) {
                return ngx_http_isolate_error(r->pool, err, mrb,
                           "body must be a String or an Array of Strings, "
                           "got %Y at index %i", part, i);
            }

            len += RSTRING_LEN(part);
        }

    } else {
        return ngx_http_isolate_error(r->pool, err, mrb,
                   "body must be a String or an Array of Strings, got %Y",
                   body);
    }

    if (max && (size_t) len + hc.size > max) {
        (void) ngx_http_isolate_error(r->pool, err, mrb,
                   "the response (body %i bytes, headers %i bytes) is larger "
                   "than the memory limit of %i bytes", (mrb_int) len,
                   (mrb_int) hc.size, (mrb_int) max);
        return NGX_BUSY;
    }

    /* valid: now fill in nginx's response */

    r->headers_out.status = (ngx_uint_t) status;
    r->headers_out.content_length_n = len;

    mrb_hash_foreach(mrb, mrb_hash_ptr(headers),
                     ngx_http_isolate_header_set, &hc);
    if (hc.rc != NGX_OK) {
        return hc.rc;
    }

    if (r->headers_out.content_type.len == 0
        && ngx_http_set_content_type(r) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (len == 0) {
        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_ERROR;
        }

    } else {
        b = ngx_create_temp_buf(r->pool, (size_t) len);
        if (b == NULL) {
            return NGX_ERROR;
        }

        if (mrb_string_p(body)) {
            b->last = ngx_cpymem(b->last, RSTRING_PTR(body),
                                 RSTRING_LEN(body));

        } else {
            for (i = 0; i < RARRAY_LEN(body); i++) {
                part = RARRAY_PTR(body)[i];
                b->last = ngx_cpymem(b->last, RSTRING_PTR(part),
                                     RSTRING_LEN(part));
            }
        }
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    /* an empty buffer that ends nothing would be a "zero size buf" */

    if (len == 0 && !b->last_buf) {
        b->sync = 1;
    }

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;
    *out = cl;

    return NGX_OK;
}


static int
ngx_http_isolate_header_check(mrb_state *mrb, mrb_value key, mrb_value val,
    void *data)
{
    ngx_http_isolate_headers_ctx_t *hc = data;

    u_char     *p, *last;
    mrb_int     i;
    ngx_pool_t *pool;

    pool = hc->request->pool;

    if (!mrb_string_p(key)) {
        hc->rc = ngx_http_isolate_error(pool, hc->err, mrb,
                     "header name must be a String, got %!v", key);
        return 1;
    }

    p = (u_char *) RSTRING_PTR(key);
    last = p + RSTRING_LEN(key);

    if (p == last) {
        hc->rc = ngx_http_isolate_error(pool, hc->err, mrb,
                                        "header name is empty");
        return 1;
    }

    /* a token (RFC 9110): no separators, controls or spaces */

    for ( /* void */ ; p < last; p++) {
        if ((ngx_http_isolate_tchar[*p >> 5] & (1U << (*p & 0x1f))) == 0) {
            hc->rc = ngx_http_isolate_error(pool, hc->err, mrb,
                         "header name %!v is not a valid token", key);
            return 1;
        }
    }

    if (mrb_array_p(val)) {
        for (i = 0; i < RARRAY_LEN(val); i++) {
            hc->rc = ngx_http_isolate_value_check(mrb, key,
                                                  RARRAY_PTR(val)[i],
                                                  hc->err, pool);
            if (hc->rc != NGX_OK) {
                return 1;
            }

            hc->size += RSTRING_LEN(key) + RSTRING_LEN(RARRAY_PTR(val)[i]);
        }

        return 0;
    }

    hc->rc = ngx_http_isolate_value_check(mrb, key, val, hc->err, pool);
    if (hc->rc != NGX_OK) {
        return 1;
    }

    hc->size += RSTRING_LEN(key) + RSTRING_LEN(val);

    return 0;
}


static ngx_int_t
ngx_http_isolate_value_check(mrb_state *mrb, mrb_value name, mrb_value v,
    ngx_str_t *err, ngx_pool_t *pool)
{
    u_char  *p, *last;

    if (!mrb_string_p(v)) {

        /* name.inspect may drop every other reference to v */
        mrb_gc_protect(mrb, v);

        return ngx_http_isolate_error(pool, err, mrb,
                   "header %!v value must be a String or an Array of "
                   "Strings, got %Y", name, v);
    }

    p = (u_char *) RSTRING_PTR(v);
    last = p + RSTRING_LEN(v);

    /* no response splitting */

    for ( /* void */ ; p < last; p++) {
        if (*p == CR || *p == LF || *p == '\0') {
            return ngx_http_isolate_error(pool, err, mrb,
                       "header %!v value contains CR, LF or NUL", name);
        }
    }

    return NGX_OK;
}


static int
ngx_http_isolate_header_set(mrb_state *mrb, mrb_value key, mrb_value val,
    void *data)
{
    ngx_http_isolate_headers_ctx_t *hc = data;

    mrb_int  i;

    if (mrb_array_p(val)) {
        for (i = 0; i < RARRAY_LEN(val); i++) {
            if (ngx_http_isolate_header_add(hc->request, key,
                                            RARRAY_PTR(val)[i])
                != NGX_OK)
            {
                hc->rc = NGX_ERROR;
                return 1;
            }
        }

        return 0;
    }

    if (ngx_http_isolate_header_add(hc->request, key, val) != NGX_OK) {
        hc->rc = NGX_ERROR;
        return 1;
    }

    return 0;
}


/*
 * Headers nginx itself keeps track of are set where nginx looks for
 * them, so it neither duplicates them (Server, Date) nor misjudges the
 * response (Content-Type, Content-Encoding, Location, ETag,
 * Last-Modified).  Framing is nginx's: Content-Length comes from the
 * body, and Transfer-Encoding and Connection are ignored.
 */

static ngx_int_t
ngx_http_isolate_header_add(ngx_http_request_t *r, mrb_value key,
    mrb_value val)
{
    ngx_str_t         name, value;
    ngx_table_elt_t  *h;

    name.len = RSTRING_LEN(key);
    value.len = RSTRING_LEN(val);

#define ngx_http_isolate_is(s)                                               \
    (name.len == sizeof(s) - 1                                               \
     && ngx_strncasecmp((u_char *) RSTRING_PTR(key), (u_char *) s,           \
                        sizeof(s) - 1) == 0)

    if (ngx_http_isolate_is("content-length")
        || ngx_http_isolate_is("transfer-encoding")
        || ngx_http_isolate_is("connection"))
    {
        return NGX_OK;
    }

    name.data = ngx_pnalloc(r->pool, name.len + value.len + 1);
    if (name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(name.data, RSTRING_PTR(key), name.len);
    value.data = name.data + name.len;
    ngx_memcpy(value.data, RSTRING_PTR(val), value.len);
    value.data[value.len] = '\0';

    if (ngx_http_isolate_is("content-type")) {
        ngx_http_isolate_content_type(r, &value);
        return NGX_OK;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = name;
    h->value = value;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    if (ngx_http_isolate_is("server")) {
        r->headers_out.server = h;

    } else if (ngx_http_isolate_is("date")) {
        r->headers_out.date = h;

    } else if (ngx_http_isolate_is("location")) {
        r->headers_out.location = h;

    } else if (ngx_http_isolate_is("content-encoding")) {
        r->headers_out.content_encoding = h;

    } else if (ngx_http_isolate_is("etag")) {
        r->headers_out.etag = h;

    } else if (ngx_http_isolate_is("last-modified")) {
        r->headers_out.last_modified = h;
        r->headers_out.last_modified_time = ngx_parse_http_time(value.data,
                                                                value.len);
    }

#undef ngx_http_isolate_is

    return NGX_OK;
}


/*
 * As nginx takes a Content-Type from an upstream: with a charset
 * parameter, the type's length stops before it, so *_types directives
 * match "text/html; charset=utf-8" and the charset module sees it.
 */

static void
ngx_http_isolate_content_type(ngx_http_request_t *r, ngx_str_t *value)
{
    u_char  *p, *last, *semicolon;

    r->headers_out.content_type = *value;
    r->headers_out.content_type_len = value->len;
    r->headers_out.content_type_lowcase = NULL;

    /* of the content-types a script sends, the last wins, charset too */
    ngx_str_null(&r->headers_out.charset);

    last = value->data + value->len;

    for (p = value->data; p < last; p++) {

        if (*p != ';') {
            continue;
        }

        semicolon = p;

        while (p + 1 < last && p[1] == ' ') {
            p++;
        }

        if (last - (p + 1) < 8
            || ngx_strncasecmp(p + 1, (u_char *) "charset=", 8) != 0)
        {
            continue;
        }

        p += 1 + 8;

        if (last - p >= 2 && *p == '"' && last[-1] == '"') {
            p++;
            last--;
        }

        r->headers_out.content_type_len = semicolon - value->data;
        r->headers_out.charset.len = last - p;
        r->headers_out.charset.data = p;

        return;
    }
}


/* formats the reason into the request's pool; returns NGX_DECLINED */

static ngx_int_t
ngx_http_isolate_error(ngx_pool_t *pool, ngx_str_t *err, mrb_state *mrb,
    const char *fmt, ...)
{
    va_list    args;
    mrb_value  s;

    va_start(args, fmt);
    s = mrb_vformat(mrb, fmt, args);
    va_end(args);

    err->len = RSTRING_LEN(s);
    err->data = ngx_pnalloc(pool, err->len);
    if (err->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(err->data, RSTRING_PTR(s), err->len);

    return NGX_DECLINED;
}
