// refs/pushreq/* follow the board: the rule is pure and lives in state/ref-intents.ts (the write path
// plans it with every command); kept here under its old names for callers outside the write path.
export { ARCHIVE_PREFIX, pushreqRefIntents as pushreqRefUpdates } from '../../state/ref-intents.js';
