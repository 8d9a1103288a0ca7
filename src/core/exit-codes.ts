/** Exit codes are part of the CLI's contract: CI jobs branch on them. */
export const EXIT = {
  passed: 0,
  failed: 1,
  invalid: 2,
  nothingTested: 3,
  interrupted: 130,
} as const;
