import { startChat } from '../../fixtures/chat.js';
import { startDeadDrop } from '../../fixtures/dead-drop.js';
import type { RunningService } from '../../fixtures/service.js';

/** Short keepalive so the ghost journey is reaped within its budget. */
export const TEST_KEEPALIVE_MS = 300;

export interface DemoServices {
  chat: RunningService;
  drop: RunningService;
  env: { CHAT_URL: string; DROP_URL: string };
  close(): Promise<void>;
}

export async function startDemoServices(bugs: { chat?: string[]; drop?: string[] } = {}): Promise<DemoServices> {
  const chat = await startChat({ keepaliveMs: TEST_KEEPALIVE_MS, bugs: bugs.chat ?? [] });
  const drop = await startDeadDrop({ bugs: bugs.drop ?? [] });
  return {
    chat,
    drop,
    env: { CHAT_URL: chat.wsUrl!, DROP_URL: drop.url },
    close: async () => {
      await Promise.all([chat.close(), drop.close()]);
    },
  };
}

export async function healthOf(service: RunningService): Promise<unknown> {
  const response = await fetch(`${service.url}/health`, { signal: AbortSignal.timeout(2_000) });
  return { status: response.status, body: await response.json() };
}
