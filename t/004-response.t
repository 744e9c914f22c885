# The response: call returns [status, headers, body].

use Test::Nginx::Socket;

repeat_each(2);
plan 'no_plan';
run_tests();

__DATA__

=== TEST 1: status, headers and a String body
--- config
    location /t {
        isolate_script_code 'def call(req)
            [418, {"content-type" => "text/x-tea", "x-pot" => "short"}, "I am a teapot\n"]
        end';
    }
--- request
GET /t
--- error_code: 418
--- response_headers
Content-Type: text/x-tea
X-Pot: short
Content-Length: 14
--- response_body
I am a teapot



=== TEST 2: an Array body is concatenated; content-length comes from it
--- config
    location /t {
        isolate_script_code 'def call(req)
            [200, {"content-length" => "999"}, ["a", "", "bc", "\n"]]
        end';
    }
--- request
GET /t
--- response_headers
Content-Length: 4
--- response_body
abc



=== TEST 3: an Array header value gives a repeated header
--- config
    location /t {
        isolate_script_code 'def call(req)
            [200, {"set-cookie" => ["a=1", "b=2"]}, ["ok\n"]]
        end';
    }
--- request
GET /t
--- response_headers
Set-Cookie: a=1, b=2
--- response_body
ok



=== TEST 4: without content-type the location's default_type applies
--- config
    location /t {
        default_type application/x-default;
        isolate_script_code 'def call(req) = [200, {}, ["x"]]';
    }
--- request
GET /t
--- response_headers
Content-Type: application/x-default



=== TEST 5: an empty body
--- config
    location /t {
        isolate_script_code 'def call(req) = [200, {"x-empty" => "1"}, []]';
    }
--- request
GET /t
--- response_headers
Content-Length: 0
X-Empty: 1
--- response_body chomp



=== TEST 6: 204 has no body
--- config
    location /t {
        isolate_script_code 'def call(req) = [204, {}, []]';
    }
--- request
GET /t
--- error_code: 204
--- response_body chomp



=== TEST 7: HEAD gets the headers and no body
--- config
    location /t {
        isolate_script_code 'def call(req)
            [200, {"x-method" => req.method}, ["a body of 18 bytes"]]
        end';
    }
--- request
HEAD /t
--- response_headers
X-Method: HEAD
Content-Length: 18
--- response_body chomp



=== TEST 8: a redirect with Location
--- config
    location /t {
        isolate_script_code 'def call(req)
            [302, {"location" => "http://example.com/elsewhere"}, []]
        end';
    }
--- request
GET /t
--- error_code: 302
--- response_headers
Location: http://example.com/elsewhere



=== TEST 9: a Server header replaces nginx's instead of adding one
--- config
    location /t {
        isolate_script_code 'def call(req) = [200, {"server" => "isolate"}, ["ok\n"]]';
    }
--- request
GET /t
--- response_headers
Server: isolate



=== TEST 10: binary response bodies are sent byte for byte
--- config
    location /t {
        isolate_script_code 'def call(req)
            [200, {"content-type" => "application/octet-stream"},
             [(0..255).map(&:chr).join * 4]]
        end';
    }
--- request
GET /t
--- response_body eval
join("", map { chr($_) } 0..255) x 4



=== TEST 11: a 10 MB body
--- config
    location /t {
        isolate_script_code 'BIG = ("0123456789" * 1048576).freeze
            def call(req) = [200, {}, [BIG]]';
    }
--- request
GET /t
--- response_body eval
"0123456789" x 1048576
--- timeout: 20



=== TEST 12: a status at the top of 200..599 that nginx has no text for
--- config
    location /t {
        isolate_script_code 'def call(req) = [599, {}, ["edge\n"]]';
    }
--- request
GET /t
--- error_code: 599
--- response_body
edge



=== TEST 13: a Content-Type with a charset: gzip_types matches the type alone
--- config
    location /t {
        gzip on;
        gzip_types text/csv;
        gzip_min_length 1;
        isolate_script_code 'def call(req)
              [200, {"content-type" => "text/csv; charset=utf-8"}, ["a,b\n" * 100]]
            end';
    }
--- request
GET /t
--- more_headers
Accept-Encoding: gzip
--- response_headers
Content-Type: text/csv; charset=utf-8
Content-Encoding: gzip



=== TEST 14: a Content-Type with other parameters is kept whole
--- config
    location /t {
        isolate_script_code 'def call(req)
              [200, {"content-type" => %(multipart/mixed; boundary="x")}, ["--x--\n"]]
            end';
    }
--- request
GET /t
--- response_headers
Content-Type: multipart/mixed; boundary="x"



=== TEST 15: an isolate with an empty body, included by SSI
--- config
    location = /page {
        ssi on;
        sendfile off;
        default_type text/html;
        return 200 'before<!--# include virtual="/empty" -->after';
    }
    location = /empty {
        isolate_script_code 'def call(req) = [200, {}, [""]]';
    }
--- request
GET /page
--- response_body chomp
beforeafter
--- no_error_log
[alert]
zero size buf



=== TEST 16: two content-types: the last wins, and a charset of the first does not stick
--- config
    location /t {
        isolate_script_code 'def call(req)
              [200, {"content-type" => ["text/html; charset=koi8-r", "text/plain"]}, ["x"]]
            end';
    }
--- request
GET /t
--- response_headers
Content-Type: text/plain
