# Scenario 2, string work: a response built from the query arguments and a
# few request headers.  lua.conf, bench.js and server.js do the same and
# must answer byte for byte alike (run.sh checks).
def call(req)
  params = req.params
  name = params["name"] || "anonymous"
  greeting = params["greeting"] || "Hello"
  count = (params["count"] || "1").to_i

  args = params.keys.sort.map { |k| "#{k}=#{params[k]}" }.join(", ")
  shout = ([name.upcase] * count).join("-")

  h = req.headers
  lang = (h["accept-language"] || "").split(",").first

  body = "#{greeting}, #{name}!\n" \
         "args: #{args}\n" \
         "shout: #{shout}\n" \
         "agent: #{h["user-agent"]} via #{h["x-client"]} (#{lang})\n" \
         "reversed: #{name.reverse}\n"
  [200, {"content-type" => "text/plain"}, [body]]
end
