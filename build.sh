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

log() { printf '%s\n' "build.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# --- dependencies ----------------------------------------------------------

ensure_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
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

# --- mruby -----------------------------------------------------------------

# Fetch Debian's mruby source package through a private apt configuration
# (the system's apt configuration is never touched): one deb-src entry,
# derived from the machine's own Debian entry with the suite replaced.
fetch_mruby_source() {
    local apt=$BUILD/apt uri
    uri=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
            2>/dev/null | grep -E '^(URIs:|deb )' \
            | grep -o -E 'https?://[^ ]+/debian/?( |$)' \
            | head -n1 | tr -d ' ') || true
    [ -n "$uri" ] || uri=http://deb.debian.org/debian
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" \
             "$apt/sources.list.d" "$BUILD/src"
    : > "$apt/sources.list"
    cat > "$apt/sources.list.d/mruby.sources" <<EOF
Types: deb-src
URIs: $uri
Suites: $MRUBY_SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    local opts=(-o "Dir::Etc::SourceList=$apt/sources.list"
                -o "Dir::Etc::SourceParts=$apt/sources.list.d"
                -o "Dir::State::Lists=$apt/lists"
                -o "Dir::Cache=$apt/cache"
                -o "APT::Sandbox::User=root")
    log "fetching mruby $MRUBY_DEB_VERSION source from Debian $MRUBY_SUITE"
    apt-get "${opts[@]}" -q update >&2
    (cd "$BUILD/src" && apt-get "${opts[@]}" -q source --download-only \
        "mruby=$MRUBY_DEB_VERSION" >&2)
    tar -C "$BUILD/src" -xzf "$BUILD/src/mruby_$MRUBY_VERSION.orig.tar.gz"
}

build_mruby() {
    local pristine=${MRUBY_SRC:-$BUILD/src/mruby-$MRUBY_VERSION}
    local src=$BUILD/mruby-src
    local out=$BUILD/mruby
    local lib=$out/isolate/lib/libmruby.a
    local conf=$ROOT/ngx_isolate_module/mruby_config.rb
    local patches=("$ROOT"/ngx_isolate_module/mruby-patches/*.patch)
    local stamp=$src/.isolate-patched p

    if [ -z "${MRUBY_SRC:-}" ] && [ ! -f "$pristine/Rakefile" ]; then
        fetch_mruby_source
    fi
    [ -f "$pristine/Rakefile" ] || die "no mruby source at $pristine"
    grep -q "MRUBY_RELEASE_MINOR 3" "$pristine/include/mruby/version.h" \
        || die "mruby at $pristine is not $MRUBY_VERSION"

    # our working copy: the pristine source plus our few patches
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

    if [ -f "$lib" ] && [ "$lib" -nt "$conf" ] && [ "$lib" -nt "$stamp" ]; then
        return 0
    fi
    log "building mruby $MRUBY_VERSION"
    (cd "$src" && MRUBY_CONFIG=$conf MRUBY_BUILD_DIR=$out \
        rake -j"$(nproc)" all "$out/isolate/lib/libmruby.flags.mak" \
        > "$BUILD/mruby-build.log" 2>&1) \
        || { tail -n 30 "$BUILD/mruby-build.log"; die "mruby build failed"; }
    touch "$lib"
}

# --- the module --------------------------------------------------------------

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
    log "configuring nginx in $tree"
    (cd "$tree" && ISOLATE_MRUBY=$BUILD/mruby/isolate ./configure \
        "${flags[@]}" --add-dynamic-module="$ROOT" \
        > "$BUILD/configure.log" 2>&1) \
        || { tail -n 30 "$BUILD/configure.log"; die "configure failed"; }
}

build_module() {
    mkdir -p "$BUILD"
    ensure_packages
    build_mruby
    configure_nginx
    (cd "$NGINX_TREE" && make -s -f objs/Makefile modules >&2) \
        || die "module build failed"
    cp -p "$NGINX_TREE/objs/ngx_http_isolate_module.so" "$MODULE_SO"
    log "built $MODULE_SO"
}

# --- commands ---------------------------------------------------------------

cmd_run() {
    local prefix=$BUILD/run
    mkdir -p "$prefix/logs"
    log "serving examples on http://127.0.0.1:8080/ (Ctrl-C stops)"
    exec "$NGINX_BINARY" -p "$prefix/" -c "$ROOT/examples/nginx.conf" \
        -g "daemon off; master_process off; load_module $MODULE_SO;"
}

cmd_test() {
    local tests=("$@")
    [ ${#tests[@]} -gt 0 ] || tests=("$ROOT/t")
    export TEST_NGINX_BINARY=$NGINX_BINARY
    export TEST_NGINX_LOAD_MODULES=$MODULE_SO
    export TEST_NGINX_SERVROOT=${TEST_NGINX_SERVROOT:-$BUILD/servroot}
    cd "$ROOT"
    prove -I "$ROOT/t/lib" -r "${tests[@]}"
}

case "${1:-build}" in
    build) build_module ;;
    run)   build_module; cmd_run ;;
    test)  shift; build_module; cmd_test "$@" ;;
    test-valgrind)
           shift; build_module
           command -v valgrind >/dev/null \
               || die "needs valgrind: apt-get install valgrind"
           TEST_NGINX_USE_VALGRIND=1 cmd_test "$@" ;;
    bench) shift; build_module; exec "$ROOT/bench/run.sh" "$@" ;;
    soak)  shift; build_module; exec "$ROOT/bench/soak.sh" "$@" ;;
    *)     die "unknown command '$1'" \
               "(build, run, test, test-valgrind, bench, soak)" ;;
esac
