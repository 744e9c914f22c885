# mruby build configuration for ngx_isolate_module (mruby 3.3.0).
#
# The gem set is a security decision: a script must not reach the OS,
# block the event loop, or see anything outside its own mrb_state.
# Every gem that touches files, sockets, processes, the clock-based
# sleep, stdout or the process exit status is left out on purpose:
# mruby-io, mruby-socket, mruby-dir, mruby-errno, mruby-process,
# mruby-sleep, mruby-exit, mruby-print, mruby-eval, mruby-binding and
# the mruby-bin-* tools (except mrbc, see below).

MRuby::Build.new('isolate') do |conf|
  conf.toolchain :gcc

  # Position-independent, optimised: the library is linked into a .so.
  # MRB_USE_DEBUG_HOOK gives the code fetch hook the CPU limit needs.
  # MRB_UTF8_STRING: String#size and friends count characters.
  # MRB_HEAP_PAGE_SIZE: a blank isolate holds ~650 objects; pages of
  # 256 instead of 1024 slots keep an idle isolate small.
  conf.cc.flags << '-O2' << '-fPIC' << '-g'
  conf.cc.defines += %w(MRB_USE_DEBUG_HOOK MRB_UTF8_STRING
                        MRB_HEAP_PAGE_SIZE=256)

  # Builds only: the build compiles the gems' own Ruby sources with
  # mrbc; the binary is never linked into the module.
  conf.gem core: 'mruby-bin-mrbc'

  # Parser and code generator: the master compiles scripts at
  # configuration time (workers only load bytecode).
  conf.gem core: 'mruby-compiler'

  # Core class extensions: pure language, no OS access.
  %w(mruby-array-ext mruby-class-ext mruby-compar-ext mruby-enum-ext
     mruby-hash-ext mruby-kernel-ext mruby-numeric-ext mruby-object-ext
     mruby-proc-ext mruby-range-ext mruby-string-ext mruby-symbol-ext
     mruby-toplevel-ext).each { |g| conf.gem core: g }

  # Iteration and control flow: pure language. Fibers are also what
  # suspends a request while nginx waits (fetch, sleep).
  %w(mruby-enumerator mruby-enum-lazy mruby-enum-chain mruby-fiber
     mruby-catch mruby-error).each { |g| conf.gem core: g }

  # Data formatting and value types: pure computation.
  %w(mruby-pack mruby-sprintf mruby-struct mruby-data mruby-set
     mruby-math mruby-rational mruby-complex mruby-random
     mruby-time).each { |g| conf.gem core: g }

  # Reflection: sees only the script's own isolate.
  %w(mruby-metaprog mruby-method mruby-objectspace).each do |g|
    conf.gem core: g
  end
end
