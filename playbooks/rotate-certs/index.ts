/**
 * The rotate-certs playbook: `quorum certs check` and `quorum certs rotate [--ca]` (see rotate.ts and plan.ts).
 */
export { rotateCerts, RELOAD_TIMEOUT_MS, type RotateOptions, type RotateResult } from './rotate.js';
export { gatherRows, failingRows, formatRows, memberRows, operatorRows, type CertRow } from './check.js';
export { planCaRotation, planLeafRotation, formatPlan, advanceState, memberOrder, CA_PHASES, type CaPhase, type CaRotationState, type RotationStep } from './plan.js';
export { readRotationState, writeRotationState, statePath, STATE_FILE } from './state.js';
