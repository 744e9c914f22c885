# mruby build configuration for the sanitizer builds (./build.sh test-asan
# and fuzz): ngx_isolate_module/mruby_config.rb as it is -- the same gems,
# defines and flags, so the same mruby -- with the flags in the
# environment variable ISOLATE_MRUBY_CFLAGS appended to every compile and
# link.  Appended, so they come after mruby_config.rb's own (-O1 after
# -O2 wins).  build.sh sets ISOLATE_MRUBY_CFLAGS, and CC, which the gcc
# toolchain takes the compiler from.

load File.expand_path('../ngx_isolate_module/mruby_config.rb', __dir__)

extra = ENV.fetch('ISOLATE_MRUBY_CFLAGS').split

MRuby.each_target do
  cc.flags << extra
  linker.flags << extra
end

# No mruby_sanitize.rb.lock beside this file: a lock file pins git gems,
# and there are none.
MRuby::Lockfile.disable
