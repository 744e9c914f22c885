# Each script has its own isolate: state persists inside it, and nothing
# leaks between isolates in the same worker.

use Test::Nginx::Socket;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

repeat_each(1);
plan 'no_plan';
run_tests();

__DATA__

=== TEST 1: state persists across requests inside one isolate
--- config
    location /t {
        isolate_script_code 'COUNTER = [0]
            def call(req)
              COUNTER[0] += 1
              [200, {}, ["#{COUNTER[0]}\n"]]
            end';
    }
--- request eval
["GET /t", "GET /t", "GET /t"]
--- response_body eval
["1\n", "2\n", "3\n"]



=== TEST 2: a global set by script A is not visible to script B
--- config
    location /a {
        isolate_script_code '$shared = "from A"
            def call(req) = [200, {}, ["a: #{$shared.inspect}\n"]]';
    }
    location /b {
        isolate_script_code 'def call(req) = [200, {}, ["b: #{$shared.inspect}\n"]]';
    }
--- request eval
["GET /a", "GET /b", "GET /a"]
--- response_body eval
["a: \"from A\"\n", "b: nil\n", "a: \"from A\"\n"]



=== TEST 3: a constant and a class defined by A do not exist in B
--- config
    location /a {
        isolate_script_code 'SECRET = 42
            class Helper; end
            def call(req) = [200, {}, ["a: #{SECRET}\n"]]';
    }
    location /b {
        isolate_script_code 'def call(req)
            s = Object.const_defined?(:SECRET)
            h = Object.const_defined?(:Helper)
            [200, {}, ["b: #{s} #{h}\n"]]
        end';
    }
--- request eval
["GET /a", "GET /b"]
--- response_body eval
["a: 42\n", "b: false false\n"]



=== TEST 4: a monkey patch made by A does not change B
--- config
    location /a {
        isolate_script_code 'class String
              def upcase = "patched"
            end
            class Array
              def first = "patched too"
            end
            def call(req) = [200, {}, ["a: #{"x".upcase} #{[1].first}\n"]]';
    }
    location /b {
        isolate_script_code 'def call(req) = [200, {}, ["b: #{"x".upcase} #{[1].first}\n"]]';
    }
--- request eval
["GET /a", "GET /b", "GET /a"]
--- response_body eval
["a: patched patched too\n", "b: X 1\n", "a: patched patched too\n"]



=== TEST 5: the same file in two locations gives two isolates
--- config
    location /one {
        isolate_script $TEST_NGINX_HTML_DIR/count.rb;
    }
    location /two {
        isolate_script $TEST_NGINX_HTML_DIR/count.rb;
    }
--- user_files
>>> count.rb
$n = 0
def call(req)
  $n += 1
  [200, {}, ["#{$n}\n"]]
end
--- request eval
["GET /one", "GET /one", "GET /two"]
--- response_body eval
["1\n", "2\n", "1\n"]



=== TEST 6: 100 distinct scripts in one configuration, each its own state
--- config eval
join "", map {
    "    location = /s$_ {\n"
    . "        isolate_script_code '\$id = $_; \$hits = 0\n"
    . "            def call(req) = [200, {}, [\"\#{\$id}:\#{\$hits += 1}\\n\"]]';\n"
    . "    }\n"
} 1..100
--- request eval
[map { "GET /s$_" } (1..100, 1, 50, 100)]
--- response_body eval
[(map { "$_:1\n" } 1..100), "1:2\n", "50:2\n", "100:2\n"]
