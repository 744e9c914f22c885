# The top level runs once per isolate: what it sets up persists across
# this worker's requests to this script, and no other script can see it.

HITS = Hash.new(0)
STARTED = Time.now

def call(req)
  HITS[req.path] += 1
  Isolate.log(:info, "#{req.path} seen #{HITS[req.path]} times")

  body = HITS.sort.map { |path, n| "#{path}: #{n}\n" }.join
  body << "isolate up since #{STARTED}\n"

  [200, {"content-type" => "text/plain", "cache-control" => "no-store"},
   [body]]
end
