# isolate_status: JSON and Prometheus descriptions of the worker and its
# isolates, parsed and checked.

use Test::Nginx::Socket;
use JSON::PP ();

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

repeat_each(1);
plan 'no_plan';
no_shuffle();

# Turns a JSON status document into lines the blocks can compare; other
# responses pass through.
our $json_summary = sub {
    my $body = shift;
    return $body unless $body =~ /^\{/;

    my $d = JSON::PP::decode_json($body);
    my @out;

    push @out, "pid: " . ($d->{pid} =~ /^\d+$/ && $d->{pid} > 0 ? "ok" : "bad");
    push @out, "pool: $d->{pool}{size}/$d->{pool}{ready}";
    push @out, join " ", map { "$_=$d->{totals}{$_}" }
                         qw(live created discarded requests errors
                            cpu_limit_hits memory_limit_hits);

    # inline scripts are named nginx.conf:LINE: sorted, they are in
    # configuration order
    my $n = 0;
    for my $i (sort { $a->{script} cmp $b->{script} } @{ $d->{isolates} }) {
        $n++;
        push @out, join " ",
            "isolate $n:",
            "requests=$i->{requests}", "errors=$i->{errors}",
            "cpu_hits=$i->{limit_hits}{cpu}",
            "memory_hits=$i->{limit_hits}{memory}",
            "heap=" . ($i->{heap_bytes} > 10000 ? "ok" : "bad"),
            "peak=" . ($i->{heap_peak_bytes} >= $i->{heap_bytes} ? "ok" : "bad"),
            "cold=" . ($i->{cold_start_us} =~ /^\d+$/ ? "ok" : "bad"),
            "created=" . (abs($i->{created_at} - time) < 60 ? "ok" : "bad"),
            "cpu_time=" . ($i->{cpu_time_us} =~ /^\d+$/ ? "ok" : "bad"),
            "gc=" . ($i->{gc_runs} =~ /^\d+$/ ? "ok" : "bad"),
            "limit=$i->{memory_limit}/$i->{cpu_limit_ms}";
    }

    return join "\n", @out, "";
};

# Checks every line of a Prometheus exposition and sums some samples.
our $prom_summary = sub {
    my $body = shift;
    return $body unless $body =~ /^# HELP/;

    my (%type, %sum, @bad);

    for my $line (split /\n/, $body) {
        if ($line =~ /^# HELP (\w+) \S/) {
            next;
        }
        if ($line =~ /^# TYPE (\w+) (counter|gauge)$/) {
            $type{$1} = $2;
            next;
        }
        if ($line =~ /^(\w+)\{pid="\d+"(?:,script="((?:[^"\\]|\\.)*)")?\} (\d+(?:\.\d+)?)$/) {
            push @bad, "untyped $1" unless $type{$1};
            $sum{$1} += $3;
            next;
        }
        push @bad, "bad line: $line";
    }

    return join "\n", (@bad ? @bad : "all lines valid"),
        map({ "$_ $sum{$_}" }
            qw(isolate_worker_pool_size isolate_worker_isolates
               isolate_worker_requests_total isolate_requests_total
               isolate_errors_total isolate_cpu_limit_hits_total)),
        "";
};

run_tests();

__DATA__

=== TEST 1: the JSON document describes the worker and each live isolate
--- config
    location /a {
        isolate_memory_limit 2m;
        isolate_script_code 'def call(req) = [200, {}, ["a\n"]]';
    }
    location /b {
        isolate_script_code 'def call(req) = raise("b fails")';
    }
    location /status {
        isolate_status;
    }
--- request eval
["GET /a", "GET /a", "GET /b", "GET /status"]
--- error_code eval
[200, 200, 500, 200]
--- response_headers_like eval
["", "", "", "Content-Type: application/json"]
--- response_body_filters eval
$::json_summary
--- response_body eval
["a\n", "a\n", qr/500/, <<'EOS']
pid: ok
pool: 4/4
live=2 created=2 discarded=0 requests=3 errors=1 cpu_limit_hits=0 memory_limit_hits=0
isolate 1: requests=2 errors=0 cpu_hits=0 memory_hits=0 heap=ok peak=ok cold=ok created=ok cpu_time=ok gc=ok limit=2097152/50
isolate 2: requests=1 errors=1 cpu_hits=0 memory_hits=0 heap=ok peak=ok cold=ok created=ok cpu_time=ok gc=ok limit=33554432/50
EOS



=== TEST 2: limit hits and discards are counted
--- config
    location /spin {
        isolate_cpu_limit 10ms;
        isolate_script_code 'def call(req) = loop {}';
    }
    location /status {
        isolate_status;
    }
--- request eval
["GET /spin", "GET /spin", "GET /status"]
--- error_code eval
[503, 503, 200]
--- response_body_filters eval
$::json_summary
--- response_body_like eval
["503", "503", "live=0 created=2 discarded=2 requests=2 errors=2 cpu_limit_hits=2 memory_limit_hits=0\n\\z"]



=== TEST 3: ?format=prometheus gives the Prometheus text format
--- config
    location /a {
        isolate_script_code 'def call(req) = [200, {}, ["a\n"]]';
    }
    location /b {
        isolate_script_code 'def call(req) = raise("b fails")';
    }
    location /status {
        isolate_status;
    }
--- request eval
["GET /a", "GET /b", "GET /b", "GET /status?format=prometheus"]
--- error_code eval
[200, 500, 500, 200]
--- response_headers_like eval
["", "", "", "Content-Type: text/plain; version=0\\.0\\.4; charset=utf-8"]
--- response_body_filters eval
$::prom_summary
--- response_body eval
["a\n", qr/500/, qr/500/, <<'EOS']
all lines valid
isolate_worker_pool_size 4
isolate_worker_isolates 2
isolate_worker_requests_total 3
isolate_requests_total 3
isolate_errors_total 2
isolate_cpu_limit_hits_total 0
EOS



=== TEST 4: script names are escaped in both formats
--- config
    location /q {
        isolate_script "$TEST_NGINX_HTML_DIR/we\"ird\\name.rb";
    }
    location /status {
        isolate_status;
    }
--- user_files
>>> we"ird\name.rb
def call(req) = [200, {}, ["q\n"]]
--- request eval
["GET /q", "GET /status", "GET /status?format=prometheus"]
--- response_body_like eval
["q", '"script":"[^"]*we\\\\"ird\\\\\\\\name\.rb"', 'script="[^"]*we\\\\"ird\\\\\\\\name\.rb"']



=== TEST 5: isolate_status answers only GET and HEAD
--- config
    location /status {
        isolate_status;
    }
--- request
POST /status
x
--- error_code: 405
