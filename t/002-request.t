# Isolate::Request: what call(req) receives.

use Test::Nginx::Socket;

repeat_each(2);
plan 'no_plan';
run_tests();

__DATA__

=== TEST 1: method, path, uri and query
--- config
    location /t {
        isolate_script_code 'def call(req)
            [200, {}, [req.method, "|", req.path, "|", req.uri, "|",
                       req.query, "\n"]]
        end';
    }
--- request
GET /t/a%20b/c?x=1&y=%41
--- response_body
GET|/t/a b/c|/t/a%20b/c?x=1&y=%41|x=1&y=%41



=== TEST 2: query is "" when the URI has none
--- config
    location /t {
        isolate_script_code 'def call(req)
            [200, {}, [req.query.inspect, " ", req.params.inspect, "\n"]]
        end';
    }
--- request
GET /t
--- response_body
"" {}



=== TEST 3: params decodes the query into a Hash with String keys
--- config
    location /t {
        isolate_script_code 'def call(req)
            p = req.params
            out = p.keys.sort.map { |k| "#{k}=#{p[k].inspect}" }.join(",")
            [200, {}, [out, " ", p.keys.all? { |k| k.is_a?(String) }.to_s,
                       "\n"]]
        end';
    }
--- request
GET /t?name=J%C3%BCrgen&sp=a+b&empty=&flag&dup=1&dup=2&%26k=%3Dv
--- response_body
&k="=v",dup="2",empty="",flag="",name="Jürgen",sp="a b" true



=== TEST 4: params is the same Hash on every call within a request
--- config
    location /t {
        isolate_script_code 'def call(req)
            [200, {}, [req.params.equal?(req.params).to_s, "\n"]]
        end';
    }
--- request
GET /t?a=1
--- response_body
true



=== TEST 5: headers are read by case-insensitive name
--- config
    location /t {
        isolate_script_code 'def call(req)
            h = req.headers
            [200, {}, [h["x-foo"].inspect, h["X-FOO"].inspect,
                       h["Content-Type"].inspect, h["x-missing"].inspect,
                       h.key?("X-Foo").to_s, h.key?("nope").to_s, "\n"]]
        end';
    }
--- request
GET /t
--- more_headers
X-Foo: bar
Content-Type: text/x-test
--- response_body
"bar""bar""text/x-test"niltruefalse



=== TEST 6: headers.each yields every header line, names lowercased
--- config
    location /t {
        isolate_script_code 'def call(req)
            lines = []
            req.headers.each { |k, v| lines << "#{k}: #{v}" if k.start_with?("x-") }
            [200, {}, [lines.join("\n"), "\n"]]
        end';
    }
--- request
GET /t
--- more_headers
X-One: 1
X-Two: 2
X-One: 3
--- response_body
x-one: 1
x-two: 2
x-one: 3



=== TEST 7: headers.to_h joins repeated headers; [] does too
--- config
    location /t {
        isolate_script_code 'def call(req)
            h = req.headers.to_h
            [200, {}, [h["x-one"], "|", req.headers["x-one"], "|",
                       h["host"], "|", h.class.to_s, "\n"]]
        end';
    }
--- request
GET /t
--- more_headers
X-One: 1
X-One: 3
--- response_body
1, 3|1, 3|localhost|Hash



=== TEST 8: headers are Enumerable
--- config
    location /t {
        isolate_script_code 'def call(req)
            names = req.headers.map { |k, _| k }.select { |k| k.start_with?("x-") }
            [200, {}, [names.join(","), "\n"]]
        end';
    }
--- request
GET /t
--- more_headers
X-A: 1
X-B: 2
--- response_body
x-a,x-b



=== TEST 9: headers.each without a block is an Enumerator
--- config
    location /t {
        isolate_script_code 'def call(req)
            e = req.headers.each
            [200, {}, [e.class.to_s, " ", e.to_a.assoc("x-e").inspect, "\n"]]
        end';
    }
--- request
GET /t
--- more_headers
X-E: 1
--- response_body
Enumerator ["x-e", "1"]



=== TEST 10: remote_addr, host, scheme and http_version
--- config
    location /t {
        isolate_script_code 'def call(req)
            [200, {}, [req.remote_addr, " ", req.host, " ", req.scheme, " ",
                       req.http_version, "\n"]]
        end';
    }
--- request
GET /t
--- response_body
127.0.0.1 localhost http HTTP/1.1



=== TEST 11: http_version of an HTTP/1.0 request
--- config
    location /t {
        isolate_script_code 'def call(req) = [200, {}, [req.http_version, "\n"]]';
    }
--- request
GET /t HTTP/1.0
--- response_body
HTTP/1.0



=== TEST 12: var reads nginx variables; unknown or unset ones are nil
--- config
    location /t {
        set $greeting "hi";
        isolate_script_code 'def call(req)
            v = req.var
            [200, {}, [v["greeting"], " ", v["request_method"], " ",
                       v["arg_x"], " ", (v["request_id"].each_char.all? { |c| "0123456789abcdef".include?(c) } ? "id" : "no id"),
                       " ", v["no_such_variable"].inspect, " ",
                       v["arg_missing"].inspect, "\n"]]
        end';
    }
--- request
GET /t?x=42
--- response_body
hi GET 42 id nil nil



=== TEST 13: var assignment changes a variable made with set
--- config
    location /t {
        set $who "nobody";
        isolate_script_code 'def call(req)
            req.var["who"] = "somebody"
            [200, {"x-who" => req.var["who"]}, ["ok\n"]]
        end';
        add_header X-Who-Var $who;
    }
--- request
GET /t
--- response_headers
x-who: somebody
X-Who-Var: somebody
--- response_body
ok



=== TEST 14: var assignment to a variable that cannot change raises
--- config
    location /t {
        isolate_script_code 'def call(req)
            msg = begin
              req.var["request_method"] = "PUT"
              "changed"
            rescue ArgumentError => e
              e.message
            end
            [200, {}, [msg, "\n"]]
        end';
    }
--- request
GET /t
--- response_body
nginx variable "request_method" cannot be changed



=== TEST 15: var assignment to an unknown variable raises KeyError
--- config
    location /t {
        isolate_script_code 'def call(req)
            msg = begin
              req.var["never_defined"] = "x"
            rescue KeyError => e
              e.message
            end
            [200, {}, [msg, "\n"]]
        end';
    }
--- request
GET /t
--- response_body
unknown nginx variable "never_defined" (define it with set $never_defined)



=== TEST 16: a Request kept past its request raises instead of crashing
--- config
    location /t {
        isolate_script_code 'def call(req)
            if req.query == "keep"
              $kept = req
              return [200, {}, ["kept\n"]]
            end
            msg = begin
              $kept.path
            rescue RuntimeError => e
              e.message
            end
            [200, {}, [msg, "\n"]]
        end';
    }
--- request eval
["GET /t?keep", "GET /t?use"]
--- response_body eval
["kept\n", "Isolate::Request used after its request ended\n"]



=== TEST 17: Request objects cannot be made by scripts
--- config
    location /t {
        isolate_script_code 'def call(req)
            msg = begin
              Isolate::Request.new
              "made"
            rescue NoMethodError
              "no new"
            end
            [200, {}, [msg, " ", req.class.to_s, "\n"]]
        end';
    }
--- request
GET /t
--- response_body
no new Isolate::Request
