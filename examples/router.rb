# A tiny Rack-style router: different paths, methods, statuses and headers.

ROUTES = {
  ["GET", "/router"]        => ->(req) { [200, {}, ["try /router/hello?name=you\n"]] },
  ["GET", "/router/hello"]  => lambda do |req|
    name = req.params.fetch("name", "stranger")
    [200, {"content-type" => "text/plain"}, ["Hello, #{name}!\n"]]
  end,
  ["POST", "/router/upper"] => ->(req) { [200, {}, [req.body.upcase]] },
  ["GET", "/router/old"]    => ->(req) { [301, {"location" => "/router/hello"}, []] },
}

def call(req)
  route = ROUTES[[req.method, req.path]]
  return route.call(req) if route

  if ROUTES.keys.any? { |_, path| path == req.path }
    return [405, {"allow" => ROUTES.keys.select { |_, p| p == req.path }.map(&:first).join(", ")}, []]
  end

  [404, {"content-type" => "text/plain"}, ["no route for #{req.method} #{req.path}\n"]]
end
