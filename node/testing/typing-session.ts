/**
 * Test helper process (document-session.test.ts): an untitled document that is "typed" into, one
 * word every 15 ms, with autosave to the recovery store in RECOVERY_DIR after a 60 ms pause every
 * 8 words. Prints each text that reached the recovery store as one JSON line, until it is killed.
 */
import { DocumentSession } from '../document-session.ts';
import { RecoveryStore } from '../recovery.ts';

const recovery = new RecoveryStore(process.argv[2]!);
let text = '';
const session = new DocumentSession(
  {
    requestContent: async () => text,
    onState: (s) => {
      if (!s.dirty) return;
    },
    onNotice: (n) => process.stderr.write(`${n.message}\n`),
  },
  { recovery, autosaveDelayMs: 60 },
);
const originalAutosave = session.autosave.bind(session);
session.autosave = async () => {
  const snapshot = text;
  await originalAutosave();
  process.stdout.write(JSON.stringify({ saved: snapshot }) + '\n');
};

let word = 0;
function type() {
  text += `word${word++} `;
  session.edited();
  setTimeout(type, word % 8 === 0 ? 120 : 15);
}
type();
