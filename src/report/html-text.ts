/**
 * The only way the HTML report builds markup: the `markup` tag escapes every
 * value put into a template, unless that value is itself markup made by the
 * tag. A failure message, a journey name or a response body (target text) can
 * hold `<script>` or a quote; it reaches the page as text, never as markup.
 * (Not named `html`: Prettier would reformat such templates as HTML.)
 */
import { stripVTControlCharacters } from 'node:util';
import escapeHtml from 'escape-html';

const brand: unique symbol = Symbol('Markup');

/** Markup the `markup` tag has built from escaped parts; nothing else can make one. */
export interface Markup {
  readonly [brand]: true;
  readonly text: string;
}

/** `false`, `null` and `undefined` render as nothing, so `condition && markup\`…\`` reads naturally. */
export type Interpolation = Markup | string | number | false | null | undefined | readonly Interpolation[];

const isMarkup = (value: unknown): value is Markup => typeof value === 'object' && value !== null && brand in value;

/** Text as it may stand in an element or a quoted attribute; terminal colour codes are dropped, not shown as garbage. */
export function escapeText(text: string): string {
  return escapeHtml(stripVTControlCharacters(text));
}

function render(value: Interpolation): string {
  if (value === false || value === null || value === undefined) return '';
  if (isMarkup(value)) return value.text;
  if (Array.isArray(value)) return (value as readonly Interpolation[]).map(render).join('');
  return escapeText(String(value));
}

export function markup(strings: TemplateStringsArray, ...values: Interpolation[]): Markup {
  let text = strings[0] ?? '';
  values.forEach((value, index) => {
    text += render(value) + (strings[index + 1] ?? '');
  });
  return { [brand]: true, text };
}

/**
 * A relative link to a file beside the report: each path segment is
 * percent-encoded, so a name cannot turn into a scheme (`javascript:`), a
 * query or a fragment.
 */
export function fileHref(relativePath: string): string {
  return relativePath
    .split(/[\\/]/)
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}
