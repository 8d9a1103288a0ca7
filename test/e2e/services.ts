import { startChat } from '../../fixtures/chat.js';
import { startComments } from '../../fixtures/comments.js';
import { startDeadDrop } from '../../fixtures/dead-drop.js';
import type { RunningService } from '../../fixtures/service.js';

/** Short keepalive so the ghost journey is reaped within its budget. */
export const TEST_KEEPALIVE_MS = 300;

export interface DemoServices {
  chat: RunningService;
  drop: RunningService;
  comments: RunningService;
  env: { CHAT_URL: string; DROP_URL: string; COMMENTS_URL: string };
  close(): Promise<void>;
}

export async function startDemoServices(bugs: { chat?: string[]; drop?: string[]; comments?: string[] } = {}): Promise<DemoServices> {
  const chat = await startChat({ keepaliveMs: TEST_KEEPALIVE_MS, bugs: bugs.chat ?? [] });
  const drop = await startDeadDrop({ bugs: bugs.drop ?? [] });
  const comments = await startComments({ bugs: bugs.comments ?? [] });
  return {
    chat,
    drop,
    comments,
    env: { CHAT_URL: chat.wsUrl!, DROP_URL: drop.url, COMMENTS_URL: comments.url },
    close: async () => {
      await Promise.all([chat.close(), drop.close(), comments.close()]);
    },
  };
}

export async function healthOf(service: RunningService): Promise<unknown> {
  const response = await fetch(`${service.url}/health`, { signal: AbortSignal.timeout(2_000) });
  return { status: response.status, body: await response.json() };
}
