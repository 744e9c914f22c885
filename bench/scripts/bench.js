// njs (js_content) versions of the three scenarios; see strings.rb.

function hello(r) {
    r.headersOut['Content-Type'] = 'text/plain';
    r.return(200, 'Hello, World!');
}

function strings(r) {
    var a = r.args;
    var name = a.name || 'anonymous';
    var greeting = a.greeting || 'Hello';
    var count = parseInt(a.count || '1', 10);

    var args = Object.keys(a).sort().map(function (k) { return k + '=' + a[k]; }).join(', ');
    var shout = new Array(count).fill(name.toUpperCase()).join('-');

    var h = r.headersIn;
    var lang = (h['Accept-Language'] || '').split(',')[0];

    var body = greeting + ', ' + name + '!\n'
             + 'args: ' + args + '\n'
             + 'shout: ' + shout + '\n'
             + 'agent: ' + h['User-Agent'] + ' via ' + h['X-Client'] + ' (' + lang + ')\n'
             + 'reversed: ' + name.split('').reverse().join('') + '\n';
    r.headersOut['Content-Type'] = 'text/plain';
    r.return(200, body);
}

function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

function compute(r) {
    r.headersOut['Content-Type'] = 'text/plain';
    r.return(200, 'fib(20) = ' + fib(20) + '\n');
}

export default { hello, strings, compute };
