// The baseline git server: plain `git http-backend` behind a Node HTTP server, no auth, no hooks.
// Benchmarks compare Pushmanager's push path against this, measured in the same run.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { matchGitPath, serveGit } from '../../server/http/git-http.js';

export async function startPlainGitServer(bareRepo: string): Promise<{ url: string; close(): Promise<void> }> {
  execFileSync('git', ['-C', bareRepo, 'config', 'http.receivepack', 'true']);
  const name = bareRepo.replace(/\/$/, '').split('/').pop()!.replace(/\.git$/, '');
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const route = matchGitPath(url.pathname, url.searchParams);
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    serveGit(req, res, { projectRoot: dirname(bareRepo), route, user: 'bench', remoteAddr: '127.0.0.1', query: url.search.slice(1), hook: null });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/${name}.git`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
