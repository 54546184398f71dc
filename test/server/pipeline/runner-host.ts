// A stand-in server for the crash test: runs one local job and prints the runner's updates as JSON
// lines, so the test can SIGKILL this process mid-job and check what is left behind.
// argv: REPO_DIR DATA_DIR SPEC_JSON
import { LocalRunner } from '../../../server/pipeline/local-runner.js';

const [repoDir, dataDir, specJson] = process.argv.slice(2);
const runner = new LocalRunner({ repoDir: repoDir!, dataDir: dataDir!, concurrency: 1, killGraceMs: 500, log: { maxBytes: 1 << 20, tailBytes: 1 << 16, retentionDays: 1 }, onUpdate: (u) => process.stdout.write(`${JSON.stringify(u)}\n`) });
runner.submit(JSON.parse(specJson!));
