/**
 * When each canary's current revision (Flagger's checksum) was first seen.
 * Runs older than that tested the previous revision, so they cannot pass this one.
 */
export class RevisionTracker {
  private readonly firstSeen = new Map<string, { checksum: string; at: number }>();

  constructor(private readonly limit = 1000) {}

  since(canary: string, checksum: string, now: number): number {
    const known = this.firstSeen.get(canary);
    if (known !== undefined && known.checksum === checksum) return known.at;
    this.firstSeen.delete(canary);
    this.firstSeen.set(canary, { checksum, at: now });
    if (this.firstSeen.size > this.limit) this.firstSeen.delete(this.firstSeen.keys().next().value!);
    return now;
  }
}
