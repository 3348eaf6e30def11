/**
 * Typed errors. Each carries the exit code its kind has (docs/errors.md), whose fault it is,
 * and what the user can do next; one handler in src/cli maps them to process exits.
 */
export const ExitCode = {
  ok: 0,
  actionFailed: 1,
  badInput: 2,
  verificationFailed: 3,
  locked: 4,
  /** Ctrl-C: 128 + SIGINT, as a shell reports a command the signal ended. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type Fault = 'user' | 'environment' | 'tool';

export interface ErrorOptions {
  /** Stable machine-readable code, e.g. `manifest.invalid`. */
  code: string;
  /** What the user can do about it. */
  actions?: string[];
  /** Extra structured detail for `--json`. Must never hold secrets or FTI. */
  details?: unknown;
  cause?: unknown;
}

export class DetaileeError extends Error {
  readonly code: string;
  readonly exit: ExitCode;
  readonly fault: Fault;
  readonly actions: string[];
  readonly details: unknown;

  constructor(message: string, exit: ExitCode, fault: Fault, options: ErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.exit = exit;
    this.fault = fault;
    this.actions = options.actions ?? [];
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      exit: this.exit,
      fault: this.fault,
      actions: this.actions,
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** Bad input or usage: exit 2, and nothing was changed. */
export class InputError extends DetaileeError {
  constructor(message: string, options: ErrorOptions) {
    super(message, ExitCode.badInput, 'user', options);
  }
}

/** A signature, certificate or audit check failed: exit 3. */
export class VerificationError extends DetaileeError {
  constructor(message: string, options: ErrorOptions) {
    super(message, ExitCode.verificationFailed, 'user', options);
  }
}

/** An action against a target or the store failed: exit 1, a human must look. */
export class ActionError extends DetaileeError {
  constructor(message: string, options: ErrorOptions) {
    super(message, ExitCode.actionFailed, 'environment', options);
  }
}

/** Another run holds the lock: exit 4. */
export class LockedError extends DetaileeError {
  constructor(message: string, options: ErrorOptions) {
    super(message, ExitCode.locked, 'environment', options);
  }
}

/** One validation problem, named by its path in the document. */
export interface Issue {
  path: string;
  message: string;
}

export function formatIssues(issues: Issue[]): string {
  return issues.map((i) => `  - ${i.path || '(document)'}: ${i.message}`).join('\n');
}
