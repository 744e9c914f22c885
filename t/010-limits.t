# isolate_cpu_limit, isolate_start_cpu_limit, isolate_memory_limit: a
# runaway script gets a 503 and a log line, its isolate is discarded, and
# the worker and every other location carry on.

use Test::Nginx::Socket;

repeat_each(1);
plan 'no_plan';
no_shuffle();
run_tests();

__DATA__

=== TEST 1: loop {} is stopped by the CPU limit; the worker carries on
--- config
    isolate_cpu_limit 20ms;
    location /spin {
        isolate_script_code 'def call(req) = loop {}';
    }
    location /ok {
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["n=#{$n += 1}\n"]]';
    }
--- request eval
["GET /ok", "GET /spin", "GET /ok", "GET /spin", "GET /ok"]
--- error_code eval
[200, 503, 200, 503, 200]
--- response_body_like eval
["n=1", "503 Service", "n=2", "503 Service", "n=3"]



=== TEST 2: the log line names the script, the limit and the backtrace
--- config
    location /spin {
        isolate_cpu_limit 30ms;
        isolate_script_code 'def spin = loop { }
            def call(req) = spin';
    }
--- request
GET /spin
--- error_code: 503
--- error_log eval
[qr/\[error\] .*isolate: ".*nginx\.conf:\d+": call exceeded the CPU limit of 30 ms, Isolate::CPULimitExceeded: CPU limit exceeded; backtrace: isolate_script_code:1:in spin/,
 qr/\[notice\] .*isolate: ".*nginx\.conf:\d+": discarded: CPU limit exceeded/]



=== TEST 3: while true; end
--- config
    isolate_cpu_limit 20ms;
    location /t {
        isolate_script_code 'def call(req)
            while true; end
        end';
    }
--- request
GET /t
--- error_code: 503
--- error_log
call exceeded the CPU limit of 20 ms



=== TEST 4: rescue Exception with retry cannot escape
--- config
    isolate_cpu_limit 20ms;
    location /t {
        isolate_script_code 'def call(req)
            begin
              loop {}
            rescue Exception
              retry
            end
        end';
    }
--- request
GET /t
--- error_code: 503
--- error_log
call exceeded the CPU limit of 20 ms



=== TEST 5: an ensure that loops cannot escape
--- config
    isolate_cpu_limit 20ms;
    location /t {
        isolate_script_code 'def call(req)
            begin
              loop {}
            ensure
              loop {}
            end
        end';
    }
--- request
GET /t
--- error_code: 503
--- error_log
call exceeded the CPU limit of 20 ms



=== TEST 6: recursive ensure cannot escape
--- config
    isolate_cpu_limit 20ms;
    location /t {
        isolate_script_code 'def f(n)
              f(n + 1)
            ensure
              i = 0
              i += 1 while i < 1_000_000_000
            end
            def call(req) = f(0)';
    }
--- request
GET /t
--- error_code: 503
--- error_log
call exceeded the CPU limit of 20 ms



=== TEST 7: a loop inside a Fiber
--- config
    isolate_cpu_limit 20ms;
    location /t {
        isolate_script_code 'def call(req) = Fiber.new { loop {} }.resume';
    }
--- request
GET /t
--- error_code: 503
--- error_log
call exceeded the CPU limit of 20 ms



=== TEST 8: busy recursion
--- config
    isolate_cpu_limit 20ms;
    location /t {
        isolate_script_code 'def fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2)
            def call(req) = [200, {}, [fib(40).to_s]]';
    }
--- request
GET /t
--- error_code: 503
--- error_log
call exceeded the CPU limit of 20 ms



=== TEST 9: a long Hash fill (memory is not the limit here)
--- config
    isolate_cpu_limit 20ms;
    isolate_memory_limit 512m;
    location /t {
        isolate_script_code 'def call(req)
            h = {}
            i = 0
            loop { h[i] = i.to_s; i += 1 }
        end';
    }
--- request
GET /t
--- error_code: 503
--- error_log
call exceeded the CPU limit of 20 ms



=== TEST 10: after a discard the isolate is made afresh: its state is reset
--- config
    isolate_cpu_limit 20ms;
    location /c {
        isolate_script_code '$n = 0
            def call(req)
              $n += 1
              loop {} if req.query == "spin"
              [200, {}, ["n=#{$n}\n"]]
            end';
    }
--- request eval
["GET /c", "GET /c", "GET /c?spin", "GET /c"]
--- error_code eval
[200, 200, 503, 200]
--- response_body_like eval
["n=1", "n=2", "503", "n=1"]



=== TEST 11: the same work is allowed with isolate_cpu_limit off
--- config
    location /t {
        isolate_cpu_limit off;
        isolate_script_code 'def fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2)
            def call(req) = [200, {}, [fib(22).to_s, "\n"]]';
    }
--- request
GET /t
--- response_body
17711
--- timeout: 30



=== TEST 12: the same work is stopped by a small limit
--- config
    location /t {
        isolate_cpu_limit 5ms;
        isolate_script_code 'def fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2)
            def call(req) = [200, {}, [fib(28).to_s, "\n"]]';
    }
--- request
GET /t
--- error_code: 503
--- error_log
call exceeded the CPU limit of 5 ms



=== TEST 13: the top level has its own budget, isolate_start_cpu_limit
--- config
    location /t {
        isolate_start_cpu_limit 30ms;
        isolate_script_code 'loop {}
            def call(req) = [200, {}, ["never"]]';
    }
--- request
GET /t
--- error_code: 503
--- error_log
top level exceeded the CPU limit of 30 ms



=== TEST 14: a heavy top level is not held to the per-request limit
--- config
    location /t {
        isolate_cpu_limit 5ms;
        isolate_start_cpu_limit off;
        isolate_script_code 'def fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2)
            TABLE = fib(24)
            def call(req) = [200, {}, ["#{TABLE}\n"]]';
    }
--- request
GET /t
--- response_body
46368
--- timeout: 30



=== TEST 15: string doubling is stopped by the memory limit
--- config
    location /t {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'def call(req)
            s = "x"
            loop { s += s }
        end';
    }
--- request
GET /t
--- error_code: 503
--- error_log eval
[qr/\[error\] .*call exceeded the memory limit of 1048576 bytes, NoMemoryError/,
 qr/\[notice\] .*discarded: memory limit exceeded/]



=== TEST 16: array growth is stopped by the memory limit
--- config
    location /t {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'def call(req)
            a = []
            loop { a << "0123456789" * 10 }
        end';
    }
--- request
GET /t
--- error_code: 503
--- error_log
call exceeded the memory limit of 1048576 bytes



=== TEST 17: hash growth is stopped by the memory limit
--- config
    location /t {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'def call(req)
            h = {}
            i = 0
            loop { h[i] = [i, i.to_s]; i += 1 }
        end';
    }
--- request
GET /t
--- error_code: 503
--- error_log
call exceeded the memory limit of 1048576 bytes



=== TEST 18: a script that rescues NoMemoryError answers, but its isolate is replaced
--- config
    location /t {
        isolate_memory_limit 1m;
        isolate_script_code '$n = 0
            def call(req)
              $n += 1
              if req.query == "bomb"
                begin
                  s = "x"
                  loop { s += s }
                rescue NoMemoryError
                  s = nil
                  return [200, {}, ["recovered n=#{$n}\n"]]
                end
              end
              [200, {}, ["n=#{$n}\n"]]
            end';
    }
--- request eval
["GET /t", "GET /t?bomb", "GET /t"]
--- response_body eval
["n=1\n", "recovered n=2\n", "n=1\n"]



=== TEST 19: the top level is held to the memory limit too
--- config
    location /t {
        isolate_memory_limit 1m;
        isolate_script_code 'BIG = "x" * 4_000_000
            def call(req) = [200, {}, ["never"]]';
    }
--- request
GET /t
--- error_code: 503
--- error_log
top level exceeded the memory limit of 1048576 bytes



=== TEST 20: deep recursion is a SystemStackError and a 500
--- config
    location /t {
        isolate_script_code 'def f(n) = f(n + 1)
            def call(req) = f(0)';
    }
--- request
GET /t
--- error_code: 500
--- error_log
call raised SystemStackError: stack level too deep



=== TEST 21: limits are inherited from server and http levels
--- http_config
    isolate_cpu_limit 15ms;
--- config
    location /t {
        isolate_script_code 'def call(req) = loop {}';
    }
--- request
GET /t
--- error_code: 503
--- error_log
call exceeded the CPU limit of 15 ms



=== TEST 22: an invalid limit fails the configuration
--- config
    location /t {
        isolate_cpu_limit soon;
        isolate_script_code 'def call(req) = [200, {}, []]';
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*"isolate_cpu_limit" directive invalid value/
