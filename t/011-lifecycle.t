# The life of isolates in a worker: the pool of blank isolates, preload,
# eviction by isolate_max and by isolate_idle_timeout.

use Test::Nginx::Socket;

repeat_each(1);
plan 'no_plan';
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a cold start is served from the pool, which is refilled
--- config
    location /s {
        isolate_script_code 'def call(req) = [200, {}, ["s\n"]]';
    }
    location /status {
        isolate_status;
    }
    location = /nothing {
        return 200;
    }
--- request eval
["GET /nothing", "GET /status", "GET /s", "GET /status"]
--- response_body_like eval
["",
 '"pool":\{"size":4,"ready":4\}.*"pool_hits":0,"pool_misses":0',
 "s",
 '"pool":\{"size":4,"ready":4\}.*"created":1,.*"pool_hits":1,"pool_misses":0']
--- wait: 0.2



=== TEST 2: isolate_pool sets the pool's size
--- http_config
    isolate_pool 2;
--- config
    location /s {
        isolate_script_code 'def call(req) = [200, {}, ["s\n"]]';
    }
    location /status {
        isolate_status;
    }
--- request eval
["GET /s", "GET /status"]
--- response_body_like eval
["s", '"pool":\{"size":2,"ready":2\}.*"pool_hits":1,"pool_misses":0']



=== TEST 3: isolate_pool 0: every cold start opens a new state
--- http_config
    isolate_pool 0;
--- config
    location /s {
        isolate_script_code 'def call(req) = [200, {}, ["s\n"]]';
    }
    location /status {
        isolate_status;
    }
--- request eval
["GET /s", "GET /status"]
--- response_body_like eval
["s", '"pool":\{"size":0,"ready":0\}.*"pool_hits":0,"pool_misses":1']



=== TEST 4: a state set up by the top level from a pooled isolate is the script's own
--- config
    location /a {
        isolate_script_code '$who = "a"
            def call(req) = [200, {}, ["#{$who} #{Object.const_defined?(:B_ONLY)}\n"]]';
    }
    location /b {
        isolate_script_code 'B_ONLY = 1; $who = "b"
            def call(req) = [200, {}, ["#{$who}\n"]]';
    }
--- request eval
["GET /b", "GET /a", "GET /b"]
--- response_body eval
["b\n", "a false\n", "b\n"]



=== TEST 5: isolate_preload creates the isolate when the worker starts
--- config
    location /p {
        isolate_preload on;
        isolate_script_code 'Isolate.log(:warn, "preloaded top level")
            def call(req) = [200, {}, ["p\n"]]';
    }
    location /status {
        isolate_status;
    }
--- request
GET /status
--- response_body_like chomp
"live":1,.*"isolates":\[\{"script":"[^"]*nginx\.conf:\d+","created_at":\d+,"cold_start_us":\d+,"requests":0,
--- error_log eval
[qr/\[warn\] .*preloaded top level/,
 qr/\[info\] .*isolate: ".*nginx\.conf:\d+": created in \d+us/]



=== TEST 6: without preload nothing is created before the first request
--- config
    location /p {
        isolate_script_code 'def call(req) = [200, {}, ["p\n"]]';
    }
    location /status {
        isolate_status;
    }
--- request
GET /status
--- response_body_like chomp
"live":0,.*"isolates":\[\]
--- no_error_log
created in



=== TEST 7: isolate_max 2 with three scripts: the least recently used goes
--- http_config
    isolate_max 2;
--- config
    location /a {
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["a#{$n += 1}\n"]]';
    }
    location /b {
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["b#{$n += 1}\n"]]';
    }
    location /c {
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["c#{$n += 1}\n"]]';
    }
--- request eval
["GET /a", "GET /b", "GET /a", "GET /c", "GET /a", "GET /b"]
--- response_body eval
["a1\n", "b1\n", "a2\n", "c1\n", "a3\n", "b1\n"]



=== TEST 8: eviction is logged at notice with its reason
--- http_config
    isolate_max 1;
--- config
    location /a {
        isolate_preload on;
        isolate_script_code 'def call(req) = [200, {}, ["a\n"]]';
    }
    location /b {
        isolate_script_code 'def call(req) = [200, {}, ["b\n"]]';
    }
--- request
GET /b
--- response_body
b
--- error_log eval
qr/\[notice\] .*isolate: ".*nginx\.conf:\d+": discarded: isolate_max reached/



=== TEST 9: isolate_idle_timeout discards an isolate left unused
--- http_config
    isolate_idle_timeout 200ms;
--- config
    location /a {
        isolate_script_code 'def call(req) = [200, {}, ["a\n"]]';
    }
--- request
GET /a
--- wait: 1
--- error_log eval
qr/\[notice\] .*isolate: ".*nginx\.conf:\d+": discarded: isolate_idle_timeout/



=== TEST 10: isolates in use stay with isolate_idle_timeout off (the default)
--- config
    location /a {
        isolate_script_code 'def call(req) = [200, {}, ["a\n"]]';
    }
--- request
GET /a
--- wait: 0.5
--- no_error_log
discarded
