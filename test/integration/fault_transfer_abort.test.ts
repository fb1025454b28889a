/**
 * Runs test/fault/server/transfer_abort.test.ts (3 real quorumd processes, ports 34000-34011) inside the
 * integration tier, which only collects test/integration/ (scripts/test.mjs).
 */
import '../fault/server/transfer_abort.test.js';
