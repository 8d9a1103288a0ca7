/**
 * Every way a step can go wrong has a class and a stable code, so reports,
 * exit codes and alerts can branch on them without parsing messages.
 */
import type { FailureCode } from './failure-codes.js';

export const failureClasses = ['assertion', 'timeout', 'connect', 'dns', 'tls', 'protocol', 'config', 'interrupted'] as const;
export type FailureClass = (typeof failureClasses)[number];

export interface FailureDetails {
  /** Where in the expected value the mismatch sits, e.g. `json.items[0].id`. */
  path?: string;
  expected?: unknown;
  actual?: unknown;
  /** A short hint that says how to fix it. */
  hint?: string;
  /** Checks the step made, the failing one included, when it made more than that one. */
  assertions?: number;
}

export class StepFailure extends Error {
  readonly failureClass: FailureClass;
  readonly code: FailureCode;
  readonly details: FailureDetails;

  constructor(failureClass: FailureClass, code: FailureCode, message: string, details: FailureDetails = {}) {
    super(message);
    this.name = 'StepFailure';
    this.failureClass = failureClass;
    this.code = code;
    this.details = details;
  }
}

/** An assertion mismatch is a failure; everything else stops the journey as an error. */
export function isAssertion(failureClass: FailureClass): boolean {
  return failureClass === 'assertion';
}

export const assertionFailed = (code: FailureCode, message: string, details: FailureDetails = {}): StepFailure =>
  new StepFailure('assertion', code, message, details);

export const configError = (code: FailureCode, message: string, details: FailureDetails = {}): StepFailure => new StepFailure('config', code, message, details);
