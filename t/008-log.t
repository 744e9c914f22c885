# Isolate.log, and p / puts / print, which write to the error log.

use Test::Nginx::Socket;

repeat_each(1);
plan 'no_plan';
run_tests();

__DATA__

=== TEST 1: Isolate.log writes at each level
--- config
    location /t {
        isolate_script_code 'def call(req)
            %i(debug info notice warn error).each do |level|
              Isolate.log(level, "at #{level}")
            end
            [200, {}, ["ok\n"]]
        end';
    }
--- request
GET /t
--- response_body
ok
--- error_log eval
[qr/\[debug\] .*isolate: ".*": at debug/,
 qr/\[info\] .*isolate: ".*": at info/,
 qr/\[notice\] .*isolate: ".*": at notice/,
 qr/\[warn\] .*isolate: ".*": at warn/,
 qr/\[error\] .*isolate: ".*": at error, client: 127\.0\.0\.1, server: localhost, request: "GET \/t HTTP\/1\.1"/]



=== TEST 2: log_level filters Isolate.log like nginx's own messages
--- log_level: warn
--- config
    location /t {
        isolate_script_code 'def call(req)
            Isolate.log(:info, "quiet info")
            Isolate.log(:warn, "loud warn")
            [200, {}, ["ok\n"]]
        end';
    }
--- request
GET /t
--- error_log
loud warn
--- no_error_log
quiet info



=== TEST 3: an unknown level raises ArgumentError
--- config
    location /t {
        isolate_script_code 'def call(req)
            Isolate.log(:loud, "x")
        rescue ArgumentError => e
            [200, {}, [e.message, "\n"]]
        end';
    }
--- request
GET /t
--- response_body
unknown log level :loud (debug, info, notice, warn, error)



=== TEST 4: p, puts and print write to the error log at notice
--- config
    location /t {
        isolate_script_code 'def call(req)
            r = p({"a" => 1})
            puts "line one", ["line two", ["line three"]]
            print "printed ", 42
            [200, {}, [r.inspect, "\n"]]
        end';
    }
--- request
GET /t
--- response_body
{"a"=>1}
--- error_log eval
[qr/\[notice\] .*isolate: ".*": \{"a"=>1\}/,
 qr/\[notice\] .*isolate: ".*": line one,/,
 qr/\[notice\] .*isolate: ".*": line two,/,
 qr/\[notice\] .*isolate: ".*": line three,/,
 qr/\[notice\] .*isolate: ".*": printed 42,/]



=== TEST 5: output from the top level goes to the log of the request that started the isolate
--- config
    location /t {
        isolate_script_code 'puts "starting up"
            def call(req) = [200, {}, ["ok\n"]]';
    }
--- request
GET /t
--- error_log eval
qr/\[notice\] .*isolate: ".*": starting up, client: 127\.0\.0\.1/



=== TEST 6: isolate creation is logged at info with its time
--- config
    location /t {
        isolate_script_code 'def call(req) = [200, {}, ["ok\n"]]';
    }
--- request
GET /t
--- error_log eval
qr/\[info\] .*isolate: ".*nginx\.conf:\d+": created in \d+us, heap \d+ bytes/
=== TEST 7: puts of an Array inside itself prints [...] for the inner one
--- config
    location /t {
        isolate_script_code 'def call(req)
            a = ["outer"]
            a << a
            a << ["last"]
            puts a
            [200, {}, ["ok\n"]]
        end';
    }
--- request
GET /t
--- response_body
ok
--- grep_error_log eval: qr/": (outer|\[\.\.\.\]|last),/
--- grep_error_log_out
": outer,
": [...],
": last,



=== TEST 8: puts of an Array of a million Strings: one C loop, stopped by the CPU limit
--- config
    location /t {
        isolate_cpu_limit 20ms;
        isolate_script_code 'A = Array.new(100_000, "x")
            def call(req)
              puts [A] * 100
              [200, {}, ["not reached\n"]]
            end';
    }
--- request
GET /t
--- error_code: 503
--- error_log
call exceeded the CPU limit of 20 ms, Isolate::CPULimitExceeded: CPU limit exceeded; backtrace: isolate_script_code:3:in puts,
--- log_level: warn
