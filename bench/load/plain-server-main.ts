// The plain `git http-backend` baseline as a process of its own, like the Pushmanager server in the
// capacity curve, so the two are measured alike (its CPU, children included, read from /proc) and
// neither shares an event loop with the load generator.
//
//   node dist/bench/load/plain-server-main.js BARE_REPO   → prints {"url": …} on stdout, serves until SIGTERM
import { startPlainGitServer } from '../lib/plain-git-server.js';

const bare = process.argv[2];
if (!bare) {
  console.error('usage: plain-server-main BARE_REPO');
  process.exit(2);
}
const server = await startPlainGitServer(bare);
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
