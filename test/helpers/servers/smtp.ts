// Test helper: an SMTP server (the smtp-server package) on a free loopback port that records each
// message: envelope, raw text, and the few headers the tests look at.
import { SMTPServer } from 'smtp-server';
import { waitFor } from './server-process.js';

export interface ReceivedMail {
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  /** Header and body as received (may be quoted-printable: use `decoded`). */
  readonly raw: string;
  /** The raw message with soft line breaks and quoted-printable escapes undone, for substring checks. */
  readonly decoded: string;
}

export interface SmtpTestServer {
  readonly port: number;
  readonly mails: ReceivedMail[];
  waitForMails(n: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
}

/** Undoes quoted-printable (soft breaks, =XX) well enough to search for text; UTF-8 aware. */
export function decodeQuotedPrintable(s: string): string {
  const bytes = s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function header(raw: string, name: string): string {
  const head = raw.split(/\r?\n\r?\n/)[0] ?? '';
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(unfolded);
  const v = m?.[1]?.trim() ?? '';
  // RFC 2047 encoded words (nodemailer uses them for non-ASCII subjects).
  return v.replace(/=\?utf-8\?([BQ])\?([^?]*)\?=\s*/gi, (_m, enc: string, text: string) =>
    enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : decodeQuotedPrintable(text.replace(/_/g, ' ')),
  );
}

/** `reject`: recipients answered with 550 (a permanent refusal). */
export async function startSmtpServer(opts: { reject?: readonly string[] } = {}): Promise<SmtpTestServer> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, cb) {
      if (opts.reject?.includes(address.address)) return cb(Object.assign(new Error('no such user'), { responseCode: 550 }));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
        mails.push({ from, to: session.envelope.rcptTo.map((r) => r.address), subject: header(raw, 'Subject'), raw, decoded: decodeQuotedPrintable(raw) });
        cb();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
  return {
    port,
    mails,
    waitForMails: (n, timeoutMs = 20_000) => waitFor(() => (mails.length >= n ? mails.slice() : undefined), `${n} mails (have ${mails.length})`, timeoutMs),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
