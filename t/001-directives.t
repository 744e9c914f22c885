# isolate_script and isolate_script_code: loading, path resolution and
# configuration-time errors.

use Test::Nginx::Socket;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

repeat_each(1);
plan "no_plan";
no_shuffle();
run_tests();

__DATA__

=== TEST 1: isolate_script runs the script's call(req)
--- config
    location = /t {
        isolate_script $TEST_NGINX_HTML_DIR/hello.rb;
    }
--- user_files
>>> hello.rb
def call(req)
  [200, {"content-type" => "text/plain"}, ["hello from a file\n"]]
end
--- request
GET /t
--- response_body
hello from a file
--- no_error_log
[error]



=== TEST 2: a relative path resolves against the configuration prefix
--- config
    location = /t {
        isolate_script ../html/rel.rb;
    }
--- user_files
>>> rel.rb
def call(req) = [200, {}, ["relative\n"]]
--- request
GET /t
--- response_body
relative
--- no_error_log
[error]



=== TEST 3: isolate_script_code takes the source inline
--- config
    location = /t {
        isolate_script_code 'def call(req)
            [201, {"x-inline" => "yes"}, ["inline\n"]]
        end';
    }
--- request
GET /t
--- error_code: 201
--- response_headers
x-inline: yes
--- response_body
inline



=== TEST 4: a missing script file fails the configuration
--- config
    location = /t {
        isolate_script $TEST_NGINX_HTML_DIR/no-such-script.rb;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*open\(\) ".*no-such-script\.rb" failed \(2: No such file or directory\)/



=== TEST 5: a syntax error in a file names the file and the line
--- config
    location = /t {
        isolate_script $TEST_NGINX_HTML_DIR/broken.rb;
    }
--- user_files
>>> broken.rb
def call(req)
  [200, {}, ["ok"]]
end

def oops(
  1 +
--- must_die
--- error_log eval
qr/\[emerg\] .*isolate: syntax error in ".*broken\.rb" line \d+: syntax error/



=== TEST 6: the line of a syntax error in a file is the parser's line
--- config
    location = /t {
        isolate_script $TEST_NGINX_HTML_DIR/broken2.rb;
    }
--- user_files
>>> broken2.rb
x = 1
y = 2
z = (3 +
--- must_die
--- error_log eval
qr/isolate: syntax error in ".*broken2\.rb" line [34]: /



=== TEST 7: a syntax error inline names the code's line and nginx.conf's
--- config
    location = /t {
        isolate_script_code 'def call(req)
            [200, {}, ["ok"]
        end';
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*isolate: syntax error in isolate_script_code line 3: .* in .*nginx\.conf:\d+/



=== TEST 8: isolate_script twice in a location is a duplicate
--- config
    location = /t {
        isolate_script_code 'def call(r) = [200, {}, []]';
        isolate_script_code 'def call(r) = [200, {}, []]';
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"isolate_script_code" directive is duplicate/



=== TEST 9: isolate_script is a location directive
--- http_config
    isolate_script_code 'def call(r) = [200, {}, []]';
--- config
--- must_die
--- error_log eval
qr/\[emerg\] .*"isolate_script_code" directive is not allowed here/



=== TEST 10: a script is not inherited by nested locations
--- config
    location /outer {
        isolate_script_code 'def call(r) = [200, {}, ["outer\n"]]';
        location /outer/inner {
            return 200 "inner\n";
        }
    }
--- request
GET /outer/inner
--- response_body
inner



=== TEST 11: the top level does not run at configuration time
A top level that raises does not stop nginx from starting: the master only
compiles; the worker runs the top level on the first request.
--- config
    location = /t {
        isolate_script_code 'raise "top level ran"
            def call(r) = [200, {}, ["ok\n"]]';
    }
--- request
GET /t
--- error_code: 500
--- error_log eval
qr/\[error\] .*isolate: ".*nginx\.conf:\d+": top level raised RuntimeError: top level ran/



=== TEST 12: the top level runs once per isolate, not per request
--- config
    location = /t {
        isolate_script_code '$runs = ($runs || 0) + 1
            def call(r) = [200, {}, ["runs=#{$runs}\n"]]';
    }
--- request eval
["GET /t", "GET /t", "GET /t"]
--- response_body eval
["runs=1\n", "runs=1\n", "runs=1\n"]
