import { z } from 'zod';

/**
 * The browser steps of the journey language. Targets are Playwright locators
 * spelled in YAML: exactly one of role (with name), label, text, placeholder,
 * testId or css, optionally narrowed with nth.
 */

const locatorKinds = ['role', 'label', 'text', 'placeholder', 'testId', 'css'] as const;

export const browserTarget = z
  .strictObject({
    role: z.string().optional().meta({ description: 'An ARIA role such as button, link, textbox, heading.' }),
    name: z.string().optional().meta({ description: "The accessible name, with role (e.g. the button's text)." }),
    label: z.string().optional(),
    text: z.string().optional(),
    placeholder: z.string().optional(),
    testId: z.string().optional().meta({ description: 'The data-testid attribute.' }),
    css: z.string().optional(),
    exact: z.boolean().optional().meta({ description: 'Match the name, label, text or placeholder exactly rather than as a substring.' }),
    nth: z.number().int().min(0).optional().meta({ description: 'Pick the nth match (0-based) when several match.' }),
  })
  .superRefine((target, ctx) => {
    const given = locatorKinds.filter((kind) => target[kind] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          given.length === 0
            ? `a target needs one of ${locatorKinds.join(', ')}`
            : `a target takes exactly one of ${locatorKinds.join(', ')} (found ${given.join(' and ')})`,
      });
    }
    if (target.name !== undefined && target.role === undefined) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: 'name narrows a role; use it with role, or use text or label' });
    }
  });

export type BrowserTarget = z.infer<typeof browserTarget>;

const actor = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'actor names are identifiers such as alice');

/** Checks the steps make at load time, so `ceiling validate` reports them with their position instead of the run failing later. */
function exactlyOne<T extends Record<string, unknown>>(keys: readonly (keyof T & string)[], what: string) {
  return (value: T, ctx: z.RefinementCtx) => {
    const given = keys.filter((key) => value[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `${what} needs exactly one of ${keys.join(', ')}${given.length > 1 ? ` (found ${given.join(' and ')})` : ''}` });
    }
  };
}

function validRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

const regexSource = z.string().refine(validRegex, { message: 'not a valid regular expression' });
export function browserStepSpecs(duration: z.ZodType<string>) {
  const optionalDuration = duration.optional();
  const textMatch = {
    text: z.string().optional().meta({ description: 'The text must contain this.' }),
    equals: z.string().optional(),
    regex: regexSource.optional(),
  };
  return {
    'browser.open': z.strictObject({
      as: actor,
      baseUrl: z.string().optional(),
      viewport: z.strictObject({ width: z.number().int().min(100).max(7680), height: z.number().int().min(100).max(4320) }).optional(),
      userAgent: z.string().optional(),
      locale: z.string().optional(),
      insecure: z.boolean().optional().meta({ description: 'Ignore TLS certificate errors in this page.' }),
    }),
    'browser.goto': z.strictObject({
      as: actor,
      url: z.string(),
      waitUntil: z.enum(['load', 'domcontentloaded', 'networkidle', 'commit']).optional(),
    }),
    'browser.reload': z.strictObject({ as: actor }),
    'browser.click': z.strictObject({ as: actor, target: browserTarget }),
    'browser.fill': z.strictObject({ as: actor, target: browserTarget, value: z.string() }),
    'browser.select': z
      .strictObject({
        as: actor,
        target: browserTarget,
        value: z.union([z.string(), z.array(z.string())]).optional(),
        label: z.string().optional(),
      })
      .superRefine(exactlyOne(['value', 'label'], 'browser.select')),
    'browser.check': z.strictObject({ as: actor, target: browserTarget, checked: z.boolean().optional() }),
    'browser.press': z.strictObject({ as: actor, target: browserTarget.optional(), key: z.string() }),
    'browser.waitFor': z
      .strictObject({
        as: actor,
        target: browserTarget.optional(),
        state: z.enum(['visible', 'hidden', 'attached', 'detached']).optional(),
        url: z.string().optional(),
      })
      .superRefine((value, ctx) => {
        if (value.target === undefined && value.url === undefined) ctx.addIssue({ code: 'custom', message: 'browser.waitFor needs a target, a url, or both' });
      }),
    'browser.screenshot': z.strictObject({
      as: actor,
      name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'screenshot names are file-safe words'),
      fullPage: z.boolean().optional(),
    }),
    'browser.expectText': z
      .strictObject({ as: actor, target: browserTarget, ...textMatch, within: optionalDuration })
      .superRefine(exactlyOne(['text', 'equals', 'regex'], 'browser.expectText')),
    'browser.expectVisible': z.strictObject({ as: actor, target: browserTarget, within: optionalDuration }),
    'browser.expectHidden': z.strictObject({ as: actor, target: browserTarget, within: optionalDuration }),
    'browser.expectUrl': z
      .strictObject({ as: actor, url: z.string().optional(), contains: z.string().optional(), regex: regexSource.optional(), within: optionalDuration })
      .superRefine(exactlyOne(['url', 'contains', 'regex'], 'browser.expectUrl')),
    'browser.expectTitle': z
      .strictObject({ as: actor, ...textMatch, within: optionalDuration })
      .superRefine(exactlyOne(['text', 'equals', 'regex'], 'browser.expectTitle')),
  } as const;
}
