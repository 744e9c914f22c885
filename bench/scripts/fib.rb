# Scenario 3, compute: recursive fib(20) on every request.
def fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2)

def call(req) = [200, {"content-type" => "text/plain"}, ["fib(20) = #{fib(20)}\n"]]
