# Adversarial scripts: every way a script can misbehave.  In each block the
# bad request gets a clean 500 or 503 and an error-log line, the same
# location answers again, and another location keeps working: every block
# also has /good (added below), whose isolate counts its requests in a
# global, so "good 1" before a bad request and "good 2" after it prove that
# the worker neither crashed nor restarted in between.

use Test::Nginx::Socket;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

repeat_each(1);
plan 'no_plan';
no_shuffle();

# A log assertion is checked after every request of a block; with the log
# accumulated over the block, a line logged by its first request satisfies
# the checks after the later ones too.
check_accum_error_log();

add_block_preprocessor(sub {
    my $block = shift;

    if (defined $block->config) {
        $block->set_value(config => $block->config . <<'_EOC_');
    location /good {
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["good #{$n += 1}\n"]]';
    }
_EOC_
    }

    # nothing a script does may make nginx itself complain
    my @never = ('[alert]', '[crit]', '[emerg]', 'exited on signal');
    my $no = $block->no_error_log;
    if (!defined $no) {
        $block->set_value(no_error_log => [@never]);
    } elsif (ref $no eq 'ARRAY') {
        $block->set_value(no_error_log => [@$no, @never]);
    } elsif (ref $no) {
        $block->set_value(no_error_log => [$no, @never]);
    } else {
        $block->set_value(no_error_log => [(split /\n+/, $no), @never]);
    }
});

run_tests();

__DATA__

=== TEST 1: a loop in a comparator: C code (Array#sort) calling a block that never returns
--- config
    location /bad {
        isolate_cpu_limit 20ms;
        isolate_script_code 'def call(req) = [200, {}, [[3, 1, 2].sort { loop {} }.inspect]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log eval
[qr/\[error\] .*isolate: "[^"]*nginx\.conf:\d+": call exceeded the CPU limit of 20 ms, Isolate::CPULimitExceeded: CPU limit exceeded; backtrace: /,
 qr/\[notice\] .*isolate: "[^"]*nginx\.conf:\d+": discarded: CPU limit exceeded/]



=== TEST 2: a loop in to_s, run by string interpolation
--- config
    location /bad {
        isolate_cpu_limit 20ms;
        isolate_script_code 'class Spin
              def to_s = loop {}
            end
            def call(req) = [200, {}, ["#{Spin.new}"]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log eval
qr/call exceeded the CPU limit of 20 ms, Isolate::CPULimitExceeded: CPU limit exceeded; backtrace: isolate_script_code:2:in to_s/



=== TEST 3: a loop in inspect, run by the module itself while it describes an invalid response
--- config
    location /bad {
        isolate_cpu_limit 20ms;
        isolate_script_code 'class Name
              def inspect = loop {}
            end
            def call(req) = [200, {Name.new => "v"}, []]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log eval
qr/call exceeded the CPU limit of 20 ms, Isolate::CPULimitExceeded: CPU limit exceeded; backtrace: isolate_script_code:2:in inspect/



=== TEST 4: a loop in a Hash default proc
--- config
    location /bad {
        isolate_cpu_limit 20ms;
        isolate_script_code 'H = Hash.new { |h, k| loop {} }
            def call(req) = [200, {}, [H[req.path]]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the CPU limit of 20 ms



=== TEST 5: catch and throw, forever
--- config
    location /bad {
        isolate_cpu_limit 20ms;
        isolate_script_code 'def call(req) = loop { catch(:again) { throw :again } }';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the CPU limit of 20 ms



=== TEST 6: two Fibers passing control back and forth, forever
--- config
    location /bad {
        isolate_cpu_limit 20ms;
        isolate_script_code 'def call(req)
              f = Fiber.new { loop { Fiber.yield } }
              loop { f.resume }
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the CPU limit of 20 ms



=== TEST 7: rescuing Isolate::CPULimitExceeded by name and looping again
--- config
    location /bad {
        isolate_cpu_limit 20ms;
        isolate_script_code 'def call(req)
              begin
                loop {}
              rescue Isolate::CPULimitExceeded
                loop {}
              end
              [200, {}, ["escaped\n"]]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the CPU limit of 20 ms



=== TEST 8: a busy wait on the clock
--- config
    location /bad {
        isolate_cpu_limit 20ms;
        isolate_script_code 'def call(req)
              t = Time.now
              nil while Time.now - t < 60
              [200, {}, ["waited\n"]]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the CPU limit of 20 ms



=== TEST 9: a loop in method_missing
--- config
    location /bad {
        isolate_cpu_limit 20ms;
        isolate_script_code 'def method_missing(name, *args) = loop {}
            def call(req) = [200, {}, [no_such_method]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the CPU limit of 20 ms



=== TEST 10: a loop inside ObjectSpace.each_object (the GC is held while it iterates)
--- config
    location /bad {
        isolate_cpu_limit 20ms;
        isolate_script_code 'def call(req)
              ObjectSpace.each_object { |o| loop {} }
              [200, {}, ["walked\n"]]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the CPU limit of 20 ms



=== TEST 11: a loop in initialize_copy, called by dup from C
--- config
    location /bad {
        isolate_cpu_limit 20ms;
        isolate_script_code 'class Copy
              def initialize_copy(other) = loop {}
            end
            def call(req) = [200, {}, [Copy.new.dup.to_s]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the CPU limit of 20 ms



=== TEST 12: an endless lazy enumeration that never finds anything
--- config
    location /bad {
        isolate_cpu_limit 20ms;
        isolate_script_code 'def call(req)
              x = (1..Float::INFINITY).lazy.map { |i| i * 2 }.select { |i| i < 0 }.first
              [200, {}, ["found #{x}\n"]]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the CPU limit of 20 ms



=== TEST 13: raise and retry, with no loop keyword at all
--- config
    location /bad {
        isolate_cpu_limit 20ms;
        isolate_script_code 'def call(req)
              begin
                raise "again"
              rescue
                retry
              end
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the CPU limit of 20 ms



=== TEST 14: a top level that loops: 503 on every request, each a new attempt
--- config
    location /bad {
        isolate_start_cpu_limit 20ms;
        isolate_script_code 'loop {}
            def call(req) = [200, {}, ["never\n"]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- grep_error_log eval: qr/top level exceeded the CPU limit of 20 ms/
--- grep_error_log_out eval
qr/\A(top level exceeded the CPU limit of 20 ms\n)+\z/



=== TEST 15: string doubling: 503, and the next request to the location gets a fresh isolate
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code '$n = 0
            def call(req)
              $n += 1
              if req.query == "bomb"
                s = "x"
                loop { s += s }
              end
              [200, {}, ["n=#{$n}\n"]]
            end';
    }
--- request eval
["GET /bad?bomb", "GET /good", "GET /bad", "GET /bad", "GET /bad?bomb", "GET /good", "GET /bad"]
--- error_code eval
[503, 200, 200, 200, 503, 200, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "^n=1\n\$", "^n=2\n\$", "503 Service", "^good 2\n\$", "^n=1\n\$"]
--- error_log eval
[qr/\[error\] .*isolate: "[^"]*nginx\.conf:\d+": call exceeded the memory limit of 1048576 bytes, NoMemoryError/,
 qr/\[notice\] .*isolate: "[^"]*nginx\.conf:\d+": discarded: memory limit exceeded/]



=== TEST 16: array growth
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'def call(req)
              a = []
              loop { a << "0123456789" * 10 }
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the memory limit of 1048576 bytes, NoMemoryError



=== TEST 17: hash growth
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'def call(req)
              h = {}
              i = 0
              loop { h["key #{i}"] = i; i += 1 }
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the memory limit of 1048576 bytes, NoMemoryError



=== TEST 18: one huge allocation in a single C call (String#*)
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'def call(req) = [200, {}, ["x" * 100_000_000]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the memory limit of 1048576 bytes, NoMemoryError



=== TEST 19: Array.new with a big size: the memory limit
mruby caps an Array's length at 131072 itself (the next block); this
one is under the cap and over the limit.
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'def call(req) = [200, {}, [Array.new(130_000).size.to_s]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the memory limit of 1048576 bytes, NoMemoryError



=== TEST 20: Array.new with a huge size: mruby's own cap, ArgumentError
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'def call(req) = [200, {}, [Array.new(100_000_000).size.to_s]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
call raised ArgumentError: array size too big



=== TEST 21: a format width bomb
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'def call(req) = [200, {}, [format("%100000000d", 1)]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the memory limit of 1048576 bytes, NoMemoryError



=== TEST 22: a Symbol bomb (Symbols are never collected)
mruby's symbol lookup slows as the table grows, so the limit is small
and the timeout generous: the CPU limit is off to reach the memory limit.
--- config
    location /bad {
        isolate_memory_limit 256k;
        isolate_cpu_limit off;
        isolate_script_code 'def call(req)
              i = 0
              loop { "symbol number #{i += 1}".to_sym }
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the memory limit of 262144 bytes, NoMemoryError
--- timeout: 30



=== TEST 23: ever deeper nesting
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'def call(req)
              a = []
              loop { a = [a, {a => a}] }
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the memory limit of 1048576 bytes, NoMemoryError



=== TEST 24: GC.disable, then garbage: the memory limit still stops it; the fresh isolate has its GC on
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'def call(req)
              was = GC.disable
              loop { "x" * 1000 } if req.query == "bomb"
              [200, {}, ["GC was disabled: #{was}\n"]]
            end';
    }
--- request eval
["GET /bad?bomb", "GET /good", "GET /bad", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 200, 200, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "^GC was disabled: false\n\$", "^GC was disabled: true\n\$", "^good 2\n\$"]
--- error_log
call exceeded the memory limit of 1048576 bytes, NoMemoryError



=== TEST 25: GC.disable at the top level: the heap fills over a few requests, then a fresh isolate
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'GC.disable
            $n = 0
            def call(req)
              s = "x" * 400_000
              [200, {}, ["n=#{$n += 1}\n"]]
            end';
    }
--- request eval
["GET /good", "GET /bad", "GET /bad", "GET /bad", "GET /bad", "GET /bad", "GET /good"]
--- error_code eval
[200, 200, 200, 503, 200, 200, 200]
--- response_body_like eval
["^good 1\n\$", "^n=1\n\$", "^n=2\n\$", "503 Service", "^n=1\n\$", "^n=2\n\$", "^good 2\n\$"]



=== TEST 26: allocating inside ObjectSpace.each_object (no GC while it iterates) is bounded
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'def call(req)
              ObjectSpace.each_object { |o| "x" * 10_000 }
              [200, {}, ["walked\n"]]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the memory limit of 1048576 bytes, NoMemoryError



=== TEST 27: a memory bomb inside a Fiber
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'def call(req)
              Fiber.new { s = "x"; loop { s += s } }.resume
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the memory limit of 1048576 bytes, NoMemoryError



=== TEST 28: a memory bomb in an exception message
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'def call(req) = raise("x" * 10_000_000)';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the memory limit of 1048576 bytes, NoMemoryError



=== TEST 29: rescuing NoMemoryError and retrying forever is stopped by the CPU limit
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit 50ms;
        isolate_script_code 'def call(req)
              begin
                s = "x"
                loop { s += s }
              rescue NoMemoryError
                retry
              end
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log eval
qr/call exceeded the CPU limit of 50 ms, Isolate::CPULimitExceeded/



=== TEST 30: a script that only makes garbage never holds much: it keeps its isolate
A limit "hit" that a GC cycle resolves is no hit: mruby retries the
allocation after collecting, and the script never sees a NoMemoryError.
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code '$n = 0
            def call(req)
              20.times { "x" * 200_000 }
              [200, {}, ["n=#{$n += 1}\n"]]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /bad", "GET /good"]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body_like eval
["^n=1\n\$", "^good 1\n\$", "^n=2\n\$", "^n=3\n\$", "^good 2\n\$"]
--- no_error_log
discarded
exceeded



=== TEST 31: deep recursion is a SystemStackError: 500, and the isolate stays
--- config
    location /bad {
        isolate_script_code '$n = 0
            def f(n) = f(n + 1)
            def call(req)
              $n += 1
              f(0) unless req.query == "ok"
              [200, {}, ["n=#{$n}\n"]]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good", "GET /bad?ok"]
--- error_code eval
[500, 200, 500, 200, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$", "^n=3\n\$"]
--- error_log eval
qr/\[error\] .*call raised SystemStackError: stack level too deep; backtrace: isolate_script_code:2:in f, /



=== TEST 32: recursion through C: to_s interpolating itself
--- config
    location /bad {
        isolate_script_code 'class Me
              def to_s = "<#{self}>"
            end
            def call(req) = [200, {}, ["#{Me.new}"]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
call raised SystemStackError: stack level too deep



=== TEST 33: recursion through method_missing
--- config
    location /bad {
        isolate_script_code 'def method_missing(name, *args) = __send__("#{name}x", *args)
            def call(req) = [200, {}, [nothing]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
call raised SystemStackError: stack level too deep



=== TEST 34: inspect of a deeply nested Array
--- config
    location /bad {
        isolate_cpu_limit off;
        isolate_script_code 'def call(req)
              a = []
              100_000.times { a = [a] }
              [200, {}, [a.inspect]]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
call raised SystemStackError: stack level too deep
--- timeout: 30



=== TEST 35: recursion inside a Fiber
--- config
    location /bad {
        isolate_script_code 'def f(n) = f(n + 1)
            def call(req) = Fiber.new { f(0) }.resume';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
call raised SystemStackError: stack level too deep



=== TEST 36: recursion through a Hash default proc
--- config
    location /bad {
        isolate_script_code 'def call(req)
              h = Hash.new { |hash, k| hash[k + 1] }
              [200, {}, [h[0].to_s]]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
call raised SystemStackError: stack level too deep



=== TEST 37: Array#join of a very deeply nested Array (C recursion, no depth limit)
mruby's join recurses in C once per level and scans all enclosing levels at
each: O(depth^2) in one C call, which no CPU limit interrupts; at 200,000
levels the worker's 8 MB stack overflows (SIGSEGV) after ~20 s of CPU.
Skipped under valgrind, where it would take the better part of an hour.
--- skip_eval: 4: $ENV{TEST_NGINX_USE_VALGRIND}
--- config
    location /bad {
        isolate_cpu_limit 20ms;
        isolate_script_code 'def call(req)
              a = []
              200_000.times { a = [a] }
              [200, {}, [a.join(",")]]
            end';
    }
--- request eval
["GET /bad", "GET /good"]
--- error_code eval
[503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$"]
--- timeout: 120



=== TEST 38: a 20 MB body
--- config
    location /bad {
        isolate_memory_limit 64m;
        isolate_cpu_limit off;
        isolate_script_code 'def call(req) = [200, {}, ["0123456789" * 2_000_000]]';
    }
--- request eval
["GET /good", "GET /bad", "GET /bad", "GET /good"]
--- response_body_filters eval
sub { length($_[0]) > 1000 ? length($_[0]) . " " . ($_[0] eq "0123456789" x 2_000_000 ? "ok" : "corrupt") : $_[0] }
--- response_body eval
["good 1\n", "20000000 ok", "20000000 ok", "good 2\n"]
--- timeout: 60



=== TEST 39: a 20 MB body past a 1 MB memory limit
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'def call(req) = [200, {}, ["0123456789" * 2_000_000]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the memory limit of 1048576 bytes, NoMemoryError



=== TEST 40: a body of 100,000 parts
--- config
    location /bad {
        isolate_cpu_limit off;
        isolate_script_code 'def call(req) = [200, {}, Array.new(100_000) { |i| (i % 10).to_s }]';
    }
--- request eval
["GET /good", "GET /bad", "GET /good"]
--- response_body eval
["good 1\n", "0123456789" x 10_000, "good 2\n"]
--- timeout: 30



=== TEST 41: a binary body: every byte value, NULs and invalid UTF-8 included
--- config
    location /bad {
        isolate_script_code 'BYTES = (0..255).map { |b| b.chr }.join
            def call(req) = [200, {"content-type" => "application/octet-stream"}, [BYTES * 4, "\xff\xfe\x00"]]';
    }
--- request eval
["GET /good", "GET /bad", "GET /good"]
--- response_body eval
["good 1\n", join("", map { chr } 0..255) x 4 . "\xff\xfe\x00", "good 2\n"]



=== TEST 42: an exception in the top level: 500 on every request, retried
--- config
    location /bad {
        isolate_script_code '$n = 0
            raise ArgumentError, "top level fails"
            def call(req) = [200, {}, ["never\n"]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- grep_error_log eval: qr/top level raised ArgumentError: top level fails; backtrace: isolate_script_code:2/
--- grep_error_log_out eval
qr/\A(top level raised ArgumentError: top level fails; backtrace: isolate_script_code:2\n)+\z/



=== TEST 43: an exception in call: 500, and the isolate keeps its state
--- config
    location /bad {
        isolate_script_code '$n = 0
            def call(req)
              $n += 1
              raise IndexError, "call fails at #{$n}" unless req.query == "ok"
              [200, {}, ["n=#{$n}\n"]]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good", "GET /bad?ok"]
--- error_code eval
[500, 200, 500, 200, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$", "^n=3\n\$"]
--- error_log eval
qr/\[error\] .*call raised IndexError: call fails at 1; backtrace: isolate_script_code:4:in call/
--- no_error_log
discarded



=== TEST 44: an exception in to_s of an object interpolated into the body
--- config
    location /bad {
        isolate_script_code 'class Bad
              def to_s = raise("to_s fails")
            end
            def call(req) = [200, {}, ["value: #{Bad.new}\n"]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log eval
qr/call raised RuntimeError: to_s fails; backtrace: isolate_script_code:2:in to_s/



=== TEST 45: body parts of a String subclass whose methods raise: the bytes are used, no method is called
--- config
    location /bad {
        isolate_script_code 'class Part < String
              %i[to_s to_str bytesize size length each_char each_byte inspect encoding dup freeze].each do |m|
                define_method(m) { |*a| raise "#{m} called" }
              end
            end
            def call(req) = [200, {}, [Part.new("part 1, "), Part.new("part 2\n")]]';
    }
--- request eval
["GET /good", "GET /bad", "GET /bad", "GET /good"]
--- response_body eval
["good 1\n", "part 1, part 2\n", "part 1, part 2\n", "good 2\n"]



=== TEST 46: a body Array and a headers Hash whose classes override everything: read directly
--- config
    location /bad {
        isolate_script_code 'class Body < Array
              %i[each size length [] first to_a to_ary map join inspect].each do |m|
                define_method(m) { |*a| raise "Body##{m} called" }
              end
            end
            class Headers < Hash
              %i[each each_pair keys values [] size length to_a to_h to_hash inspect].each do |m|
                define_method(m) { |*a| raise "Headers##{m} called" }
              end
            end
            def call(req)
              h = Headers.new
              h.store("x-from", "subclass")
              [200, h, Body.new(["a", "b", "\n"])]
            end';
    }
--- request eval
["GET /good", "GET /bad", "GET /good"]
--- response_body eval
["good 1\n", "ab\n", "good 2\n"]
--- response_headers eval
["", "X-From: subclass", ""]



=== TEST 47: a Rack-style body object with each is refused by name
--- config
    location /bad {
        isolate_script_code 'class Streamed
              def each
                yield "never"
              end
            end
            def call(req) = [200, {}, Streamed.new]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
call returned an invalid response: body must be a String or an Array of Strings, got Streamed



=== TEST 48: inspect raising while the module describes an invalid response
--- config
    location /bad {
        isolate_script_code 'class Name
              def inspect = raise(TypeError, "inspect fails")
            end
            def call(req) = [200, {Name.new => "v"}, []]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
call raised TypeError: inspect fails



=== TEST 49: an exception whose methods all loop is logged at once, from its raise
--- config
    location /bad {
        isolate_cpu_limit 20ms;
        isolate_script_code 'class Nasty < StandardError
              %i[message to_s inspect backtrace full_message detailed_message cause class].each do |m|
                define_method(m) { |*a| loop {} }
              end
              def self.name = loop {}
              def self.to_s = loop {}
              def self.inspect = loop {}
            end
            def call(req) = raise(Nasty, "as raised")';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log eval
qr/call raised Nasty: as raised; backtrace: isolate_script_code:9:in call/
--- no_error_log
exceeded the CPU limit



=== TEST 50: raise with something that is not an exception
--- config
    location /bad {
        isolate_script_code 'def call(req) = raise(42)';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
call raised TypeError: exception class/object expected



=== TEST 51: an exception whose initialize does not call super: no message
--- config
    location /bad {
        isolate_script_code 'class NoSuper < StandardError
              def initialize(*) = nil
            end
            def call(req) = raise(NoSuper, "lost")';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log eval
qr/call raised NoSuper; backtrace: isolate_script_code:4:in call/



=== TEST 52: an exception with a non-String message
--- config
    location /bad {
        isolate_script_code 'class Numbered < StandardError; end
            def call(req) = raise(Numbered.new(42))';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log eval
qr/call raised Numbered: 42; backtrace: isolate_script_code:2:in call/



=== TEST 53: call returns nil
--- config
    location /bad {
        isolate_script_code 'def call(req) = nil';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
call returned an invalid response: call must return [status, headers, body], got nil



=== TEST 54: call returns a Proc
--- config
    location /bad {
        isolate_script_code 'def call(req) = proc { [200, {}, ["lazy"]] }';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log eval
qr/call returned an invalid response: call must return \[status, headers, body\], got #<Proc:0x[0-9a-f]+ isolate_script_code:1>/



=== TEST 55: call returns an Array that contains itself
--- config
    location /bad {
        isolate_script_code 'def call(req)
              a = []
              a << a
              a
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
call must return [status, headers, body], got [[...]]



=== TEST 56: a triple that contains itself
--- config
    location /bad {
        isolate_script_code 'def call(req)
              t = [200, {}]
              t << t
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
body must be a String or an Array of Strings, got Integer at index 0



=== TEST 57: a body Array that contains itself
--- config
    location /bad {
        isolate_script_code 'def call(req)
              body = ["x"]
              body << body
              [200, {}, body]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
body must be a String or an Array of Strings, got Array at index 1



=== TEST 58: a header name that is not a String: nil
--- config
    location /bad {
        isolate_script_code 'def call(req)
              key = {"nil" => nil, "int" => 7, "ary" => ["a"], "hash" => {"k" => "v"}}[req.query]
              [200, {"x-ok" => "1", key => "v"}, ["never\n"]]
            end';
    }
--- request eval
["GET /bad?nil", "GET /good", "GET /bad?nil", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
header name must be a String, got nil



=== TEST 59: a header name that is not a String: int
--- config
    location /bad {
        isolate_script_code 'def call(req)
              key = {"nil" => nil, "int" => 7, "ary" => ["a"], "hash" => {"k" => "v"}}[req.query]
              [200, {"x-ok" => "1", key => "v"}, ["never\n"]]
            end';
    }
--- request eval
["GET /bad?int", "GET /good", "GET /bad?int", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
header name must be a String, got 7



=== TEST 60: a header name that is not a String: ary
--- config
    location /bad {
        isolate_script_code 'def call(req)
              key = {"nil" => nil, "int" => 7, "ary" => ["a"], "hash" => {"k" => "v"}}[req.query]
              [200, {"x-ok" => "1", key => "v"}, ["never\n"]]
            end';
    }
--- request eval
["GET /bad?ary", "GET /good", "GET /bad?ary", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
header name must be a String, got ["a"]



=== TEST 61: a header name that is not a String: hash
--- config
    location /bad {
        isolate_script_code 'def call(req)
              key = {"nil" => nil, "int" => 7, "ary" => ["a"], "hash" => {"k" => "v"}}[req.query]
              [200, {"x-ok" => "1", key => "v"}, ["never\n"]]
            end';
    }
--- request eval
["GET /bad?hash", "GET /good", "GET /bad?hash", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
header name must be a String, got {"k"=>"v"}



=== TEST 62: frozen everything is fine
--- config
    location /bad {
        isolate_script_code 'RESPONSE = [200, {"x-frozen" => "yes".freeze}.freeze, ["frozen body\n".freeze].freeze].freeze
            def call(req) = RESPONSE';
    }
--- request eval
["GET /good", "GET /bad", "GET /bad", "GET /good"]
--- response_body eval
["good 1\n", "frozen body\n", "frozen body\n", "good 2\n"]



=== TEST 63: an enormous String status: 500, the log line is cut by nginx
--- config
    location /bad {
        isolate_script_code 'def call(req)
              return [200, {}, ["ok\n"]] if req.query == "ok"
              ["5" * 1_000_000, {}, []]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good", "GET /bad?ok"]
--- error_code eval
[500, 200, 500, 200, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$", "^ok\n\$"]
--- error_log eval
qr/\[error\] .*call returned an invalid response: status must be an Integer in 200\.\.599, got "5{1000,4000}$/



=== TEST 64: an enormous String status past the memory limit: describing it is bounded too
--- config
    location /bad {
        isolate_memory_limit 2m;
        isolate_cpu_limit off;
        isolate_script_code 'S = "5" * 1_500_000
            def call(req) = [S, {}, []]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the memory limit of 2097152 bytes, NoMemoryError



=== TEST 65: a status that is a number but not a valid one: big
--- config
    location /bad {
        isolate_script_code 'def call(req)
              s = {"big" => 2**62, "neg" => -200, "float" => 200.0, "zero" => 0}[req.query]
              [s, {}, ["never\n"]]
            end';
    }
--- request eval
["GET /bad?big", "GET /good", "GET /bad?big", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
status must be an Integer in 200..599, got 4611686018427387904



=== TEST 66: a status that is a number but not a valid one: neg
--- config
    location /bad {
        isolate_script_code 'def call(req)
              s = {"big" => 2**62, "neg" => -200, "float" => 200.0, "zero" => 0}[req.query]
              [s, {}, ["never\n"]]
            end';
    }
--- request eval
["GET /bad?neg", "GET /good", "GET /bad?neg", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
status must be an Integer in 200..599, got -200



=== TEST 67: a status that is a number but not a valid one: float
--- config
    location /bad {
        isolate_script_code 'def call(req)
              s = {"big" => 2**62, "neg" => -200, "float" => 200.0, "zero" => 0}[req.query]
              [s, {}, ["never\n"]]
            end';
    }
--- request eval
["GET /bad?float", "GET /good", "GET /bad?float", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
status must be an Integer in 200..599, got 200.0



=== TEST 68: a status that is a number but not a valid one: zero
--- config
    location /bad {
        isolate_script_code 'def call(req)
              s = {"big" => 2**62, "neg" => -200, "float" => 200.0, "zero" => 0}[req.query]
              [s, {}, ["never\n"]]
            end';
    }
--- request eval
["GET /bad?zero", "GET /good", "GET /bad?zero", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
status must be an Integer in 200..599, got 0



=== TEST 69: a triple that is an Array subclass overriding its readers is read directly
--- config
    location /bad {
        isolate_script_code 'class Triple < Array
              def [](*) = raise("Triple#[] called")
              def size = 99
              def length = 99
              def to_a = raise("Triple#to_a called")
            end
            def call(req) = Triple.new([201, {}, ["triple\n"]])';
    }
--- request eval
["GET /good", "GET /bad", "GET /good"]
--- error_code eval
[200, 201, 200]
--- response_body eval
["good 1\n", "triple\n", "good 2\n"]



=== TEST 70: 10,000 response headers and a 1 MB header value
--- config
    location /bad {
        isolate_cpu_limit off;
        isolate_script_code 'MANY = (1..10_000).to_h { |i| ["x-h#{i}", i.to_s] }
            LONG = {"x-long" => "v" * 1_000_000}
            def call(req) = [200, req.query == "long" ? LONG : MANY, ["headers\n"]]';
    }
--- request eval
["GET /good", "GET /bad", "GET /bad?long", "GET /good"]
--- response_body eval
["good 1\n", "headers\n", "headers\n", "good 2\n"]
--- response_headers eval
["", "X-H1: 1\nX-H10000: 10000", "X-Long: " . "v" x 1_000_000, ""]
--- timeout: 30



=== TEST 71: Exception, outside StandardError, raised by hand: 500, the isolate stays
--- config
    location /bad {
        isolate_script_code '$n = 0
            class SystemExit < Exception; end
            def call(req)
              $n += 1
              raise Object.const_get(req.query), "by hand" unless req.query.empty?
              [200, {}, ["n=#{$n}\n"]]
            end';
    }
--- request eval
["GET /bad?Exception", "GET /good", "GET /bad?Exception", "GET /good", "GET /bad"]
--- error_code eval
[500, 200, 500, 200, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$", "^n=3\n\$"]
--- error_log
call raised Exception: by hand
--- no_error_log
discarded
exceeded



=== TEST 72: ScriptError, outside StandardError, raised by hand: 500, the isolate stays
--- config
    location /bad {
        isolate_script_code '$n = 0
            class SystemExit < Exception; end
            def call(req)
              $n += 1
              raise Object.const_get(req.query), "by hand" unless req.query.empty?
              [200, {}, ["n=#{$n}\n"]]
            end';
    }
--- request eval
["GET /bad?ScriptError", "GET /good", "GET /bad?ScriptError", "GET /good", "GET /bad"]
--- error_code eval
[500, 200, 500, 200, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$", "^n=3\n\$"]
--- error_log
call raised ScriptError: by hand
--- no_error_log
discarded
exceeded



=== TEST 73: NotImplementedError, outside StandardError, raised by hand: 500, the isolate stays
--- config
    location /bad {
        isolate_script_code '$n = 0
            class SystemExit < Exception; end
            def call(req)
              $n += 1
              raise Object.const_get(req.query), "by hand" unless req.query.empty?
              [200, {}, ["n=#{$n}\n"]]
            end';
    }
--- request eval
["GET /bad?NotImplementedError", "GET /good", "GET /bad?NotImplementedError", "GET /good", "GET /bad"]
--- error_code eval
[500, 200, 500, 200, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$", "^n=3\n\$"]
--- error_log
call raised NotImplementedError: by hand
--- no_error_log
discarded
exceeded



=== TEST 74: SystemExit, outside StandardError, raised by hand: 500, the isolate stays
--- config
    location /bad {
        isolate_script_code '$n = 0
            class SystemExit < Exception; end
            def call(req)
              $n += 1
              raise Object.const_get(req.query), "by hand" unless req.query.empty?
              [200, {}, ["n=#{$n}\n"]]
            end';
    }
--- request eval
["GET /bad?SystemExit", "GET /good", "GET /bad?SystemExit", "GET /good", "GET /bad"]
--- error_code eval
[500, 200, 500, 200, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$", "^n=3\n\$"]
--- error_log
call raised SystemExit: by hand
--- no_error_log
discarded
exceeded



=== TEST 75: NoMemoryError, outside StandardError, raised by hand: 500, the isolate stays
--- config
    location /bad {
        isolate_script_code '$n = 0
            class SystemExit < Exception; end
            def call(req)
              $n += 1
              raise Object.const_get(req.query), "by hand" unless req.query.empty?
              [200, {}, ["n=#{$n}\n"]]
            end';
    }
--- request eval
["GET /bad?NoMemoryError", "GET /good", "GET /bad?NoMemoryError", "GET /good", "GET /bad"]
--- error_code eval
[500, 200, 500, 200, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$", "^n=3\n\$"]
--- error_log
call raised NoMemoryError: by hand
--- no_error_log
discarded
exceeded



=== TEST 76: SystemStackError, outside StandardError, raised by hand: 500, the isolate stays
--- config
    location /bad {
        isolate_script_code '$n = 0
            class SystemExit < Exception; end
            def call(req)
              $n += 1
              raise Object.const_get(req.query), "by hand" unless req.query.empty?
              [200, {}, ["n=#{$n}\n"]]
            end';
    }
--- request eval
["GET /bad?SystemStackError", "GET /good", "GET /bad?SystemStackError", "GET /good", "GET /bad"]
--- error_code eval
[500, 200, 500, 200, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$", "^n=3\n\$"]
--- error_log
call raised SystemStackError: by hand
--- no_error_log
discarded
exceeded



=== TEST 77: Isolate::CPULimitExceeded raised by hand is a plain exception: 500, the isolate stays
--- config
    location /bad {
        isolate_script_code '$n = 0
            def call(req)
              $n += 1
              raise Isolate::CPULimitExceeded, "by hand" unless req.query == "ok"
              [200, {}, ["n=#{$n}\n"]]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good", "GET /bad?ok"]
--- error_code eval
[500, 200, 500, 200, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$", "^n=3\n\$"]
--- error_log
call raised Isolate::CPULimitExceeded: by hand
--- no_error_log
discarded
exceeded



=== TEST 78: the isolate's own CPU-limit exception, found with ObjectSpace, tampered with and raised by hand
Raising it by hand is an ordinary exception: 500, and the isolate stays.
No method of the exception runs while it is logged.
--- config
    location /bad {
        isolate_cpu_limit 20ms;
        isolate_script_code 'def call(req)
              found = []
              ObjectSpace.each_object(Isolate::CPULimitExceeded) { |e| found << e }
              e = found.first
              unless e.frozen?
                def e.message = loop {}
                def e.backtrace = loop {}
                e.freeze
              end
              raise e
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log eval
qr/call raised Isolate::CPULimitExceeded: CPU limit exceeded/
--- no_error_log
discarded



=== TEST 79: the isolate's own CPU-limit exception, tampered with: the limit still holds
--- config
    location /bad {
        isolate_cpu_limit 20ms;
        isolate_script_code 'def call(req)
              found = []
              ObjectSpace.each_object(Isolate::CPULimitExceeded) { |e| found << e }
              e = found.first
              def e.message = loop {}
              def e.backtrace = loop {}
              e.freeze
              loop {}
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log eval
qr/call exceeded the CPU limit of 20 ms, Isolate::CPULimitExceeded: CPU limit exceeded/



=== TEST 80: mruby's own preallocated exceptions, frozen and given methods: SystemStackError still works
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'def f(n) = f(n + 1)
            def call(req)
              ObjectSpace.each_object(Exception) do |e|
                next if e.frozen?
                def e.message = raise("tampered")
                e.freeze
              end
              if req.query == "stack"
                f(0)
              else
                s = "x"
                loop { s += s }
              end
            end';
    }
--- request eval
["GET /bad?stack", "GET /good", "GET /bad?stack", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
call raised SystemStackError: stack level too deep



=== TEST 81: mruby's own preallocated exceptions, frozen and given methods: NoMemoryError still works
--- config
    location /bad {
        isolate_memory_limit 1m;
        isolate_cpu_limit off;
        isolate_script_code 'def f(n) = f(n + 1)
            def call(req)
              ObjectSpace.each_object(Exception) do |e|
                next if e.frozen?
                def e.message = raise("tampered")
                e.freeze
              end
              if req.query == "stack"
                f(0)
              else
                s = "x"
                loop { s += s }
              end
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[503, 200, 503, 200]
--- response_body_like eval
["503 Service", "^good 1\n\$", "503 Service", "^good 2\n\$"]
--- error_log
call exceeded the memory limit of 1048576 bytes, NoMemoryError



=== TEST 82: throw without catch
--- config
    location /bad {
        isolate_script_code 'def call(req) = throw(:nowhere, 1)';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
call raised UncaughtThrowError: uncaught throw :nowhere



=== TEST 83: throw from inside a Fiber to a catch outside it
--- config
    location /bad {
        isolate_script_code 'def call(req)
              r = catch(:out) { Fiber.new { throw :out, "thrown" }.resume; "not thrown" }
              [200, {}, ["#{r}\n"]]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log eval
qr/call raised (UncaughtThrowError|FiberError)/



=== TEST 84: resuming a dead Fiber
--- config
    location /bad {
        isolate_script_code 'def call(req)
              f = Fiber.new { 1 }
              f.resume
              f.resume
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log eval
qr/call raised FiberError: (dead fiber called|resuming dead fiber)/



=== TEST 85: Fiber.yield outside any Fiber
--- config
    location /bad {
        isolate_script_code 'def call(req) = Fiber.yield(1)';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
call raised FiberError: attempt to yield on a not resumed fiber



=== TEST 86: a Fiber resuming itself, and one resumed while it resumes another
--- config
    location /bad {
        isolate_script_code 'def call(req)
              if req.query == "self"
                f = Fiber.new { f.resume }
                f.resume
              else
                outer = Fiber.new { Fiber.new { outer.resume }.resume }
                outer.resume
              end
            end';
    }
--- request eval
["GET /bad?self", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log eval
qr/call raised FiberError/



=== TEST 87: a Fiber left suspended across requests is resumed by the next one
--- config
    location /bad {
        isolate_script_code '$f = Fiber.new do
              i = 0
              loop { Fiber.yield(i += 1) }
            end
            def call(req) = [200, {}, ["fiber #{$f.resume}\n"]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /bad", "GET /good"]
--- response_body eval
["fiber 1\n", "good 1\n", "fiber 2\n", "fiber 3\n", "good 2\n"]



=== TEST 88: a Fiber suspended with a request inside it, resumed by a later request
The Request inside raises RuntimeError: rescued, it shows in the body
(the third request); not rescued, it is a 500 (the fifth).
--- config
    location /bad {
        isolate_script_code '$f = nil
            def call(req)
              if $f.nil?
                $f = Fiber.new do |r|
                  Fiber.yield r.path
                  r.path
                end
                return [200, {}, ["first #{$f.resume(req)}\n"]]
              end
              f, $f = $f, nil
              return [200, {}, ["later #{f.resume}\n"]] if req.query.empty?
              begin
                f.resume
              rescue RuntimeError => e
                [200, {}, ["later: #{e.message}\n"]]
              end
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad?rescue", "GET /bad", "GET /bad", "GET /good", "GET /bad"]
--- error_code eval
[200, 200, 200, 200, 500, 200, 200]
--- response_body_like eval
["^first /bad\n\$", "^good 1\n\$", "^later: Isolate::Request used after its request ended\n\$", "^first /bad\n\$", "500 Internal", "^good 2\n\$", "^first /bad\n\$"]



=== TEST 89: Fiber#transfer: to a Fiber that ends, and a Fiber.yield from a transferred Fiber
--- config
    location /bad {
        isolate_script_code 'def call(req)
              if req.query == "yield"
                Fiber.new { Fiber.yield 1 }.transfer
              end
              f = Fiber.new { [200, {}, ["transferred\n"]] }
              r = f.transfer
              [200, {}, ["back: #{r.inspect}\n"]]
            end';
    }
--- request eval
["GET /bad?yield", "GET /good", "GET /bad", "GET /good"]
--- error_code_like eval
["^500\$", "^200\$", "^(200|500)\$", "^200\$"]
--- response_body_like eval
["500 Internal", "^good 1\n\$", ".", "^good 2\n\$"]
--- error_log eval
qr/call raised FiberError/



=== TEST 90: 10,000 Fibers left suspended in a global
--- config
    location /bad {
        isolate_memory_limit 256m;
        isolate_cpu_limit off;
        isolate_script_code '$fibers = []
            def call(req)
              1000.times { f = Fiber.new { Fiber.yield; :never }; f.resume; $fibers << f }
              [200, {}, ["#{$fibers.size} fibers\n"]]
            end';
    }
--- request eval
["GET /good", (map { "GET /bad" } 1..10), "GET /good"]
--- response_body eval
["good 1\n", (map { "${_}000 fibers\n" } 1..10), "good 2\n"]
--- timeout: 30



=== TEST 91: ObjectSpace sees only its own isolate
--- config
    location /a {
        isolate_script_code 'class SecretOfA; end
            $secret = "secret of a " * 3
            def call(req) = [200, {}, ["a\n"]]';
    }
    location /bad {
        isolate_script_code 'def call(req)
              classes = []
              ObjectSpace.each_object(Class) { |c| classes << c.to_s }
              strings = 0
              needle = "secret" + " of a"
              ObjectSpace.each_object(String) { |s| strings += 1 if !s.equal?(needle) && s.include?(needle) }
              [200, {}, ["SecretOfA: #{classes.include?("SecretOfA")}, strings: #{strings}, Request: #{classes.include?("Isolate::Request")}\n"]]
            end';
    }
--- request eval
["GET /a", "GET /good", "GET /bad", "GET /bad", "GET /good"]
--- response_body eval
["a\n", "good 1\n", "SecretOfA: false, strings: 0, Request: true\n", "SecretOfA: false, strings: 0, Request: true\n", "good 2\n"]



=== TEST 92: calling methods on every object ObjectSpace finds
--- config
    location /bad {
        isolate_cpu_limit off;
        isolate_script_code '$kept = nil
            def call(req)
              $kept ||= [req, req.headers, req.var, Fiber.new { Fiber.yield }.tap(&:resume), [1].each, method(:call), proc { 1 }]
              n = 0
              ObjectSpace.each_object do |o|
                n += 1
                [:class, :inspect, :to_s, :hash, :frozen?, :instance_variables, :dup, :clone, :singleton_class,
                 :methods, :object_id, :freeze].each do |m|
                  begin
                    o.__send__(m)
                  rescue StandardError, ScriptError
                  end
                end
              end
              [200, {}, ["walked #{n > 100}\n"]]
            end';
    }
--- request eval
["GET /good", "GET /bad", "GET /bad", "GET /good"]
--- error_code eval
[200, 200, 200, 200]
--- response_body eval
["good 1\n", "walked true\n", "walked true\n", "good 2\n"]
--- timeout: 30



=== TEST 93: redefined Array#each, String#to_s, Hash#each and Integer#to_s: the response is still right
--- config
    location /bad {
        isolate_script_code 'class Array
              def each(*) = raise("Array#each called")
            end
            class String
              def to_s = raise("String#to_s called")
              def to_str = raise("String#to_str called")
            end
            class Hash
              def each(*) = raise("Hash#each called")
              def each_pair(*) = raise("Hash#each_pair called")
            end
            class Integer
              def to_s(*) = "NaN"
              def inspect = "NaN"
            end
            def call(req) = [200, {"x-patched" => "yes"}, ["a", "b", "\n"]]';
    }
--- request eval
["GET /good", "GET /bad", "GET /bad", "GET /good"]
--- response_body eval
["good 1\n", "ab\n", "ab\n", "good 2\n"]
--- response_headers eval
["", "X-Patched: yes", "X-Patched: yes", ""]



=== TEST 94: a redefined Object#method_missing
--- config
    location /bad {
        isolate_script_code 'class Object
              def method_missing(name, *args) = raise(NoMethodError, "patched missing #{name}")
              def respond_to_missing?(*) = true
            end
            def call(req)
              return [200, {}, ["ok\n"]] if req.query == "ok"
              undefined_thing
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad?ok", "GET /good"]
--- error_code eval
[500, 200, 200, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "^ok\n\$", "^good 2\n\$"]
--- error_log
call raised NoMethodError: patched missing undefined_thing



=== TEST 95: call reached only through method_missing is not defined
--- config
    location /bad {
        isolate_script_code 'def method_missing(name, *args) = [200, {}, ["via method_missing\n"]]
            def respond_to_missing?(*) = true';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
the script does not define call(req)



=== TEST 96: a redefined Kernel#raise: raising does nothing, mruby's own errors still raise
--- config
    location /bad {
        isolate_script_code 'module Kernel
              def raise(*) = nil
            end
            def call(req)
              raise "ignored"
              nil.upcase if req.query == "nil"
              [200, {}, ["raise ignored\n"]]
            end';
    }
--- request eval
["GET /bad?nil", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 200, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "^raise ignored\n\$", "^good 2\n\$"]
--- error_log
call raised NoMethodError: undefined method 'upcase'; backtrace: isolate_script_code:6:in call



=== TEST 97: inspect raising everywhere, then an invalid response
--- config
    location /bad {
        isolate_script_code 'class Object
              def inspect = raise("Object#inspect called")
            end
            class NilClass
              def inspect = raise("NilClass#inspect called")
            end
            def call(req) = nil';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log
call raised RuntimeError: NilClass#inspect called



=== TEST 98: Exception#initialize, Exception.new and Exception#message redefined
--- config
    location /bad {
        isolate_script_code 'class Exception
              def initialize(*) = nil
              def message = raise("Exception#message called")
              def self.exception(*) = raise("Exception.exception called")
            end
            def call(req)
              return 1 / 0 if req.query == "zero"
              raise ArgumentError, "lost"
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad?zero", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log eval
qr/call raised (ArgumentError|RuntimeError|SystemStackError)/



=== TEST 99: the Isolate constants removed: requests are still served
--- config
    location /bad {
        isolate_script_code '$n = 0
            def call(req)
              if $n == 0
                Isolate.send(:remove_const, :Request)
                Isolate.send(:remove_const, :Headers)
                Isolate.send(:remove_const, :Vars)
                Object.send(:remove_const, :Isolate)
              end
              $n += 1
              GC.start
              junk = Array.new(1000) { "junk" * 100 }
              [200, {}, ["n=#{$n} #{req.path} #{req.headers["host"]} #{req.var["uri"]}\n"]]
            end';
    }
--- request eval
["GET /good", "GET /bad", "GET /bad", "GET /bad", "GET /good"]
--- response_body eval
["good 1\n", "n=1 /bad localhost /bad\n", "n=2 /bad localhost /bad\n", "n=3 /bad localhost /bad\n", "good 2\n"]



=== TEST 100: puts with Array#flatten redefined to return a non-Array
--- config
    location /bad {
        isolate_script_code 'class Array
              def flatten(*) = 42
            end
            def call(req)
              puts ["one", "two"]
              [200, {}, ["printed\n"]]
            end';
    }
--- request eval
["GET /good", "GET /bad", "GET /bad", "GET /good"]
--- error_code_like eval
["^200\$", "^(200|500)\$", "^(200|500)\$", "^200\$"]
--- response_body_like eval
["^good 1\n\$", ".", ".", "^good 2\n\$"]



=== TEST 101: a Request kept past its request: RuntimeError, and so are its Headers and Vars (rescued: the body shows it)
--- config
    location /bad {
        isolate_script_code '$kept = nil
            def call(req)
              if $kept.nil?
                $kept = [req, req.headers, req.var]
                return [200, {}, ["kept\n"]]
              end
              old, headers, vars = $kept
              begin
                case req.query
                when "path" then old.path
                when "headers" then headers["host"]
                when "each" then headers.each { }
                when "to_h" then headers.to_h
                when "var" then vars["uri"]
                when "set" then vars["x"] = "y"
                end
                [200, {}, ["unreachable\n"]]
              rescue RuntimeError => e
                [500, {}, ["#{req.query}: #{e.message}\n"]]
              end
            end';
    }
--- request eval
["GET /bad", "GET /bad?path", "GET /bad?headers", "GET /good", "GET /bad?each", "GET /bad?to_h", "GET /bad?var", "GET /bad?set", "GET /good"]
--- error_code eval
[200, 500, 500, 200, 500, 500, 500, 500, 200]
--- response_body_like eval
["^kept
\$", "^path: Isolate::Request used after its request ended
\$", "^headers: Isolate::Request used", "^good 1
\$", "^each: Isolate::Request used", "^to_h: Isolate::Request used", "^var: Isolate::Request used", "^set: Isolate::Request used after its request ended
\$", "^good 2
\$"]



=== TEST 102: Requests made by hand: allocate, dup, clone, Class#new
--- config
    location /bad {
        isolate_script_code 'def try
              yield
              "worked"
            rescue => e
              "#{e.class}"
            end
            def call(req)
              out = [
                try { Isolate::Request.new },
                try { Isolate::Request.allocate.path },
                try { req.dup.path },
                try { req.clone.method },
                try { Class.instance_method(:new).bind(Isolate::Request).call.uri },
                try { Isolate::Headers.allocate["host"] },
                try { Isolate::Vars.allocate["uri"] },
                try { req.headers.dup.to_h.size > 0 },
                req.path,
              ]
              [200, {}, [out.join(" "), "\n"]]
            end';
    }
--- request eval
["GET /good", "GET /bad", "GET /bad", "GET /good"]
--- response_body_like eval
["^good 1\n\$", "^NoMethodError TypeError TypeError TypeError \\w+ TypeError TypeError worked /bad\n\$", "^NoMethodError ", "^good 2\n\$"]



=== TEST 103: call defined without an argument
--- config
    location /bad {
        isolate_script_code 'def call = [200, {}, ["no args\n"]]';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log eval
qr/call raised ArgumentError: wrong number of arguments \(given 1, expected 0\)/



=== TEST 104: call removing itself: its next request has no call
--- config
    location /bad {
        isolate_script_code 'def call(req)
              Object.send(:remove_method, :call)
              [200, {}, ["removed\n"]]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[200, 200, 500, 200]
--- response_body_like eval
["^removed\n\$", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- no_error_log
call raised



=== TEST 105: call returning the Request
--- config
    location /bad {
        isolate_script_code 'def call(req) = req';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log eval
qr/call returned an invalid response: call must return \[status, headers, body\], got #<Isolate::Request:0x[0-9a-f]+>/



=== TEST 106: a 100 KB exception message: the log line is cut, the worker lives
--- config
    location /bad {
        isolate_script_code 'def call(req) = raise(ArgumentError, "m" * 100_000)';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log eval
qr/\[error\] .*call raised ArgumentError: m{1000,4000}$/



=== TEST 107: exception messages with newlines, NULs and invalid UTF-8: control bytes escaped, no forged log line
--- config
    location /bad {
        isolate_script_code 'def call(req) = raise("first line\nsecond line \x00 \xff\xfe end")';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- response_body_like eval
["500 Internal", "^good 1\n\$", "500 Internal", "^good 2\n\$"]
--- error_log eval
qr/\[error\] .*call raised RuntimeError: first line\\nsecond line \\x00 \xff\xfe end; backtrace: /



=== TEST 108: Isolate.log, puts and print cannot forge a log line
--- config
    location /bad {
        isolate_script_code 'def call(req)
              Isolate.log(:error, "one\\r\\n2026/01/01 00:00:00 [warn] 1#1: forged")
              puts "two\n2026/01/01 00:00:00 [warn] 1#1: forged"
              print "three\e[31m"
              [200, {}, ["logged\n"]]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- response_body eval
["logged\n", "good 1\n", "logged\n", "good 2\n"]
--- error_log eval
[qr/\[error\] .*: one\\r\\n2026\/01\/01 00:00:00 \[warn\] 1#1: forged,/,
 qr/\[notice\] .*: two\\n2026\/01\/01 00:00:00 \[warn\] 1#1: forged,/,
 qr/\[notice\] .*: three\\x1b\[31m,/]
--- no_error_log eval
[qr/^2026\/01\/01/]



=== TEST 109: to_s in puts dropping the last reference to the Array being printed
--- config
    location /bad {
        isolate_script_code 'class Evil
              def to_s
                $outer.clear
                GC.start
                "evil"
              end
            end
            def call(req)
              $outer = [[Evil.new] + (1..20).map(&:to_s)]
              puts $outer
              [200, {}, ["printed\n"]]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- response_body eval
["printed\n", "good 1\n", "printed\n", "good 2\n"]
--- error_log
": evil,
": 20,



=== TEST 110: inspect of a header value's name dropping the last reference to the value
--- config
    location /bad {
        isolate_script_code 'class String
              def inspect
                $h.clear
                GC.start
                "name"
              end
            end
            def call(req)
              $h = {"x-bad" => [Object.new]}
              [200, $h, ["never\n"]]
            end';
    }
--- request eval
["GET /bad", "GET /good", "GET /bad", "GET /good"]
--- error_code eval
[500, 200, 500, 200]
--- error_log
call raised RuntimeError: hash modified



=== TEST 111: a second SystemStackError logs its own backtrace, not the first one's
--- config
    location /bad {
        isolate_script_code 'def f(n) = f(n + 1)
            def g(n) = g(n + 1)
            def call(req) = req.query == "f" ? f(0) : g(0)';
    }
--- request eval
["GET /bad?f", "GET /bad?g"]
--- error_code eval
[500, 500]
--- grep_error_log eval: qr/call raised SystemStackError: stack level too deep; backtrace: isolate_script_code:\d+:in [fg]\b/
--- grep_error_log_out eval
qr/\A.*in f\n(.*in g\n)?\z/



=== TEST 112: String methods on bytes that cannot start a UTF-8 character
mruby 3.3 looped forever in C on them (String#reverse, #chop …), out of
the CPU limit's reach: ngx_isolate_module/mruby-patches/utf8len.patch.
Each byte of a broken sequence is a character of its own (patched too).
--- config
    location /bad {
        isolate_script_code 'def call(req)
              s = req.params["s"]
              out = [s.bytesize, s.reverse.bytes, s.chop.bytesize, s.index("b", 1),
                     s[1, 2].bytesize, s.bytes.sum]
              [200, {}, [out.inspect, "\n"]]
            end';
    }
--- request eval
["GET /bad?s=%80ab%BF", "GET /good", "GET /bad?s=a%F8%FFb", "GET /good"]
--- response_body eval
["[4, [191, 98, 97, 128], 3, 2, 2, 514]\n", "good 1\n", "[4, [98, 255, 248, 97], 3, 3, 2, 698]\n", "good 2\n"]
