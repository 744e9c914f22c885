package Test::Nginx::Socket;

# A self-contained re-implementation of the subset of openresty's
# Test::Nginx::Socket used by this project's tests (same data format, same
# sections, same emitted subtests), using core Perl modules only.
#
#   use Test::Nginx::Socket;
#   repeat_each(2);
#   plan tests => repeat_each() * (blocks() * 3);
#   run_tests();
#   __DATA__
#   === TEST 1: ...
#   --- config
#   --- request
#   ...
#
# Sections: config http_config main_config post_main_config server_name
#   request (eval: array of requests / packets) request_eval more_headers
#   raw_request raw_request_middle_delay pipelined_requests shutdown
#   error_code error_code_like response_body response_body_eval
#   response_body_like response_body_unlike response_body_filters
#   response_headers response_headers_like raw_response_headers_like
#   raw_response_headers_unlike error_log no_error_log grep_error_log
#   grep_error_log_out access_log no_access_log shutdown_error_log
#   no_shutdown_error_log error_log_file log_level timeout abort
#   ignore_response http09 wait user_files init post_setup_server_root
#   must_die suppress_stderr server_addr_for_client skip_eval skip_nginx
#   todo, and Test::Base's SKIP ONLY LAST plus section filters.
# Environment: TEST_NGINX_BINARY TEST_NGINX_LOAD_MODULES TEST_NGINX_PORT
#   TEST_NGINX_SERVER_PORT TEST_NGINX_CLIENT_PORT TEST_NGINX_SERVROOT
#   TEST_NGINX_RANDOMIZE TEST_NGINX_NO_CLEAN TEST_NGINX_NO_SHUFFLE
#   TEST_NGINX_TIMEOUT TEST_NGINX_SLEEP TEST_NGINX_LOG_LEVEL
#   TEST_NGINX_MASTER_PROCESS TEST_NGINX_FAST_SHUTDOWN TEST_NGINX_USE_VALGRIND
#   TEST_NGINX_WORKER_USER TEST_NGINX_CHECK_ACCUM_ERR_LOG.
# Unlike the original, nginx is always restarted for a block that has a
# --- config (the original's default, TEST_NGINX_FORCE_RESTART_ON_TEST=1);
# HUP reloads, HTTP/2-3, stap, leak checks and benchmarks are not supported.

use strict;
use warnings;

use Digest::MD5 ();
use Digest::SHA ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(shuffle);
use POSIX qw(EAGAIN EWOULDBLOCK EINTR);
use Scalar::Util qw(looks_like_number);
use Time::HiRes qw(sleep time);
use Test::More ();

use Test::Nginx::Util;

our $VERSION = '0.01';

our @ResponseBodyChecks;

# What a test script gets: our functions plus the Test::More subset that
# Test::Base re-exports.
my @OwnExports = qw(
    env_to_nginx is_str plan run_tests run_test repeat_each config_preamble
    worker_connections master_process_enabled no_long_string workers
    master_on master_off log_level no_shuffle no_root_location server_name
    server_addr server_root html_dir server_port server_port_for_client
    timeout check_accum_error_log add_block_preprocessor bail_out
    add_test_cleanup_handler add_cleanup_handler add_response_body_check
    blocks is no_diff
);
my @TestMoreExports = qw(
    ok isnt like unlike is_deeply cmp_ok skip todo_skip pass fail
    eq_array eq_hash eq_set can_ok isa_ok diag use_ok
);

sub import {
    my ($class, @args) = @_;
    my $caller = caller;

    # Test::Base turns on strict and warnings for the test script
    strict->import;
    warnings->import;

    no strict 'refs';
    *{"${caller}::$_"} = \&{"Test::Nginx::Socket::$_"} for @OwnExports;
    *{"${caller}::$_"} = \&{"Test::More::$_"} for @TestMoreExports;
    *{"${caller}::TODO"} = \$Test::More::TODO;
    *{"${caller}::$_"} = \&{"Carp::$_"} for qw(croak carp cluck confess);
    Test::More->builder->exported_to($caller);

    @args = grep { !/^-base$/i } @args;
    Test::More::plan(@args) if @args;
}

sub plan { Test::More::plan(@_) }

# Number of blocks (scalar context) or the filtered blocks (list context);
# with an argument, only blocks having that section.
sub blocks {
    my @blocks = Test::Nginx::Util::blocks_with(@_);
    return scalar @blocks unless wantarray;
    Test::Nginx::Util::run_filters($_) for @blocks;
    return @blocks;
}

sub is ($$;$) {
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    Test::Nginx::Util::is_with_diff(@_);
}

sub no_diff { $ENV{TEST_SHOW_NO_DIFFS} = 1 }

sub add_response_body_check ($) { push @ResponseBodyChecks, shift }

#---------------------------------------------------------------------------
# Main loop
#---------------------------------------------------------------------------

sub run_tests () {
    $ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;
    my @blocks = blocks();
    @blocks = shuffle @blocks unless $Test::Nginx::Util::NoShuffle;
    for my $block (@blocks) {
        $_->($block) for @Test::Nginx::Util::BlockPreprocessors;
        $block->set_value(name => "$0 " . $block->name);
        run_test($block);
        $_->($block) for @Test::Nginx::Util::TestCleanupHandlers;
        $Test::Nginx::Util::PrevBlock = $block;
    }
    Test::Nginx::Util::cleanup();
}

sub _version_cmp {
    my ($op, $x, $y) = @_;
    return $op eq '<'  ? $x <  $y : $op eq '<=' ? $x <= $y
         : $op eq '>'  ? $x >  $y : $x >= $y;
}

# Returns (count, reason) when the block's subtests must be skipped.
sub _skip_spec {
    my ($block) = @_;
    my $name = $block->name;
    if (defined(my $spec = $block->skip_eval)) {
        $spec =~ /^\s*(\d+)\s*:\s*(.*)/s
            or bail_out("$name - Invalid --- skip_eval spec: $spec");
        my ($n, $code) = ($1, $2);
        my $skip = eval "package main; $code";
        bail_out("$name - skip_eval - failed to eval the Perl code \"$code\": $@") if $@;
        return ($n, 'skip_eval') if $skip;
    }
    if (defined(my $spec = $block->skip_nginx)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$/
            or bail_out("$name - Invalid --- skip_nginx spec: $spec");
        my ($n, $op, $reason) = ($1, $2, $6);
        my $want = sprintf "%d.%03d%03d", $3, $4, $5;
        my $have = get_nginx_version();
        return ($n, $reason || "nginx version $op $3.$4.$5")
            if (!defined $have && $op =~ /^</) || (defined $have && _version_cmp($op, $have, $want));
    }
    return;
}

sub run_test ($) {
    my ($block) = @_;
    return if defined $block->SKIP;
    my $name = $block->name;
    local $Test::Nginx::Util::RandPorts = {};

    my $config = $block->config;
    $config = expand_env_in_text($config, $name, $Test::Nginx::Util::RandPorts);

    my ($skip_n, $skip_reason) = _skip_spec($block);
    my ($todo_n, $todo_reason);
    if (defined(my $todo = $block->todo)) {
        $todo =~ /^\s*(\d+)\s*:\s*(.*)/s or bail_out("$name - Invalid --- todo spec: $todo");
        ($todo_n, $todo_reason) = ($1, $2);
    }

    if (!defined $skip_n) {
        if (defined $config) {
            # a new configuration: always restart nginx from scratch
            Test::Nginx::Util::stop_nginx();
            _check_shutdown_error_log($Test::Nginx::Util::PrevBlock);
            Test::Nginx::Util::setup_server_root();
            _eval_block_code($block, 'post_setup_server_root');
            Test::Nginx::Util::write_user_files($block);
            $Test::Nginx::Util::PrevConfig = $config;

            if (defined $block->must_die) {
                _run_must_die($block, $config);
                return;
            }
            Test::Nginx::Util::start_nginx($block, $config);

        } elsif (!defined $Test::Nginx::Util::PrevConfig) {
            bail_out("$name - No '--- config' section specified and could not get previous one.");

        } elsif (!Test::Nginx::Util::nginx_is_up()) {
            # valgrind mode stops nginx after each block: bring it back
            Test::Nginx::Util::setup_server_root();
            Test::Nginx::Util::write_user_files($block);
            Test::Nginx::Util::start_nginx($block, $Test::Nginx::Util::PrevConfig);
        }
    }

    _eval_block_code($block, 'init');

    $Test::Nginx::Util::ErrLogFilePos = 0;
    for my $i (0 .. $Test::Nginx::Util::RepeatEach - 1) {
        Test::Nginx::Util::write_user_files($block) if $i > 0;
        if (defined $skip_n) {
            SKIP: { Test::More::skip("$name - $skip_reason", $skip_n) }
        } elsif (defined $todo_n) {
            TODO: { Test::More::todo_skip("$name - $todo_reason", $todo_n) }
        } else {
            run_test_helper($block, $i);
        }
    }

    Test::Nginx::Util::finish_valgrind_block($block);
}

sub _eval_block_code {
    my ($block, $section) = @_;
    my $code = $block->$section;
    return unless $code;
    eval "package main; $code; 1"
        or bail_out($block->name . " - $section failed: $@");
}

# --- must_die: nginx must refuse to start; check its exit and the logs.
sub _run_must_die {
    my ($block, $config) = @_;
    my $name = $block->name;
    my $must_die = $block->must_die;
    Test::Nginx::Util::write_config_file($block, $config, 'on');
    $Test::Nginx::Util::ErrLogFilePos = 0;

    for my $i (0 .. $Test::Nginx::Util::RepeatEach - 1) {
        my ($status, $stderr) = Test::Nginx::Util::run_nginx_sync();
        print STDERR $stderr if length $stderr && $status == 0
                                && !defined $block->suppress_stderr;
        my $exit_code = $status >> 8;
        if ($status & 127) {
            Test::More::fail("$name - nginx core dumped");
        } elsif (looks_like_number($must_die)) {
            Test::More::is($must_die, $exit_code, "$name - die with the expected exit code");
        } else {
            Test::More::isnt($status, 0, "$name - die as expected");
        }
        check_error_log($block, undef, $i, 0);
        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; killing it (req $i)\n";
            Test::Nginx::Util::wait_for_pid_file();
            Test::Nginx::Util::stop_nginx();
        }
    }
}

#---------------------------------------------------------------------------
# Requests
#---------------------------------------------------------------------------

sub _parse_more_headers {
    my ($text) = @_;
    my ($out, $chunked) = ('', 0);
    for my $line (split /\n+/, $text // '') {
        next if $line =~ /^\s*#/;
        my ($key, $val) = split /:\s*/, $line, 2;
        $val //= '';
        $chunked = 1 if lc $key eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $chunked);
}

# Turns "METHOD [URI [VERSION]]\nBODY" (possibly split into packets) into a
# complete HTTP request: adds the version, Host, Connection and
# Content-Length. Returns the new packets, split where the originals were.
sub _build_request {
    my ($name, $packets, $headers, $chunked, $conn) = @_;
    my $raw = join '', map { $_ // '' } @$packets;
    my ($first, $content) = $raw =~ /\A([^\n]*\n?)(.*)\z/s;
    bail_out("$name - Request line should be non-empty") unless length $first;

    $first =~ /^(\s*)(\S+)( *)(?:(\S+)( *))?(?:(\S+)( *))?(\s*)$/
        or bail_out("$name - Request line is not valid. Should be 'meth [url [version]]' but got \"$first\".");
    my ($ws, $meth, $sp1, $url, $sp2, $ver, $sp3, $eol) = ($1, $2, $3, $4, $5, $6, $7, $8);

    my $new_content = $content;
    my $len_header = '';
    if (!$chunked && $content ne '' && $headers !~ /(?:^|\n)Content-Length:/) {
        $new_content =~ s/^\s+|\s+$//gs;
        $len_header = "Content-Length: " . length($new_content) . "\r\n";
    }

    my $all_headers = '';
    $all_headers .= "Host: $Test::Nginx::Util::ServerName\r\n"
        if $headers !~ /(?:^|\n)Host:/msi;
    $all_headers .= "Connection: $conn\r\n" if $headers !~ /(?:^|\n)Connection/msi;
    $all_headers .= "$headers$len_header\r\n";

    # [original length, replacement] in order; used to map packet borders
    my @segments = (
        [length $ws, ''],
        [length $meth, "$meth "],
        [length $sp1, ''],
        [length($url // ''), ($url // '/') . ' '],
        [length($sp2 // ''), ''],
        [length($ver // ''), ($ver // 'HTTP/1.1') . "\r\n"],
        [length($sp3 // '') + length $eol, ''],
        [0, $all_headers],
        [length $content, $new_content],
    );
    my $new = join '', map { $_->[1] } @segments;

    my (@cuts, $orig_end);
    for my $p (@$packets[0 .. $#$packets - 1]) {
        $orig_end += length($p // '');
        my ($o, $n) = (0, 0);
        for my $seg (@segments) {
            my ($len, $text) = @$seg;
            if ($o + $len <= $orig_end) {
                $n += length $text;
            } elsif ($o < $orig_end) {
                my $part = $orig_end - $o;
                $n += $part < length $text ? $part : length $text;
            }
            $o += $len;
        }
        push @cuts, $n;
    }
    my @out;
    my $prev = 0;
    for my $cut (@cuts, length $new) {
        push @out, substr($new, $prev, $cut - $prev);
        $prev = $cut;
    }
    return \@out;
}

# Header text for the $i-th request (--- more_headers may be an array).
sub _more_headers_for {
    my ($block, $i) = @_;
    my $more = $block->more_headers // '';
    if (ref $more eq 'ARRAY') {
        $more = $more->[$i];
        bail_out("--- more_headers lacks data for the ${i}th request") unless defined $more;
    }
    return _parse_more_headers($more);
}

# A list of requests; each request is a list of packets {value, delay_before}.
sub get_req_from_block {
    my ($block) = @_;
    my $name = $block->name;
    my @reqs;

    if (defined(my $raw = $block->raw_request)) {
        my @packets = ref $raw eq 'ARRAY' ? @$raw : ($raw);
        push @reqs, [map { { value => $_ } } @packets];
        return \@reqs;
    }

    if (my $pipelined = $block->pipelined_requests) {
        bail_out("$name - invalid entries in --- pipelined_requests")
            unless ref $pipelined eq 'ARRAY';
        my $all = '';
        for my $i (0 .. $#$pipelined) {
            my $req = expand_env_in_text($pipelined->[$i], $name, $Test::Nginx::Util::RandPorts);
            my ($hdr, $chunked) = _more_headers_for($block, $i);
            my $conn = $i == $#$pipelined ? 'close' : 'keep-alive';
            $all .= _build_request($name, [$req], $hdr, $chunked, $conn)->[0];
        }
        return [[{ value => $all }]];
    }

    my $request;
    if (defined $block->request_eval) {
        $request = eval $block->request_eval;
        warn $@ if $@;
    } else {
        $request = $block->request;
        if (defined $request && !ref $request) {
            1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//gs;   # leading comments
        }
    }

    my @list = ref $request eq 'ARRAY' ? @$request : ($request);
    bail_out("$name - invalid ---request : MUST be string or array of requests")
        if ref $request && ref $request ne 'ARRAY';

    for my $i (0 .. $#list) {
        my $one = $list[$i];
        my ($hdr, $chunked) = _more_headers_for($block, $i);
        if (!ref $one) {
            my $built = _build_request($name, [$one], $hdr, $chunked, 'close');
            push @reqs, [{ value => $built->[0] }];
        } elsif (ref $one eq 'ARRAY') {
            my @values = map {
                !ref $_ ? $_ : ref $_ eq 'HASH' ? $_->{value}
                : bail_out("$name - Invalid syntax. $_ should be a string or hash with value.")
            } @$one;
            my $built = _build_request($name, \@values, $hdr, $chunked, 'close');
            push @reqs, [map {
                +{ %{ ref $one->[$_] ? $one->[$_] : {} }, value => $built->[$_] }
            } 0 .. $#$built];
        } else {
            bail_out("$name - Invalid syntax. $one should be a string or an array of packets.");
        }
    }
    return \@reqs;
}

sub _connect {
    my ($block, $timeout) = @_;
    my $name = $block->name;
    my $addr = $block->server_addr_for_client // $Test::Nginx::Util::ServerAddr;
    my $deadline = time + ($timeout > 3 ? $timeout : 3);
    my $wait = 0.01;
    while (1) {
        my $sock = IO::Socket::INET->new(
            PeerAddr => $addr, PeerPort => $ServerPortForClient,
            Proto => 'tcp', Timeout => $timeout,
        );
        return $sock if $sock;
        my $err = $!;
        my $child = $Test::Nginx::Util::ChildPid;
        my $gone = defined $child && !Test::Nginx::Util::is_running($child);
        if ($gone || time >= $deadline) {
            warn `tail -n20 $ErrLogFile` if $gone;
            Test::More::fail("$name - Can't connect to $addr:$ServerPortForClient: $err (aborted)\n");
            return undef;
        }
        sleep $wait;
        $wait *= 2 if $wait < 0.2;
    }
}

# Sends one request (a list of packets) on a fresh connection and reads the
# response until the server closes it. Returns ($raw_response, $is_head).
sub send_request {
    my ($block, $packets, $timeout) = @_;
    my $name = $block->name;
    my $is_head = (join '', map { $_->{value} // '' } @$packets) =~ /^\s*HEAD\s+/ ? 1 : 0;

    my $sock = _connect($block, $timeout) or return (undef, $is_head);
    $sock->blocking(0);
    local $SIG{PIPE} = 'IGNORE';

    my @queue = @$packets;
    my $buf = (shift @queue)->{value} // '';
    my $off = 0;
    my $writing = 1;
    my $resp = '';
    my $middle_delay = $block->raw_request_middle_delay;

    while (1) {
        my $rsel = IO::Select->new($sock);
        my $wsel = $writing ? IO::Select->new($sock) : undef;
        $! = 0;
        my ($r, $w) = IO::Select->select($rsel, $wsel, undef, $timeout);
        if (!$r && !$w) {
            next if $! == EINTR;
            close $sock;
            if (defined $block->abort) {
                sleep 0.005;
            } else {
                Test::More::fail("ERROR: client socket timed out - $name\n");
            }
            last;
        }

        if ($w && @$w) {
            while ($writing) {
                if ($off < length $buf) {
                    my $n = syswrite $sock, $buf, length($buf) - $off, $off;
                    if (!defined $n) {
                        last if $! == EAGAIN || $! == EWOULDBLOCK;
                        warn "write failed: $!\n";
                        $writing = 0;
                        last;
                    }
                    $off += $n;
                    next;
                }
                my $next = shift @queue;
                if (!defined $next) {
                    $writing = 0;
                    if (defined(my $how = $block->shutdown)) {
                        shutdown $sock, ($how =~ /^\s*$/ ? 1 : $how);
                    }
                    last;
                }
                my $delay = $next->{delay_before} // $middle_delay;
                sleep $delay if $delay;
                ($buf, $off) = ($next->{value} // '', 0);
            }
        }

        if ($r && @$r) {
            my $n = sysread $sock, my $chunk, 16384;
            if (!defined $n) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                warn "WARNING: $name - HTTP response read failure: $!\n";
                last;
            }
            last if $n == 0;
            $resp .= $chunk;
        }
    }
    close $sock;
    return ($resp, $is_head);
}

#---------------------------------------------------------------------------
# Responses
#---------------------------------------------------------------------------

# Parses status line + headers like HTTP::Response->parse.
sub _parse_http_message {
    my ($str) = @_;
    my $status_line;
    if ($str =~ s/^(.*)\n//) {
        $status_line = $1;
    } else {
        ($status_line, $str) = ($str, '');
    }
    $status_line =~ s/\r\z//;
    my ($code, $msg);
    if ($status_line =~ /^\d{3} /) {
        ($code, $msg) = split ' ', $status_line, 2;
    } else {
        (undef, $code, $msg) = split ' ', $status_line, 3;
    }

    my @headers;
    while (1) {
        if ($str =~ s/^([^\s:]+)[ \t]*: ?(.*)\n?//) {
            push @headers, [$1, $2];
            $headers[-1][1] =~ s/\r\z//;
        } elsif (@headers && $str =~ s/^([ \t].*)\n?//) {
            $headers[-1][1] .= "\n$1";
            $headers[-1][1] =~ s/\r\z//;
        } else {
            $str =~ s/^\r?\n//;
            last;
        }
    }
    return Test::Nginx::Socket::Response->new($code, \@headers, $str);
}

# Returns ($response, $raw_headers, $left_over_bytes).
sub parse_response {
    my ($name, $raw, $is_head) = @_;
    my $raw_headers = $raw =~ /(.*?\r\n)\r\n/s ? $1 : '';
    my $res = _parse_http_message($raw);
    my $code = $res->code;
    if (defined $code && $code !~ /^\d+$/) {
        $res->code(undef);
        undef $code;
    }
    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $left;
    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');
    if (defined $enc && $enc eq 'chunked') {
        my @trailers = $res->header('Trailer');
        my $body = $res->content // '';
        my $decoded = '';
        while (1) {
            if (!@trailers && $body =~ /\G0[ \t]*\r\n\r\n/gc) {
                $left = $1 if $body =~ /\G(.+)/gcs;
                last;
            }
            if (@trailers && $body =~ /\G0[ \t]*\r\n/gc) {
                for my $t (@trailers) {
                    next if $body =~ /\G\Q$t\E: [^\n]*\r\n/gc;
                    Test::More::fail("$name - invalid trailer data received (expected $t).");
                    return;
                }
                if ($body !~ /\G\r\n/gc) {
                    Test::More::fail("$name - invalid chunked data received (expected CRLF).");
                    return;
                }
                $left = $1 if $body =~ /\G(.+)/gcs;
                last;
            }
            if ($body =~ /\G[ \t]*([A-Fa-f0-9]+)[ \t]*\r\n/gc) {
                my $size = hex $1;
                my $start = pos $body;
                if (length($body) - $start < $size) {
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(not enought octets for the data section)");
                    return;
                }
                $decoded .= substr $body, $start, $size;
                pos($body) = $start + $size;
                if ($body !~ /\G\r\n/gc) {
                    Test::More::fail("$name - invalid chunked data received (expected CRLF).");
                    return;
                }
            } elsif ($body =~ /\G(.+)/gcs) {
                Test::More::fail("$name - invalid chunked body received: $1");
                return;
            } else {
                Test::More::fail("$name - no last chunk found - $body");
                return;
            }
        }
        $res->content($decoded);
    } elsif (defined $len && $len =~ /^\d+$/) {
        my $body = $res->content // '';
        if (length $body < $len) {
            warn "WARNING: $name - response body truncated: $len expected, but got ",
                length $body, "\n" unless $is_head;
        } elsif (length $body > $len) {
            $left = substr $body, $len;
            $res->content(substr $body, 0, $len);
        }
    }
    return ($res, $raw_headers, $left);
}

# Picks the expectation for the $idx-th request of a multi-request block.
sub get_indexed_value {
    my ($name, $value, $idx, $need_array) = @_;
    if ($need_array) {
        return $value->[$idx] if ref $value eq 'ARRAY';
        bail_out("$name - You asked for many requests, the expected results should be arrays as well.");
    }
    return $value->[0] if ref $value eq 'ARRAY';
    return $value;
}

#---------------------------------------------------------------------------
# Checks
#---------------------------------------------------------------------------

sub run_test_helper {
    my ($block, $rep_idx) = @_;
    my $name = $block->name;
    my $reqs = get_req_from_block($block);
    bail_out("$name - request empty") unless @$reqs;

    my $timeout = parse_time($block->timeout) // timeout();
    my ($res, $n, $need_array);
    my $req_idx = 0;

    for my $req (@$reqs) {
        my ($raw, $is_head) = send_request($block, $req, $timeout);
        if ($block->pipelined_requests) {
            $n = @{ $block->pipelined_requests };
            $need_array = 1;
        } else {
            $need_array = @$reqs > 1;
        }

        while (1) {    # once per response (pipelined requests: several)
            $raw //= '';
            my ($raw_headers, $left);
            if (!defined $block->ignore_response) {
                if (defined $block->http09) {
                    $res = Test::Nginx::Socket::Response->new(200, [], $raw);
                    $raw_headers = '';
                } else {
                    ($res, $raw_headers, $left) = parse_response($name, $raw, $is_head);
                }
            }

            if (!$n) {
                if (defined $left && length $left) {
                    (my $shown = $left) =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}', ord $1)/eg;
                    warn "WARNING: $name - unexpected extra bytes after last chunk in ",
                         "response: \"$shown\"\n";
                }
            } else {
                $raw = $left;
                $n--;
            }

            if (!defined $block->ignore_response) {
                check_error_code($block, $res, $req_idx, $need_array);
                check_raw_response_headers($block, $raw_headers, $req_idx, $need_array);
                check_response_headers($block, $res, $raw_headers, $req_idx, $need_array);
                transform_response_body($block, $res, $req_idx);
                check_response_body($block, $res, $req_idx, $rep_idx, $need_array);
            }

            if ($n || $req_idx < $#$reqs) {
                sleep $block->wait if $block->wait;
                check_error_log($block, $res, $rep_idx, $need_array);
                check_access_log($block, $rep_idx) unless defined $block->ignore_response;
            }
            $req_idx++;
            last unless $n;
        }
    }

    sleep $block->wait if $block->wait;
    check_error_log($block, $res, $rep_idx, $need_array);
    check_access_log($block, $rep_idx) unless defined $block->ignore_response;
}

sub check_error_code {
    my ($block, $res, $idx, $need_array) = @_;
    my $name = $block->name;
    my $code = ($res && $res->code) || '';
    if (defined $block->error_code_like) {
        my $pat = get_indexed_value($name, $block->error_code_like, $idx, $need_array);
        Test::More::like($code, qr/$pat/sm, "$name - status code ok");
    } elsif (defined $block->error_code) {
        Test::More::is($code, get_indexed_value($name, $block->error_code, $idx, $need_array),
                       "$name - status code ok");
    } else {
        Test::More::is($code, 200, "$name - status code ok");
    }
}

sub check_raw_response_headers {
    my ($block, $raw_headers, $idx, $need_array) = @_;
    my $name = $block->name;
    if (defined $block->raw_response_headers_like) {
        my $pat = get_indexed_value($name, $block->raw_response_headers_like, $idx, $need_array);
        Test::More::like($raw_headers, qr/$pat/s, "$name - raw resp headers like");
    }
    if (defined $block->raw_response_headers_unlike) {
        my $pat = get_indexed_value($name, $block->raw_response_headers_unlike, $idx, $need_array);
        Test::More::unlike($raw_headers, qr/$pat/s, "$name - raw resp headers unlike");
    }
}

# "Name: value" lines -> {Name => value}; "!Name" -> {Name => undef}.
sub parse_headers {
    my ($text) = @_;
    my %headers;
    for my $line (split /\n/, $text // '') {
        $line =~ s/^\s+|\s+$//g;
        if ($line =~ s/^!\s*//) {
            $headers{$line} = undef;
        } else {
            my ($key, $val) = split /\s*:\s*/, $line, 2;
            $headers{$key // ''} = $val;
        }
    }
    return \%headers;
}

sub check_response_headers {
    my ($block, $res, $raw_headers, $idx, $need_array) = @_;
    my $name = $block->name;
    if (defined $block->response_headers) {
        my $headers = parse_headers(
            get_indexed_value($name, $block->response_headers, $idx, $need_array));
        for my $key (sort keys %$headers) {
            my $val = $headers->{$key};
            if (!defined $val) {
                Test::More::unlike($raw_headers // '', qr/^\s*\Q$key\E\s*:/ms,
                                   "$name - header $key not present in the raw headers");
                next;
            }
            $val =~ s/\$ServerPort\b/$ServerPort/g;
            $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            my $actual = $res ? $res->header($key) : undef;
            Test::More::is($actual // '', $val, "$name - header $key ok");
        }
    } elsif (defined $block->response_headers_like) {
        my $headers = parse_headers(
            get_indexed_value($name, $block->response_headers_like, $idx, $need_array));
        for my $key (sort keys %$headers) {
            my $val = $headers->{$key} // '';
            my $actual = $res ? $res->header($key) : undef;
            Test::More::like($actual // '', qr/^$val$/, "$name - header $key like ok");
        }
    }
}

my %BodyFilters = (
    md5_hex  => \&Digest::MD5::md5_hex,
    sha1_hex => \&Digest::SHA::sha1_hex,
    uc => sub { uc shift }, lc => sub { lc shift },
    ucfirst => sub { ucfirst shift }, lcfirst => sub { lcfirst shift },
    length => sub { length shift },
);

# --- response_body_filters: transforms the body before it is checked.
sub transform_response_body {
    my ($block, $res, $idx) = @_;
    my $filters = $block->response_body_filters;
    return unless defined $filters && $res && defined $res->content;
    my $name = $block->name;

    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//g;
        $filters = [split /\s+/, $filters];
    } elsif (ref $filters ne 'ARRAY') {
        $filters = [$filters];
    }
    if (ref $filters->[0] eq 'ARRAY') {      # one filter list per request
        $filters = $filters->[$idx];
        bail_out("$name - the --- response_body_filters two-dimensional array "
                 . "unmatch the specified request($idx)") unless defined $filters;
        $filters = [$filters] unless ref $filters eq 'ARRAY';
    }

    my $body = $res->content;
    for my $f (@$filters) {
        if (ref $f eq 'CODE') {
            $body = $f->($body);
        } elsif (!ref $f && $BodyFilters{$f}) {
            $body = $BodyFilters{$f}->($body);
        } else {
            bail_out("$name - unknown filter, \"$f\", specified in the "
                     . "--- response_body_filters section");
        }
    }
    $res->content($body);
}

sub check_response_body {
    my ($block, $res, $idx, $rep_idx, $need_array) = @_;
    my $name = $block->name;
    my $content = $res ? $res->content : undef;
    if (defined $content) {
        $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gm;
        $content =~ s/^Connection: TE, close\r\n//gm;
    }

    if (defined $block->response_body || defined $block->response_body_eval) {
        my $expected;
        if ($block->response_body_eval) {
            $expected = eval get_indexed_value($name, $block->response_body_eval, $idx, $need_array);
            warn $@ if $@;
        } else {
            $expected = get_indexed_value($name, $block->response_body, $idx, $need_array);
        }
        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            $expected = expand_env_in_text($expected, $name, $Test::Nginx::Util::RandPorts);
        }
        my $desc = "$name - response_body - ";
        if (ref $expected) {
            Test::More::like($content, $expected, "${desc}like (repeated req $rep_idx, req $idx)");
        } elsif ($Test::Nginx::Util::NoLongString) {
            Test::Nginx::Util::is_with_diff($content, $expected,
                "${desc}response is expected (repeated req $rep_idx, req $idx)");
        } else {
            Test::Nginx::Util::is_long_string($content, $expected,
                "${desc}response is expected (repeated req $rep_idx, req $idx)");
        }

    } elsif (defined $block->response_body_like || defined $block->response_body_unlike) {
        my $type = defined $block->response_body_like ? 'like' : 'unlike';
        my $section = "response_body_$type";
        my $pat = get_indexed_value($name, $block->$section, $idx, $need_array);
        $pat =~ s/\$ServerPort\b/$ServerPort/g;
        $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        my $summary = trim($content) // '';
        my $test_name = "$name - response_body_$type - response is expected ($summary)";
        if ($type eq 'like') {
            Test::More::like($content, qr/$pat/s, $test_name);
        } else {
            Test::More::unlike($content, qr/$pat/s, $test_name);
        }
    }

    $_->($block, $res ? $res->content : undef, $idx, $rep_idx, 0) for @ResponseBodyChecks;
}

# Pattern sections: a string (one substring per line), a qr//, or an
# array of both.
sub _patterns {
    my ($pats) = @_;
    if (!ref $pats) {
        chomp $pats;
        return [split /\n+/, $pats];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub _line_matches {
    my ($line, $pat) = @_;
    return ref $pat eq 'Regexp' ? $line =~ $pat : index($line, $pat) >= 0;
}

sub _value_contains {
    my ($val, $str) = @_;
    return index("$val", $str) >= 0 if !ref $val || ref $val eq 'Regexp';
    return scalar grep { _value_contains($_, $str) } @$val if ref $val eq 'ARRAY';
    return 0;
}

# The positive ("must appear") check shared by error_log and access_log.
sub _check_log_present {
    my ($name, $pats, $lines, $file, $rep_idx) = @_;
    $pats = _patterns($pats);
    for my $line (@$lines) {
        for my $pat (@$pats) {
            next unless defined $pat && _line_matches($line, $pat);
            Test::More::pass("$name - pattern \"$pat\" matches a line in $file$rep_idx");
            undef $pat;
        }
    }
    for my $pat (grep { defined } @$pats) {
        Test::More::fail("$name - pattern \"$pat\" should match a line in $file$rep_idx");
    }
}

# The negative ("must not appear") check: one failure per matching line.
sub _check_log_absent {
    my ($name, $pats, $lines, $file, $rep_idx) = @_;
    $pats = _patterns($pats);
    my %found;
    for my $i (0 .. $#$lines) {
        my $line = $lines->[$i];
        for my $pat (@$pats) {
            next unless defined $pat && _line_matches($line, $pat);
            $found{$pat} = 1;
            my $end = $i + 10 < $#$lines ? $i + 10 : $#$lines;
            my $more = join '', @$lines[$i + 1 .. $end - 1];
            Test::More::fail(sprintf "%s - pattern \"%s\" should not match any line in %s "
                . "but matches line \"%s\"%s\n%s",
                $name, fmt_str($pat), $file, fmt_str($line), $rep_idx, $more);
        }
    }
    for my $pat (@$pats) {
        next if !defined $pat || $found{$pat};
        Test::More::pass(sprintf "%s - pattern \"%s\" does not match a line in %s%s",
                         $name, fmt_str($pat), $file, $rep_idx);
    }
}

sub check_error_log {
    my ($block, $res, $rep_idx, $need_array) = @_;
    my $name = $block->name;
    my $lines;
    my %warn_on = ('[alert]' => 1, '[crit]' => 1, '[emerg]' => 1);

    my $grep_pat = $block->grep_error_log;
    if (defined $grep_pat) {
        $grep_pat = $grep_pat->[$rep_idx] if ref $grep_pat eq 'ARRAY';
        my $expected = $block->grep_error_log_out;
        bail_out("$name - No --- grep_error_log_out defined but --- grep_error_log is defined")
            unless defined $expected;
        $expected = expand_env_in_text($expected, $name, $Test::Nginx::Util::RandPorts);
        $expected = $expected->[$rep_idx] if ref $expected eq 'ARRAY';

        $lines ||= error_log_data();
        my $matched = '';
        for my $line (@$lines) {
            my $m = ref $grep_pat eq 'Regexp'
                ? ($line =~ $grep_pat ? $& : undef)
                : (index($line, $grep_pat) >= 0 ? $grep_pat : undef);
            $matched .= "$m\n" if defined $m && $m !~ /\n/;
        }
        my $test_name = "$name - grep_error_log_out (req $rep_idx)";
        if (ref $expected eq 'Regexp') {
            Test::More::like($matched, $expected, $test_name);
        } elsif ($Test::Nginx::Util::NoLongString) {
            Test::Nginx::Util::is_with_diff($matched, $expected, $test_name);
        } else {
            Test::Nginx::Util::is_long_string($matched, $expected, $test_name);
        }
    } elsif (defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but --- grep_error_log_out is defined");
    }

    for my $section (qw(error_log no_error_log)) {
        my $pats = $block->$section;
        next unless defined $pats;
        for my $level (keys %warn_on) {
            (my $prefix = $level) =~ s/\]$//;
            delete $warn_on{$level} if _value_contains($pats, $prefix);
        }
        $lines ||= error_log_data();
        if ($section eq 'error_log') {
            _check_log_present($name, $pats, $lines, 'error.log', " (req $rep_idx)");
        } else {
            _check_log_absent($name, $pats, $lines, 'error.log', " (req $rep_idx)");
        }
    }

    # unexpected severe messages are reported as warnings only
    $lines ||= error_log_data();
    for my $line (@{ $lines || [] }) {
        for my $level (keys %warn_on) {
            warn "WARNING: $name - " . fmt_str($line) . "\n" if index($line, $level) >= 0;
        }
        if ($line =~ /\bAssertion .*?failed\b/) {
            (my $l = $line) =~ s/\n\z//;
            Test::More::fail("$name - $l\n");
        }
    }
}

sub check_access_log {
    my ($block, $rep_idx) = @_;
    my $name = $block->name;
    my $lines;
    if (defined(my $pats = $block->access_log)) {
        $lines ||= access_log_data();
        _check_log_present($name, $pats, $lines || [], 'access.log', " (req $rep_idx)");
    }
    if (defined(my $pats = $block->no_access_log)) {
        $lines ||= access_log_data();
        _check_log_absent($name, $pats, $lines || [], 'access.log', " (req $rep_idx)");
    }
}

# --- shutdown_error_log / --- no_shutdown_error_log of the previous block,
# checked once its nginx has been stopped.
sub _check_shutdown_error_log {
    my ($block) = @_;
    return unless $block;
    my $name = $block->name;
    my ($yes, $no) = ($block->shutdown_error_log, $block->no_shutdown_error_log);
    return unless defined $yes || defined $no;
    if ($ENV{TEST_NGINX_NO_CLEAN}) {     # nginx is left running: cannot check
        my $n = 0;
        $n += @{ _patterns($_) } for grep { defined } $yes, $no;
        SKIP: { Test::More::skip("$name - shutdown_error_log - tests skipped due to dry_run", $n) }
        return;
    }
    my $lines = error_log_data() || [];
    _check_log_present($name, $yes, $lines, 'error.log', '') if defined $yes;
    _check_log_absent($name, $no, $lines, 'error.log', '') if defined $no;
}

END {
    if ($$ == $Test::Nginx::Util::MainPid) {
        my $exit = $?;
        Test::Nginx::Util::cleanup();
        if ($Test::Nginx::Util::UseValgrind || !$ENV{TEST_NGINX_NO_CLEAN}) {
            Test::Nginx::Util::stop_nginx();
        }
        _check_shutdown_error_log($Test::Nginx::Util::PrevBlock);
        if ($Test::Nginx::Util::Randomize && $ServRoot =~ m{/t/servroot_\d+$}) {
            require File::Path;
            File::Path::remove_tree($ServRoot);
        }
        # Test::Base runs without a plan when none was declared
        my $tb = Test::More->builder;
        $tb->done_testing if $exit == 0 && !$tb->has_plan && $tb->current_test > 0;
        $? = $exit;
    }
}

#---------------------------------------------------------------------------
# A minimal HTTP response object (the subset of HTTP::Response we need)
#---------------------------------------------------------------------------

package Test::Nginx::Socket::Response;

sub new {
    my ($class, $code, $headers, $content) = @_;
    return bless { code => $code, headers => $headers, content => $content }, $class;
}

sub code {
    my $self = shift;
    $self->{code} = shift if @_;
    return $self->{code};
}

sub content {
    my $self = shift;
    $self->{content} = shift if @_;
    return $self->{content};
}

# Case-insensitive; several fields with the same name are joined by ", "
# in scalar context (like HTTP::Headers).
sub header {
    my ($self, $name) = @_;
    (my $want = lc $name) =~ tr/_/-/;
    my @values = map { $_->[1] } grep { lc $_->[0] eq $want } @{ $self->{headers} };
    return wantarray ? @values : @values ? join(', ', @values) : undef;
}

1;
