# Which processes run scripts: workers only.  The master compiles and
# never runs user code; the cache manager and cache loader, which a
# proxy_cache_path brings, get no isolates, no pool and no CPU timer.

use Test::Nginx::Socket;

# under valgrind the master would be checked, and nginx's master leaks
# its environment copy by design (t/valgrind.suppress covers only what
# single-process nginx reports)
if ($ENV{TEST_NGINX_USE_VALGRIND}) {
    plan skip_all => 'needs a master process, which valgrind mode checks';
}

repeat_each(1);
plan 'no_plan';
master_on();
workers(1);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: with a cache, only the worker preloads: one isolate is created
--- http_config
    proxy_cache_path cache keys_zone=c:1m;
    isolate_pool 1;
--- config
    location /t {
        isolate_preload on;
        isolate_script_code 'def call(req) = [200, {}, ["ok\n"]]';
    }
--- request
GET /t
--- response_body
ok
--- wait: 0.2
--- grep_error_log eval: qr/isolate: "[^"]*": created in/
--- grep_error_log_out eval
qr/\A(isolate: "[^"]*": created in\n){1}\z/
