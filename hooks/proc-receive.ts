#!/usr/bin/env node
// git's proc-receive hook for the managed repository: the thinnest possible bridge. It reads the pushed
// ref updates and push options (pkt-line on stdin), asks the running server what they mean, prints the
// server's answer as `remote:` lines (stderr) and reports ok/ng per ref (pkt-line on stdout).
// It never writes state: the server holds the only writer. No dependencies, so it starts fast; where
// perl is installed, managed-repo.ts runs the same hook in Perl (proc-receive.pl), which starts faster still.
import http from 'node:http';
import { FLUSH, PacketReader, encodePacket, type Packet } from './pkt-line.js';
import { HOOK_PATH, HOOK_REPORT_TYPE, HOOK_SECRET_HEADER, type HookRequest, type RefCommand } from './hook-protocol.js';
import { decodeHookReport, renderHookOutput, unreachableAnswer } from './hook-report.js';

const reader = new PacketReader();
const waiting: ((p: Packet) => void)[] = [];
const ready: Packet[] = [];

function fail(e: unknown): never {
  process.stderr.write(`pushmanager hook failed: ${(e as Error).message}\n`);
  process.exit(1);
}

process.stdin.on('data', (chunk: Buffer) => {
  reader.push(chunk);
  try {
    for (let p = reader.next(); p; p = reader.next()) {
      const w = waiting.shift();
      if (w) w(p);
      else ready.push(p);
    }
  } catch (e) {
    fail(e); // a broken pkt-line from git: say so, as main() does, rather than die with a stack trace
  }
});

const nextPacket = (): Promise<Packet> =>
  new Promise((resolve) => {
    const p = ready.shift();
    if (p) resolve(p);
    else waiting.push(resolve);
  });

async function readUntilFlush(): Promise<string[]> {
  const lines: string[] = [];
  for (let p = await nextPacket(); p.kind === 'data'; p = await nextPacket()) lines.push(p.text);
  return lines;
}

// Asks for the byte report (HOOK_REPORT_TYPE): the server renders it, the hook only copies it out.
function ask(body: HookRequest): Promise<{ stderr: Buffer; stdout: Buffer }> {
  const url = new URL(HOOK_PATH, process.env.PUSHMANAGER_HOOK_URL);
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), accept: HOOK_REPORT_TYPE, [HOOK_SECRET_HEADER]: process.env.PUSHMANAGER_HOOK_SECRET ?? '' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            if (res.statusCode !== 200) throw new Error(`server answered ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8').slice(0, 200)}`);
            resolve(decodeHookReport(Buffer.concat(chunks)));
          } catch (e) {
            reject(e);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function main(): Promise<void> {
  // Version negotiation: git sends "version=1\0<capabilities>" ("atomic" for `git push --atomic`,
  // "push-options" when the client may send them); we answer that we want the push options.
  const capabilities = (await readUntilFlush()).flatMap((l) => (l.split('\0')[1] ?? '').split(' '));
  const wantsOptions = capabilities.includes('push-options');
  const atomic = capabilities.includes('atomic');
  process.stdout.write(encodePacket(`version=1\0${wantsOptions ? 'push-options' : ''}`) + FLUSH);

  const commands: RefCommand[] = (await readUntilFlush()).map((l) => {
    const [oldSha = '', newSha = '', ref = ''] = l.split(' ');
    return { oldSha, newSha, ref };
  });
  const options = wantsOptions ? await readUntilFlush() : [];

  let out: { stderr: Buffer | string; stdout: Buffer | string };
  try {
    out = await ask({ user: process.env.REMOTE_USER ?? '', commands, options, atomic });
  } catch (e) {
    out = renderHookOutput(unreachableAnswer(commands, (e as Error).message));
  }
  process.stderr.write(out.stderr);
  process.stdout.write(out.stdout);
}

main().catch(fail);
