#!/usr/bin/env node
'use strict';
// An InfraError (broker or database unreachable, journal fenced, …) or an operating system's refusal (a path
// that is not a directory, no space left, no permission: Node's errors with a code and a syscall, whose message
// names the call and the path) is a described condition: one line. Anything else is a bug: its stack.
// LOG_LEVEL=debug shows the stack of all.
const described = (err) => err instanceof Error && process.env.LOG_LEVEL !== 'debug' &&
  (/^InfraError\(/.test(err.name) || (typeof err.code === 'string' && typeof err.syscall === 'string'));
// A finished command exits even if a client library left a timer or socket behind (a leak: said in a line, with
// what was left, src/cli/left-open.ts).
const exitSoon = () => setTimeout(() => {
  let what = '';
  try { what = ` (${require('../dist/src/cli/left-open.js').leftOpen()})`; } catch { /* the line without it */ }
  process.stderr.write(`flead: handles were still open 5 s after the command finished${what}; exiting\n`);
  process.exit();
}, 5000).unref();
require('../dist/src/cli/main.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; exitSoon(); },
  (err) => { process.stderr.write(`flead: ${described(err) ? `${err.name}: ${err.message}` : (err && err.stack) || err}\n`); process.exitCode = 1; exitSoon(); },
);
