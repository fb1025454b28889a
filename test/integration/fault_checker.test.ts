/**
 * Runs the fault checker's unit tests (test/fault/checker/checker.test.ts) inside the test tiers, which
 * only collect test/<tier>/ (scripts/test.mjs). They are pure and take a few seconds.
 */
import '../fault/checker/checker.test.js';
