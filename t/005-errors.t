# A failing script gives its request a 500 and one error-log line with the
# reason; the worker lives on and the next request is served.

use Test::Nginx::Socket;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

repeat_each(1);
plan 'no_plan';
run_tests();

__DATA__

=== TEST 1: an exception in call: 500, class, message and backtrace logged
--- config
    location /t {
        isolate_script $TEST_NGINX_HTML_DIR/raise.rb;
    }
--- user_files
>>> raise.rb
def helper
  raise ArgumentError, "bad thing"
end

def call(req)
  helper
end
--- request
GET /t
--- error_code: 500
--- error_log eval
qr/\[error\] .*isolate: ".*raise\.rb": call raised ArgumentError: bad thing; backtrace: .*raise\.rb:2:in helper, .*raise\.rb:6:in call/



=== TEST 2: the worker survives and the isolate keeps serving
--- config
    location /t {
        isolate_script_code '$n = 0
            def call(req)
              $n += 1
              raise "odd" if $n % 2 == 1
              [200, {}, ["n=#{$n} pid ok\n"]]
            end';
    }
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
[".*", "n=2 pid ok", ".*", "n=4 pid ok"]



=== TEST 3: an exception in the top level: 500 and a log line on each request
--- config
    location /t {
        isolate_script_code 'raise NameError, "no such thing at the top"';
    }
--- request eval
["GET /t", "GET /t"]
--- error_code eval
[500, 500]
--- grep_error_log eval: qr/top level raised NameError: no such thing at the top/
--- grep_error_log_out
top level raised NameError: no such thing at the top



=== TEST 4: other locations keep answering while one fails
--- config
    location /bad {
        isolate_script_code 'def call(req) = raise("bad")';
    }
    location /good {
        isolate_script_code 'def call(req) = [200, {}, ["good\n"]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]



=== TEST 5: call not defined
--- config
    location /t {
        isolate_script_code 'def handle(req) = [200, {}, []]';
    }
--- request
GET /t
--- error_code: 500
--- error_log eval
qr/\[error\] .*isolate: ".*": the script does not define call\(req\)/



=== TEST 6: call returns something that is not a triple
--- config
    location /t {
        isolate_script_code 'def call(req) = "just a string"';
    }
--- request
GET /t
--- error_code: 500
--- error_log
call returned an invalid response: call must return [status, headers, body], got "just a string"



=== TEST 7: a triple of the wrong length
--- config
    location /t {
        isolate_script_code 'def call(req) = [200, {}]';
    }
--- request
GET /t
--- error_code: 500
--- error_log
call must return [status, headers, body], got [200, {}]



=== TEST 8: status not an Integer
--- config
    location /t {
        isolate_script_code 'def call(req) = ["200", {}, []]';
    }
--- request
GET /t
--- error_code: 500
--- error_log
status must be an Integer in 200..599, got "200"



=== TEST 9: status out of range
--- config
    location /t {
        isolate_script_code 'def call(req) = [600, {}, []]';
    }
--- request
GET /t
--- error_code: 500
--- error_log
status must be an Integer in 200..599, got 600



=== TEST 10: a 1xx status: an interim response cannot be the answer
A 100 would make the client read the body as the next response.
--- config
    location /t {
        isolate_script_code 'def call(req)
              [req.query.to_i, {}, ["HTTP/1.1 200 OK\r\nX-Smuggled: 1\r\n\r\n"]]
            end';
    }
--- request
GET /t?100
--- error_code: 500
--- response_headers
!X-Smuggled
--- error_log
status must be an Integer in 200..599, got 100



=== TEST 11: a 199 status
--- config
    location /t {
        isolate_script_code 'def call(req) = [199, {}, ["interim"]]';
    }
--- request
GET /t
--- error_code: 500
--- error_log
status must be an Integer in 200..599, got 199



=== TEST 12: a response larger than the memory limit: 503
The copy nginx sends lives outside the isolate's heap; one String
repeated in the body Array is counted each time.
--- config
    location /t {
        isolate_memory_limit 1m;
        isolate_script_code 'S = "x" * 600_000
            def call(req) = [200, {}, [S] * 4]';
    }
--- request
GET /t
--- error_code: 503
--- error_log
call returned a response too large: the response (body 2400000 bytes, headers 0 bytes) is larger than the memory limit of 1048576 bytes
--- no_error_log
discarded



=== TEST 13: headers larger than the memory limit: 503
--- config
    location /t {
        isolate_memory_limit 1m;
        isolate_script_code 'S = "x" * 600_000
            def call(req) = [200, {"x-big" => [S, S]}, ["small"]]';
    }
--- request
GET /t
--- error_code: 503
--- error_log
call returned a response too large: the response (body 5 bytes, headers 1200010 bytes) is larger than the memory limit of 1048576 bytes



=== TEST 14: a top level that rescues NoMemoryError: 503, no isolate is kept
--- config
    location /t {
        isolate_memory_limit 1m;
        isolate_script_code 'begin
              "x" * 2_000_000
            rescue NoMemoryError
            end
            def call(req) = [200, {}, ["never\n"]]';
    }
--- request
GET /t
--- error_code: 503
--- error_log
top level exceeded the memory limit and rescued it; the isolate is not kept
--- no_error_log
call raised



=== TEST 15: headers not a Hash
--- config
    location /t {
        isolate_script_code 'def call(req) = [200, [["a", "b"]], []]';
    }
--- request
GET /t
--- error_code: 500
--- error_log
headers must be a Hash, got Array



=== TEST 16: a header name that is not a String
--- config
    location /t {
        isolate_script_code 'def call(req) = [200, {content_type: "text/plain"}, []]';
    }
--- request
GET /t
--- error_code: 500
--- error_log
header name must be a String, got :content_type



=== TEST 17: a header value that is not a String
--- config
    location /t {
        isolate_script_code 'def call(req) = [200, {"x-n" => 1}, []]';
    }
--- request
GET /t
--- error_code: 500
--- error_log
header "x-n" value must be a String or an Array of Strings, got Integer



=== TEST 18: an Array header value with a non-String in it
--- config
    location /t {
        isolate_script_code 'def call(req) = [200, {"x-n" => ["a", nil]}, []]';
    }
--- request
GET /t
--- error_code: 500
--- error_log
header "x-n" value must be a String or an Array of Strings, got nil



=== TEST 19: a header value with CR or LF (response splitting) is refused
--- config
    location /t {
        isolate_script_code 'def call(req) = [200, {"x-a" => "1\r\nx-b: 2"}, []]';
    }
--- request
GET /t
--- error_code: 500
--- error_log
header "x-a" value contains CR, LF or NUL



=== TEST 20: a header name that is not a token is refused
--- config
    location /t {
        isolate_script_code 'def call(req) = [200, {"bad name:" => "v"}, []]';
    }
--- request
GET /t
--- error_code: 500
--- error_log
header name "bad name:" is not a valid token



=== TEST 21: a body that is neither String nor Array
--- config
    location /t {
        isolate_script_code 'def call(req) = [200, {}, 42]';
    }
--- request
GET /t
--- error_code: 500
--- error_log
body must be a String or an Array of Strings, got Integer



=== TEST 22: a body Array with a non-String in it
--- config
    location /t {
        isolate_script_code 'def call(req) = [200, {}, ["a", :b]]';
    }
--- request
GET /t
--- error_code: 500
--- error_log
body must be a String or an Array of Strings, got Symbol at index 1



=== TEST 23: a non-StandardError exception is caught too
--- config
    location /t {
        isolate_script_code 'class Bail < Exception; end
            def call(req) = raise(Bail, "out")';
    }
--- request
GET /t
--- error_code: 500
--- error_log
call raised Bail: out



=== TEST 24: an exception whose message method raises is still logged
--- config
    location /t {
        isolate_script_code 'class Weird < StandardError
              def message = raise("nested")
            end
            def call(req) = raise(Weird)';
    }
--- request
GET /t
--- error_code: 500
--- error_log
call raised Weird
