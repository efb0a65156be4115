// Preloaded into the Portkey gateway (node --import) by bench/run.py. Portkey's start-server.js calls
// @hono/node-server's serve({port}) with no hostname, so Node would listen on every interface; this
// binds any listen(port) that names no host to 127.0.0.1 instead (the bench stays on loopback).
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && (args.length === 1 || args[1] === undefined || typeof args[1] === 'function')) {
    if (args[1] === undefined && args.length > 1) args.splice(1, 1, '127.0.0.1');
    else args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};
