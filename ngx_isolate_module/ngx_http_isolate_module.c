
/*
 * ngx_isolate_module: directives, configuration and process hooks.
 *
 * Each location's Ruby script runs in an isolate of its own (its own
 * mrb_state) inside the worker.  Scripts are compiled here, by the
 * master, when the configuration is read; workers only load bytecode.
 */


#include "ngx_http_isolate.h"


static void *ngx_http_isolate_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_isolate_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_isolate_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_isolate_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_isolate_script(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_isolate_script_code(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_isolate_add_script(ngx_conf_t *cf,
    ngx_http_isolate_loc_conf_t *ilcf, ngx_str_t *name, ngx_str_t *file,
    ngx_uint_t inline_code, ngx_str_t *source);
static char *ngx_http_isolate_set_msec_or_off(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_isolate_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_isolate_init_process(ngx_cycle_t *cycle);
static void ngx_http_isolate_exit_process(ngx_cycle_t *cycle);


static ngx_conf_num_bounds_t  ngx_http_isolate_max_bounds = {
    ngx_conf_check_num_bounds, 1, NGX_MAX_INT_T_VALUE
};


static ngx_command_t  ngx_http_isolate_commands[] = {

    { ngx_string("isolate_script"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_isolate_script,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("isolate_script_code"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_isolate_script_code,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("isolate_memory_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_isolate_loc_conf_t, memory_limit),
      NULL },

    { ngx_string("isolate_cpu_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_isolate_set_msec_or_off,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_isolate_loc_conf_t, cpu_limit),
      NULL },

    { ngx_string("isolate_start_cpu_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_isolate_set_msec_or_off,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_isolate_loc_conf_t, start_cpu_limit),
      NULL },

    { ngx_string("isolate_preload"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_isolate_loc_conf_t, preload),
      NULL },

    { ngx_string("isolate_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_isolate_main_conf_t, pool_size),
      NULL },

    { ngx_string("isolate_max"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_isolate_main_conf_t, max),
      &ngx_http_isolate_max_bounds },

    { ngx_string("isolate_idle_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_isolate_set_msec_or_off,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_isolate_main_conf_t, idle_timeout),
      NULL },

    { ngx_string("isolate_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_isolate_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_isolate_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_isolate_postconfiguration,    /* postconfiguration */

    ngx_http_isolate_create_main_conf,     /* create main configuration */
    ngx_http_isolate_init_main_conf,       /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_isolate_create_loc_conf,      /* create location configuration */
    ngx_http_isolate_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_isolate_module = {
    NGX_MODULE_V1,
    &ngx_http_isolate_module_ctx,          /* module context */
    ngx_http_isolate_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_isolate_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_isolate_exit_process,         /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_isolate_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_isolate_main_conf_t  *imcf;

    imcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_isolate_main_conf_t));
    if (imcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&imcf->scripts, cf->pool, 4,
                       sizeof(ngx_http_isolate_script_t *))
        != NGX_OK)
    {
        return NULL;
    }

    imcf->pool_size = NGX_CONF_UNSET_UINT;
    imcf->max = NGX_CONF_UNSET_UINT;
    imcf->idle_timeout = NGX_CONF_UNSET_MSEC;

    return imcf;
}


static char *
ngx_http_isolate_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_isolate_main_conf_t *imcf = conf;

    ngx_conf_init_uint_value(imcf->pool_size, 4);
    ngx_conf_init_uint_value(imcf->max, 0);
    ngx_conf_init_msec_value(imcf->idle_timeout, 0);

    return NGX_CONF_OK;
}


static void *
ngx_http_isolate_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_isolate_loc_conf_t  *ilcf;

    ilcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_isolate_loc_conf_t));
    if (ilcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     ilcf->script = NULL;
     */

    ilcf->memory_limit = NGX_CONF_UNSET_SIZE;
    ilcf->cpu_limit = NGX_CONF_UNSET_MSEC;
    ilcf->start_cpu_limit = NGX_CONF_UNSET_MSEC;
    ilcf->preload = NGX_CONF_UNSET;

    return ilcf;
}


static char *
ngx_http_isolate_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_isolate_loc_conf_t *prev = parent;
    ngx_http_isolate_loc_conf_t *conf = child;

    ngx_conf_merge_size_value(conf->memory_limit, prev->memory_limit,
                              32 * 1024 * 1024);
    ngx_conf_merge_msec_value(conf->cpu_limit, prev->cpu_limit, 50);
    ngx_conf_merge_msec_value(conf->start_cpu_limit, prev->start_cpu_limit,
                              1000);
    ngx_conf_merge_value(conf->preload, prev->preload, 0);

    /* the script itself, a content handler, is not inherited */

    if (conf->script) {
        conf->script->memory_limit = conf->memory_limit;
        conf->script->cpu_limit = conf->cpu_limit;
        conf->script->start_cpu_limit = conf->start_cpu_limit;
        conf->script->preload = conf->preload;
    }

    return NGX_CONF_OK;
}


/* TIME or "off" (0) */

static char *
ngx_http_isolate_set_msec_or_off(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_str_t   *value;
    ngx_msec_t  *msp;

    msp = (ngx_msec_t *) (p + cmd->offset);

    if (*msp != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        *msp = 0;
        return NGX_CONF_OK;
    }

    *msp = ngx_parse_time(&value[1], 0);

    if (*msp == (ngx_msec_t) NGX_ERROR || *msp == 0) {
        return "invalid value";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_isolate_script(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_isolate_loc_conf_t *ilcf = conf;

    u_char           *p;
    size_t            size;
    ssize_t           n;
    ngx_str_t        *value, path, source;
    ngx_file_t        file;
    ngx_file_info_t   fi;

    value = cf->args->elts;
    path = value[1];

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = path;
    file.log = cf->log;

    file.fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &path);
        return NGX_CONF_ERROR;
    }

    p = NULL;
    n = NGX_ERROR;
    size = 0;

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", &path);

    } else {
        size = (size_t) ngx_file_size(&fi);
        p = ngx_pnalloc(cf->temp_pool, size + 1);

        if (p != NULL) {
            n = ngx_read_file(&file, p, size, 0);
        }
    }

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", &path);
    }

    if (p == NULL || n == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    if ((size_t) n != size) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "isolate_script: \"%V\" changed while reading",
                           &path);
        return NGX_CONF_ERROR;
    }

    source.data = p;
    source.len = size;

    return ngx_http_isolate_add_script(cf, ilcf, &path, &path, 0, &source);
}


static char *
ngx_http_isolate_script_code(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_isolate_loc_conf_t *ilcf = conf;

    ngx_str_t   *value, name, file;

    value = cf->args->elts;

    /*
     * Named as nginx names the directive in its own messages; lines in
     * backtraces count from the code's first line, since nginx's escape
     * processing makes the code's nginx.conf lines unknowable.
     */

    name.len = cf->conf_file->file.name.len + NGX_INT_T_LEN + 1;
    name.data = ngx_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return NGX_CONF_ERROR;
    }

    name.len = ngx_sprintf(name.data, "%V:%ui", &cf->conf_file->file.name,
                           cf->conf_file->line)
               - name.data;

    ngx_str_set(&file, "isolate_script_code");

    return ngx_http_isolate_add_script(cf, ilcf, &name, &file, 1, &value[1]);
}


static char *
ngx_http_isolate_add_script(ngx_conf_t *cf, ngx_http_isolate_loc_conf_t *ilcf,
    ngx_str_t *name, ngx_str_t *file, ngx_uint_t inline_code,
    ngx_str_t *source)
{
    char                           *rv;
    u_char                         *filename;
    ngx_http_isolate_script_t      *script, **sp;
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_isolate_main_conf_t   *imcf;

    if (ilcf->script) {
        return "is duplicate";
    }

    imcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_isolate_module);

    script = ngx_pcalloc(cf->pool, sizeof(ngx_http_isolate_script_t));
    if (script == NULL) {
        return NGX_CONF_ERROR;
    }

    script->name.data = ngx_pstrdup(cf->pool, name);
    if (script->name.data == NULL) {
        return NGX_CONF_ERROR;
    }
    script->name.len = name->len;

    /* the file name that backtraces show, as a C string */

    filename = ngx_pnalloc(cf->temp_pool, file->len + 1);
    if (filename == NULL) {
        return NGX_CONF_ERROR;
    }
    (void) ngx_cpystrn(filename, file->data, file->len + 1);

    rv = ngx_http_isolate_compile(cf, imcf, script, source,
                                  (const char *) filename, inline_code);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    sp = ngx_array_push(&imcf->scripts);
    if (sp == NULL) {
        return NGX_CONF_ERROR;
    }
    *sp = script;

    ilcf->script = script;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_isolate_content_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_isolate_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_isolate_main_conf_t  *imcf;

    /* every script is compiled by now: the compiler is not needed again */

    imcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_isolate_module);
    ngx_http_isolate_compiler_close(imcf);

    return NGX_OK;
}


static ngx_int_t
ngx_http_isolate_init_process(ngx_cycle_t *cycle)
{
    ngx_http_isolate_main_conf_t  *imcf;

    imcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_isolate_module);

    /*
     * a worker with no scripts pays nothing: no timer, no pool; the
     * cache manager and loader run no scripts at all
     */

    if (imcf == NULL || imcf->scripts.nelts == 0
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        return NGX_OK;
    }

    if (ngx_http_isolate_limits_init_worker(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_isolate_vm_init_worker(cycle, imcf);
}


static void
ngx_http_isolate_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_isolate_limits_exit_worker();
    ngx_http_isolate_vm_exit_worker();
}
