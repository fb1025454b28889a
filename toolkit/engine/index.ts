export * from './errors.js';
export * from './recap.js';
export * from './engine.js';
