// Runs dynalite (the DynamoDB stand-in of the tests) so that a client that disconnects in the
// middle of a request cannot take the server down, as it cannot take down DynamoDB itself.
//
//   node scripts/lib/dynalite-server.js DYNALITE_MODULE_DIR --host H --port P [--path DIR] [--createTableMs MS] ...
//
// dynalite 4.0.0 adds `req.on('error', function (err) { throw err })` to every request, so a
// client killed before its request is complete ('aborted', ECONNRESET) ends the whole process.
// Node emits an error on a request only when the request has 'error' listeners; this wrapper
// removes the one dynalite adds and logs the error instead. A request its client did not finish
// is never executed (dynalite acts on 'end'), and the answer to a client that has gone is
// dropped. Every other error still ends the process, as before. dynalite itself is not changed.
'use strict';

const path = require('path');

const [moduleDir, ...rest] = process.argv.slice(2);
if (!moduleDir) {
  console.error(
    'usage: dynalite-server.js DYNALITE_MODULE_DIR [--host H] [--port P] [--path DIR] [--createTableMs MS] ...'
  );
  process.exit(2);
}

// The same options as dynalite's cli.js: --name value, numbers as numbers, a flag alone as true.
const options = {};
for (let i = 0; i < rest.length; i++) {
  const m = /^--([A-Za-z]+)$/.exec(rest[i]);
  if (!m) {
    console.error('dynalite-server.js: unexpected argument ' + JSON.stringify(rest[i]));
    process.exit(2);
  }
  const next = rest[i + 1];
  if (next === undefined || next.startsWith('--')) {
    options[m[1]] = true;
  } else {
    options[m[1]] = /^\d+$/.test(next) ? Number(next) : next;
    i++;
  }
}

const dynalite = require(path.resolve(moduleDir));
const server = dynalite(options);

const handlers = server.listeners('request');
server.removeAllListeners('request');
server.on('request', function (req, res) {
  const before = new Set(req.listeners('error'));
  for (const h of handlers) {
    h.call(server, req, res);
  }
  for (const l of req.listeners('error')) {
    if (!before.has(l)) {
      req.removeListener('error', l);
    }
  }
  req.on('error', function (err) {
    console.error(
      'dynalite-server: %s %s: the client went away before its request was complete (%s); not executed',
      req.method,
      req.headers['x-amz-target'] || req.url,
      err.code || err.message
    );
  });
});

// A malformed request or a socket reset before a request was read: answer 400 when the socket
// can still take it, as Node does by default, and keep serving.
server.on('clientError', function (err, socket) {
  if (err.code !== 'ECONNRESET') {
    console.error('dynalite-server: client error: %s', err.code || err.message);
  }
  if (socket.writable && !socket.destroyed) {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  } else {
    socket.destroy();
  }
});

server.listen(options.port || 4567, options.host || undefined, function () {
  const address = server.address();
  console.log('Dynalite listening at: http://%s:%s', options.host || 'localhost', address.port);
});
