/**
 * What keeps a finished command's process alive (bin/flead.js says it when it has to exit by itself): the kinds of
 * resources Node still holds (`Timeout ×2, TCPSocketWrap`, …; the terminal left out) and the peers of open sockets.
 */
export function leftOpen(): string {
  const kinds = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) if (kind !== 'TTYWrap') kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
  const peers = handles
    .filter((h): h is { remoteAddress: string; remotePort: number } => typeof (h as { remoteAddress?: unknown } | null)?.remoteAddress === 'string')
    .map((h) => `${h.remoteAddress}:${h.remotePort}`);
  const listed = [...kinds].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k)).join(', ') || 'none listed';
  return peers.length ? `${listed}; sockets to ${peers.join(', ')}` : listed;
}
