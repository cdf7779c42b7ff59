#!/usr/bin/env node
'use strict';
// An InfraError (broker or database unreachable, journal fenced, …) is a described condition: one line. Anything
// else is a bug: its stack. LOG_LEVEL=debug shows the stack of both.
const described = (err) => err instanceof Error && /^InfraError\(/.test(err.name) && process.env.LOG_LEVEL !== 'debug';
require('../dist/src/cli/main.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`flead: ${described(err) ? `${err.name}: ${err.message}` : (err && err.stack) || err}\n`); process.exitCode = 1; },
);
