package Test::Nginx::Util;

# Support code for Test::Nginx::Socket: global settings, the Test::Base-style
# __DATA__ parser, nginx.conf generation and the nginx process lifecycle.
#
# This is an independent, minimal re-implementation of the subset of
# openresty's Test::Nginx that this project uses; it aims at the same
# semantics so that the same .t files pass under both.

use strict;
use warnings;

# Evaluates an "eval"-filtered section.  Defined before any file-scoped
# lexical so that the evaluated code cannot see them; it runs under
# strict/warnings in a package of its own (like Test::Base's filter class).
sub _eval_section {
    package Test::Nginx::Util::Eval;
    my @ret = eval $_[0];
    if ($@) {
        warn "eval section failed: $@";
        return $@;
    }
    return @ret;
}

use Carp qw(croak);
use File::Path qw(make_path remove_tree);
use File::Spec ();
use IO::Socket::INET ();
use POSIX qw(:sys_wait_h SIGQUIT SIGTERM SIGKILL);
use Scalar::Util qw(openhandle);
use Time::HiRes qw(sleep time);
use Test::More ();

use Exporter 'import';

our @EXPORT = qw(
    repeat_each workers worker_connections log_level master_on master_off
    master_process_enabled no_shuffle no_long_string no_root_location
    env_to_nginx html_dir server_root server_port server_port_for_client
    server_name server_addr timeout config_preamble check_accum_error_log
    add_block_preprocessor add_cleanup_handler add_test_cleanup_handler
    bail_out is_str expand_env_in_text parse_time error_log_data
    access_log_data get_nginx_version trim fmt_str
    $ServerPort $ServerPortForClient $ServRoot $PidFile $ConfFile $ErrLogFile
    $NoLongString
);

#---------------------------------------------------------------------------
# Settings (environment first, then the exported setter functions)
#---------------------------------------------------------------------------

our $MainPid       = $$;
our $RepeatEach    = 1;
our $Workers       = 1;
our $WorkerConnections = 64;
our $LogLevel      = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $NoShuffle     = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $NoLongString;
our $NoRootLocation = 0;
our $Timeout       = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $Sleep         = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $NginxBinary   = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $LoadModules   = $ENV{TEST_NGINX_LOAD_MODULES};
our $UseValgrind   = $ENV{TEST_NGINX_USE_VALGRIND};
our $Verbose       = $ENV{TEST_NGINX_VERBOSE};
our $Randomize     = $ENV{TEST_NGINX_RANDOMIZE};
our $CheckAccumErrLog = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $ServerAddr    = '127.0.0.1';
our $ServerName    = 'localhost';
our $ConfigPreamble = '';
our @EnvToNginx;
our (@BlockPreprocessors, @CleanupHandlers, @TestCleanupHandlers);

our $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
if ($Randomize) {
    $ServerPort = gen_rand_port({}) or die "cannot find a free port\n";
}
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;

our $ServRoot = $Randomize
    ? File::Spec->rel2abs("t/servroot_$ServerPort")
    : File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT} || 't/servroot');
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $HtmlDir    = "$ServRoot/html";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";
our $PidFile    = "$LogDir/nginx.pid";
our $StderrFile = "$LogDir/nginx.stderr";

# Runtime state.
our $ErrLogFilePos = 0;
our $ChildPid;          # nginx run in the foreground (valgrind mode)
our $ChildStatus;       # its wait status once reaped
our $PrevConfig;        # expanded --- config of the last started nginx
our $PrevBlock;
our $RandPorts = {};
our $NginxVersion;

my $ValgrindErrorExit = 99;

sub repeat_each (@)        { $RepeatEach = shift if @_; $RepeatEach }
sub workers (@)            { $Workers = shift if @_; $Workers }
sub worker_connections (@) { $WorkerConnections = shift if @_; $WorkerConnections }
sub log_level (@)          { $LogLevel = shift if @_; $LogLevel }
sub timeout (@)            { $Timeout = shift if @_; $Timeout }
sub server_port (@)        { $ServerPort = shift if @_; $ServerPort }
sub server_port_for_client (@) {
    $ServerPortForClient = shift if @_;
    $ServerPortForClient;
}
sub server_name (@)        { $ServerName = shift if @_; $ServerName }
sub server_addr (@)        { $ServerAddr = shift if @_; $ServerAddr }
sub master_on ()           { $MasterProcessEnabled = 'on' }
sub master_off ()          { $MasterProcessEnabled = 'off' }
sub master_process_enabled (@) {
    $MasterProcessEnabled = $_[0] ? 'on' : 'off' if @_;
    $MasterProcessEnabled;
}
sub no_shuffle ()            { $NoShuffle = 1 }
sub no_long_string ()        { $NoLongString = 1 }
sub no_root_location ()      { $NoRootLocation = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub config_preamble ($)      { $ConfigPreamble = shift }
sub html_dir ()              { $HtmlDir }
sub server_root ()           { $ServRoot }
sub add_block_preprocessor (&)  { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($)     { unshift @CleanupHandlers, shift }
sub add_test_cleanup_handler ($) { unshift @TestCleanupHandlers, shift }

sub env_to_nginx (@) {
    croak "env_to_nginx: no arguments specified" unless @_;
    for my $v (@_) {
        croak "env_to_nginx: bad argument value: $v\n"
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

# "1.5", "1.5s" or "500ms" -> seconds
sub parse_time ($) {
    my $t = shift;
    return $t unless defined $t;
    if ($t =~ s/([^_a-zA-Z])ms$/$1/) {
        $t /= 1000;
    } else {
        $t =~ s/([^_a-zA-Z])s$/$1/;
    }
    return $t;
}

sub trim ($) {
    my $s = shift;
    return undef unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /g;
    $s =~ s/\s{2,}/ /g;
    return $s;
}

sub fmt_str ($) {
    my $s = shift;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

sub gen_rand_port {
    my ($used) = @_;
    for (1 .. 1000) {
        my $port = 1988 + int rand 63000;
        next if $used->{$port};
        my $sock = IO::Socket::INET->new(
            LocalAddr => $ServerAddr, LocalPort => $port, Proto => 'tcp',
            Listen => 1, ReuseAddr => 1,
        ) or next;
        close $sock;
        return $port;
    }
    return undef;
}

# Substitutes $TEST_NGINX_* variables from %ENV (or random free ports for
# $TEST_NGINX_RAND_PORT_N); an undefined variable aborts the run.
sub expand_env_in_text ($$$) {
    my ($text, $name, $rand_ports) = @_;
    return $text unless defined $text && !ref $text;
    $rand_ports ||= {};
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        if ($var =~ /^TEST_NGINX_RAND_PORT_\d+$/) {
            $rand_ports->{$var} //= do {
                my %used = ($ServerPort => 1, map { $_ => 1 } values %$rand_ports);
                gen_rand_port(\%used)
                    // bail_out("$name - Cannot find an available port for $var.\n");
            };
        } else {
            defined $ENV{$var} or bail_out("$name - No environment $var defined.\n");
            $ENV{$var};
        }
    }ge;
    return $text;
}

#---------------------------------------------------------------------------
# String comparisons with helpful diagnostics
#---------------------------------------------------------------------------

sub _show_chars {
    my $s = shift;
    $s =~ s/([\\"])/\\$1/g;
    $s =~ s/\n/\\n/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\t/\\t/g;
    $s =~ s/([\x00-\x1f\x7f-\xff])/sprintf '\\x{%02x}', ord $1/ge;
    return qq{"$s"};
}

# Like Test::LongString::is_string: on mismatch, shows where the two
# strings start to differ instead of dumping both in full.
sub is_long_string {
    my ($got, $expected, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    if (!defined $got || !defined $expected) {
        my $ok = Test::More::ok(!defined $got && !defined $expected, $name);
        Test::More::diag(sprintf "         got: %s\n    expected: %s",
            map { defined $_ ? _show_chars(substr $_, 0, 70) : 'undef' }
                $got, $expected) unless $ok;
        return $ok;
    }
    return Test::More::ok(1, $name) if $got eq $expected;

    Test::More::ok(0, $name);
    my $pos = 0;
    my $max = length($got) < length($expected) ? length $got : length $expected;
    $pos++ while $pos < $max && substr($got, $pos, 1) eq substr($expected, $pos, 1);
    my $before = substr($expected, 0, $pos);
    my $line = 1 + ($before =~ tr/\n//);
    my $col = $pos - (rindex($before, "\n") + 1) + 1;
    my $from = $pos > 10 ? $pos - 10 : 0;
    Test::More::diag(sprintf "         got: %s\n      length: %d\n"
        . "    expected: %s\n      length: %d\n"
        . "    strings begin to differ at char %d (line %d column %d)",
        _show_chars(substr $got, $from, 70), length $got,
        _show_chars(substr $expected, $from, 70), length $expected,
        $pos + 1, $line, $col);
    return 0;
}

# Minimal LCS line diff used for multi-line mismatches (Test::Base's "is").
sub line_diff {
    my ($exp, $got) = @_;
    my @a = split /^/m, $exp;
    my @b = split /^/m, $got;
    return undef if @a * @b > 250_000;
    my @lcs;
    for (my $i = $#a; $i >= 0; $i--) {
        for (my $j = $#b; $j >= 0; $j--) {
            $lcs[$i][$j] = $a[$i] eq $b[$j]
                ? 1 + ($lcs[$i + 1][$j + 1] // 0)
                : _max($lcs[$i + 1][$j] // 0, $lcs[$i][$j + 1] // 0);
        }
    }
    my ($i, $j, $out) = (0, 0, "--- expected\n+++ got\n");
    while ($i < @a || $j < @b) {
        if ($i < @a && $j < @b && $a[$i] eq $b[$j]) {
            $out .= "  $a[$i]"; $i++; $j++;
        } elsif ($j < @b && ($i >= @a
                 || ($lcs[$i][$j + 1] // 0) >= ($lcs[$i + 1][$j] // 0))) {
            $out .= "+ $b[$j]"; $j++;
        } else {
            $out .= "- $a[$i]"; $i++;
        }
        $out .= "\n" if $out !~ /\n\z/;
    }
    return $out;
}

sub _max { $_[0] > $_[1] ? $_[0] : $_[1] }

# Test::Base's "is": a line diff for multi-line strings unless no_diff().
sub is_with_diff {
    my ($got, $expected, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    if ($ENV{TEST_SHOW_NO_DIFFS} || !defined $got || !defined $expected
        || $got eq $expected || $expected !~ /\n./s)
    {
        return Test::More::is($got, $expected, $name);
    }
    Test::More::ok(0, $name);
    my $diff = line_diff($expected, $got);
    Test::More::diag(defined $diff ? $diff
        : "         got: '$got'\n    expected: '$expected'");
    return 0;
}

sub is_str (@) {
    my ($got, $expected, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    return Test::More::like($got, $expected, $name)
        if ref $expected && ref $expected eq 'Regexp';
    return Test::More::is($got, $expected, $name) if $NoLongString;
    return is_long_string($got, $expected, $name);
}

#---------------------------------------------------------------------------
# Test::Base-compatible __DATA__ parsing
#---------------------------------------------------------------------------

my $Blocks;     # parsed (but maybe not yet filtered) block list

sub _spec_text {
    no warnings 'once';
    my $fh = openhandle(\*main::DATA) or return undef;
    local $/;
    return scalar <$fh>;
}

sub block_list {
    return $Blocks if $Blocks;
    $Blocks = [];
    my $spec = _spec_text();
    return $Blocks unless defined $spec;

    my $seq = 0;
    for my $hunk ($spec =~ /^(===.*?(?=^===|\z))/msg) {
        my $block = _parse_block($hunk);
        if (exists $block->{ONLY}) {
            Test::More::diag("I found ONLY: maybe you're debugging?");
            $block->{_seq_num} = 1;
            return $Blocks = [$block];
        }
        next if exists $block->{SKIP};
        $block->{_seq_num} = ++$seq;
        push @$Blocks, $block;
        last if exists $block->{LAST};
    }
    return $Blocks;
}

sub _parse_block {
    my ($hunk) = @_;
    $hunk =~ s/\A===[ \t]*(.*)\s+// or die "bad block: $hunk";
    my $name = $1;
    my @parts = split /^--- +\(?(\w+)\)? *(.*)?\n/m, $hunk;
    my $desc = shift @parts;
    $desc = $name unless defined $desc && $desc =~ /\S/;
    $desc =~ s/\s*\z//;

    my $block = Test::Nginx::Util::Block->new;
    $block->set_value(description => $desc);
    while (@parts) {
        my ($type, $filters, $value) = splice @parts, 0, 3;
        croak "'$type' is a reserved section name" if $type =~ /^_/;
        $value   //= '';
        $filters //= '';
        if ($filters =~ /:(\s|\z)/) {     # inline form: "--- name: value"
            croak "Extra lines not allowed in '$type' section" if $value =~ /\S/;
            ($filters, $value) = split /\s*:(?:\s+|\z)/, $filters, 2;
            $value //= '';
            $value =~ s/^\s*(.*?)\s*$/$1/;
        }
        $block->{_filters}{$type} = $filters;
        push @{ $block->{_order} }, $type;
        $block->set_value($type, $value);
    }
    $block->set_value(name => $name);
    return $block;
}

# Blocks in file order, optionally only those having a given section.
sub blocks_with {
    my ($section) = @_;
    my @b = @{ block_list() };
    @b = grep { exists $_->{$section} } @b if $section;
    return @b;
}

my %Filters = (
    norm => sub {
        my $t = shift // '';
        $t =~ s/\r\n/\n/g;
        $t =~ s/\r/\n/g;
        return $t;
    },
    trim => sub {
        map { my $v = $_;
              if (defined $v && !ref $v) {
                  $v =~ s/\A([ \t]*\n)+//;
                  $v =~ s/(?<=\n)\s*\z//;
              }
              $v } @_;
    },
    chomp   => sub { map { my $v = $_; chomp $v if defined $v && !ref $v; $v } @_ },
    chop    => sub { map { my $v = $_; chop $v if defined $v && !ref $v; $v } @_ },
    unchomp => sub { map { "$_\n" } @_ },
    eval    => sub { _eval_section(shift) },
    lines   => sub { my $t = shift; length $t ? ($t =~ /^(.*\n?)/gm) : () },
    array   => sub { [@_] },
    join    => sub { my $arg = shift // ''; join $arg, @_ },
    split   => sub {
        my ($arg, $t) = @_;
        my $sep = defined $arg && length $arg
            ? ($arg =~ m{^/(.*)/$} ? qr/$1/ : $arg) : qr/\s+/;
        split $sep, $t;
    },
    append  => sub { my $arg = shift // ''; map { $_ . $arg } @_ },
    prepend => sub { my $arg = shift // ''; map { $arg . $_ } @_ },
    reverse => sub { reverse @_ },
    regexp  => sub {
        my ($flags, $t) = @_;
        if ($t =~ /\n.*?\n/s) { $flags //= 'xism' } else { chomp $t }
        $flags //= '';
        my $re = eval "qr{\$t}$flags";
        die $@ if $@;
        return $re;
    },
    base64_encode => sub { require MIME::Base64; MIME::Base64::encode_base64(shift) },
    base64_decode => sub { require MIME::Base64; MIME::Base64::decode_base64(shift) },
    escape  => sub { my $t = shift; $t =~ s/(\\.)/eval qq{"$1"}/ge; $t },
);
my %FilterTakesArg = map { $_ => 1 } qw(join split append prepend regexp);

# Applies the default filters (norm, trim) plus the section's own filters.
sub run_filters {
    my ($block) = @_;
    return if $block->{_filtered}++;
    for my $type (@{ $block->{_order} || [] }) {
        my @filters = ('norm', 'trim');
        my @append;
        for my $f (split ' ', $block->{_filters}{$type} // '') {
            if ($f =~ s/^-//) { @filters = grep { $_ ne $f } @filters }
            elsif ($f =~ s/^\+//) { push @append, $f }
            else { push @filters, $f }
        }
        my @value = @{ $block->{$type} };
        for my $f (@filters, @append) {
            my $arg = $f =~ s/=(.*)$// ? $1 : undef;
            no strict 'refs';
            if (defined &{"main::$f"}) {          # user-defined filter
                local $_ = join '', map { $_ // '' } @value;
                @value = &{"main::$f"}(@value);
                @value = ($_) if !@value
                    || (@value == 1 && defined $value[0] && $value[0] =~ /\A(\d+|)\z/);
            } elsif (my $code = $Filters{$f}) {
                @value = $FilterTakesArg{$f} ? $code->($arg, @value) : $code->(@value);
            } else {
                die "Can't find a function or method for '$f' filter\n";
            }
            $block->set_value($type, @value);
        }
    }
}

#---------------------------------------------------------------------------
# nginx version, server root and nginx.conf
#---------------------------------------------------------------------------

sub get_nginx_version () {
    return $NginxVersion if defined $NginxVersion;
    my $out = `$NginxBinary -V 2>&1`;
    if (defined $out && $out =~ m{nginx version: \S+/(\d+)\.(\d+)\.(\d+)}) {
        $NginxVersion = sprintf "%d.%03d%03d", $1, $2, $3;
    }
    return $NginxVersion;
}

sub setup_server_root {
    if (-d $ServRoot) {
        # only remove what we create, never arbitrary user data
        remove_tree($ConfDir, $LogDir, $HtmlDir, "$ServRoot/cache",
                    glob("$ServRoot/*_cache"), glob("$ServRoot/*_temp"));
        rmdir $ServRoot
            or bail_out("Can't remove $ServRoot (not empty?): $!");
    }
    make_path($ServRoot, $LogDir, $HtmlDir, $ConfDir);
    -d $ConfDir or bail_out("Failed to create $ConfDir");
    open my $out, '>', "$HtmlDir/index.html"
        or bail_out("Can't write $HtmlDir/index.html: $!");
    print $out '<html><head><title>It works!</title></head><body>It works!</body></html>';
    close $out;
}

sub write_user_files {
    my ($block) = @_;
    my $name = $block->name;
    my $files = $block->user_files;
    return unless $files;

    if (!ref $files) {
        my @list;
        for my $line (split /^/m, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                push @list, [$1, undef, $2];
            } elsif (@list) {
                $list[-1][1] .= $line;
            }
        }
        $files = \@list;
    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: ", ref $files,
                 ", only scalar or ARRAY are accepted");
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/} && !-d $1) {
            make_path($1) or bail_out("$name - Cannot create directory $1");
        }
        $body = expand_env_in_text($body // '', $name, $RandPorts);
        open my $out, '>', $path or bail_out("$name - Cannot open $path for writing: $!");
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            system('touch', '-t', $date, $path) == 0
                or bail_out("$name - failed to set the mtime of $path");
        }
    }
}

sub write_config_file {
    my ($block, $config, $daemon) = @_;
    my $name = $block->name;

    my $http_config = expand_env_in_text($block->http_config // '', $name, $RandPorts);
    my $main_config = $block->main_config // '';
    if ($LoadModules) {
        my @mods = map { "load_module $_;" } grep { length } split /\s+/, $LoadModules;
        $main_config = join ' ', @mods, $main_config if @mods;
    }
    $main_config = expand_env_in_text($main_config, $name, $RandPorts);
    my $post_main_config =
        expand_env_in_text($block->post_main_config // '', $name, $RandPorts);
    my $server_name = $block->server_name // $ServerName;
    my $log_level = $block->log_level || $LogLevel;
    my $err_log = expand_env_in_text($block->error_log_file || $ErrLogFile, $name, $RandPorts);
    $config //= '';

    my $nginx_v = `$NginxBinary -V 2>&1` // '';
    my @temp_paths = map { "${_}_temp_path $ServRoot/${_}_temp;" }
        grep { $http_config !~ /\b${_}_temp_path\b/
               && $nginx_v !~ /--without-http_${_}_module/ }
        qw(client_body proxy fastcgi scgi uwsgi);

    my $env = join '', map { "env $_;\n" }
        qw(MOCKEAGAIN_VERBOSE MOCKEAGAIN MOCKEAGAIN_WRITE_TIMEOUT_PATTERN
           LD_PRELOAD LD_LIBRARY_PATH DYLD_INSERT_LIBRARIES DYLD_FORCE_FLAT_NAMESPACE),
        map { /\s/ ? "'$_'" : $_ } @EnvToNginx;

    my $root_location = $NoRootLocation ? '' : <<"EOC";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
EOC

    my $user = $> == 0 ? "user root;\n" : '';
    $user = "user $ENV{TEST_NGINX_WORKER_USER};\n" if defined $ENV{TEST_NGINX_WORKER_USER};

    open my $out, '>', $ConfFile or bail_out("Can't open $ConfFile for writing: $!");
    print $out <<"EOC";
worker_processes  $Workers;
daemon $daemon;
master_process $MasterProcessEnabled;
error_log $err_log $log_level;
pid       $PidFile;
$env
$main_config

http {
    access_log $AccLogFile; @temp_paths

    default_type text/plain;
    keepalive_timeout  68000ms;

$http_config
    server {
        listen          $ServerPort;
        server_name     '$server_name';
        client_max_body_size 30M;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

$root_location    }
}

$post_main_config

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
}
env ASAN_OPTIONS;
env MOCKNOEAGAIN_VERBOSE;
env MOCKNOEAGAIN;
$user
EOC
    close $out;
}

#---------------------------------------------------------------------------
# nginx processes
#---------------------------------------------------------------------------

sub _reap_child {
    my ($flags) = @_;
    $ChildStatus = $? if waitpid($ChildPid, $flags) == $ChildPid;
}

# Liveness via /proc: on this kind of machine orphaned zombies are reaped
# late, so kill(pid, 0) would report a dead nginx as alive.
sub is_running ($) {
    my $pid = shift;
    return 0 unless $pid;
    _reap_child(WNOHANG) if defined $ChildPid && $pid == $ChildPid;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    my $stat = <$fh> // '';
    my $p = rindex $stat, ')';
    return 0 if $p < 0;
    my ($state) = substr($stat, $p + 1) =~ /^\s*(\S)/;
    return defined $state && $state ne 'Z' && $state ne 'X';
}

sub _pid_from_file {
    open my $in, '<', $PidFile or return undef;
    my $pid = <$in>;
    close $in;
    return undef unless defined $pid && $pid =~ /^\s*(\d+)\s*$/;
    return $1;
}

sub _looks_like_nginx {
    my $pid = shift;
    open my $fh, '<', "/proc/$pid/cmdline" or return 0;
    my $cmd = do { local $/; <$fh> } // '';
    return $cmd =~ /nginx|valgrind|memcheck/;
}

# Stops a process (gracefully first); returns once it has really exited.
sub kill_process {
    my ($pid, $grace) = @_;
    return unless is_running($pid);
    $grace //= $UseValgrind ? 60 : _max($Timeout, 3);
    kill($ENV{TEST_NGINX_FAST_SHUTDOWN} ? SIGTERM : SIGQUIT, $pid);
    my $deadline = time + $grace;
    my $step = 0.002;
    while (is_running($pid) && time < $deadline) {
        sleep $step;
        $step *= 1.5 if $step < 0.05;
    }
    if (is_running($pid)) {
        warn "WARNING: process $pid did not exit in time; killing it with SIGKILL\n";
        kill SIGKILL, (getpgrp($pid) == $pid ? -$pid : $pid);
        $deadline = time + 5;
        sleep 0.01 while is_running($pid) && time < $deadline;
    }
    _reap_child(0) if defined $ChildPid && $pid == $ChildPid;
}

# Stops whatever nginx the pid file (or our foreground child) points to.
sub stop_nginx {
    my $pid = _pid_from_file();
    if ($pid && $pid != ($ChildPid // 0)) {
        kill_process($pid) if is_running($pid) && _looks_like_nginx($pid);
    }
    if (defined $ChildPid) {
        kill_process($ChildPid);
        undef $ChildPid;
    }
    unlink $PidFile if -f $PidFile;
}

sub nginx_is_up {
    my $pid = defined $ChildPid ? $ChildPid : _pid_from_file();
    return $pid && is_running($pid);
}

sub _nginx_cmd {
    return (split(' ', $NginxBinary), '-p', "$ServRoot/", '-c', $ConfFile,
            '-e', $ErrLogFile);
}

sub _valgrind_cmd {
    my @opts = $UseValgrind =~ /^\d+$/
        ? qw(--tool=memcheck --leak-check=full --show-possibly-lost=no
             --errors-for-leak-kinds=definite --num-callers=50)
        : split ' ', $UseValgrind;
    push @opts, '-q', '--gen-suppressions=all',
        "--error-exitcode=$ValgrindErrorExit", "--log-file=$LogDir/valgrind.%p.log";
    for my $supp ('valgrind.suppress', 't/valgrind.suppress') {
        push @opts, '--suppressions=' . File::Spec->rel2abs($supp) if -f $supp;
    }
    return ('valgrind', @opts);
}

# fork + exec with stdout to /dev/null and stderr captured in $StderrFile.
sub _spawn {
    my @cmd = @_;
    my $pid = fork;
    bail_out("fork() failed: $!") unless defined $pid;
    if ($pid == 0) {
        setpgrp(0, 0) if $UseValgrind;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>>', $StderrFile;
        { exec { $cmd[0] } @cmd }
        print STDERR "cannot run $cmd[0]: $!\n";
        POSIX::_exit(127);
    }
    return $pid;
}

sub _slurp {
    my $file = shift;
    open my $in, '<', $file or return '';
    local $/;
    return scalar(<$in>) // '';
}

sub _port_listening {
    my $hex = sprintf ':%04X ', $ServerPort;
    for my $f ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $in, '<', $f or next;
        while (<$in>) {
            my @f = split ' ';
            return 1 if @f > 3 && "$f[1] " =~ /\Q$hex\E$/ && $f[3] eq '0A';
        }
    }
    return 0;
}

# Runs nginx to completion (daemon or a config that fails): returns
# ($status, $stderr_text).
sub run_nginx_sync {
    unlink $StderrFile;
    my $pid = _spawn(_nginx_cmd());
    waitpid($pid, 0);
    return ($?, _slurp($StderrFile));
}

# Starts nginx for a block; bails out if it cannot be started.
sub start_nginx {
    my ($block, $config) = @_;
    my $name = $block->name;
    $ErrLogFilePos = 0;

    if ($UseValgrind) {
        write_config_file($block, $config, 'off');
        unlink $StderrFile;
        warn "$name\n";
        undef $ChildStatus;
        $ChildPid = _spawn(_valgrind_cmd(), _nginx_cmd());
        my $deadline = time + 60;
        while (time < $deadline) {
            last if -s $PidFile && _port_listening();
            if (!is_running($ChildPid)) {
                my $status = $ChildStatus;
                undef $ChildPid;
                Test::More::diag(_slurp($StderrFile));
                bail_out("$name - nginx under valgrind exited early (status $status)");
            }
            sleep 0.02;
        }
        return;
    }

    write_config_file($block, $config, 'on');
    my $waited = 0;
    while (1) {
        my ($status, $stderr) = run_nginx_sync();
        if ($status == 0) {
            print STDERR $stderr if length $stderr && !defined $block->suppress_stderr;
            last;
        }
        if ($stderr =~ /Address already in use/ && $waited < 5) {
            sleep 0.1;
            $waited += 0.1;
            next;
        }
        Test::More::diag($stderr) if length $stderr;
        bail_out("$name - Cannot start nginx using command \"",
                 join(' ', _nginx_cmd()), "\" (status code $status).");
    }

    wait_for_pid_file()
        or warn "WARNING: $name - nginx pid file $PidFile did not appear\n";
}

# The daemon writes its pid file right after forking, i.e. possibly a bit
# after the command we ran has returned.
sub wait_for_pid_file {
    my $deadline = time + $Timeout;
    sleep 0.002 while !_pid_from_file() && time < $deadline;
    return _pid_from_file();
}

# Stops the foreground (valgrind) nginx after a block and reports whatever
# valgrind found as failing tests.
sub finish_valgrind_block {
    my ($block) = @_;
    return unless $UseValgrind && defined $ChildPid;
    my $name = $block->name;
    kill_process($ChildPid);
    my $status = $ChildStatus // 0;
    undef $ChildPid;
    unlink $PidFile;

    my $stderr = _slurp($StderrFile);
    print STDERR $stderr if length $stderr;
    my $found;
    my @logs = glob "$LogDir/valgrind.*.log";
    for my $log (sort @logs) {
        my $text = _slurp($log);
        next unless $text =~ /\S/;
        $found = 1;
        my @lines = split /^/m, $text;
        splice @lines, 300, @lines - 300, "... (truncated, see $log)\n" if @lines > 300;
        Test::More::fail("$name - valgrind reported errors ($log)");
        Test::More::diag(join '', @lines);
    }
    if (!$found && ($status >> 8) == $ValgrindErrorExit) {
        Test::More::fail("$name - valgrind exited with its error exit code");
    }
}

# Error log lines written since the last call (or all, with
# check_accum_error_log).
sub error_log_data () {
    # give the log phase (which runs after the response is sent) a chance
    sleep $Sleep * 3;
    open my $in, '<', $ErrLogFile or return undef;
    seek $in, $ErrLogFilePos, 0 if !$CheckAccumErrLog && $ErrLogFilePos > 0;
    my @lines = <$in>;
    $ErrLogFilePos = tell $in unless $CheckAccumErrLog;
    close $in;
    return \@lines;
}

sub access_log_data () {
    sleep $Sleep * 3;
    open my $in, '<', $AccLogFile or return undef;
    my @lines = <$in>;
    close $in;
    return \@lines;
}

sub cleanup () {
    $_->() for @CleanupHandlers;
    if (defined $ChildPid) {
        kill_process($ChildPid);
        undef $ChildPid;
    }
}

#---------------------------------------------------------------------------
# Block objects (Test::Base::Block-compatible accessors)
#---------------------------------------------------------------------------

package Test::Nginx::Util::Block;

use Carp ();

sub new { bless {}, shift }

sub set_value {
    my ($self, $key, @values) = @_;
    $self->{$key} = [@values];
}

sub seq_num     { $_[0]{_seq_num} }
sub is_filtered { $_[0]{_filtered} }

our $AUTOLOAD;

# Any section name works as an accessor: the first value in scalar context,
# all values in list context, nothing if the section is absent.
sub AUTOLOAD {
    my $self = shift;
    (my $key = $AUTOLOAD) =~ s/.*:://;
    return if $key eq 'DESTROY';
    Carp::croak("Not allowed to set values for '$key'") if @_;
    my @list = @{ $self->{$key} || [] };
    return wantarray ? @list : $list[0];
}

1;
