/**
 * Cleanup registered as resources are acquired, run in reverse on every
 * outcome. One failing cleanup never stops the others; its error is kept.
 */
export class TeardownStack {
  private readonly entries: { label: string; run: () => Promise<void> | void }[] = [];

  defer(label: string, run: () => Promise<void> | void): void {
    this.entries.push({ label, run });
  }

  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  async runAll(): Promise<string[]> {
    const errors: string[] = [];
    while (this.entries.length > 0) {
      const entry = this.entries.pop()!;
      try {
        await entry.run();
      } catch (error) {
        errors.push(`${entry.label}: ${(error as Error).message ?? String(error)}`);
      }
    }
    return errors;
  }
}
