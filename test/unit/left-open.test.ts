/** What a finished command says keeps it alive (bin/flead.js's 5 s fallback): resource kinds and socket peers. */
import * as net from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { leftOpen } from '../../src/cli/left-open';

const test = suite('left open');

test('a timer, a listening server and a connected socket are named, with the socket peers', async () => {
  const timer = setTimeout(() => undefined, 60_000);
  const server = net.createServer(() => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  try {
    const said = leftOpen();
    assert.match(said, /\bTimeout\b/);
    assert.match(said, /\bTCPServerWrap\b/);
    assert.match(said, /\bTCPSocketWrap\b/);
    assert.match(said, new RegExp(`sockets to .*127\\.0\\.0\\.1:${port}`));
    assert.not.match(said, /TTYWrap/);
  } finally {
    clearTimeout(timer);
    socket.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test.run();
