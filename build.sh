#!/usr/bin/env bash
# One entry point: build the module, run the examples, run the tests.
#
#   ./build.sh            build build/ngx_http_isolate_module.so
#   ./build.sh run        build, then serve examples/ on 127.0.0.1:8080
#   ./build.sh test [t/x.t ...]
#                         build, then run the Test::Nginx suite against
#                         the distro nginx loading the module
#   ./build.sh test-valgrind [t/x.t ...]
#                         the same, with nginx under valgrind memcheck
#   ./build.sh test-asan [t/x.t ...]
#                         the same against nginx, mruby and the module
#                         built with AddressSanitizer and UBSan (build/asan/);
#                         any sanitizer report fails the run
#   ./build.sh fuzz [seconds]
#                         build the libFuzzer targets in fuzz/ and run each
#                         for that long (default 60); a crash fails the run
#   ./build.sh bench [--quick]
#                         the benchmark suite (bench/run.sh)
#   ./build.sh soak       10 minutes of mixed load, then reloads under load
#
# Environment: BUILD_DIR (default ./build), NGINX_SRC (an nginx source
# tree to build against instead of the distro's nginx-dev tree),
# MRUBY_SRC (an mruby 3.3.0 source tree instead of Debian's source
# package), NGINX_BINARY (the nginx that runs tests, default the distro's).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
MRUBY_VERSION=3.3.0
MRUBY_DEB_VERSION=3.3.0-1
MRUBY_SUITE=trixie
MODULE_SO=$BUILD/ngx_http_isolate_module.so
NGINX_BINARY=${NGINX_BINARY:-/usr/sbin/nginx}
PACKAGES=(nginx nginx-dev libpcre2-dev ruby rake bison perl gcc make patch)

# test-asan and fuzz only: clang with its sanitizer and libFuzzer runtimes,
# llvm-symbolizer for readable reports, dpkg-source to unpack Debian's nginx
# source package.  The sanitizer builds live in build/asan/, apart from the
# normal build, so both coexist.
SANITIZER_PACKAGES=(clang-14 libclang-rt-14-dev llvm-14 dpkg-dev)
SANITIZER_CC=clang-14
SANITIZER_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -g -O1"
SYMBOLIZER=/usr/lib/llvm-14/bin/llvm-symbolizer
ASAN=$BUILD/asan
FUZZ=$BUILD/fuzz

log() { printf '%s\n' "build.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# up_to_date TARGET DEPENDENCY...: TARGET exists and is newer than each
up_to_date() {
    local target=$1 dep
    shift
    [ -e "$target" ] || return 1
    for dep in "$@"; do
        [ "$target" -nt "$dep" ] || return 1
    done
}

# --- dependencies ----------------------------------------------------------

# ensure_packages PACKAGE...
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
            | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        die "missing packages; run: sudo apt-get install -y ${missing[*]}"
    fi
    log "installing ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

# --- Debian source packages --------------------------------------------------

# The machine's own Debian mirror for an archive ("debian",
# "debian-security"), from its apt sources; deb.debian.org if it has none.
debian_mirror() {
    local archive=$1 uri
    uri=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
            2>/dev/null | grep -E '^(URIs:|deb )' \
            | grep -o -E "https?://[^ ]+/$archive/?( |\$)" \
            | head -n1 | tr -d ' ') || true
    printf '%s\n' "${uri:-http://deb.debian.org/$archive}"
}

# fetch_deb_source NAME VERSION SUITE...
#
# Downloads Debian's source package NAME=VERSION (.dsc and tarballs) into
# build/src/ through a private apt configuration under build/apt/NAME/:
# deb-src entries for the given suites only, on the machine's own Debian
# mirror (*-security suites on its security mirror).  The system's apt
# configuration is never touched.
fetch_deb_source() {
    local name=$1 version=$2 apt=$BUILD/apt/$1 suite
    local main=() security=()
    shift 2
    for suite in "$@"; do
        case $suite in
            *-security) security+=("$suite") ;;
            *)          main+=("$suite") ;;
        esac
    done

    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" \
             "$apt/sources.list.d" "$BUILD/src"
    : > "$apt/sources.list"
    : > "$apt/sources.list.d/$name.sources"
    if [ ${#main[@]} -gt 0 ]; then
        deb_src_entry "$(debian_mirror debian)" "${main[@]}" \
            >> "$apt/sources.list.d/$name.sources"
    fi
    if [ ${#security[@]} -gt 0 ]; then
        deb_src_entry "$(debian_mirror debian-security)" "${security[@]}" \
            >> "$apt/sources.list.d/$name.sources"
    fi

    local opts=(-o "Dir::Etc::SourceList=$apt/sources.list"
                -o "Dir::Etc::SourceParts=$apt/sources.list.d"
                -o "Dir::State::Lists=$apt/lists"
                -o "Dir::Cache=$apt/cache"
                -o "APT::Sandbox::User=root")
    log "fetching $name $version source from Debian $*"
    apt-get "${opts[@]}" -q update >&2
    (cd "$BUILD/src" && apt-get "${opts[@]}" -q source --download-only \
        "$name=$version" >&2)
}

# deb_src_entry URI SUITE...: one deb822 stanza
deb_src_entry() {
    local uri=$1
    shift
    cat <<EOF
Types: deb-src
URIs: $uri
Suites: $*
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

EOF
}

# --- mruby -----------------------------------------------------------------

fetch_mruby_source() {
    fetch_deb_source mruby "$MRUBY_DEB_VERSION" "$MRUBY_SUITE"
    tar -C "$BUILD/src" -xzf "$BUILD/src/mruby_$MRUBY_VERSION.orig.tar.gz"
}

# The working copy, build/mruby-src: the pristine source plus our few
# patches.  Every mruby build (normal, sanitizer) is made from it.
MRUBY_WORK=$BUILD/mruby-src

prepare_mruby_source() {
    local pristine=${MRUBY_SRC:-$BUILD/src/mruby-$MRUBY_VERSION}
    local src=$MRUBY_WORK
    local patches=("$ROOT"/ngx_isolate_module/mruby-patches/*.patch)
    local stamp=$src/.isolate-patched p

    if [ -z "${MRUBY_SRC:-}" ] && [ ! -f "$pristine/Rakefile" ]; then
        fetch_mruby_source
    fi
    [ -f "$pristine/Rakefile" ] || die "no mruby source at $pristine"
    grep -q "MRUBY_RELEASE_MINOR 3" "$pristine/include/mruby/version.h" \
        || die "mruby at $pristine is not $MRUBY_VERSION"

    for p in "${patches[@]}"; do
        [ -f "$stamp" ] && [ "$stamp" -nt "$p" ] && continue
        log "patching mruby"
        rm -rf "$src"
        cp -a "$pristine" "$src"
        for p in "${patches[@]}"; do
            patch -d "$src" -p1 -s < "$p" || die "cannot apply $p"
        done
        touch "$stamp"
        break
    done
}

# build_mruby OUT CONFIG [DEPENDENCY...]
#
# Builds OUT/isolate/lib/libmruby.a from the working copy with the mruby
# build configuration CONFIG, unless it is newer than CONFIG, the patches
# and the other files named.  The environment (CC, and what CONFIG reads)
# passes through to rake.
build_mruby() {
    local out=$1 conf=$2
    local lib=$out/isolate/lib/libmruby.a
    local stamp=$MRUBY_WORK/.isolate-patched
    shift 2

    prepare_mruby_source

    if up_to_date "$lib" "$stamp" "$conf" "$@"; then
        return 0
    fi
    log "building mruby $MRUBY_VERSION in $out"
    (cd "$MRUBY_WORK" && MRUBY_CONFIG=$conf MRUBY_BUILD_DIR=$out \
        rake -j"$(nproc)" all "$out/isolate/lib/libmruby.flags.mak" \
        > "$out-build.log" 2>&1) \
        || { tail -n 30 "$out-build.log"; die "mruby build failed"; }
    touch "$lib"
}

# --- the module --------------------------------------------------------------

# run_configure TREE MRUBY LOG FLAG...: nginx's configure, in TREE, with
# ISOLATE_MRUBY (read by our addon config) naming the mruby build
run_configure() {
    local tree=$1 mruby=$2 logfile=$3
    shift 3
    log "configuring nginx in $tree"
    (cd "$tree" && ISOLATE_MRUBY=$mruby ./configure "$@" > "$logfile" 2>&1) \
        || { tail -n 30 "$logfile"; die "configure failed"; }
}

configure_nginx() {
    local tree=$BUILD/nginx
    local stamp=$tree/objs/Makefile
    local flags=()

    if [ -n "${NGINX_SRC:-}" ]; then
        tree=$NGINX_SRC
        stamp=$tree/objs/Makefile
    elif [ ! -f "$tree/configure" ]; then
        # nginx-dev's tree is read-only and has no Makefile: work on a copy.
        rm -rf "$tree"
        cp -r /usr/share/nginx/src "$tree"
        chmod -R u+w "$tree"
    fi
    NGINX_TREE=$tree

    if [ -f "$stamp" ] && [ "$stamp" -nt "$ROOT/config" ] \
       && grep -q "$ROOT" "$stamp"; then
        return 0
    fi
    if [ -z "${NGINX_SRC:-}" ]; then
        # conf_flags defines the bash array NGX_CONF_FLAGS.
        # shellcheck disable=SC1091
        . "$tree/conf_flags"
        flags=("${NGX_CONF_FLAGS[@]}")
    else
        flags=(--with-compat)
    fi
    run_configure "$tree" "$BUILD/mruby/isolate" "$BUILD/configure.log" \
        "${flags[@]}" --add-dynamic-module="$ROOT"
}

build_module() {
    mkdir -p "$BUILD"
    ensure_packages "${PACKAGES[@]}"
    build_mruby "$BUILD/mruby" "$ROOT/ngx_isolate_module/mruby_config.rb"
    configure_nginx
    # nginx's Makefile knows nothing of libmruby.a: a new mruby (its
    # headers and structures included) means our objects are made again
    if ! up_to_date "$NGINX_TREE/objs/ngx_http_isolate_module.so" \
                    "$BUILD/mruby/isolate/lib/libmruby.a"; then
        mkdir -p "$NGINX_TREE/objs/addon/ngx_isolate_module"
        rm -f "$NGINX_TREE"/objs/addon/ngx_isolate_module/*.o \
              "$NGINX_TREE/objs/ngx_http_isolate_module.so"
    fi
    (cd "$NGINX_TREE" && make -s -f objs/Makefile modules >&2) \
        || die "module build failed"
    cp -p "$NGINX_TREE/objs/ngx_http_isolate_module.so" "$MODULE_SO"
    log "built $MODULE_SO"
}

# --- the sanitizer build -----------------------------------------------------

# build/asan/ holds a whole nginx (binary and our module) and mruby, all
# compiled by clang with AddressSanitizer and UBSan:
#
#   nginx/           Debian's nginx source package of the installed
#                    version (or, if the archive lacks it, the nearest
#                    of the same upstream version: see below), unpacked
#                    by dpkg-source (Debian's patches applied),
#                    configured with the distro binary's own configure
#                    arguments, paths moved under build/asan/run/
#   mruby/           mruby, our mruby_config.rb through
#                    fuzz/mruby_sanitize.rb, which appends the flags
#   run/             the compiled-in prefix: logs, temp files
#   reports/         the sanitizers' reports of the last test-asan run,
#                    report.PID for each process that had any

ASAN_TREE=$ASAN/nginx
ASAN_NGINX=$ASAN_TREE/objs/nginx
ASAN_MODULE=$ASAN_TREE/objs/ngx_http_isolate_module.so

# Unpacks Debian's nginx source package of the installed nginx's version
# into build/asan/nginx, downloading it into build/src/ first if needed.
# The archive may no longer (or not yet) offer that exact version's
# source: a security upload's sources can be missing from a mirror.  Then
# the newest source of the same upstream version it does offer is used,
# said loudly: the sanitizer nginx then lacks (or has more of) Debian's
# patches in between, usually security fixes that keep the module ABI.
prepare_asan_nginx_source() {
    local version upstream src dsc codename v
    local suites=()
    version=$(dpkg-query -W -f='${Version}' nginx)
    upstream=${version#*:}
    upstream=${upstream%-*}

    if [ -f "$ASAN_TREE/configure" ] \
       && [ "$(cat "$ASAN_TREE/.debian-version" 2>/dev/null)" = "$version" ]
    then
        return 0
    fi

    # the distro nginx comes from the release, its updates or its
    # security archive: look in all three
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    suites=("$codename" "$codename-updates" "$codename-security")

    src=$version
    dsc=$BUILD/src/nginx_${src#*:}.dsc
    if [ ! -f "$dsc" ] && ! fetch_deb_source nginx "$src" "${suites[@]}"
    then
        src=
        for v in $(asan_nginx_source_versions "$upstream"); do
            [ "$v" = "$version" ] && continue
            dsc=$BUILD/src/nginx_${v#*:}.dsc
            if [ -f "$dsc" ] || fetch_deb_source nginx "$v" "${suites[@]}"
            then
                src=$v
                break
            fi
        done
        [ -n "$src" ] || die "no nginx $upstream source package in the archive"
        log "WARNING: the archive has no source of the installed nginx" \
            "$version; using Debian's nginx $src instead"
    fi
    dsc=$BUILD/src/nginx_${src#*:}.dsc

    log "unpacking nginx $src"
    rm -rf "$ASAN_TREE"
    mkdir -p "$ASAN"
    dpkg-source -x "$dsc" "$ASAN_TREE" > "$ASAN/dpkg-source.log" 2>&1 \
        || { tail -n 20 "$ASAN/dpkg-source.log"; die "dpkg-source failed"; }
    [ -f "$ASAN_TREE/src/core/nginx.h" ] \
        && grep -q "\"$upstream\"" "$ASAN_TREE/src/core/nginx.h" \
        || die "the nginx source in $ASAN_TREE is not $upstream"
    echo "$src" > "$ASAN_TREE/.debian-source-version"
    echo "$version" > "$ASAN_TREE/.debian-version"
}

# asan_nginx_source_versions UPSTREAM: the nginx source versions of that
# upstream version in the private apt index fetch_deb_source made,
# newest first
asan_nginx_source_versions() {
    local apt=$BUILD/apt/nginx v
    apt-cache -o "Dir::Etc::SourceList=$apt/sources.list" \
              -o "Dir::Etc::SourceParts=$apt/sources.list.d" \
              -o "Dir::State::Lists=$apt/lists" \
              -o "Dir::Cache=$apt/cache" \
              showsrc nginx 2>/dev/null \
        | sed -n 's/^Version: //p' | sort -u \
        | while read -r v; do
              case ${v#*:} in "$1"-*) echo "$v" ;; esac
          done \
        | sort -r -V
}

# The distro nginx's own configure arguments, from its nginx -V, one a
# line: all of what it has built in (nginx-dev's conf_flags names only
# the part that decides the module ABI, so it lacks sub_filter and
# others the suite uses), without its paths, which are the system's, its
# compiler flags, which are gcc's, and its dynamic modules, which the
# suite does not load.
asan_distro_flags() {
    /usr/sbin/nginx -V 2>&1 | sed -n 's/^configure arguments: //p' \
        | xargs printf '%s\n' \
        | grep -v -E '^--(prefix=|[a-z-]*-path=|with-cc-opt=|with-ld-opt=)' \
        | grep -v -E '=dynamic$' || true
}

configure_asan_nginx() {
    local run=$ASAN/run stamp=$ASAN_TREE/.isolate-configure f
    local flags=()

    while read -r f; do
        flags+=("$f")
    done < <(asan_distro_flags)
    printf '%s\n' "${flags[@]}" | grep -q -x -- --with-compat \
        || die "cannot read the distro nginx's configure arguments"

    flags+=(--prefix="$run"
            --conf-path="$run/conf/nginx.conf"
            --error-log-path="$run/logs/error.log"
            --http-log-path="$run/logs/access.log"
            --pid-path="$run/logs/nginx.pid"
            --lock-path="$run/logs/nginx.lock"
            --modules-path="$run/modules"
            --http-client-body-temp-path="$run/client_body_temp"
            --http-proxy-temp-path="$run/proxy_temp"
            --http-fastcgi-temp-path="$run/fastcgi_temp"
            --http-uwsgi-temp-path="$run/uwsgi_temp"
            --http-scgi-temp-path="$run/scgi_temp"
            --with-cc="$SANITIZER_CC"
            --with-cc-opt="$SANITIZER_FLAGS"
            --with-ld-opt="-fsanitize=address,undefined"
            --add-dynamic-module="$ROOT")

    # configured already, with these very arguments?
    if [ -f "$ASAN_TREE/objs/Makefile" ] \
       && [ "$ASAN_TREE/objs/Makefile" -nt "$ROOT/config" ] \
       && [ "$ASAN_TREE/objs/Makefile" -nt "$ASAN_TREE/.debian-version" ] \
       && [ "$(cat "$stamp" 2>/dev/null)" = "$(printf '%s\n' "${flags[@]}")" ]
    then
        return 0
    fi

    mkdir -p "$run/conf" "$run/logs" "$run/modules"
    rm -f "$stamp"
    run_configure "$ASAN_TREE" "$ASAN/mruby/isolate" \
        "$ASAN/configure.log" "${flags[@]}"
    printf '%s\n' "${flags[@]}" > "$stamp"
}

build_asan() {
    local t0=$SECONDS

    mkdir -p "$ASAN"
    ensure_packages "${PACKAGES[@]}" "${SANITIZER_PACKAGES[@]}"

    # rake runs the sanitized mrbc while building: its exit-time leaks
    # are not ours to report
    CC=$SANITIZER_CC ISOLATE_MRUBY_CFLAGS=$SANITIZER_FLAGS \
    ASAN_OPTIONS=detect_leaks=0 \
        build_mruby "$ASAN/mruby" "$ROOT/fuzz/mruby_sanitize.rb" \
                    "$ROOT/ngx_isolate_module/mruby_config.rb"

    prepare_asan_nginx_source
    configure_asan_nginx

    # as in build_module: nginx's Makefile does not know libmruby.a, and
    # a rebuilt mruby (its headers too) needs our objects made again
    if ! up_to_date "$ASAN_MODULE" "$ASAN/mruby/isolate/lib/libmruby.a"; then
        rm -f "$ASAN_TREE"/objs/addon/ngx_isolate_module/*.o "$ASAN_MODULE"
    fi

    (cd "$ASAN_TREE" && make -j"$(nproc)" -f objs/Makefile \
        > "$ASAN/make.log" 2>&1) \
        || { grep -E -B2 -A10 'error|Error' "$ASAN/make.log" | head -n 60;
             die "nginx (asan) build failed, see $ASAN/make.log"; }

    log "built $ASAN_NGINX and $ASAN_MODULE ($((SECONDS - t0))s)"
}

# The sanitizers' options for nginx under test and for the fuzz targets.
# Reports go to files in REPORTS, never to stderr: nginx sends its stderr
# to its error log.  ASan, UBSan and LSan share one runtime and one
# log_path, so each process's reports, of all three, are in one file,
# REPORTS/report.PID.  The symbolizer is named, not looked up: nginx
# empties its environment (PATH included) before a report can happen.
#
# sanitizer_env REPORTS UBSAN_HALT
sanitizer_env() {
    local reports=$1 halt=$2
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:log_path=$reports/report:external_symbolizer_path=$SYMBOLIZER"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=$halt:log_path=$reports/report:suppressions=$ROOT/t/ubsan.suppress:external_symbolizer_path=$SYMBOLIZER"
    export LSAN_OPTIONS="suppressions=$ROOT/t/lsan.suppress:print_suppressions=0"
}

# --- commands ---------------------------------------------------------------

cmd_run() {
    local prefix=$BUILD/run
    mkdir -p "$prefix/logs"
    log "serving examples on http://127.0.0.1:8080/ (Ctrl-C stops)"
    exec "$NGINX_BINARY" -p "$prefix/" -c "$ROOT/examples/nginx.conf" \
        -g "daemon off; master_process off; load_module $MODULE_SO;"
}

# cmd_test NGINX MODULE [t/x.t ...]
cmd_test() {
    local binary=$1 module=$2
    shift 2
    local tests=("$@")
    [ ${#tests[@]} -gt 0 ] || tests=("$ROOT/t")
    export TEST_NGINX_BINARY=$binary
    export TEST_NGINX_LOAD_MODULES=$module
    export TEST_NGINX_SERVROOT=${TEST_NGINX_SERVROOT:-$BUILD/servroot}
    cd "$ROOT"
    prove -I "$ROOT/t/lib" -r "${tests[@]}"
}

# asan_drop_init_cycle_leaks REPORTS: removes from the report files the
# one leak of nginx's no suppression can name (see t/lsan.suppress): the
# init_cycle pool, a pool main() itself made, that a failed
# configuration leaves at exit.  Matched by its whole stack -- allocated
# by ngx_create_pool() called from main(), nothing between -- so a pool
# leaked anywhere else is still reported.  A file left with no report
# is removed.
asan_drop_init_cycle_leaks() {
    local f
    for f in "$1"/*; do
        [ -f "$f" ] || continue
        perl -0777 -i -pe '
            s/^Direct[ ]leak[ ]of[ ]\d+[ ]byte\(s\)[ ]in[ ]1[ ]object\(s\)
               [ ]allocated[ ]from:\n
               [ ]+\#0[ ]\S+[ ]in[ ]\S*posix_memalign[ ].*\n
               [ ]+\#1[ ]\S+[ ]in[ ]ngx_memalign[ ].*\n
               [ ]+\#2[ ]\S+[ ]in[ ]ngx_create_pool[ ].*\n
               [ ]+\#3[ ]\S+[ ]in[ ]main[ ]\S*\/src\/core\/nginx\.c:.*\n
               (?:[ ]+\#\d+[ ]\S+[ ]in[ ](?:__libc_start|_start)\S*[ ].*\n)*
               \n?//mgx;
            if (!/leak of/) {
                s/^=+\n(?===\d+==ERROR: LeakSanitizer)//mg;
                s/^==\d+==ERROR: LeakSanitizer: detected memory leaks\n\n?//mg;
                s/^SUMMARY: AddressSanitizer: \d+ byte\(s\) leaked .*\n//mg;
            }' "$f"
        grep -q '[^[:space:]]' "$f" || rm -f "$f"
    done
}

# The suite against the sanitizer build.  prove's verdict is not enough:
# a UBSan report does not stop nginx, and an ASan report in a must_die
# block may look like the expected failure.  So any report file fails
# the run, and is printed.
cmd_test_asan() {
    local reports=$ASAN/reports rc=0 t0=$SECONDS f

    rm -rf "$reports"
    mkdir -p "$reports"
    sanitizer_env "$reports" 0

    # a server root and ports of its own (000-harness.t also uses the
    # next port), so the plain suite can run at the same time
    export TEST_NGINX_SERVROOT=${TEST_NGINX_SERVROOT:-$ASAN/servroot}
    export TEST_NGINX_PORT=${TEST_NGINX_PORT:-1994}

    cmd_test "$ASAN_NGINX" "$ASAN_MODULE" "$@" || rc=$?

    log "suite under the sanitizers: $((SECONDS - t0))s"

    asan_drop_init_cycle_leaks "$reports"

    for f in "$reports"/*; do
        [ -e "$f" ] || continue
        log "sanitizer report $f:"
        cat "$f" >&2
        rc=1
    done

    [ $rc -eq 0 ] && log "no sanitizer reports"
    return $rc
}

# --- fuzzing -----------------------------------------------------------------

# The fuzz targets link what they test from source, compiled with
# -fsanitize=fuzzer (coverage for libFuzzer) and the sanitizers, against
# the sanitizer build's nginx objects (all of objs/src but nginx.o's
# main(): libFuzzer has its own) and its libmruby.a.
#
#   build/fuzz/<target>          the fuzzer
#   build/fuzz/corpus/<target>/  what it found interesting, kept between
#                                runs; fuzz/corpus/<target>/ seeds it
#   build/fuzz/crashes/<target>/ crash-*, leak-*, timeout-* inputs

FUZZ_TARGETS=(response params)

build_fuzz() {
    local objs=$FUZZ/nginx-objs mak=$ASAN/mruby/isolate/lib/libmruby.flags.mak
    local cflags incs=() libs=() mruby_defs=() t f

    build_asan
    mkdir -p "$objs"

    # nginx's objects, nginx.o with its main() renamed
    objcopy --redefine-sym main=ngx_nginx_main \
        "$ASAN_TREE/objs/src/core/nginx.o" "$objs/nginx.o"

    # the nginx build's include paths (relative to its tree, or absolute)
    # and libraries, from its Makefile, continuation lines joined
    for f in $(fuzz_makefile | sed -n 's/^ALL_INCS = //p' \
               | sed 's/-I / /g'); do
        case $f in
            /*) incs+=(-I "$f") ;;
            *)  incs+=(-I "$ASAN_TREE/$f") ;;
        esac
    done
    for f in $(fuzz_makefile | sed -n 's/^\t$(LINK) -o objs\/nginx //p'); do
        case $f in -l*|-Wl,*) libs+=("$f") ;; esac
    done

    # mruby's -D options, as libmruby.a was built (as our addon config does)
    for f in $(sed -n 's/^MRUBY_CFLAGS = //p' "$mak"); do
        case $f in -D*) mruby_defs+=("$f") ;; esac
    done

    cflags=(-g -O1 -fno-omit-frame-pointer -Wall
            -fsanitize=fuzzer,address,undefined
            -I "$ROOT/ngx_isolate_module" -I "$ASAN/mruby/isolate/include"
            "${incs[@]}" "${mruby_defs[@]}")

    for t in "${FUZZ_TARGETS[@]}"; do
        if [ -x "$FUZZ/$t" ] && [ "$FUZZ/$t" -nt "$ASAN_NGINX" ] \
           && [ -z "$(find "$ROOT/fuzz/$t.c" "$ROOT/ngx_isolate_module" \
                      "$ASAN/mruby/isolate/lib/libmruby.a" \
                      -newer "$FUZZ/$t" -print -quit)" ]; then
            continue
        fi
        log "building fuzz target $t"
        "$SANITIZER_CC" "${cflags[@]}" -o "$FUZZ/$t" "$ROOT/fuzz/$t.c" \
            $(fuzz_sources "$t") \
            $(find "$ASAN_TREE/objs/src" -name '*.o' ! -path '*/core/nginx.o') \
            "$objs/nginx.o" "$ASAN_TREE/objs/ngx_modules.o" \
            "$ASAN/mruby/isolate/lib/libmruby.a" -lm "${libs[@]}" \
            || die "cannot build fuzz target $t"
    done
}

# the sanitizer nginx's objs/Makefile, each continued line joined
fuzz_makefile() {
    sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$ASAN_TREE/objs/Makefile"
}

# the module's sources a target links besides its own file (params
# includes ngx_http_isolate_request.c for its static functions)
fuzz_sources() {
    case $1 in
        response) echo "$ROOT/ngx_isolate_module/ngx_http_isolate_response.c" ;;
    esac
}

# cmd_fuzz [SECONDS]: each target in turn, for SECONDS each
cmd_fuzz() {
    local seconds=${1:-60} rc=0 t crashes corpus out f
    local reports=$FUZZ/reports

    case $seconds in
        ''|*[!0-9]*) die "fuzz: seconds must be a number, got '$seconds'" ;;
    esac

    rm -rf "$reports"
    mkdir -p "$reports"

    # UBSan stops at its first report here, so that libFuzzer keeps the
    # input; what t/ubsan.suppress names (nginx's, not ours) is let be.
    # Reports go to stderr, which libFuzzer's output includes.
    sanitizer_env "$reports" 1
    ASAN_OPTIONS=${ASAN_OPTIONS/:log_path=$reports\/report/}
    UBSAN_OPTIONS=${UBSAN_OPTIONS/:log_path=$reports\/report/}

    for t in "${FUZZ_TARGETS[@]}"; do
        crashes=$FUZZ/crashes/$t
        corpus=$FUZZ/corpus/$t
        out=$FUZZ/$t.log
        mkdir -p "$crashes" "$corpus"

        # an earlier finding that no longer fails has been fixed
        for f in "$crashes"/*; do
            [ -f "$f" ] || continue
            if "$FUZZ/$t" "$f" > "$out" 2>&1; then
                log "fixed: $f passes now; removed"
                rm -f "$f"
            fi
        done

        log "fuzzing $t for ${seconds}s (log: $out)"

        "$FUZZ/$t" -max_total_time="$seconds" -timeout=10 \
            -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
            -artifact_prefix="$crashes/" \
            "$corpus" "$ROOT/fuzz/corpus/$t" > "$out" 2>&1 || rc=1

        grep -E '^(stat::|Done|#[0-9]+ +DONE)' "$out" >&2 || true
    done

    for f in "$FUZZ"/crashes/*/*; do
        [ -e "$f" ] || continue
        log "finding: $f"
        rc=1
    done

    [ $rc -eq 0 ] && log "fuzzing found nothing"
    [ $rc -eq 0 ] || log "see $FUZZ/<target>.log; reproduce: $FUZZ/<target> <file>"
    return $rc
}

case "${1:-build}" in
    build) build_module ;;
    run)   build_module; cmd_run ;;
    test)  shift; build_module; cmd_test "$NGINX_BINARY" "$MODULE_SO" "$@" ;;
    test-valgrind)
           shift; build_module
           command -v valgrind >/dev/null \
               || die "needs valgrind: apt-get install valgrind"
           TEST_NGINX_USE_VALGRIND=1 \
               cmd_test "$NGINX_BINARY" "$MODULE_SO" "$@" ;;
    test-asan)
           shift; build_asan; cmd_test_asan "$@" ;;
    fuzz)  shift; build_fuzz; cmd_fuzz "$@" ;;
    bench) shift; build_module; exec "$ROOT/bench/run.sh" "$@" ;;
    soak)  shift; build_module; exec "$ROOT/bench/soak.sh" "$@" ;;
    *)     die "unknown command '$1'" \
               "(build, run, test, test-valgrind, test-asan, fuzz," \
               "bench, soak)" ;;
esac
