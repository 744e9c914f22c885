# Hostile requests: what clients send, not what scripts do (that is
# 013-adversarial.t).  Oversized request lines and headers, hundreds of
# headers, invalid UTF-8, NULs and bad %-escapes, bodies past the limit and
# broken framing, chunked bodies, clients that leave in the middle of a
# request or of a response, pipelining and keep-alive.
#
# The pattern of every block: the hostile request gets what nginx itself
# gives it (a 4xx, or nothing at all when the client is gone) or reaches the
# script byte for byte, and a following request to the same location proves
# the isolate is still there: its global counter goes on from where it was.
# A counter that restarted would mean a new worker, so a crash is caught
# even where its log line might not be.

use Test::Nginx::Socket;
use IO::Socket::INET ();
use Time::HiRes ();

repeat_each(1);
plan 'no_plan';
no_shuffle();

# A master process, so that a worker that crashes is reported ("worker
# process N exited on signal 11") and replaced instead of taking nginx down
# (a crash without one shows as the next request's failure to connect).
# Not under valgrind: it would check the master, not the worker the
# scripts run in, and report the master's own leaks.
master_on() unless $ENV{TEST_NGINX_USE_VALGRIND};
workers(1);

# A log assertion is checked after every request of a block; with the log
# accumulated over the block, a line logged by its first request satisfies
# the checks after the later ones too.
check_accum_error_log();

# The echo script most blocks use: the request line as the script sees it,
# each part with its length in bytes, so that the bytes are compared exactly.
$ENV{TEST_NGINX_ECHO} = <<'_EOS_';
'$n = 0
        def call(req)
          p, u, q = req.path, req.uri, req.query
          out = "#{$n += 1} #{req.method}\n"
          out << "path #{p.bytesize} #{p}\n"
          out << "uri #{u.bytesize} #{u}\n"
          out << "query #{q.bytesize} #{q}\n"
          req.params.each { |k, v| out << "param #{k.bytesize} #{k} = #{v.bytesize} #{v}\n" }
          out << "body #{req.body.bytesize}\n"
          [200, {}, [out]]
        end'
_EOS_
chomp $ENV{TEST_NGINX_ECHO};

# What the echo script answers: echo(n, method, path, uri, query,
# [key => value, ...], body length).
sub echo {
    my ($n, $method, $path, $uri, $query, $params, $body) = @_;
    my $out = "$n $method\n";
    $out .= "path " . length($path) . " $path\n";
    $out .= "uri " . length($uri) . " $uri\n";
    $out .= "query " . length($query) . " $query\n";
    my @p = @{ $params || [] };
    while (my ($k, $v) = splice @p, 0, 2) {
        $out .= "param " . length($k) . " $k = " . length($v) . " $v\n";
    }
    $out .= "body " . ($body || 0) . "\n";
    return $out;
}

# A client that goes away, for --- init (which runs once nginx is up and
# before the block's requests): sends $data on a connection of its own, then
# either reads until $read bytes of the answer have come (0: reads nothing;
# "eof": until nginx closes) or, with $read < 0, waits -$read seconds; then
# closes, unread bytes and all (so the kernel resets the connection).
sub hit_and_run {
    my ($data, $read) = @_;
    my $sock = IO::Socket::INET->new(
        PeerAddr => $Test::Nginx::Util::ServerAddr,
        PeerPort => $Test::Nginx::Util::ServerPortForClient,
        Proto => 'tcp', Timeout => 5,
    ) or die "hit_and_run: cannot connect: $!\n";
    local $SIG{PIPE} = 'IGNORE';
    print {$sock} $data;
    if ($read && $read eq 'eof') {
        1 while sysread $sock, my $chunk, 65536;
    } elsif ($read && $read > 0) {
        my $got = '';
        while (length $got < $read) {
            my $n = sysread $sock, my $chunk, $read - length $got;
            last unless $n;
            $got .= $chunk;
        }
        die "hit_and_run: got " . length($got) . " bytes, wanted $read\n"
            if length $got < $read;
    } elsif ($read && $read < 0) {
        Time::HiRes::sleep(-$read);
    }
    close $sock;
}

add_block_preprocessor(sub {
    my $block = shift;

    # whatever a client sends, nginx itself must not complain, and unless a
    # block says otherwise no script fails
    my @never = ('[alert]', '[crit]', '[emerg]', 'exited on signal');
    my $want = $block->error_log;
    push @never, qr/\[error\] .*isolate: /
        unless defined $want && join(' ', ref $want eq 'ARRAY' ? @$want : $want) =~ /isolate/;

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

=== TEST 1: a request line past large_client_header_buffers: nginx's 414; one just under it reaches the script whole
--- config
    large_client_header_buffers 4 1k;
    location /t {
        isolate_script_code '$n = 0
            def call(req)
              p, q, u = req.path, req.query, req.uri
              [200, {}, ["#{$n += 1} #{p.bytesize} #{q.bytesize} #{u.bytesize} #{p[-3, 3]}#{q[-3, 3]}\n"]]
            end';
    }
--- request eval
# "GET " + URI + " HTTP/1.1\r\n" must fit in one 1k buffer
["GET /t/" . ("a" x 1100) . "end",
 "GET /t/" . ("a" x 990) . "end",
 "GET /t?" . ("q" x 1100) . "end",
 "GET /t?" . ("q" x 990) . "end"]
--- error_code eval
[414, 200, 414, 200]
--- response_body_like eval
["414 Request-URI Too Large", "^1 996 0 996 end\n\$", "414 Request-URI Too Large", "^2 2 993 996 end\n\$"]
--- error_log
client sent too long URI while reading client request line



=== TEST 2: the default large_client_header_buffers (4 8k): an 8,100-byte URI is seen whole, a 9,000-byte one is nginx's 414
--- config
    location /t {
        isolate_script_code '$n = 0
            def call(req)
              u = req.uri
              ok = u == "/t/" + "0123456789" * 810
              [200, {}, ["#{$n += 1} #{req.path.bytesize} #{u.bytesize} #{ok}\n"]]
            end';
    }
--- request eval
["GET /t/" . ("0123456789" x 900),
 "GET /t/" . ("0123456789" x 810),
 "GET /t/" . ("0123456789" x 810)]
--- error_code eval
[414, 200, 200]
--- response_body_like eval
["414 Request-URI Too Large", "^1 8103 8103 true\n\$", "^2 8103 8103 true\n\$"]
--- error_log
client sent too long URI



=== TEST 3: a header line past large_client_header_buffers: nginx's 400; just under it the script gets the whole value
--- config
    large_client_header_buffers 4 1k;
    location /t {
        isolate_script_code '$n = 0
            def call(req)
              v, c = req.headers["x-big"], req.headers["cookie"]
              [200, {}, ["#{$n += 1} #{v ? v.bytesize : "-"} #{v && v[-3, 3]} cookie #{c ? c.bytesize : "-"} #{c && c[-3, 3]}\n"]]
            end';
    }
--- more_headers eval
["X-Big: " . ("v" x 1100),
 "X-Big: " . ("v" x 1000) . "end",
 "Cookie: a=" . ("c" x 1100),
 "Cookie: a=" . ("c" x 987) . "end"]
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- error_code eval
[400, 200, 400, 200]
--- response_body_like eval
["400 Request Header Or Cookie Too Large",
 "^1 1003 end cookie - \n\$",
 "400 Request Header Or Cookie Too Large",
 "^2 -  cookie 992 end\n\$"]
--- error_log
client sent too long header line



=== TEST 4: 5,000 query arguments (with large buffers): params has them all; 5,000 repeats of one key keep the last
--- config
    large_client_header_buffers 4 128k;
    location /t {
        # 5,000 lookups take longer than 50 ms under valgrind
        isolate_cpu_limit 1s;
        isolate_script_code '$n = 0
            def call(req)
              pa = req.params
              ok = pa.size == 5000 && (1..5000).all? { |i| pa["k#{i}"] == "v#{i}" }
              [200, {}, ["#{$n += 1} #{req.query.bytesize} #{pa.size} #{ok} #{pa["k"]} #{pa.keys.first} #{pa.keys.last}\n"]]
            end';
    }
--- request eval
["GET /t?" . join("&", map { "k$_=v$_" } 1 .. 5000),
 "GET /t?" . join("&", map { "k=v$_" } 1 .. 5000)]
--- response_body eval
my $q1 = join("&", map { "k$_=v$_" } 1 .. 5000);
my $q2 = join("&", map { "k=v$_" } 1 .. 5000);
["1 " . length($q1) . " 5000 true  k1 k5000\n",
 "2 " . length($q2) . " 1 false v5000 k k\n"]



=== TEST 5: 900 header lines: each sees every one, in order; [] and to_h find them
--- config
    location /t {
        # to_h scans all header lines once per distinct name: some 20 ms of
        # CPU for 900 names here, past the default 50 ms under valgrind
        isolate_cpu_limit 1s;
        isolate_script_code '$n = 0
            def call(req)
              h = req.headers
              seen, inorder = 0, true
              h.each do |k, v|
                next unless k.start_with?("x-h-")
                seen += 1
                inorder &&= k == "x-h-#{seen}" && v == "v#{seen}"
              end
              [200, {}, ["#{$n += 1} lines=#{h.count} seen=#{seen} inorder=#{inorder} to_h=#{h.to_h.size} ",
                         "first=#{h["X-H-1"]} last=#{h["x-H-900"]} none=#{h["x-h-901"].inspect} host=#{h["host"]}\n"]]
            end';
    }
--- more_headers eval
[join("\n", map { "X-H-$_: v$_" } 1 .. 900), "X-Other: 1"]
--- request eval
["GET /t", "GET /t"]
--- response_body eval
["1 lines=902 seen=900 inorder=true to_h=902 first=v1 last=v900 none=nil host=localhost\n",
 "2 lines=3 seen=0 inorder=true to_h=3 first= last= none=nil host=localhost\n"]



=== TEST 6: header lines past nginx's limits (their count, their total size): 400, the script never sees them
--- config
    location /t {
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["#{$n += 1} #{req.headers.count}\n"]]';
    }
--- more_headers eval
[join("\n", map { sprintf "X-Header-Line-%04d: %s", $_, "x" x 24 } 1 .. 1100), ""]
--- request eval
["GET /t", "GET /t"]
--- error_code eval
[400, 200]
--- response_body_like eval
["400 Request Header Or Cookie Too Large", "^1 2\n\$"]
--- error_log eval
qr/client sent too (many header lines|long header line|large request)/



=== TEST 7: a repeated header: each yields every line, [] and to_h join them (cookies with "; "); a second Host is nginx's 400
--- config
    location /t {
        isolate_script_code '$n = 0
            def call(req)
              h = req.headers
              reps = h.select { |k, v| k == "x-rep" }.map { |k, v| v }
              [200, {}, ["#{$n += 1} each=#{reps.size} first=#{reps.first} last=#{reps.last} ",
                         "to_h=#{h.to_h.size} same=#{h.to_h["x-rep"] == h["X-REP"]} cookie=#{h["cookie"]}\n",
                         h["x-rep"], "\n"]]
            end';
    }
--- more_headers eval
["Host: localhost\nHost: other",
 join("\n", (map { "X-Rep: $_" } 1 .. 500), "Cookie: a=1", "Cookie: b=2", "Cookie: c=3")]
--- request eval
["GET /t", "GET /t"]
--- error_code eval
[400, 200]
--- response_body_like eval
["400 Bad Request",
 "^1 each=500 first=1 last=500 to_h=4 same=true cookie=a=1; b=2; c=3\n" . join(", ", 1 .. 500) . "\n\$"]
--- error_log
client sent duplicate host header



=== TEST 8: invalid UTF-8 in the path, raw and %-encoded: the script gets the bytes and can send them back
--- config
    location /t {
        isolate_script_code $TEST_NGINX_ECHO;
    }
--- request eval
["GET /t/\xff\xfe\xc3\x28/%ff%C0%AF%e2%82?a=\xff\xfe\xc3\x28&b=%ff%C0%AF&c=%e2%82",
 "GET /t/caf%C3%A9/\xe2\x82\xac?q=caf%C3%A9+%E2%82%AC",
 "GET /t/a%2Fb/./c/../d//e%3Fx?%3F=%26"]
--- response_body eval
[main::echo(1, "GET", "/t/\xff\xfe\xc3\x28/\xff\xc0\xaf\xe2\x82",
            "/t/\xff\xfe\xc3\x28/%ff%C0%AF%e2%82?a=\xff\xfe\xc3\x28&b=%ff%C0%AF&c=%e2%82",
            "a=\xff\xfe\xc3\x28&b=%ff%C0%AF&c=%e2%82",
            [a => "\xff\xfe\xc3\x28", b => "\xff\xc0\xaf", c => "\xe2\x82"]),
 main::echo(2, "GET", "/t/caf\xc3\xa9/\xe2\x82\xac", "/t/caf%C3%A9/\xe2\x82\xac?q=caf%C3%A9+%E2%82%AC",
            "q=caf%C3%A9+%E2%82%AC", [q => "caf\xc3\xa9 \xe2\x82\xac"]),
 main::echo(3, "GET", "/t/a/b/d/e?x", "/t/a%2Fb/./c/../d//e%3Fx?%3F=%26", "%3F=%26", ["?" => "&"])]



=== TEST 9: String methods on invalid UTF-8 from the request keep every byte and agree with each other (or raise)
--- config
    location /t {
        # twelve checks on each string take longer than 50 ms under valgrind
        isolate_cpu_limit 1s;
        isolate_script_code '$n = 0
            # facts of any string, whatever a broken sequence counts as; an
            # exception is a fair answer (CRuby raises ArgumentError for some)
            CHECKS = {
              "size"      => ->(s) { s.size > 0 && s.size <= s.bytesize },
              "chars"     => ->(s) { s.chars.join == s && s.chars.size == s.size },
              "each_char" => ->(s) { s.each_char.to_a.join == s },
              "split"     => ->(s) { s.split("").join == s },
              "first"     => ->(s) { c = s[0]; !c.nil? && s.byteslice(0, c.bytesize) == c },
              "last"      => ->(s) { c = s[-1]; !c.nil? && s.byteslice(s.bytesize - c.bytesize, c.bytesize) == c },
              "strip"     => ->(s) { s.strip == s },
              "gsub"      => ->(s) { s.gsub("z", "y") == s && s.gsub("a", "b").bytesize == s.bytesize },
              "tr"        => ->(s) { s.tr("z", "y") == s },
              "upcase"    => ->(s) { s.upcase.bytesize == s.bytesize },
              "include"   => ->(s) { !s.include?("z") && s.split("z") == [s] },
              "inspect"   => ->(s) { s.inspect.bytesize >= s.bytesize },
            }
            def call(req)
              s = req.params["s"]
              bad = CHECKS.keys.reject { |k| begin; CHECKS[k].call(s); rescue StandardError; true; end }
              [200, {}, ["#{$n += 1} #{s.bytesize} #{bad.empty? ? "ok" : "wrong: " + bad.join(" ")}\n"]]
            end';
    }
--- request eval
[map { "GET /t?s=$_" } "caf%C3%A9", "%ff%e2%82a%c3", "%80%80", "%e2%82%ac%00%f0%9f%98", "%f0%9f%98", "a%c0b", "%e2%82", "%c3"]
--- response_body eval
["1 5 ok\n", "2 5 ok\n", "3 2 ok\n", "4 7 ok\n", "5 3 ok\n", "6 3 ok\n", "7 2 ok\n", "8 1 ok\n"]



=== TEST 10: String#index and #partition on a path with a broken UTF-8 sequence return, and right (and the worker still answers)
--- config
    # index, sub, partition and reverse walk the string in C, beyond the CPU
    # limit's reach: one that never returns is a worker that never answers
    # again, whatever location a request is for
    location /t {
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["#{$n += 1} #{req.path.index("z").inspect} #{req.path.partition("z")[0] == req.path}\n"]]';
    }
    location /other {
        isolate_script_code 'def call(req) = [200, {}, ["other\n"]]';
    }
--- request eval
["GET /t/caf%C3%A9", "GET /t/%80%80", "GET /other"]
--- timeout: 2
--- response_body eval
["1 nil true\n", "2 nil true\n", "other\n"]



=== TEST 11: String#sub on a broken UTF-8 parameter returns (and so the worker still answers)
--- config
    location /t {
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["#{$n += 1} #{req.params["s"].sub("z", "y") == req.params["s"]}\n"]]';
    }
    location /other {
        isolate_script_code 'def call(req) = [200, {}, ["other\n"]]';
    }
--- request eval
["GET /t?s=caf%C3%A9", "GET /t?s=%f0%9f%98", "GET /other"]
--- timeout: 2
--- response_body eval
["1 true\n", "2 true\n", "other\n"]



=== TEST 12: String#reverse of a broken UTF-8 header value returns (and so the worker still answers)
--- config
    location /t {
        isolate_script_code '$n = 0
            def call(req)
              v = req.headers["x-bad"]
              [200, {}, ["#{$n += 1} #{v.reverse.bytesize == v.bytesize}\n"]]
            end';
    }
    location /other {
        isolate_script_code 'def call(req) = [200, {}, ["other\n"]]';
    }
--- more_headers eval
["X-Bad: caf\xc3\xa9", "X-Bad: \xff\xe2\x82a\xc3", ""]
--- request eval
["GET /t", "GET /t", "GET /other"]
--- timeout: 2
--- response_body eval
["1 true\n", "2 true\n", "other\n"]



=== TEST 13: %00 and control bytes: NUL in the path is nginx's 400; in the query it reaches the script
--- config
    location /t {
        isolate_script_code $TEST_NGINX_ECHO;
    }
--- request eval
["GET /t/a%00b", "GET /t/a\x01b", "GET /t?a=\x01", "GET /t?a=%00b&%00=%01%7f%0d%0a"]
--- error_code eval
[400, 400, 400, 200]
--- response_body eval
[qr/400 Bad Request/, qr/400 Bad Request/, qr/400 Bad Request/,
 main::echo(1, "GET", "/t", "/t?a=%00b&%00=%01%7f%0d%0a", "a=%00b&%00=%01%7f%0d%0a",
            [a => "\0b", "\0" => "\x01\x7f\r\n"])]
--- error_log
client sent invalid request while reading client request line



=== TEST 14: req.params decodes bad %-escapes as literal text and never reads past the end
--- config
    location /t {
        isolate_script_code $TEST_NGINX_ECHO;
    }
--- request eval
["GET /t?a=%zz&b=%4&c=%%41&d=%41%4&e=%g1%1g&%=x&==&&&f&a=last&sp=a+b%20c&pct=%25&%41%42=%43&\xff=1&end=%",
 "GET /t?%",
 "GET /t?x=%2",
 "GET /t?=&&="]
--- response_body eval
my $q = "a=%zz&b=%4&c=%%41&d=%41%4&e=%g1%1g&%=x&==&&&f&a=last&sp=a+b%20c&pct=%25&%41%42=%43&\xff=1&end=%";
[main::echo(1, "GET", "/t", "/t?$q", $q,
            [a => "last", b => "%4", c => "%A", d => "A%4", e => "%g1%1g", "%" => "x", "" => "=",
             f => "", sp => "a b c", pct => "%", AB => "C", "\xff" => "1", end => "%"]),
 main::echo(2, "GET", "/t", "/t?%", "%", ["%" => ""]),
 main::echo(3, "GET", "/t", "/t?x=%2", "x=%2", [x => "%2"]),
 main::echo(4, "GET", "/t", "/t?=&&=", "=&&=", ["" => ""])]



=== TEST 15: invalid UTF-8 and control bytes in a header value: the script gets them as sent and can return them in a header
--- config
    location /t {
        isolate_script_code '$n = 0
            def call(req)
              v = req.headers["x-bad"]
              [200, {"x-echo" => v}, ["#{$n += 1} #{v.bytesize} ", v, "\n"]]
            end';
    }
--- more_headers eval
["X-Nul: a\0b", "X-Bad: \xff\xfe\xc3\x28 \x01\x7f\ttab end  ", "X-Bad: ok"]
--- request eval
["GET /t", "GET /t", "GET /t"]
--- error_code eval
[400, 200, 200]
--- raw_response_headers_like eval
["^HTTP/1.1 400 ", quotemeta("\r\nx-echo: \xff\xfe\xc3\x28 \x01\x7f\ttab end\r\n"), "\r\nx-echo: ok\r\n"]
--- response_body eval
[qr/400 Bad Request/, "1 15 \xff\xfe\xc3\x28 \x01\x7f\ttab end\n", "2 2 ok\n"]
--- error_log
client sent invalid header line: "X-Nul: a\x00



=== TEST 16: header names nginx calls invalid are dropped by default (ignore_invalid_headers on)
--- config
    location /t {
        isolate_script_code '$n = 0
            def call(req)
              names = req.headers.map { |k, v| k }
              [200, {}, ["#{$n += 1} #{names.join(",")} #{req.headers["x_under"].inspect}\n"]]
            end';
    }
--- more_headers eval
"X\xffName: v\nX_Under: u\nX-Ok: k"
--- request eval
["GET /t", "GET /t"]
--- response_body eval
["1 host,connection,x-ok nil\n", "2 host,connection,x-ok nil\n"]
--- error_log
client sent invalid header line: "X_Under: u"



=== TEST 17: with ignore_invalid_headers off, odd names reach the script: 8-bit, underscores, long and mixed-case (lowercased)
--- config
    ignore_invalid_headers off;
    location /t {
        isolate_script_code '$n = 0
            def call(req)
              h = req.headers
              out = "#{$n += 1}\n"
              h.each { |k, v| out << "#{k.bytesize} #{k} = #{v}\n" }
              long = "x-" + "ab" * 40
              out << "#{h["x\\xffname"]} #{h["X_UNDER"]} #{h[long.upcase]} #{h.to_h.key?(long)} #{h.key?("\\xc3\\xa9t\\xc3\\xa9")}\n"
              [200, {}, [out]]
            end';
    }
--- more_headers eval
"X\xffName: v\nX_Under: u\nX-" . ("Ab" x 40) . ": long\n\xc3\xa9t\xc3\xa9: summer"
--- request eval
["GET /t", "GET /t\x01"]
--- error_code eval
[200, 400]
--- response_body eval
["1\n4 host = localhost\n10 connection = close\n6 x\xffname = v\n7 x_under = u\n82 x-" . ("ab" x 40)
 . " = long\n5 \xc3\xa9t\xc3\xa9 = summer\nv u long true true\n",
 qr/400 Bad Request/]



=== TEST 18: a body past client_max_body_size: nginx's 413 before the script runs (by Content-Length, chunked, with Expect: 100-continue)
--- config
    location /t {
        client_max_body_size 1k;
        # the client that asked "Expect: 100-continue" never sends its body;
        # nginx reads what would come for lingering_timeout before it closes
        lingering_timeout 100ms;
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["#{$n += 1} #{req.body.bytesize}\n"]]';
    }
--- more_headers eval
["", "Transfer-Encoding: chunked", "Expect: 100-continue\nContent-Length: 1000000000", "", "Transfer-Encoding: chunked"]
--- request eval
["POST /t\n" . ("x" x 2000),
 "POST /t\n" . "400\r\n" . ("x" x 1024) . "\r\n" . "1\r\nx\r\n0\r\n\r\n",
 "POST /t",
 "POST /t\n" . ("y" x 1024),
 "POST /t\n" . "400\r\n" . ("z" x 1024) . "\r\n0\r\n\r\n"]
--- error_code eval
[413, 413, 413, 200, 200]
--- response_body_like eval
["413 Request Entity Too Large", "413 Request Entity Too Large", "413 Request Entity Too Large",
 "^1 1024\n\$", "^2 1024\n\$"]
--- error_log
client intended to send too large body: 2000 bytes



=== TEST 19: framing nginx refuses (Content-Length with chunked, unknown codings, bad lengths, bad chunks): the script never runs
--- config
    location /t {
        isolate_script_code $TEST_NGINX_ECHO;
    }
--- more_headers eval
["Transfer-Encoding: chunked\nContent-Length: 3",
 "Transfer-Encoding: gzip",
 "Transfer-Encoding: gzip, chunked",
 "Content-Length: 3\nContent-Length: 3",
 "Content-Length: -1",
 "Content-Length: 99999999999999999999",
 "Content-Length: 3x",
 "Transfer-Encoding: chunked",
 "Transfer-Encoding: chunked",
 "Transfer-Encoding: chunked",
 "Transfer-Encoding: chunked"]
--- request eval
["POST /t\n3\r\nabc\r\n0\r\n\r\n",
 "POST /t",
 "POST /t",
 "POST /t\nabc",
 "POST /t\nabc",
 "POST /t\nabc",
 "POST /t\nabc",
 "POST /t\nzz\r\nabc\r\n0\r\n\r\n",
 "POST /t\nffffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
 "POST /t\n3\r\nabcd\r\n0\r\n\r\n",
 "POST /t\n3\r\nabc\r\n0\r\n\r\n"]
--- error_code eval
[400, 501, 501, 400, 400, 400, 400, 400, 400, 400, 200]
--- response_body_like eval
["400 Bad Request", "501 Not Implemented", "501 Not Implemented", "400 Bad Request",
 "400 Bad Request", "400 Bad Request", "400 Bad Request", "400 Bad Request",
 "400 Bad Request", "400 Bad Request", "^1 POST\n.*body 3\n\$"]
--- error_log
client sent "Content-Length" and "Transfer-Encoding" headers at the same time



=== TEST 20: chunked bodies arrive whole: in a temporary file, extensions and trailers, 1-byte chunks, odd hex, split across packets
--- config
    client_body_buffer_size 1k;
    location /t {
        isolate_script_code '$n = 0
            def call(req)
              b = req.body
              [200, {}, ["#{$n += 1} #{b.bytesize} #{req.headers["x-trailer"].inspect} ", b, "\n"]]
            end';
    }
--- more_headers
Transfer-Encoding: chunked
--- request eval
my $big = join "", map { sprintf "%04x\r\n%s\r\n", 4096, chr(65 + $_) x 4096 } 0 .. 15;
["POST /t\n${big}0\r\n\r\n",
 "POST /t\n3;ext=1;q=\"x y\"\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n",
 "POST /t\n" . join("", map { "1\r\n" . chr(97 + $_ % 26) . "\r\n" } 0 .. 999) . "0\r\n\r\n",
 "POST /t\n00A\r\n0123456789\r\n0000\r\n\r\n",
 ["POST /t\n5\r\nhel", {value => "lo\r\n0\r", delay_before => 0.05}, {value => "\n\r\n", delay_before => 0.05}],
 "POST /t\n0\r\n\r\n"]
--- response_body eval
["1 65536 nil " . join("", map { chr(65 + $_) x 4096 } 0 .. 15) . "\n",
 "2 5 nil abcde\n",
 "3 1000 nil " . join("", map { chr(97 + $_ % 26) } 0 .. 999) . "\n",
 "4 10 nil 0123456789\n",
 "5 5 nil hello\n",
 "6 0 nil \n"]
--- error_log
a client request body is buffered to a temporary file



=== TEST 21: a client that sends its headers and part of a body, then leaves (Content-Length, in a temporary file, chunked): the script never runs
--- config
    client_body_buffer_size 1k;
    location /t {
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["#{$n += 1} #{req.method} #{req.body.bytesize}\n"]]';
    }
--- more_headers eval
["Content-Length: 500", "Content-Length: 100000", "Transfer-Encoding: chunked", ""]
--- request eval
["POST /t\n" . ("x" x 100),
 "POST /t\n" . ("x" x 5000),
 "POST /t\n10\r\nabc",
 "GET /t"]
--- timeout: 1
--- abort
--- wait: 0.1
--- error_code eval
["", "", "", 200]
--- response_body eval
["", "", "", "1 GET 0\n"]
--- error_log
client prematurely closed connection



=== TEST 22: a client that stops sending its body: nginx's client_body_timeout closes the connection, the script never runs
--- config
    client_body_timeout 200ms;
    location /t {
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["#{$n += 1} #{req.method} #{req.body.bytesize}\n"]]';
    }
--- more_headers eval
["Content-Length: 1000", "Transfer-Encoding: chunked", ""]
--- request eval
["POST /t\n" . ("x" x 100), "POST /t\n100\r\nabc", "POST /t\nfull"]
--- error_code eval
["", "", 200]
--- response_body eval
["", "", "1 POST 4\n"]
--- access_log
"POST /t HTTP/1.1" 408 



=== TEST 23: clients that leave in the middle of their headers, or stall there until client_header_timeout
--- config
    client_header_timeout 200ms;
    location /t {
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["#{$n += 1} #{req.headers["x-half"].inspect}\n"]]';
    }
--- init
main::hit_and_run("GET /t HTTP/1.1\r\nHost: localhost\r\nX-Half: ab", 0);
main::hit_and_run("GET /t HTTP/1.1\r\nHost: local", 0);
main::hit_and_run("GET /t HTTP/1.1\r\nHost: localhost\r\nX-Half: ab", -0.5);
main::hit_and_run("GET /t HTTP/1.", -0.5);
Time::HiRes::sleep(0.1);
--- request eval
["GET /t", "GET /t"]
--- response_body eval
["1 nil\n", "2 nil\n"]
--- error_log
client prematurely closed connection while reading client request headers
client timed out



=== TEST 24: clients that send a whole request and close at once, never reading: the script runs, its answers go nowhere
--- config
    location /t {
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["#{$n += 1} #{req.query}\n" * 1000]]';
    }
--- init
main::hit_and_run("GET /t?gone HTTP/1.1\r\nHost: localhost\r\n\r\n", 0) for 1 .. 5;
main::hit_and_run("POST /t?gone HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc", 0) for 1 .. 5;
Time::HiRes::sleep(0.2);
--- request eval
["GET /t?here", "GET /t?again"]
--- response_body eval
["11 here\n" x 1000, "12 again\n" x 1000]



=== TEST 25: clients that read a little of a 10 MB response and leave: the worker and the isolate carry on
--- config
    location /big {
        isolate_script_code '$n = 0
            BIG = ("0123456789" * 1048576).freeze
            def call(req)
              $n += 1
              [200, {}, [req.params.key?("small") ? "#{$n}\n" : BIG]]
            end';
    }
--- init
main::hit_and_run("GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n", 1000) for 1 .. 3;
main::hit_and_run("GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n", 300_000);
Time::HiRes::sleep(0.2);
--- request eval
["GET /big?small", "GET /big", "GET /big?small"]
--- response_body eval
["5\n", "0123456789" x 1048576, "7\n"]
--- timeout: 20
--- error_log eval
qr/(writev\(\) failed \(\d+: (Connection reset by peer|Broken pipe)\)|client prematurely closed connection)/



=== TEST 26: a client that leaves while a rate-limited response is still being sent: the isolate serves the next request meanwhile
--- config
    location /big {
        limit_rate 100k;
        isolate_script_code '$n = 0
            BIG = ("0123456789" * 100000).freeze
            def call(req)
              $n += 1
              [200, {}, [req.params.key?("small") ? "#{$n}\n" : BIG]]
            end';
    }
--- request eval
["GET /big", "GET /big?small"]
--- timeout: 0.5
--- abort
--- wait: 0.1
--- response_body_like eval
["^(0123456789){100}", "^2\n\$"]
--- error_log
client prematurely closed connection



=== TEST 27: ten pipelined requests on one connection: each answered in order, the isolate's state carries across them
--- config
    location /t {
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["#{$n += 1} #{req.query}\n"]]';
    }
--- pipelined_requests eval
[map { "GET /t?i=$_" } 1 .. 10]
--- response_body eval
[map { "$_ i=$_\n" } 1 .. 10]



=== TEST 28: a mixed pipeline: two isolates, bodies by length and chunked, a script's 404, a 1 MB answer in the middle
--- config
    location /a {
        isolate_script_code '$n = 0
            def call(req)
              $n += 1
              return [404, {}, ["a #{$n} not here\n"]] if req.params.key?("missing")
              return [200, {}, ["0123456789" * 100_000]] if req.params.key?("big")
              [200, {}, ["a #{$n} #{req.method} #{req.body}\n"]]
            end';
    }
    location /b {
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["b #{$n += 1} #{req.method} #{req.body}\n"]]';
    }
--- more_headers eval
["", "", "", "Transfer-Encoding: chunked", "", "", "", "Transfer-Encoding: chunked", ""]
--- pipelined_requests eval
["GET /a", "POST /b\nhello", "GET /a?missing", "POST /a\n5\r\nchunk\r\n3\r\ned!\r\n0\r\n\r\n",
 "GET /a?big", "GET /b", "POST /a\nafter the big one", "POST /b\n0\r\n\r\n", "GET /a"]
--- error_code eval
[200, 200, 404, 200, 200, 200, 200, 200, 200]
--- response_body eval
["a 1 GET \n", "b 1 POST hello\n", "a 2 not here\n", "a 3 POST chunked!\n", "0123456789" x 100_000,
 "b 2 GET \n", "a 5 POST after the big one\n", "b 3 POST \n", "a 6 GET \n"]



=== TEST 29: 200 pipelined requests, sent at once: all answered, in order
--- config
    location /t {
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["#{$n += 1} #{req.query}\n"]]';
    }
--- pipelined_requests eval
[map { "GET /t?$_" } 1 .. 200]
--- response_body eval
[map { "$_ $_\n" } 1 .. 200]



=== TEST 30: keep-alive, not pipelined: each request sent after the previous answer, on one connection
--- config
    location /t {
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["#{$n += 1} #{req.method} #{req.query} #{req.body}\n"]]';
    }
--- raw_request eval
["GET /t?first HTTP/1.1\r\nHost: localhost\r\n\r\n",
 "POST /t?second HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\nbody",
 "POST /t?third HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nch\r\n0\r\n\r\n",
 "GET /t?last HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"]
--- raw_request_middle_delay: 0.1
--- http09
--- response_body_like eval
# the four responses arrive on one connection: http09 keeps the harness from
# parsing them, so the whole exchange is the body, checked here
my $r = "HTTP/1.1 200 OK\r\n(?:[^\r\n]+\r\n)*?Content-Length: %d\r\n(?:[^\r\n]+\r\n)*\r\n%s";
"\\A" . join("", map { sprintf $r, length $_, quotemeta $_ }
                 "1 GET first \n", "2 POST second body\n", "3 POST third ch\n", "4 GET last \n") . "\\z"



=== TEST 31: a script that raises in a pipeline: its 500 ends the connection (as nginx's own 500s do), the rest is not run; the isolate keeps its state
--- config
    location /t {
        isolate_script_code '$n = 0
            def call(req)
              $n += 1
              raise "bad request #{$n}" if req.params.key?("raise")
              [200, {}, ["#{$n}\n"]]
            end';
    }
--- init
# the same pipeline first, by hand: calls 1 and 2 (which raises), never 3
main::hit_and_run("GET /t HTTP/1.1\r\nHost: localhost\r\n\r\n"
                  . "GET /t?raise HTTP/1.1\r\nHost: localhost\r\n\r\n"
                  . "GET /t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", "eof");
--- pipelined_requests eval
["GET /t", "GET /t?raise", "GET /t"]
--- error_code eval
[200, 500, ""]
--- response_body_like eval
["^3\n\$", "500 Internal Server Error", "^\$"]
--- error_log eval
qr/isolate: "[^"]*": call raised RuntimeError: bad request 2/



=== TEST 32: the request target in absolute form, and hostile Host headers
--- config
    location /t {
        isolate_script_code '$n = 0
            def call(req) = [200, {}, ["#{$n += 1} host=#{req.host} path=#{req.path} uri=#{req.uri} header=#{req.headers["host"]}\n"]]';
    }
--- more_headers eval
["", "Host: a/b", "Host: evil.example:81", "Host: " . ("h" x 300), "Host: \xff"]
--- request eval
["GET http://evil.example:81/t?x=1", "GET /t", "GET /t", "GET /t", "GET /t"]
--- error_code eval
[200, 400, 200, 200, 200]
--- response_body_like eval
["^1 host=evil.example path=/t uri=/t\\?x=1 header=localhost\n\$",
 "400 Bad Request",
 "^2 host=evil.example path=/t uri=/t header=evil.example:81\n\$",
 "^3 host=h{300} path=/t uri=/t header=h{300}\n\$",
 "^4 host=\xff path=/t uri=/t header=\xff\n\$"]
