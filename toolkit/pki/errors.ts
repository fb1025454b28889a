/** Thrown by the PKI helpers: a one-line message with what is wrong and how to fix it. */
export class PkiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PkiError';
  }
}
