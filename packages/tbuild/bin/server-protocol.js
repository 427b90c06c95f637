// What the CLI and a build server (`tbuild server`) say to each other over the server's unix
// socket. Plain JavaScript beside the bin: the client side must run before, and instead of,
// loading the bundle, and the server (in the bundle) imports this same file.
//
// Frames are [kind: 1 byte][length: u32 BE][payload]. Output is bytes (a build can write a tar
// to stdout), so no line-delimited JSON. The client opens with HELLO; the server answers
// ACCEPTED, then STDOUT/STDERR frames, then EXIT; or REFUSED (another tbuild build), after
// which the client runs the command itself.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const KIND = {
  hello: 0x68, // client: {identity, argv, cwd, env, stdout: {tty, columns}, stderr: {...}} or {identity, control}
  accepted: 0x61,
  refused: 0x72, // reason (text)
  stdout: 0x6f,
  stderr: 0x65,
  exit: 0x78, // exit code (text)
  reply: 0x79, // answer to a control request (JSON)
  signal: 0x73, // client: signal name (text)
  resize: 0x77, // client: {stdout: columns, stderr: columns}
};

/** One frame; `payload` is a Buffer or a string (UTF-8). */
function frame(kind, payload = '') {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.allocUnsafe(5);
  head[0] = kind;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/**
 * Splits a byte stream back into frames, however the socket chunks it. Chunks are joined only
 * once a whole frame is there, so a frame that trickles in costs one copy, not one per chunk.
 */
class FrameReader {
  #pending = [];
  #size = 0;
  #need;

  /** The frames completed by `chunk`, in order. */
  push(chunk) {
    this.#pending.push(chunk);
    this.#size += chunk.length;
    const frames = [];
    while (this.#size >= 5) {
      if (this.#need === undefined) this.#need = 5 + this.#first(5).readUInt32BE(1);
      if (this.#size < this.#need) break;
      const buf = this.#first(this.#need);
      frames.push({ kind: buf[0], payload: buf.subarray(5, this.#need) });
      const rest = buf.subarray(this.#need);
      this.#size -= this.#need;
      this.#need = undefined;
      if (rest.length) this.#pending[0] = rest;
      else this.#pending.shift();
    }
    return frames;
  }

  /** The first pending chunk, made at least `n` bytes long. */
  #first(n) {
    if (this.#pending[0].length < n) this.#pending = [Buffer.concat(this.#pending)];
    return this.#pending[0];
  }
}

/** Where the server for a store listens: beside the builds' own run state. */
function serverSocketPath(storeRoot) {
  return path.join(storeRoot, 'run', 'server.sock');
}

/**
 * Which tbuild a process is: node version and the bundle file's identity. A server answers only
 * clients of its own build, so a rebuilt or upgraded tbuild never runs old code.
 */
function bundleIdentity(bundlePath) {
  const st = fs.statSync(bundlePath);
  return `${process.version}:${st.ino}:${st.size}:${Math.trunc(st.mtimeMs)}`;
}

/**
 * The identity the native client (native/client.c) sends for the same bundle: it runs no
 * JavaScript, so Node's version is no part of it; `native1` is the protocol it speaks.
 */
function nativeIdentity(identity) {
  return `native1${identity.slice(identity.indexOf(':'))}`;
}

module.exports = { KIND, frame, FrameReader, serverSocketPath, bundleIdentity, nativeIdentity };
