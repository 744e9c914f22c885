# Scenario 1, hello world.
def call(req) = [200, {"content-type" => "text/plain"}, ["Hello, World!"]]
