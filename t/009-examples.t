# The scripts in examples/ keep working.

use Test::Nginx::Socket;
use Cwd qw(abs_path);
use File::Basename qw(dirname);

$ENV{TEST_NGINX_EXAMPLES_DIR} ||= abs_path(dirname(__FILE__) . "/../examples");

repeat_each(1);
plan 'no_plan';
run_tests();

__DATA__

=== TEST 1: hello.rb
--- config
    location = /hello {
        isolate_script $TEST_NGINX_EXAMPLES_DIR/hello.rb;
    }
--- request
GET /hello
--- response_body
Hello, World!



=== TEST 2: echo.rb shows the request
--- config
    location /echo {
        isolate_script $TEST_NGINX_EXAMPLES_DIR/echo.rb;
    }
--- request
POST /echo/a%20b?x=1&y=two+words
some body
--- response_body_like chomp
^POST /echo/a b HTTP/1.1
uri:         /echo/a%20b\?x=1&y=two\+words
query:       "x=1&y=two\+words"
params:      \{"x"=>"1", "y"=>"two words"\}
remote_addr: 127.0.0.1
host:        localhost \(http\)
request_id:  [0-9a-f]{32}
headers:
(  .*\n)+body:        9 bytes$



=== TEST 3: counter.rb counts per path inside its isolate
--- config
    location /counter {
        isolate_script $TEST_NGINX_EXAMPLES_DIR/counter.rb;
    }
--- request eval
["GET /counter", "GET /counter/x", "GET /counter"]
--- response_body_like eval
["^/counter: 1\n", "^/counter: 1\n/counter/x: 1\n", "^/counter: 2\n/counter/x: 1\n"]



=== TEST 5: counter.rb logs each hit at info
--- config
    location /counter {
        isolate_script $TEST_NGINX_EXAMPLES_DIR/counter.rb;
    }
--- request
GET /counter/y
--- error_log eval
qr/\[info\] .*counter\.rb": \/counter\/y seen 1 times/



=== TEST 4: router.rb routes by method and path
--- config
    location /router {
        isolate_script $TEST_NGINX_EXAMPLES_DIR/router.rb;
    }
--- request eval
["GET /router/hello?name=Ada", "POST /router/upper\nshout", "GET /router/old",
 "DELETE /router/hello", "GET /router/nope"]
--- error_code eval
[200, 200, 301, 405, 404]
--- response_body eval
["Hello, Ada!\n", "SHOUT", "", "", "no route for GET /router/nope\n"]
