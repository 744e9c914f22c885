# The sandbox: scripts cannot reach the OS.  What does not exist raises
# NameError or NoMethodError, which a script may rescue.

use Test::Nginx::Socket;

repeat_each(1);
plan 'no_plan';
run_tests();

__DATA__

=== TEST 1: OS classes and constants do not exist
--- config
    location /t {
        isolate_script_code 'def call(req)
            out = %w(File IO Dir Socket TCPSocket Process ENV Kernel::IO).map do |name|
              begin
                Object.const_get(name)
                "#{name}: present"
              rescue NameError
                "#{name}: absent"
              end
            end
            [200, {}, [out.join("\n"), "\n"]]
        end';
    }
--- request
GET /t
--- response_body
File: absent
IO: absent
Dir: absent
Socket: absent
TCPSocket: absent
Process: absent
ENV: absent
Kernel::IO: absent



=== TEST 2: methods that reach the OS, block or load code do not exist
--- config
    location /t {
        isolate_script_code 'def try
              yield
              "present"
            rescue NoMethodError, NameError => e
              e.class.to_s
            end
            def call(req)
              out = []
              out << "system: "    + try { system("true") }
              out << "backtick: "  + try { `true` }
              out << "exit: "      + try { exit(1) }
              out << "exit!: "     + try { exit!(1) }
              out << "abort: "     + try { abort("x") }
              out << "sleep: "     + try { sleep(1) }
              out << "require: "   + try { require("socket") }
              out << "load: "      + try { load("/etc/passwd") }
              out << "open: "      + try { open("/etc/passwd") }
              out << "spawn: "     + try { spawn("true") }
              out << "fork: "      + try { fork }
              out << "exec: "      + try { exec("true") }
              out << "eval: "      + try { eval("1") }
              out << "gets: "      + try { gets }
              [200, {}, [out.join("\n"), "\n"]]
            end';
    }
--- request
GET /t
--- response_body
system: NoMethodError
backtick: NoMethodError
exit: NoMethodError
exit!: NoMethodError
abort: NoMethodError
sleep: NoMethodError
require: NoMethodError
load: NoMethodError
open: NoMethodError
spawn: NoMethodError
fork: NoMethodError
exec: NoMethodError
eval: NoMethodError
gets: NoMethodError



=== TEST 3: an unrescued sandbox miss is an ordinary 500 with its log line
--- config
    location /t {
        isolate_script_code 'def call(req) = [200, {}, [File.read("/etc/passwd")]]';
    }
--- request
GET /t
--- error_code: 500
--- error_log eval
qr/call raised NameError: uninitialized constant File/



=== TEST 4: the language itself is all there
--- config
    location /t {
        isolate_script_code 'Point = Struct.new(:x, :y)
            def call(req)
              f = Fiber.new { Fiber.yield 1; 2 }
              out = [
                Point.new(1, 2).x + Point.new(1, 2).y,
                [3, 1, 2].sort.lazy.map { _1 * 2 }.first(2).inspect,
                format("%05.1f", 3.14159),
                [1, 2].pack("n*").unpack("n*").inspect,
                Time.at(0).utc.year,
                Math.sqrt(16).to_i,
                (1r / 3).to_s,
                f.resume + f.resume,
                catch(:done) { throw :done, "caught" },
                "héllo".size,
                Set[1, 2, 2].size,
                Data.define(:w).new(w: 7).w,
              ]
              [200, {}, [out.join(" "), "\n"]]
            end';
    }
--- request
GET /t
--- response_body
3 [2, 4] 003.1 [1, 2] 1970 4 1/3 3 caught 5 2 7
