# Shows what a request looks like from inside an isolate.
#   curl -d 'some body' 'http://127.0.0.1:8080/echo/a%20path?x=1&y=two+words'

def call(req)
  lines = []
  lines << "#{req.method} #{req.path} #{req.http_version}"
  lines << "uri:         #{req.uri}"
  lines << "query:       #{req.query.inspect}"
  lines << "params:      #{req.params.inspect}"
  lines << "remote_addr: #{req.remote_addr}"
  lines << "host:        #{req.host} (#{req.scheme})"
  lines << "request_id:  #{req.var["request_id"]}"
  lines << "headers:"
  req.headers.each { |name, value| lines << "  #{name}: #{value}" }
  lines << "body:        #{req.body.bytesize} bytes"

  [200, {"content-type" => "text/plain"}, [lines.join("\n"), "\n"]]
end
