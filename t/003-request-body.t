# req.body: the whole request body, read before call runs.

use Test::Nginx::Socket;

repeat_each(2);
plan 'no_plan';
run_tests();

__DATA__

=== TEST 1: a small body
--- config
    location /t {
        isolate_script_code 'def call(req)
            [200, {}, ["#{req.body.bytesize}:#{req.body}\n"]]
        end';
    }
--- request
POST /t
hello body
--- response_body
10:hello body



=== TEST 2: no body is ""
--- config
    location /t {
        isolate_script_code 'def call(req) = [200, {}, [req.body.inspect, "\n"]]';
    }
--- request
GET /t
--- response_body
""



=== TEST 3: a body nginx buffered to a temporary file
--- config
    client_body_buffer_size 1k;
    location /t {
        isolate_script_code 'def call(req)
            b = req.body
            ok = b == ("0123456789abcdef" * 4096)
            [200, {}, ["#{b.bytesize} #{ok}\n"]]
        end';
    }
--- request eval
"POST /t\n" . ("0123456789abcdef" x 4096)
--- response_body
65536 true
--- error_log
a client request body is buffered to a temporary file



=== TEST 4: a binary body arrives byte for byte
--- config
    location /t {
        isolate_script_code 'def call(req)
            b = req.body
            [200, {}, [b.bytes.sum.to_s, " ", b.bytesize.to_s, "\n"]]
        end';
    }
--- request eval
"POST /t\n" . join("", map { chr($_) } 0..255) x 4
--- response_body eval
my $sum = 0; $sum += $_ for 0..255; ($sum * 4) . " 1024\n"



=== TEST 5: client_max_body_size applies before the script runs
--- config
    location /t {
        client_max_body_size 100;
        isolate_script_code 'Isolate.log(:error, "script ran")
            def call(req) = [200, {}, ["ran\n"]]';
    }
--- request eval
"POST /t\n" . ("x" x 1000)
--- error_code: 413
--- no_error_log
script ran



=== TEST 6: a large body (10 MB) in a temporary file
--- config
    location /t {
        client_max_body_size 20m;
        # copying 10 MB takes longer than 50 ms under valgrind
        isolate_cpu_limit off;
        isolate_script_code 'def call(req)
            b = req.body
            [200, {}, ["#{b.bytesize} #{b[0, 4]} #{b[-4, 4]}\n"]]
        end';
    }
--- request eval
"POST /t\n" . "head" . ("z" x (10 * 1024 * 1024 - 8)) . "tail"
--- response_body
10485760 head tail
--- timeout: 20
