/** Slack reads &, < and > as control characters (links, mentions); user text must not trigger them. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
