# Self-test of the bundled Test::Nginx::Socket runner (t/lib), using only
# core nginx features.  The blocks below check that the runner sends the
# right requests, parses responses and logs correctly; the nested runs at
# the top check that broken expectations are really reported as failures.

use Test::Nginx::Socket;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);

repeat_each(2);

plan tests => repeat_each() * 73 + 19;

# Runs a generated test script with this same runner in a scratch server
# root on another port; returns its TAP output (stdout + stderr).
sub run_child {
    my ($body, %env) = @_;
    my $lib = abs_path(dirname($INC{'Test/Nginx/Socket.pm'}) . '/../..');
    my $dir = tempdir(CLEANUP => 1);
    my $file = "$dir/child.t";
    open my $out, '>', $file or die "cannot write $file: $!";
    print $out $body;
    close $out;
    my $port = server_port() + 1;
    local $ENV{TEST_NGINX_SERVER_PORT} = $port;
    local $ENV{TEST_NGINX_PORT} = $port;
    local $ENV{TEST_NGINX_SERVROOT} = "$dir/servroot";
    local $ENV{TEST_NGINX_USE_VALGRIND};
    local $ENV{TEST_NGINX_RANDOMIZE};
    local $ENV{TEST_NGINX_NO_CLEAN};
    local $ENV{TEST_NGINX_LOAD_MODULES};
    local $ENV{TEST_NGINX_NO_SHUFFLE} = 1;
    local @ENV{keys %env} = values %env;
    return scalar `$^X -I$lib $file 2>&1`;
}

sub tap_result {
    my ($tap, $name_re) = @_;
    return $tap =~ /^(not ok|ok) \d+ - .*$name_re/m ? $1 : 'missing';
}

# 1. deliberately broken expectations must fail, correct ones must pass
my $js_module = '/usr/lib/nginx/modules/ngx_http_js_module.so';
my $tap = run_child(<<'EOT', -f $js_module ? (TEST_NGINX_LOAD_MODULES => $js_module) : ());
use Test::Nginx::Socket 'no_plan';
run_tests();
__DATA__

=== C1: wrong status
--- config
--- request
GET /nope
--- response_body_like: .

=== C2: wrong body
--- config
    location = /t { return 200 "actual\n"; }
--- request
GET /t
--- response_body
expected

=== C3: wrong headers
--- config
    location = /t { add_header X-A real; add_header X-B present; return 200; }
--- request
GET /t
--- response_headers
X-A: wanted
!X-B

=== C4: wrong logs
--- config
    location = /t { return 200; }
--- request
GET /t
--- error_log
this never gets logged
--- no_error_log
http request line

=== C5: timeout without abort
--- config
--- raw_request eval
"GET / HTTP/1.1\r\nHost: localhost\r\n"
--- timeout: 200ms
--- ignore_response

=== C6: must_die but nginx starts
--- config
--- must_die

=== C7: all good
--- config
    location = /t { return 200 "fine"; }
--- request
GET /t
--- response_body chomp
fine
--- no_error_log
[error]

=== C8: dynamic module from TEST_NGINX_LOAD_MODULES
--- skip_eval: 2: !$ENV{TEST_NGINX_LOAD_MODULES}
--- config
    js_var $from_njs njs-var;
    location = /t { return 200 $from_njs; }
--- request
GET /t
--- response_body: njs-var
EOT

is(tap_result($tap, qr/C1: wrong status - status code ok/), 'not ok', 'child: wrong status fails');
is(tap_result($tap, qr/C2: wrong body - response_body - response is expected/), 'not ok',
   'child: wrong body fails');
is(tap_result($tap, qr/C3: wrong headers - header X-A ok/), 'not ok', 'child: wrong header fails');
is(tap_result($tap, qr/C3: wrong headers - header X-B not present/), 'not ok',
   'child: present "!header" fails');
is(tap_result($tap, qr/C4: wrong logs - pattern "this never gets logged" should match/),
   'not ok', 'child: missing error_log pattern fails');
is(tap_result($tap, qr/C4: wrong logs - pattern "http request line" should not match/),
   'not ok', 'child: present no_error_log pattern fails');
is(tap_result($tap, qr/client socket timed out - .*C5: timeout/), 'not ok',
   'child: timeout without abort fails');
is(tap_result($tap, qr/C6: must_die but nginx starts - die as expected/), 'not ok',
   'child: must_die with a working config fails');
is(tap_result($tap, qr/C7: all good - status code ok/), 'ok', 'child: good status passes');
is(tap_result($tap, qr/C7: all good - response_body - response is expected/), 'ok',
   'child: good body passes');
like($tap, qr/^1\.\.17$/m, 'child: no_plan prints the plan at the end')
    or diag $tap;
if (-f $js_module) {
    is(tap_result($tap, qr/C8: dynamic module .* - response_body/), 'ok',
       'child: TEST_NGINX_LOAD_MODULES loads the module') or diag $tap;
} else {
    like($tap, qr/^ok \d+ # skip .*C8: dynamic module/m, 'child: skip_eval skips');
}
like($tap, qr/strings begin to differ at char 1 \(line 1 column 1\)/,
     'child: long string diagnostics');

# 2. --- ONLY runs a single block
$tap = run_child(<<'EOT');
use Test::Nginx::Socket;
plan tests => blocks() * 2;
run_tests();
__DATA__

=== O1: skipped because of ONLY
--- config
--- request
GET /nope
--- response_body: never

=== O2: the only one
--- config
    location = /t { return 200 "only"; }
--- request
GET /t
--- response_body: only
--- ONLY
EOT
like($tap, qr/^1\.\.2$/m, 'ONLY: blocks() counts one block');
unlike($tap, qr/^not ok/m, 'ONLY: other blocks are not run') or diag $tap;
like($tap, qr/^ok 2 - .*O2: the only one - response_body/m, 'ONLY: that block runs');

# 3. --- LAST stops at its block; --- SKIP drops a block
$tap = run_child(<<'EOT');
use Test::Nginx::Socket;
plan tests => blocks() * 2;
run_tests();
__DATA__

=== L1: skipped
--- SKIP
--- config
--- request
GET /nope

=== L2: last
--- config
    location = /t { return 200 "last"; }
--- request
GET /t
--- response_body: last
--- LAST

=== L3: after last
--- config
--- request
GET /nope
EOT
like($tap, qr/^1\.\.2$/m, 'LAST/SKIP: one block counted');
unlike($tap, qr/^not ok/m, 'LAST/SKIP: dropped blocks are not run') or diag $tap;
like($tap, qr/^ok \d+ - .*L2: last - response_body/m, 'LAST: the LAST block runs');

run_tests();

__DATA__

=== TEST 1: body, headers, absent header, more_headers
--- config
    location = /t {
        add_header X-Foo "foo-$http_x_bar";
        return 200 "hello\n";
    }
--- request
GET /t
--- more_headers
X-Bar: baz
--- response_headers
X-Foo: foo-baz
Content-Type: text/plain
!X-Missing
--- response_body
hello
--- no_error_log
[error]



=== TEST 2: error_code, response_body_like, error_log, grep_error_log (regex)
--- config
--- request
GET /nonexistent.txt
--- error_code: 404
--- response_body_like: 404 Not Found
--- error_log
[error]
nonexistent.txt" failed (2: No such file or directory)
--- grep_error_log eval
qr/http uri: "[^"]+"/
--- grep_error_log_out
http uri: "/nonexistent.txt"



=== TEST 3: several requests, array expectations, eval patterns
--- config
    location = /a { return 200 "A"; }
    location = /b { return 403; }
--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 403]
--- response_body eval
["A", qr/403 Forbidden/]
--- no_error_log eval
[qr/\[(?:error|alert|crit)\]/, "[emerg]"]



=== TEST 4: request body gets a Content-Length, config env substitution
--- config
    location = /echo {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/back;
        proxy_set_header X-Body $request_body;
        proxy_set_header X-Len $content_length;
    }
    location = /back {
        return 200 "body=[$http_x_body] len=$http_x_len method=$request_method\n";
    }
--- request
POST /echo
hello world
--- response_body
body=[hello world] len=11 method=POST
--- error_log
http request line: "POST /echo HTTP/1.1"



=== TEST 5: chunked request body (no Content-Length added)
--- config
    location = /echo {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/back;
        proxy_set_header X-Body $request_body;
        proxy_set_header X-Len $http_content_length;
        proxy_set_header X-TE $http_transfer_encoding;
    }
    location = /back {
        return 200 "body=[$http_x_body] len=[$http_x_len] te=[$http_x_te]";
    }
--- more_headers
Transfer-Encoding: chunked
--- request eval
"POST /echo
5\r
hello\r
0\r
\r
"
--- response_body: body=[hello] len=[] te=[chunked]



=== TEST 6: chunked response is decoded
--- config
    location = /chunked {
        sub_filter 'a' 'b';
        sub_filter_types text/plain;
        sub_filter_once off;
        return 200 "aaa\n";
    }
--- request
GET /chunked
--- response_headers
Transfer-Encoding: chunked
!Content-Length
--- raw_response_headers_like: Transfer-Encoding: chunked\r\n
--- response_body
bbb



=== TEST 7: pipelined requests
--- config
    location = /p1 { return 200 "one\n"; }
    location = /p2 { return 200 "two\n"; }
--- pipelined_requests eval
["GET /p1", "GET /p2"]
--- response_body eval
["one\n", "two\n"]
--- no_error_log
[error]



=== TEST 8: raw_request, user_files, response_headers_like
--- config
--- user_files
>>> sub/file.txt
file content
>>> other.txt
other
--- raw_request eval
"GET /sub/file.txt HTTP/1.0\r\nHost: localhost\r\n\r\n"
--- response_headers_like
Content-Length: \d+
Last-Modified: .+ GMT
--- response_body
file content



=== TEST 9: main_config, http_config, post_main_config, user_files eval
--- main_config
worker_rlimit_nofile 1024;
--- http_config
    map $uri $mapped {
        default "from-map";
    }
--- post_main_config
# nothing here
--- config
    location = /map { return 200 "$mapped\n"; }
--- user_files eval
[["evald.txt", "x" x 3]]
--- request eval
["GET /map", "GET /evald.txt"]
--- response_body eval
["from-map\n", "xxx"]



=== TEST 10: timeout with abort and ignore_response
--- config
--- raw_request eval
"GET / HTTP/1.1\r\nHost: localhost\r\n"
--- timeout: 300ms
--- abort
--- ignore_response
--- error_log
client prematurely closed connection
--- no_error_log
[error]



=== TEST 11: per-block log_level, chomp, access_log
--- log_level: warn
--- config
    location = /t { return 200 "ok"; }
--- request
GET /t
--- response_body chomp
ok
--- no_error_log
[debug]
[info]
--- access_log
"GET /t HTTP/1.1" 200



=== TEST 12: escapes via eval, wait, grep_error_log (string)
--- config
    location = /bin { return 200 "a\tb"; }
--- request
GET /bin
--- response_body eval
"a\tb"
--- wait: 0.05
--- grep_error_log chop
http request line
--- grep_error_log_out
http request line



=== TEST 13: must_die with an exit code, main_config is used
--- main_config
bogus_main_directive on;
--- config
--- must_die: 1
--- error_log
[emerg]
unknown directive "bogus_main_directive"
--- no_error_log
[error]



=== TEST 14: must_die without a value
--- config
    location = /t { return a b c; }
--- must_die
--- error_log eval
[qr/\[emerg\] .*invalid number/, 'in "return" directive']



=== TEST 15: comments before the request line, HEAD, empty body
--- config
    location = /h { return 200 "hello"; }
--- request
# a comment line
  # another one
HEAD /h
--- response_headers
Content-Length: 5
--- response_body



=== TEST 16: $TEST_NGINX_* in expectations, $ServerPort in headers
--- config
    location = /port {
        add_header X-Port $server_port;
        return 200 "port=$TEST_NGINX_SERVER_PORT\n";
    }
--- request
GET /port
--- response_headers
X-Port: $ServerPort
--- response_body
port=$TEST_NGINX_SERVER_PORT



=== TEST 17: error_code_like, response_body_unlike, raw_response_headers_unlike
--- config
    location = /r { return 302 /elsewhere; }
--- request
GET /r
--- error_code_like: ^30[12]$
--- response_body_unlike: hello
--- raw_response_headers_unlike: Set-Cookie



=== TEST 18: SKIP drops the block entirely
--- SKIP
--- config
--- request
GET /nope
--- response_body
this would fail



=== TEST 19: skip_eval skips without starting nginx
--- skip_eval: 2: 1
--- config
    this is not even valid;
--- request
GET /nope
--- response_body
this would fail



=== TEST 20: request split into packets with a delay
--- config
    location = /echo {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/back;
        proxy_set_header X-Body $request_body;
    }
    location = /back {
        return 200 "body=[$http_x_body]\n";
    }
--- request eval
[["POST /echo\nhel", {value => "lo", delay_before => 0.02}]]
--- response_body
body=[hello]
