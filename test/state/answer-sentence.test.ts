// The sentences the CLI prints and the dashboard shows, from a command's answer: the cases the end-to-end
// walk (test/e2e/cli-answers.test.ts) does not reach.
import { describe, expect, it } from 'vitest';
import { answerSentence, type CommandOutcome } from '../../state/describe.js';
import { push } from '../tui/fixtures.js';

const at = '2024-05-01T12:00:00Z';
const p3 = push(3, { deploySha: 'abcdef0123456789abcdef0123456789abcdef01' });

describe('answerSentence', () => {
  it('a rebuild that changed nothing says the deploy branch is current', () => {
    expect(answerSentence({ type: 'RebuildPush', push: 3 }, { changes: [], pushes: [p3], requests: [] })).toBe('push 3 rebuilt: deploy/push-3 at abcdef0123, already current');
  });

  it('requests the build removed on its own are named with the reason', () => {
    const o = {
      changes: [
        { type: 'RequestAccepted', request: 2, push: 3, at, actor: 'pm' },
        { type: 'RequestRemoved', request: 5, push: 3, reason: 'conflicts with #2 in a.txt', fromState: 'added', toState: 'requested', at, actor: 'pushmanager' },
      ],
      pushes: [p3],
      requests: [],
    } as unknown as CommandOutcome;
    expect(answerSentence({ type: 'AcceptRequests', push: 3 }, o)).toBe('accepted 2 into push 3; deploy/push-3 at abcdef0123; removed 5 from push 3: conflicts with #2 in a.txt');
  });

  it('user text in the answer cannot move the cursor', () => {
    const o = { changes: [{ type: 'PushOpened', push: { ...p3, title: 'Tue \u001b[2J14:00', type: 'regular' }, at, actor: 'pm' }], pushes: [p3], requests: [] } as unknown as CommandOutcome;
    expect(answerSentence({ type: 'OpenPush' }, o)).toBe('push 3 "Tue 14:00" opened (regular); no pickmes yet; deploy/push-3 at abcdef0123');
  });

  it('an answer without the outcome fields (an older server) is reported as done', () => {
    expect(answerSentence({ type: 'RebuildPush', push: 3 }, { events: ['DeployBranchBuilt'] } as unknown as CommandOutcome)).toBe('done (this server sends no details of what changed)');
  });
});
