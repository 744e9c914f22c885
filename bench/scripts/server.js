// Node.js versions of the three scenarios, behind nginx's proxy_pass.
// Usage: node server.js PORT  (listens on 127.0.0.1 only)
'use strict';
const http = require('http');
const querystring = require('querystring');

function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

function strings(req) {
    const q = req.url.indexOf('?');
    const a = querystring.parse(q < 0 ? '' : req.url.slice(q + 1));
    const name = a.name || 'anonymous';
    const greeting = a.greeting || 'Hello';
    const count = parseInt(a.count || '1', 10);

    const args = Object.keys(a).sort().map((k) => `${k}=${a[k]}`).join(', ');
    const shout = new Array(count).fill(name.toUpperCase()).join('-');

    const h = req.headers;
    const lang = (h['accept-language'] || '').split(',')[0];

    return `${greeting}, ${name}!\n`
         + `args: ${args}\n`
         + `shout: ${shout}\n`
         + `agent: ${h['user-agent']} via ${h['x-client']} (${lang})\n`
         + `reversed: ${name.split('').reverse().join('')}\n`;
}

function send(res, status, body) {
    res.writeHead(status, {
        'content-type': 'text/plain',
        'content-length': Buffer.byteLength(body),
    });
    res.end(body);
}

http.createServer((req, res) => {
    const path = req.url.split('?', 1)[0];
    if (path === '/hello') send(res, 200, 'Hello, World!');
    else if (path === '/strings') send(res, 200, strings(req));
    else if (path === '/compute') send(res, 200, `fib(20) = ${fib(20)}\n`);
    else send(res, 404, 'not found\n');
}).listen(Number(process.argv[2]), '127.0.0.1');
