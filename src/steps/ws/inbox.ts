/**
 * Everything an actor received since it connected. Steps read it rather than
 * the socket, so a message that arrives between two steps is never lost and
 * a failed expectation can show what came instead.
 */

const PREVIEW_CHARS = 300;

type ParsedJson = { value: unknown } | null;

export class InboxMessage {
  /** Set once a ws.expect has claimed this message, so the next expect looks further. */
  consumed = false;
  #parsed: ParsedJson | undefined;

  constructor(
    readonly text: string,
    readonly binary: boolean,
    readonly receivedAt: number,
  ) {}

  /** The message as JSON, or undefined when it is not JSON; parsed at most once however many steps look. */
  get json(): { value: unknown } | undefined {
    if (this.#parsed === undefined) {
      try {
        this.#parsed = { value: JSON.parse(this.text) as unknown };
      } catch {
        this.#parsed = null;
      }
    }
    return this.#parsed ?? undefined;
  }

  /**
   * Short enough for a report line; a huge frame must not swamp the failure it explains.
   * `redact` runs before the cut: half a secret would no longer match the redactor at the output boundary.
   */
  preview(redact: (text: string) => string = (text) => text): string {
    const text = redact(this.text);
    const shown = text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}… (${text.length} chars)` : text;
    return this.binary ? `[binary] ${shown}` : shown;
  }
}

export interface CloseRecord {
  code: number;
  reason: string;
  /** True only when both sides exchanged close frames; an abrupt drop is never clean. */
  wasClean: boolean;
  at: number;
}

export interface ErrorRecord {
  message: string;
  code?: string;
  at: number;
}

/**
 * A peer that floods must not exhaust memory: past these limits the inbox
 * stops recording, the actor hangs up, and the next wait fails as a protocol
 * error naming the flood.
 */
export const INBOX_LIMITS = { messages: 10_000, characters: 32 * 1024 * 1024 } as const;

export class Inbox {
  readonly messages: InboxMessage[] = [];
  #characters = 0;
  #flood: string | undefined;
  readonly errors: ErrorRecord[] = [];
  #closed: CloseRecord | undefined;
  readonly #listeners = new Set<() => void>();

  get closed(): CloseRecord | undefined {
    return this.#closed;
  }

  /** Set once the peer sent more than the inbox holds. */
  get flood(): string | undefined {
    return this.#flood;
  }

  /** Returns false when the message went over the limits and was not kept. */
  recordMessage(message: InboxMessage): boolean {
    if (this.#flood) return false;
    if (this.messages.length >= INBOX_LIMITS.messages || this.#characters + message.text.length > INBOX_LIMITS.characters) {
      this.#flood = `the peer sent more than ${INBOX_LIMITS.messages} messages or ${INBOX_LIMITS.characters / 1024 / 1024} MiB`;
      this.#announce();
      return false;
    }
    this.#characters += message.text.length;
    this.messages.push(message);
    this.#announce();
    return true;
  }

  recordClose(close: CloseRecord): void {
    if (this.#closed) return;
    this.#closed = close;
    this.#announce();
  }

  recordError(error: unknown): void {
    const code = (error as { code?: unknown } | null)?.code;
    this.errors.push({
      message: (error as Error | null)?.message ?? String(error),
      ...(typeof code === 'string' ? { code } : {}),
      at: Date.now(),
    });
  }

  /** Calls the listener after every new message or the close; returns the unsubscribe. */
  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  };

  firstUnconsumed(accept: (message: InboxMessage) => boolean): InboxMessage | undefined {
    return this.messages.find((message) => !message.consumed && accept(message));
  }

  /** The messages no ws.expect has claimed yet, oldest first: what the next expect looks through. */
  unconsumed(): InboxMessage[] {
    return this.messages.filter((message) => !message.consumed);
  }

  #announce(): void {
    // A copy, because a listener that finds what it waited for unsubscribes while we iterate.
    for (const listener of [...this.#listeners]) listener();
  }
}
