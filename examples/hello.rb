# The smallest script: call(req) returns [status, headers, body].
def call(req)
  [200, {"content-type" => "text/plain"}, ["Hello, World!\n"]]
end
