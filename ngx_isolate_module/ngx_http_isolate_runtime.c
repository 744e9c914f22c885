
/*
 * ngx_isolate_module: the runtime every isolate gets.
 *
 * The sandbox is mostly made at build time: the gems that reach the OS
 * are not compiled in (see mruby_config.rb), so File, IO, Dir, Socket,
 * Process, ENV, system, `...`, exit, sleep, require and load do not
 * exist.  Here we add the Isolate module and output that goes to the
 * nginx error log, since a worker has no stdout.
 */


#include "ngx_http_isolate.h"

#include <mruby/array.h>
#include <mruby/string.h>


#define NGX_HTTP_ISOLATE_PUTS_DEPTH  64


static mrb_value ngx_http_isolate_log(mrb_state *mrb, mrb_value self);
static mrb_value ngx_http_isolate_p(mrb_state *mrb, mrb_value self);
static mrb_value ngx_http_isolate_puts(mrb_state *mrb, mrb_value self);
static mrb_value ngx_http_isolate_print(mrb_state *mrb, mrb_value self);
static void ngx_http_isolate_puts_value(mrb_state *mrb, mrb_value v,
    struct RArray **path, ngx_uint_t depth);
static void ngx_http_isolate_log_text(mrb_state *mrb, ngx_uint_t level,
    mrb_value text);


typedef struct {
    const char  *name;
    ngx_uint_t   level;
} ngx_http_isolate_log_level_t;


static ngx_http_isolate_log_level_t  ngx_http_isolate_log_levels[] = {
    { "debug",  NGX_LOG_DEBUG },
    { "info",   NGX_LOG_INFO },
    { "notice", NGX_LOG_NOTICE },
    { "warn",   NGX_LOG_WARN },
    { "error",  NGX_LOG_ERR },
    { NULL, 0 }
};


void
ngx_http_isolate_runtime_init(mrb_state *mrb)
{
    struct RClass  *isolate;

    /* core defines `...` only to raise NotImplementedError: remove it */
    mrb_undef_method(mrb, mrb->kernel_module, "`");

    isolate = mrb_define_module(mrb, "Isolate");

    /* not a StandardError: a bare rescue does not even see it go by */
    (void) mrb_define_class_under(mrb, isolate, "CPULimitExceeded",
                                  mrb->eException_class);

    mrb_define_module_function(mrb, isolate, "log", ngx_http_isolate_log,
                               MRB_ARGS_REQ(2));

    mrb_define_module_function(mrb, mrb->kernel_module, "p",
                               ngx_http_isolate_p, MRB_ARGS_ANY());
    mrb_define_module_function(mrb, mrb->kernel_module, "puts",
                               ngx_http_isolate_puts, MRB_ARGS_ANY());
    mrb_define_module_function(mrb, mrb->kernel_module, "print",
                               ngx_http_isolate_print, MRB_ARGS_ANY());
}


/* Isolate.log(level, message) */

static mrb_value
ngx_http_isolate_log(mrb_state *mrb, mrb_value self)
{
    mrb_sym                        level;
    mrb_value                      msg;
    const char                    *name;
    ngx_http_isolate_log_level_t  *l;

    mrb_get_args(mrb, "nS", &level, &msg);

    name = mrb_sym_name(mrb, level);

    for (l = ngx_http_isolate_log_levels; l->name; l++) {
        if (ngx_strcmp(name, l->name) == 0) {
            ngx_http_isolate_log_text(mrb, l->level, msg);
            return mrb_nil_value();
        }
    }

    mrb_raisef(mrb, E_ARGUMENT_ERROR,
               "unknown log level :%s (debug, info, notice, warn, error)",
               name);

    return mrb_nil_value();
}


/* p(obj, ...): each inspect at notice; returns its argument(s) */

static mrb_value
ngx_http_isolate_p(mrb_state *mrb, mrb_value self)
{
    mrb_int     argc, i;
    mrb_value  *argv;

    mrb_get_args(mrb, "*", &argv, &argc);

    for (i = 0; i < argc; i++) {
        ngx_http_isolate_log_text(mrb, NGX_LOG_NOTICE,
                                  mrb_inspect(mrb, argv[i]));
    }

    if (argc == 0) {
        return mrb_nil_value();
    }

    return argc == 1 ? argv[0] : mrb_ary_new_from_values(mrb, argc, argv);
}


/* puts(obj, ...): a line each, arrays flattened, like Kernel#puts */

static mrb_value
ngx_http_isolate_puts(mrb_state *mrb, mrb_value self)
{
    mrb_int         argc, i;
    mrb_value      *argv;
    struct RArray  *path[NGX_HTTP_ISOLATE_PUTS_DEPTH];

    mrb_get_args(mrb, "*", &argv, &argc);

    if (argc == 0) {
        ngx_http_isolate_log_text(mrb, NGX_LOG_NOTICE, mrb_str_new_lit(mrb, ""));
        return mrb_nil_value();
    }

    for (i = 0; i < argc; i++) {
        ngx_http_isolate_puts_value(mrb, argv[i], path, 0);
    }

    return mrb_nil_value();
}


/*
 * Arrays are walked here, not with Array#flatten, which a script may
 * redefine to return anything.  An Array inside itself, or nested past
 * the C stack we allow, is printed as "[...]", as Kernel#puts does.
 */

static void
ngx_http_isolate_puts_value(mrb_state *mrb, mrb_value v, struct RArray **path,
    ngx_uint_t depth)
{
    int                     ai;
    mrb_int                 i;
    ngx_uint_t              n;
    ngx_http_isolate_vm_t  *vm;

    if (!mrb_array_p(v)) {
        ngx_http_isolate_log_text(mrb, NGX_LOG_NOTICE,
                                  mrb_obj_as_string(mrb, v));
        return;
    }

    for (n = 0; n < depth; n++) {
        if (path[n] == mrb_ary_ptr(v)) {
            break;
        }
    }

    if (n < depth || depth == NGX_HTTP_ISOLATE_PUTS_DEPTH) {
        ngx_http_isolate_log_text(mrb, NGX_LOG_NOTICE,
                                  mrb_str_new_lit(mrb, "[...]"));
        return;
    }

    path[depth] = mrb_ary_ptr(v);
    vm = mrb->ud;

    /*
     * to_s may change the Array, or drop every other reference to it:
     * it is kept in the arena, and its length is read again each time
     */

    mrb_gc_protect(mrb, v);
    ai = mrb_gc_arena_save(mrb);

    for (i = 0; i < RARRAY_LEN(v); i++) {

        /* no VM instruction runs in a long C loop: poll the CPU limit */

        if (vm->cpu_exceeded) {
            mrb_exc_raise(mrb, vm->cpu_exc);
        }

        ngx_http_isolate_puts_value(mrb, RARRAY_PTR(v)[i], path, depth + 1);
        mrb_gc_arena_restore(mrb, ai);
    }
}


/* print(obj, ...): one entry, the arguments concatenated */

static mrb_value
ngx_http_isolate_print(mrb_state *mrb, mrb_value self)
{
    mrb_int     argc, i;
    mrb_value  *argv, text;

    mrb_get_args(mrb, "*", &argv, &argc);

    text = mrb_str_new_lit(mrb, "");

    for (i = 0; i < argc; i++) {
        mrb_str_cat_str(mrb, text, mrb_obj_as_string(mrb, argv[i]));
    }

    ngx_http_isolate_log_text(mrb, NGX_LOG_NOTICE, text);

    return mrb_nil_value();
}


static void
ngx_http_isolate_log_text(mrb_state *mrb, ngx_uint_t level, mrb_value text)
{
    size_t                  len;
    u_char                  buf[NGX_MAX_ERROR_STR];
    ngx_http_isolate_vm_t  *vm;

    vm = mrb->ud;

    if (!mrb_string_p(text)) {
        return;
    }

    len = RSTRING_LEN(text);

    /* one entry per call: a trailing newline would only add a blank */

    if (len && RSTRING_PTR(text)[len - 1] == '\n') {
        len--;
    }

    len = ngx_http_isolate_log_escape(buf, sizeof(buf),
                                      (u_char *) RSTRING_PTR(text), len);

    ngx_log_error(level, vm->log, 0, "isolate: \"%V\": %*s",
                  &vm->script->name, len, buf);
}


/*
 * What a script logs is escaped: a CR or LF in it would start what
 * looks like a line of nginx's own.  Control bytes become \n, \r or
 * \xHH; the rest, invalid UTF-8 included, is kept.  Returns the length
 * written to dst, at most size: nginx cuts a log line there anyway.
 */

size_t
ngx_http_isolate_log_escape(u_char *dst, size_t size, u_char *src, size_t len)
{
    u_char         *d, *end, *last;
    static u_char   hex[] = "0123456789abcdef";

    d = dst;
    end = dst + size;
    last = src + len;

    for ( /* void */ ; src < last && end - d >= 4; src++) {

        if ((*src >= ' ' && *src != 0x7f) || *src == '\t') {
            *d++ = *src;
            continue;
        }

        *d++ = '\\';

        switch (*src) {
        case '\n':
            *d++ = 'n';
            break;
        case '\r':
            *d++ = 'r';
            break;
        default:
            *d++ = 'x';
            *d++ = hex[*src >> 4];
            *d++ = hex[*src & 0xf];
        }
    }

    return d - dst;
}
